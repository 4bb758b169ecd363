//! Which records can share a batch: every inverse of a batch is computed
//! before any of its changes lands, so a record joins only if what its
//! inverse reads is known, either untouched by the pending records or laid
//! over by the [`Overlay`](super::overlay::Overlay).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;

use bytes::Bytes;

use crate::journal::{Op, RelPath};
use crate::rewind::invert::{is_namespace, NodeKind, NodeMeta, PreImage};

/// What a record's changes are tied to: a file (by path) or a volume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Path(Bytes),
    Volume(u32),
}

/// What a record changes of its [`Key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Foot {
    /// A file's bytes `.0...1` (`Write`), or its length as well (`.2`: a
    /// `SetLen`, or a write past the end): the overlay shows them.
    Data(u64, u64, bool),
    /// A volume's bytes `.0...1`: the overlay shows them.
    Range(u64, u64),
    /// A file's attributes (`SetAttr`): nothing else of the file may be
    /// pending.
    Whole,
    /// One extended attribute.
    Xattr(Bytes),
}

/// A multiply-rotate hasher (as `rustc`'s) for the batch's keys, looked up
/// several times per record: SipHash's resistance to chosen collisions is
/// not needed, since a batch holds at most `batch_records` keys, so even
/// a journal whose paths all collide costs at most quadratic work in a
/// bounded batch.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.add(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn write_isize(&mut self, n: isize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the pending records change of one file or volume.
#[derive(Debug, Default)]
struct KeyState {
    /// The pending records the overlay lays over it (data, blocks, the
    /// file's creation), by index in the batch.
    ops: Vec<usize>,
    /// A pending record created the file.
    created: bool,
    /// A pending record changes the file's length.
    sized: bool,
    /// A pending record changes its attributes.
    whole: bool,
    /// Extended attributes pending records change.
    xattrs: Vec<Bytes>,
    /// Byte ranges pending records write, by start and index in the
    /// batch: their ends.
    ranges: BTreeMap<(u64, usize), u64>,
    /// The longest of those ranges.
    longest: u64,
    /// The file's metadata before the batch, once read for a record's
    /// footprint (nothing changes it before the batch lands).
    meta: Option<NodeMeta>,
}

impl KeyState {
    fn overlaps(&self, from: u64, to: u64) -> bool {
        // A range starting at or before `from - longest` ends by `from`.
        self.overlapping(from, to).next().is_some()
    }

    /// The indices of the pending records whose ranges overlap `from..to`.
    fn overlapping(&self, from: u64, to: u64) -> impl Iterator<Item = usize> + '_ {
        self.ranges
            .range((from.saturating_sub(self.longest), 0)..(to, 0))
            .filter(move |(_, &end)| end > from)
            .map(|(&(_, idx), _)| idx)
    }

    fn add_range(&mut self, from: u64, to: u64, idx: usize) {
        self.ranges.insert((from, idx), to);
        self.longest = self.longest.max(to - from);
    }

    /// The pending records that change what a record with footprint `foot`
    /// reads, in order: every one laid over the file or volume if it is
    /// created or resized in the batch, else those writing the bytes read.
    fn readers_of(&self, foot: &Foot) -> Vec<usize> {
        let (from, to) = match *foot {
            Foot::Data(from, to, _) | Foot::Range(from, to) => (from, to),
            _ => return Vec::new(),
        };
        if self.created || self.sized {
            return self.ops.clone();
        }
        let mut ops: Vec<usize> = self.overlapping(from, to).collect();
        ops.sort_unstable();
        ops
    }

    /// Whether a record with footprint `foot` must wait for these.
    fn conflicts(&self, foot: &Foot) -> bool {
        if self.whole {
            return true;
        }
        match foot {
            Foot::Whole => true,
            Foot::Xattr(n) => self.created || self.xattrs.contains(n),
            Foot::Data(..) | Foot::Range(..) => false,
        }
    }

    /// Whether what a record with footprint `foot` reads differs from the
    /// target's state.
    fn changes(&self, foot: &Foot) -> bool {
        match *foot {
            Foot::Data(from, to, _) => self.created || self.sized || self.overlaps(from, to),
            Foot::Range(from, to) => self.overlaps(from, to),
            _ => false,
        }
    }
}

/// How a record takes part in a batch.
#[derive(Debug)]
pub(super) enum Footprint {
    /// A control record: changes nothing on the target.
    None,
    /// A batch of its own (hard links, files with several names, records
    /// that cannot apply).
    Alone,
    /// A change of one file's data or attributes, or of a volume's blocks.
    At(Key, Foot),
    /// A namespace change of these paths; for a created regular file, its
    /// path again.
    Names(Vec<Bytes>, Option<Bytes>),
}

/// What the pending records of a batch touch.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Per file or volume: what the pending records change of it.
    feet: HashMap<Key, KeyState, BuildHasherDefault<KeyHasher>>,
    /// Every path a pending namespace record names.
    names: BTreeSet<Bytes>,
    /// Every path any pending record names.
    touched: BTreeSet<Bytes>,
}

/// Whether `set` holds `path`, one of its ancestors or one of its
/// descendants; `skip_equal` leaves `path` itself out.
fn related(set: &BTreeSet<Bytes>, path: &[u8], skip_equal: bool) -> bool {
    if set.is_empty() {
        return false;
    }
    if !skip_equal && set.contains(path) {
        return true;
    }
    let ancestor = path
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'/' && set.contains(&path[..i]));
    if ancestor {
        return true;
    }
    // Descendants sort between "path/" and "path0" ('0' follows '/').
    let mut lo = path.to_vec();
    lo.push(b'/');
    let mut hi = path.to_vec();
    hi.push(b'0');
    set.range(Bytes::from(lo)..Bytes::from(hi)).next().is_some()
}

fn shared(p: &RelPath) -> Bytes {
    p.as_shared().clone()
}

impl Batch {
    pub(super) fn clear(&mut self) {
        self.feet.clear();
        self.names.clear();
        self.touched.clear();
    }

    /// Whether the file at `path` was created by a pending record.
    fn created(&self, path: &Bytes) -> bool {
        !self.names.is_empty()
            && self
                .feet
                .get(&Key::Path(path.clone()))
                .is_some_and(|k| k.created)
    }

    /// How `op` takes part in a batch, given the target as it is before the
    /// pending records; for a `Write` or `SetLen` of a file the target
    /// holds, also that file's metadata (read once: the inverse needs it
    /// too).
    pub(super) fn footprint(
        &self,
        op: &Op,
        target: &mut dyn PreImage,
    ) -> io::Result<(Footprint, Option<NodeMeta>)> {
        if let Op::Write { path, .. } | Op::SetLen { path, .. } = op {
            // A file created by a pending record is a regular file with one
            // name, empty before the batch.
            let before = self.feet.get(&Key::Path(shared(path))).and_then(|k| k.meta);
            let (meta, size) = if self.created(path.as_shared()) {
                (None, 0)
            } else {
                match before.map_or_else(|| target.stat(path), |m| Ok(Some(m)))? {
                    Some(m) if m.nlink == 1 && m.kind == NodeKind::File => (Some(m), m.size),
                    _ => return Ok((Footprint::Alone, None)),
                }
            };
            let foot = match op {
                Op::Write { offset, data, .. } => {
                    let end = offset.saturating_add(data.len() as u64);
                    Foot::Data(*offset, end, end > size)
                }
                // A truncation reads the bytes it cuts off.
                Op::SetLen { len, .. } => Foot::Data((*len).min(size), size, true),
                _ => Foot::Data(0, 0, true),
            };
            return Ok((Footprint::At(Key::Path(shared(path)), foot), meta));
        }
        Ok((self.footprint_of(op, target)?, None))
    }

    fn footprint_of(&self, op: &Op, target: &mut dyn PreImage) -> io::Result<Footprint> {
        // (link count, kind) of the entry at a path: a file created by a
        // pending record is a regular file with one name.
        let mut meta = |p: &RelPath| -> io::Result<Option<(u64, NodeKind)>> {
            if self.created(p.as_shared()) {
                return Ok(Some((1, NodeKind::File)));
            }
            Ok(target.stat(p)?.map(|m| (m.nlink, m.kind)))
        };
        let one_file = |m: Option<(u64, NodeKind)>| m == Some((1, NodeKind::File));
        Ok(match op {
            Op::SetAttr { path, .. } => match meta(path)? {
                m if one_file(m) => Footprint::At(Key::Path(shared(path)), Foot::Whole),
                _ => Footprint::Alone,
            },
            Op::SetXattr { path, name, .. } | Op::RemoveXattr { path, name } => match meta(path)? {
                m if one_file(m) => {
                    Footprint::At(Key::Path(shared(path)), Foot::Xattr(name.clone()))
                }
                _ => Footprint::Alone,
            },
            Op::BlockWrite {
                volume,
                offset,
                data,
            } => Footprint::At(
                Key::Volume(*volume),
                Foot::Range(*offset, offset.saturating_add(data.len() as u64)),
            ),
            Op::Discard {
                volume,
                offset,
                len,
            } => Footprint::At(
                Key::Volume(*volume),
                Foot::Range(*offset, offset.saturating_add(*len)),
            ),
            Op::HardLink { .. } => Footprint::Alone,
            Op::Create { path, .. } => Footprint::Names(vec![shared(path)], Some(shared(path))),
            Op::Mkdir { path, .. }
            | Op::Symlink { path, .. }
            | Op::Mknod { path, .. }
            | Op::Rmdir { path } => Footprint::Names(vec![shared(path)], None),
            // Its inverse reads every attribute: nothing pending may touch one.
            Op::ClearXattrs { .. } => Footprint::Alone,
            Op::Delete { path } => match meta(path)? {
                // The inverse of removing one of several names looks for
                // another name in the whole tree.
                Some((n, NodeKind::File)) if n > 1 => Footprint::Alone,
                _ => Footprint::Names(vec![shared(path)], None),
            },
            Op::Rename { from, to } => {
                let several = matches!(meta(from)?, Some((n, NodeKind::File)) if n > 1);
                // Replacing a name: rolling the batch back after a crash
                // could not tell the replaced entry, put back, from the one
                // never moved (both names exist either way).
                if several || meta(to)?.is_some() {
                    Footprint::Alone
                } else {
                    Footprint::Names(vec![shared(from), shared(to)], None)
                }
            }
            op if is_namespace(op) => Footprint::Alone,
            _ => Footprint::None,
        })
    }

    /// Whether a record with footprint `fp` must wait for the pending
    /// records to land (the batch is flushed first).
    pub(super) fn must_flush(&self, fp: &Footprint) -> bool {
        match fp {
            Footprint::None => false,
            Footprint::Alone => true,
            Footprint::At(key, foot) => {
                if let Key::Path(p) = key {
                    // Its own name may be a pending create's, for data only.
                    if !self.names.is_empty() {
                        let own = self.names.contains(p);
                        let data = matches!(foot, Foot::Data(..));
                        if related(&self.names, p, true) || (own && !(data && self.created(p))) {
                            return true;
                        }
                    }
                }
                self.feet.get(key).is_some_and(|k| k.conflicts(foot))
            }
            Footprint::Names(paths, created) => paths.iter().any(|p| {
                // A file whose data alone is pending may be removed or
                // renamed: the overlay shows its contents and length.
                let data_only = created.is_none()
                    && self
                        .feet
                        .get(&Key::Path(p.clone()))
                        .is_some_and(|k| !k.created && !k.whole && k.xattrs.is_empty());
                related(&self.names, p, false) || related(&self.touched, p, data_only)
            }),
        }
    }

    /// Whether the record with footprint `fp` changes the data of a file
    /// that a pending record creates.
    pub(super) fn on_created(&self, fp: &Footprint) -> bool {
        matches!(fp, Footprint::At(Key::Path(p), Foot::Data(..)) if self.created(p))
    }

    /// The indices of the pending records that change what the record with
    /// footprint `fp` reads (empty when it can read the target itself).
    pub(super) fn overlaid(&self, fp: &Footprint) -> Vec<usize> {
        match fp {
            Footprint::At(key, foot) => match self.feet.get(key) {
                Some(k) if k.changes(foot) => k.readers_of(foot),
                _ => Vec::new(),
            },
            Footprint::Names(paths, _) => {
                let mut ops: Vec<usize> = paths
                    .iter()
                    .filter_map(|p| self.feet.get(&Key::Path(p.clone())))
                    .flat_map(|k| k.ops.iter().copied())
                    .collect();
                ops.sort_unstable();
                ops.dedup();
                ops
            }
            _ => Vec::new(),
        }
    }

    /// Adds the record at index `idx` of the batch, with footprint `fp`
    /// and, for a file's data, the file's metadata before the batch as its
    /// footprint read it.
    pub(super) fn add(&mut self, fp: Footprint, idx: usize, meta: Option<NodeMeta>) {
        match fp {
            Footprint::None | Footprint::Alone => {}
            Footprint::At(key, foot) => {
                if let Key::Path(p) = &key {
                    if !self.touched.contains(p) {
                        self.touched.insert(p.clone());
                    }
                }
                let k = self.feet.entry(key).or_default();
                if meta.is_some() {
                    k.meta = meta;
                }
                match foot {
                    Foot::Data(from, to, sized) => {
                        k.ops.push(idx);
                        if sized {
                            k.sized = true;
                        } else if from < to {
                            k.add_range(from, to, idx);
                        }
                    }
                    Foot::Range(from, to) => {
                        k.ops.push(idx);
                        if from < to {
                            k.add_range(from, to, idx);
                        }
                    }
                    Foot::Whole => k.whole = true,
                    Foot::Xattr(n) => k.xattrs.push(n),
                }
            }
            Footprint::Names(paths, created) => {
                for p in paths {
                    self.names.insert(p.clone());
                    self.touched.insert(p);
                }
                if let Some(p) = created {
                    let k = self.feet.entry(Key::Path(p)).or_default();
                    k.created = true;
                    k.ops.push(idx);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&str]) -> BTreeSet<Bytes> {
        paths
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    #[test]
    fn key_hashes_tell_paths_and_volumes_apart() {
        use std::hash::BuildHasher;
        let h = BuildHasherDefault::<KeyHasher>::default();
        let keys = [
            Key::Path(Bytes::from_static(b"a")),
            Key::Path(Bytes::from_static(b"b")),
            Key::Path(Bytes::from_static(b"dir/file-0001")),
            Key::Path(Bytes::from_static(b"dir/file-0002")),
            Key::Path(Bytes::from_static(b"dir/file-0001/x")),
            Key::Volume(0),
            Key::Volume(1),
        ];
        let hashes: BTreeSet<u64> = keys.iter().map(|k| h.hash_one(k)).collect();
        assert_eq!(hashes.len(), keys.len());
        assert_eq!(h.hash_one(&keys[2]), h.hash_one(keys[2].clone()));
    }

    #[test]
    fn related_finds_equal_ancestors_and_descendants_only() {
        let s = set(&["a/b", "c", "d/e/f"]);
        assert!(related(&s, b"a/b", false));
        assert!(!related(&s, b"a/b", true));
        assert!(related(&s, b"a", false));
        assert!(related(&s, b"a/b/x", true));
        assert!(related(&s, b"c/x/y", true));
        assert!(related(&s, b"d/e", true));
        assert!(!related(&s, b"a/bc", false));
        assert!(!related(&s, b"a/a", false));
        assert!(!related(&s, b"d/e0", false));
        assert!(!related(&s, b"cc", false));
        assert!(!related(&BTreeSet::new(), b"a", false));
    }

    #[test]
    fn only_data_follows_a_pending_create() {
        let created = KeyState {
            created: true,
            ..KeyState::default()
        };
        assert!(!created.conflicts(&Foot::Data(0, 4, false)));
        assert!(created.changes(&Foot::Data(0, 4, false)));
        assert!(created.conflicts(&Foot::Whole));
        assert!(created.conflicts(&Foot::Xattr(Bytes::from_static(b"user.a"))));
    }

    #[test]
    fn overlapping_ranges_are_overlaid_and_others_read_the_target() {
        let mut k = KeyState::default();
        k.add_range(100, 200, 0);
        k.add_range(1000, 1004, 1);
        assert!(k.changes(&Foot::Data(150, 160, false)));
        assert!(k.changes(&Foot::Data(0, 101, false)));
        assert!(k.changes(&Foot::Data(199, 300, false)));
        assert!(k.changes(&Foot::Range(1003, 1010)));
        assert!(!k.changes(&Foot::Data(200, 1000, false)));
        assert!(!k.changes(&Foot::Data(0, 100, false)));
        assert!(!k.changes(&Foot::Range(1004, 2000)));
        assert!(!k.conflicts(&Foot::Data(150, 160, false)));
        k.sized = true;
        assert!(k.changes(&Foot::Data(200, 1000, false)));
        k.whole = true;
        assert!(k.conflicts(&Foot::Data(5000, 5001, false)));
    }

    #[test]
    fn only_overlapping_writes_are_laid_over_a_read_unless_resized() {
        let mut k = KeyState::default();
        for (i, from) in [0u64, 100, 50, 1000].into_iter().enumerate() {
            k.ops.push(i);
            k.add_range(from, from + 60, i);
        }
        assert_eq!(k.readers_of(&Foot::Data(90, 120, false)), vec![1, 2]);
        assert_eq!(k.readers_of(&Foot::Range(1059, 1100)), vec![3]);
        assert!(k.readers_of(&Foot::Data(200, 1000, true)).is_empty());
        k.sized = true;
        assert_eq!(
            k.readers_of(&Foot::Data(200, 1000, false)),
            vec![0, 1, 2, 3]
        );
    }
}
