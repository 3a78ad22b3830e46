//! Detection: classification, clustering and incidents.
