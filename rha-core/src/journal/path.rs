//! Validated scenario-relative paths.

use std::fmt;

use bytes::Bytes;

/// The longest path, in bytes, that a journal record can carry.
pub const MAX_PATH_LEN: usize = 4096;

/// A path relative to the scenario root: bytes separated by `/`.
///
/// Every journal record names files through this type, so a record can never
/// point outside the protected tree. A `RelPath` is guaranteed to be
///
/// - non-empty and at most [`MAX_PATH_LEN`] bytes long,
/// - relative (it does not start with `/`),
/// - free of empty components (`a//b`, a trailing `/`), `.` and `..` components,
/// - free of NUL bytes.
///
/// The bytes need not be UTF-8: file names on Unix are arbitrary bytes.
/// The path shares its storage ([`Bytes`]), so a decoded record's path is a
/// view into the decoded frame, not a copy.
///
/// ```
/// use rha_core::journal::RelPath;
///
/// let p = RelPath::new("projects/report.txt").unwrap();
/// assert_eq!(p.as_bytes(), b"projects/report.txt");
/// assert_eq!(p.components().count(), 2);
///
/// assert!(RelPath::new("/etc/passwd").is_err());
/// assert!(RelPath::new("a/../../b").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(Bytes);

/// Why a byte string is not a valid [`RelPath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path has no bytes.
    #[error("path is empty")]
    Empty,
    /// The path is longer than [`MAX_PATH_LEN`].
    #[error("path is {len} bytes long, the limit is {MAX_PATH_LEN}")]
    TooLong {
        /// Length of the rejected path.
        len: usize,
    },
    /// The path starts with `/`.
    #[error("path is absolute (starts with '/')")]
    Absolute,
    /// The path contains a NUL byte.
    #[error("path contains a NUL byte at byte {at}")]
    Nul {
        /// Byte index of the NUL.
        at: usize,
    },
    /// The path has an empty component (`a//b` or a trailing `/`).
    #[error("path has an empty component at byte {at}")]
    EmptyComponent {
        /// Byte index where the empty component starts.
        at: usize,
    },
    /// The path has a `.` or `..` component.
    #[error("path has a '{}' component at byte {at}", if *.parent { ".." } else { "." })]
    DotComponent {
        /// Byte index where the component starts.
        at: usize,
        /// `true` for `..`, `false` for `.`.
        parent: bool,
    },
}

impl RelPath {
    /// Validates `path` and wraps it.
    pub fn new(path: impl Into<Bytes>) -> Result<Self, PathError> {
        let path = path.into();
        validate(&path)?;
        Ok(Self(path))
    }

    /// Wraps bytes that [`validate`] already accepted.
    pub(crate) fn from_validated(path: Bytes) -> Self {
        debug_assert_eq!(validate(&path), Ok(()));
        Self(path)
    }

    /// The path's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path's shared storage.
    pub fn as_shared(&self) -> &Bytes {
        &self.0
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty)] // a RelPath is never empty
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The path as UTF-8, if it is.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The `/`-separated components, first to last.
    pub fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.0.split(|&b| b == b'/')
    }
}

/// Checks the [`RelPath`] rules without wrapping.
pub(crate) fn validate(path: &[u8]) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong { len: path.len() });
    }
    if path[0] == b'/' {
        return Err(PathError::Absolute);
    }
    if plainly_valid(path) {
        return Ok(());
    }
    let mut start = 0;
    for (i, &b) in path.iter().enumerate() {
        match b {
            0 => return Err(PathError::Nul { at: i }),
            b'/' => {
                check_component(&path[start..i], start)?;
                start = i + 1;
            }
            _ => {}
        }
    }
    check_component(&path[start..], start)
}

/// A branch-free pass (the compiler vectorises it) that accepts the common
/// case: no NUL, no `//`, no component starting with `.`, no trailing `/`.
/// Anything else goes through the exact check, which also finds the position.
fn plainly_valid(path: &[u8]) -> bool {
    let pairs = path.iter().zip(&path[1..]);
    let suspicious = pairs.fold(false, |acc, (&a, &b)| {
        acc | (b == 0) | (a == b'/' && (b == b'/' || b == b'.'))
    });
    !suspicious && path[0] != 0 && path[0] != b'.' && path[path.len() - 1] != b'/'
}

fn check_component(component: &[u8], at: usize) -> Result<(), PathError> {
    match component {
        [] => Err(PathError::EmptyComponent { at }),
        b"." => Err(PathError::DotComponent { at, parent: false }),
        b".." => Err(PathError::DotComponent { at, parent: true }),
        _ => Ok(()),
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelPath({:?})", self.0.escape_ascii().to_string())
    }
}

impl fmt::Display for RelPath {
    /// Shows the path with non-UTF-8 and control bytes escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl TryFrom<&str> for RelPath {
    type Error = PathError;
    fn try_from(value: &str) -> Result<Self, PathError> {
        Self::new(Bytes::copy_from_slice(value.as_bytes()))
    }
}

impl TryFrom<&[u8]> for RelPath {
    type Error = PathError;
    fn try_from(value: &[u8]) -> Result<Self, PathError> {
        Self::new(Bytes::copy_from_slice(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in [
            "a",
            "a/b",
            "dir/file.txt",
            "...",
            ".hidden",
            "a/..b/c.",
            "é/ü",
        ] {
            RelPath::new(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        }
        RelPath::new(&b"\xff\xfe/x"[..]).unwrap();
    }

    #[test]
    fn rejects_each_rule_with_its_position() {
        assert_eq!(RelPath::new(""), Err(PathError::Empty));
        assert_eq!(RelPath::new("/a"), Err(PathError::Absolute));
        assert_eq!(
            RelPath::new("a//b"),
            Err(PathError::EmptyComponent { at: 2 })
        );
        assert_eq!(RelPath::new("a/"), Err(PathError::EmptyComponent { at: 2 }));
        assert_eq!(
            RelPath::new("a/../b"),
            Err(PathError::DotComponent {
                at: 2,
                parent: true
            })
        );
        assert_eq!(
            RelPath::new("./b"),
            Err(PathError::DotComponent {
                at: 0,
                parent: false
            })
        );
        assert_eq!(
            RelPath::new("a/.."),
            Err(PathError::DotComponent {
                at: 2,
                parent: true
            })
        );
        assert_eq!(RelPath::new(&b"a\0b"[..]), Err(PathError::Nul { at: 1 }));
        let long = vec![b'x'; MAX_PATH_LEN + 1];
        assert_eq!(
            RelPath::new(long),
            Err(PathError::TooLong {
                len: MAX_PATH_LEN + 1
            })
        );
        RelPath::new(vec![b'x'; MAX_PATH_LEN]).unwrap();
    }

    #[test]
    fn messages_name_the_problem() {
        let e = RelPath::new("a/../b").unwrap_err();
        assert_eq!(e.to_string(), "path has a '..' component at byte 2");
    }

    #[test]
    fn display_escapes_unprintable_bytes() {
        let p = RelPath::new(&b"a\xff/\n"[..]).unwrap();
        assert_eq!(p.to_string(), "a\\xff/\\n");
    }
}
