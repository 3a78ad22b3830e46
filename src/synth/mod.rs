//! Deterministic synthetic mention streams (the demo sample).
