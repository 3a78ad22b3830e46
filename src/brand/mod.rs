//! Brand attribution: text matching and thread attribution.
