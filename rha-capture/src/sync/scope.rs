//! Which paths a scoped scan lists ([`ScopeTree`]): those a degraded spool
//! marked dirty, everything inside them, and the directories on the way.

use std::collections::BTreeMap;
use std::ffi::CString;

use rha_core::journal::RelPath;

/// Scope paths as a tree of names. A node marked `whole` is a scope path:
/// everything inside it is listed. Any other node is a directory on the way
/// to one: only its children in the tree are looked at.
#[derive(Debug, Default, Clone)]
pub(crate) struct ScopeTree {
    whole: bool,
    children: BTreeMap<Vec<u8>, ScopeTree>,
}

/// What to list in one directory of a scoped scan.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Every entry (the directory is a scope path or inside one).
    All,
    /// Only these names (which may not exist).
    Only(Vec<CString>),
}

impl ScopeTree {
    /// The tree of `paths` (a path inside another adds nothing).
    pub(crate) fn new<'a>(paths: impl IntoIterator<Item = &'a RelPath>) -> Self {
        let mut t = Self::default();
        for p in paths {
            t.insert(p.as_bytes());
        }
        t
    }

    fn insert(&mut self, path: &[u8]) {
        let mut node = self;
        for name in path.split(|&b| b == b'/') {
            if node.whole {
                return;
            }
            node = node.children.entry(name.to_vec()).or_default();
        }
        node.whole = true;
        node.children.clear();
    }

    /// What a scan lists in the directory at `rel` (empty: the root).
    pub(crate) fn listing(&self, rel: &[u8]) -> Listing {
        let mut node = self;
        if !rel.is_empty() {
            for name in rel.split(|&b| b == b'/') {
                if node.whole {
                    return Listing::All;
                }
                match node.children.get(name) {
                    Some(n) => node = n,
                    None => return Listing::Only(Vec::new()),
                }
            }
        }
        if node.whole {
            return Listing::All;
        }
        Listing::Only(
            node.children
                .keys()
                // A valid RelPath's names hold no NUL byte.
                .filter_map(|n| CString::new(n.clone()).ok())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(l: Listing) -> Vec<String> {
        match l {
            Listing::All => vec!["*".to_owned()],
            Listing::Only(v) => v
                .into_iter()
                .map(|c| c.into_string().expect("utf-8"))
                .collect(),
        }
    }

    #[test]
    fn a_scope_lists_the_way_to_its_paths_and_everything_inside_them() {
        let paths: Vec<RelPath> = ["a/b/c", "a/d", "a/b/c/e", "x"]
            .iter()
            .map(|p| RelPath::new(*p).expect("path"))
            .collect();
        let t = ScopeTree::new(&paths);
        assert_eq!(names(t.listing(b"")), ["a", "x"]);
        assert_eq!(names(t.listing(b"a")), ["b", "d"]);
        assert_eq!(names(t.listing(b"a/b")), ["c"]);
        assert_eq!(names(t.listing(b"a/b/c")), ["*"]);
        assert_eq!(names(t.listing(b"a/b/c/e/f")), ["*"]);
        assert_eq!(names(t.listing(b"x")), ["*"]);
        assert!(names(t.listing(b"a/zz")).is_empty());
        // A path given after one inside it still covers everything.
        let t = ScopeTree::new(&[
            RelPath::new("a/b").expect("p"),
            RelPath::new("a").expect("p"),
        ]);
        assert_eq!(names(t.listing(b"a")), ["*"]);
    }

    #[test]
    fn a_scoped_scan_lists_its_paths_their_insides_and_the_way_to_them() {
        use crate::sync::scan::{ScanOptions, TreeScanner};
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        for d in ["a/b/c", "a/d", "y", ".rha"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for f in ["a/b/c/f", "a/b/g", "a/d/h", "a/i", "x", "y/z", ".rha/state"] {
            std::fs::write(root.join(f), f).expect("write");
        }
        let scope: Vec<RelPath> = ["a/b", "x", "missing/q", "a/d/h/under-a-file", ".rha"]
            .iter()
            .map(|p| RelPath::new(*p).expect("path"))
            .collect();
        let got: Vec<String> = TreeScanner::scoped(root, ScanOptions::default(), &scope)
            .map(|e| e.expect("entry").path.to_string())
            .collect();
        // The state directory stays out, as in a whole scan; a path under
        // a file, or under a missing directory, lists nothing below it.
        assert_eq!(
            got,
            ["a", "a/b", "a/b/c", "a/b/c/f", "a/b/g", "a/d", "a/d/h", "x"]
        );
        // The same entries a whole scan gives for those paths.
        let whole: Vec<String> = TreeScanner::new(root, ScanOptions::default())
            .map(|e| e.expect("entry").path.to_string())
            .filter(|p| got.contains(p))
            .collect();
        assert_eq!(whole, got);
    }
}
