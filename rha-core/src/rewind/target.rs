//! What the rewind engine applies records to.

use std::io;

use super::invert::PreImage;
use crate::journal::Op;

/// A replica target: a directory tree, a set of volumes, or the in-memory
/// [`ModelTree`](super::ModelTree).
///
/// `apply` performs one operation exactly as the journal describes it, and
/// fails (changing nothing, where the operating system allows) when it cannot.
/// Errors are plain [`io::Error`]s whose message names the path.
pub trait Target: PreImage {
    /// Applies `op` to the target.
    fn apply(&mut self, op: &Op) -> io::Result<()>;
    /// Makes every change applied so far durable.
    fn sync(&mut self) -> io::Result<()>;
}
