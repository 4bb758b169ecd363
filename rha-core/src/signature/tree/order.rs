//! The order rule every signature obeys, checked incrementally.

use bytes::Bytes;

use super::entry::{is_inside, parent, path_order, EntryKind};
use crate::journal::RelPath;

/// A sequence of entries that is not a valid signature order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// An entry does not sort after the one before it (or repeats it).
    #[error("entry '{path}' does not sort after the previous entry '{prev}'")]
    Unsorted {
        /// The previous entry's path.
        prev: String,
        /// The offending path.
        path: String,
    },
    /// An entry's parent directory is not the directory entry it should
    /// follow (absent, or not a directory).
    #[error("entry '{path}' has no directory entry for its parent before it")]
    MissingParent {
        /// The offending path.
        path: String,
    },
}

/// Checks, one entry at a time, that entries come in [`path_order`] and
/// that every entry's parent directory came before it as a directory entry.
///
/// Memory: the previous path and one length per directory level.
#[derive(Debug, Default, Clone)]
pub(crate) struct OrderCheck {
    /// The previous path (its buffer is reused from entry to entry).
    prev: Option<Vec<u8>>,
    /// Lengths of the prefixes of `prev` that are open directories.
    open: Vec<usize>,
}

impl OrderCheck {
    /// Accepts the next entry or says why it cannot come here.
    pub(crate) fn push(&mut self, path: &RelPath, kind: EntryKind) -> Result<(), OrderError> {
        let bytes = path.as_bytes();
        if let Some(prev) = &self.prev {
            if path_order(prev, bytes) != std::cmp::Ordering::Less {
                return Err(OrderError::Unsorted {
                    prev: RelPath::from_validated(Bytes::copy_from_slice(prev)).to_string(),
                    path: path.to_string(),
                });
            }
            while let Some(&len) = self.open.last() {
                if is_inside(&prev[..len], bytes) {
                    break;
                }
                self.open.pop();
            }
        }
        let expected = self.open.last().copied();
        let ok = match parent(bytes) {
            None => expected.is_none(),
            Some(p) => expected == Some(p.len()),
        };
        if !ok {
            return Err(OrderError::MissingParent {
                path: path.to_string(),
            });
        }
        if kind == EntryKind::Dir {
            self.open.push(bytes.len());
        }
        let prev = self.prev.get_or_insert_with(Vec::new);
        prev.clear();
        prev.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(entries: &[(&str, EntryKind)]) -> Result<(), OrderError> {
        let mut c = OrderCheck::default();
        for (p, k) in entries {
            c.push(&RelPath::new(p.to_string()).unwrap(), *k)?;
        }
        Ok(())
    }

    #[test]
    fn accepts_a_walk_and_rejects_the_rest() {
        use EntryKind::*;
        run(&[
            ("a", Dir),
            ("a/b", Dir),
            ("a/b/c", File),
            ("a/d", File),
            ("a.x", File),
            ("b", File),
        ])
        .unwrap();
        assert!(matches!(
            run(&[("b", File), ("a", File)]),
            Err(OrderError::Unsorted { .. })
        ));
        assert!(matches!(
            run(&[("a", File), ("a", File)]),
            Err(OrderError::Unsorted { .. })
        ));
        assert!(matches!(
            run(&[("a/b", File)]),
            Err(OrderError::MissingParent { .. })
        ));
        assert!(matches!(
            run(&[("a", File), ("a/b", File)]),
            Err(OrderError::MissingParent { .. })
        ));
        assert!(matches!(
            run(&[("a", Dir), ("a/b", Dir), ("a/c/d", File)]),
            Err(OrderError::MissingParent { .. })
        ));
        let e = run(&[("z", File), ("y", File)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "entry 'y' does not sort after the previous entry 'z'"
        );
    }
}
