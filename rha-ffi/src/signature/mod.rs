//! Block signatures, deltas and patches as streaming jobs.

pub(crate) mod block;
