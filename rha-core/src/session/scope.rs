//! What a sync covers: the whole tree, or the paths a degraded spool
//! marked dirty ([`SyncScope`]).

use bytes::{BufMut, Bytes};

use crate::journal::{RelPath, MAX_PATH_LEN};

/// The paths a sync covers, as [`SyncRequest::Begin`](super::SyncRequest)
/// carries them: empty for the whole tree, otherwise each named path (and,
/// where it is a directory, everything inside it), with the directories on
/// the way to it.
///
/// On the wire (and in [`as_bytes`](Self::as_bytes)) the paths follow each
/// other, each as a little-endian `u16` length and a valid [`RelPath`]. The
/// bytes are checked once, when the scope is made; iterating cannot fail.
///
/// ```
/// use rha_core::journal::RelPath;
/// use rha_core::session::SyncScope;
///
/// let paths = [RelPath::new("logs")?, RelPath::new("db/data")?];
/// let scope = SyncScope::from_paths(&paths);
/// assert!(!scope.is_whole());
/// assert_eq!(scope.paths().collect::<Vec<_>>(), paths);
/// let again = SyncScope::from_bytes(scope.as_bytes().clone())?;
/// assert_eq!(again, scope);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncScope(Bytes);

/// Bytes that are not a [`SyncScope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sync scope: {why} at byte {offset}")]
pub struct ScopeError {
    /// Where the bad path starts.
    pub offset: usize,
    /// What is wrong with it.
    pub why: &'static str,
}

impl SyncScope {
    /// The whole tree.
    pub fn whole() -> Self {
        Self(Bytes::new())
    }

    /// A scope of `paths`, in the order given.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a RelPath>) -> Self {
        let mut b = Vec::new();
        for p in paths {
            let bytes = p.as_bytes();
            // A RelPath is at most MAX_PATH_LEN (4096) bytes.
            b.put_u16_le(bytes.len() as u16);
            b.put_slice(bytes);
        }
        Self(Bytes::from(b))
    }

    /// Checks `bytes` as an encoded scope.
    pub fn from_bytes(bytes: Bytes) -> Result<Self, ScopeError> {
        let mut at = 0;
        while at < bytes.len() {
            let err = |why| ScopeError { offset: at, why };
            let Some(len) = bytes.get(at..at + 2) else {
                return Err(err("a short path length"));
            };
            let n = usize::from(u16::from_le_bytes([len[0], len[1]]));
            if n > MAX_PATH_LEN {
                return Err(err("a path longer than 4096 bytes"));
            }
            let Some(path) = bytes.get(at + 2..at + 2 + n) else {
                return Err(err("a short path"));
            };
            if RelPath::new(path.to_vec()).is_err() {
                return Err(err("a path that is not a valid relative path"));
            }
            at += 2 + n;
        }
        Ok(Self(bytes))
    }

    /// Whether the scope is the whole tree (no paths).
    pub fn is_whole(&self) -> bool {
        self.0.is_empty()
    }

    /// The encoded paths.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The paths, in order.
    pub fn paths(&self) -> impl Iterator<Item = RelPath> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            let len = self.0.get(at..at + 2)?;
            let n = usize::from(u16::from_le_bytes([len[0], len[1]]));
            let path = self.0.slice(at + 2..at + 2 + n);
            at += 2 + n;
            // Checked when the scope was made.
            Some(RelPath::from_validated(path))
        })
    }

    /// How many paths it names.
    pub fn len(&self) -> usize {
        self.paths().count()
    }

    /// Whether it names no path (the same as [`is_whole`](Self::is_whole)).
    pub fn is_empty(&self) -> bool {
        self.is_whole()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_round_trips_and_bad_bytes_are_refused() {
        let paths = [
            RelPath::new("a/b").expect("path"),
            RelPath::new("c").expect("path"),
        ];
        let s = SyncScope::from_paths(&paths);
        assert_eq!(s.len(), 2);
        assert_eq!(SyncScope::from_bytes(s.as_bytes().clone()), Ok(s.clone()));
        let b = s.as_bytes();
        // Cut anywhere inside a path: refused, naming where.
        for cut in 1..b.len() {
            if cut == 5 {
                continue; // the end of the first path
            }
            let e = SyncScope::from_bytes(b.slice(..cut)).expect_err("cut");
            assert!(e.offset <= cut, "{e}");
        }
        for bad in [&b"\x02\x00.."[..], b"\x00\x00", b"\x01\x00/", b"\xff\xff"] {
            assert!(SyncScope::from_bytes(Bytes::from_static(bad)).is_err());
        }
        assert!(SyncScope::whole().is_whole());
        assert_eq!(SyncScope::whole().paths().count(), 0);
    }
}
