//! Refusing a sync whose master and replica trees overlap.
//!
//! Syncing a directory into itself, into one of its subdirectories, or
//! syncing a replica that contains the master would delete or nest the
//! master's data. The trees are compared by device and inode along their
//! resolved paths, so a symlink or a bind mount to the other side is
//! caught, not only equal strings.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How the master and replica trees overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// They are the same directory.
    Same,
    /// The replica is (or would be created) inside the master.
    ReplicaInsideMaster,
    /// The master is inside the replica.
    MasterInsideReplica,
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Overlap::Same => "they are the same directory",
            Overlap::ReplicaInsideMaster => "the replica is inside the master",
            Overlap::MasterInsideReplica => "the master is inside the replica",
        })
    }
}

fn id(path: &Path) -> io::Result<(u64, u64)> {
    let m = fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

/// The identities of `path` (or, if it does not exist, of its nearest
/// existing ancestor) and of every directory above it, nearest first.
/// The first element tells whether `path` itself exists.
fn chain(path: &Path) -> io::Result<(bool, Vec<(u64, u64)>)> {
    let mut existing: PathBuf = path.to_path_buf();
    let mut exists = true;
    loop {
        match fs::canonicalize(&existing) {
            Ok(real) => {
                let ids = real.ancestors().map(id).collect::<io::Result<Vec<_>>>()?;
                return Ok((exists, ids));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                exists = false;
                existing = match existing.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
            }
            Err(e) => return Err(e),
        }
    }
}

/// Checks that `master` and `replica` do not overlap. Paths that cannot be
/// resolved are left to the scan, which reports them.
pub fn overlap(master: &Path, replica: &Path) -> Option<Overlap> {
    let (true, masters) = chain(master).ok()? else {
        return None;
    };
    let master_id = *masters.first()?;
    let (replica_exists, replicas) = chain(replica).ok()?;
    if replica_exists && replicas.first() == Some(&master_id) {
        return Some(Overlap::Same);
    }
    if replicas.contains(&master_id) {
        return Some(Overlap::ReplicaInsideMaster);
    }
    if replica_exists {
        let replica_id = replicas.first()?;
        if masters[1..].contains(replica_id) {
            return Some(Overlap::MasterInsideReplica);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn nested_same_linked_and_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::create_dir_all(d.join("par/master/sub")).unwrap();
        fs::create_dir_all(d.join("other")).unwrap();
        std::os::unix::fs::symlink(d.join("par/master"), d.join("link")).unwrap();
        let m = d.join("par/master");
        assert_eq!(overlap(&m, &m), Some(Overlap::Same));
        assert_eq!(overlap(&m, &d.join("link")), Some(Overlap::Same));
        assert_eq!(overlap(&m, &d.join("par/master/./")), Some(Overlap::Same));
        assert_eq!(
            overlap(&m, &d.join("par")),
            Some(Overlap::MasterInsideReplica)
        );
        assert_eq!(
            overlap(&m, &d.join("par/master/sub")),
            Some(Overlap::ReplicaInsideMaster)
        );
        // Not there yet, but would be created inside the master.
        assert_eq!(
            overlap(&m, &d.join("link/new/deeper")),
            Some(Overlap::ReplicaInsideMaster)
        );
        assert_eq!(overlap(&m, &d.join("other")), None);
        assert_eq!(overlap(&m, &d.join("other/new")), None);
        assert_eq!(overlap(&m, &d.join("par/sibling")), None);
        // A missing master is the scan's to report.
        assert_eq!(overlap(&d.join("missing"), &m), None);
    }
}
