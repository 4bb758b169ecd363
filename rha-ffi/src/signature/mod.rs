//! Block signatures, deltas and patches as streaming jobs.

pub(crate) mod block;
pub(crate) mod file;
pub(crate) mod fixed;
pub(crate) mod loader;
pub(crate) mod ops;
