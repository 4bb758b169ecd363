//! Comparing two signatures into a sync plan, as a streaming merge-join.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

use super::entry::{is_inside, path_order, Entry, EntryKind, HardLink};
use super::error::{CompareError, GlobError, Side, TreeReadError};
use super::glob::Glob;
use super::order::OrderCheck;
use crate::journal::RelPath;

/// How [`compare`] decides what differs.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    ignore_same: bool,
    check_contents: bool,
    owners: bool,
    excludes: Vec<Glob>,
}

impl Default for CompareOptions {
    /// The file-level sync defaults: ignore files of the same size and
    /// modification time, no content checks, compare owners, no exclusions.
    fn default() -> Self {
        Self {
            ignore_same: true,
            check_contents: false,
            owners: true,
            excludes: Vec::new(),
        }
    }
}

impl CompareOptions {
    /// *Ignore files of same size/timestamp* (default on): a file whose
    /// size and modification time agree is treated as identical. Off, such
    /// a file is overwritten, or content-checked if
    /// [`check_contents`](Self::check_contents) is on.
    pub fn ignore_same(mut self, on: bool) -> Self {
        self.ignore_same = on;
        self
    }

    /// With [`ignore_same`](Self::ignore_same) off, files whose size and
    /// time agree get a [`PlanOp::Check`] (compare contents, for example by
    /// block signatures) instead of an unconditional overwrite. Default off.
    pub fn check_contents(mut self, on: bool) -> Self {
        self.check_contents = on;
        self
    }

    /// Whether differing owners (uid, gid) need fixing. Default on; turn it
    /// off when the replica side cannot change owners (not root).
    pub fn owners(mut self, on: bool) -> Self {
        self.owners = on;
        self
    }

    /// Adds an exclusion pattern (see [`Glob`]): matching entries, and
    /// everything inside matching directories, are left alone on both sides.
    /// A replica-only directory holding an excluded entry is kept (with
    /// what else it holds deleted), as is a replica directory in the way of
    /// a master file for the same reason.
    pub fn exclude(mut self, pattern: &str) -> Result<Self, GlobError> {
        self.excludes.push(Glob::new(pattern)?);
        Ok(self)
    }

    /// The exclusion patterns, in the order added.
    pub fn excludes(&self) -> &[Glob] {
        &self.excludes
    }

    fn excluded(&self, path: &[u8], is_dir: bool) -> bool {
        self.excludes.iter().any(|g| g.matches(path, is_dir))
    }
}

/// Which attributes a [`PlanOp::SetAttrs`] fixes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttrChanges {
    /// Permission bits.
    pub mode: bool,
    /// Owner and group.
    pub owner: bool,
    /// Modification time.
    pub mtime: bool,
    /// Extended attributes (their digests differ): the replica's set must
    /// become the master's exactly, names added, changed and removed.
    pub xattrs: bool,
}

impl AttrChanges {
    /// Every attribute.
    pub const ALL: Self = Self {
        mode: true,
        owner: true,
        mtime: true,
        xattrs: true,
    };

    /// Whether nothing needs fixing.
    pub fn is_empty(self) -> bool {
        !(self.mode || self.owner || self.mtime || self.xattrs)
    }

    fn between(master: &Entry, replica: &Entry, owners: bool) -> Self {
        Self {
            // A symlink's permission bits mean nothing on Linux.
            mode: master.kind != EntryKind::Symlink && master.mode != replica.mode,
            owner: owners && (master.uid, master.gid) != (replica.uid, replica.gid),
            mtime: master.mtime_ns != replica.mtime_ns,
            xattrs: master.xattrs != replica.xattrs,
        }
    }
}

/// One step of a sync plan, to be applied to the replica in the order
/// [`compare`] gives them.
///
/// The order is safe: a directory is created before its contents, a
/// directory is deleted after its contents (deepest first), a path is
/// deleted before something else is created in its place, a hard link comes
/// after the file it links to, and a directory's attributes (its time
/// above all) are fixed after everything inside it.
///
/// Every op that makes or rewrites an entry carries the master's [`Entry`],
/// whose attributes the result must have. Creating ops expect nothing at
/// the path (a [`Delete`](Self::Delete) comes first when something was).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanOp {
    /// Remove the replica's entry (a directory is empty by then).
    Delete {
        /// The path.
        path: RelPath,
        /// What the replica has there.
        kind: EntryKind,
    },
    /// Create a directory (its attributes follow in a `SetAttrs` after its
    /// contents).
    Mkdir {
        /// The master's directory.
        entry: Entry,
    },
    /// Send a file that exists only on the master.
    Create {
        /// The master's file.
        entry: Entry,
    },
    /// Overwrite the replica's file with the master's (it differs).
    Update {
        /// The master's file.
        entry: Entry,
    },
    /// Size and time agree but were not trusted: compare contents, send the
    /// file if they differ, then give it the master's attributes.
    Check {
        /// The master's file.
        entry: Entry,
    },
    /// Create a symlink.
    Symlink {
        /// The master's symlink (its `target`).
        entry: Entry,
    },
    /// Make `entry.path` another name of the (already synced) file `target`.
    Link {
        /// The master's entry.
        entry: Entry,
        /// The first name of the file, earlier in the plan.
        target: RelPath,
    },
    /// Create a special file (FIFO, socket, device node).
    Special {
        /// The master's entry.
        entry: Entry,
    },
    /// Give an existing entry the master's attributes.
    SetAttrs {
        /// The master's entry.
        entry: Entry,
        /// Which attributes differ.
        changes: AttrChanges,
    },
}

impl PlanOp {
    /// The path the op acts on.
    pub fn path(&self) -> &RelPath {
        match self {
            PlanOp::Delete { path, .. } => path,
            PlanOp::Mkdir { entry }
            | PlanOp::Create { entry }
            | PlanOp::Update { entry }
            | PlanOp::Check { entry }
            | PlanOp::Symlink { entry }
            | PlanOp::Link { entry, .. }
            | PlanOp::Special { entry }
            | PlanOp::SetAttrs { entry, .. } => &entry.path,
        }
    }

    /// Lowercase name: `delete`, `mkdir`, `create`, `update`, `check`,
    /// `symlink`, `link`, `special`, `attrs`.
    pub fn name(&self) -> &'static str {
        match self {
            PlanOp::Delete { .. } => "delete",
            PlanOp::Mkdir { .. } => "mkdir",
            PlanOp::Create { .. } => "create",
            PlanOp::Update { .. } => "update",
            PlanOp::Check { .. } => "check",
            PlanOp::Symlink { .. } => "symlink",
            PlanOp::Link { .. } => "link",
            PlanOp::Special { .. } => "special",
            PlanOp::SetAttrs { .. } => "attrs",
        }
    }
}

/// One input signature with one entry of lookahead and its order check.
struct Input<I> {
    iter: I,
    side: Side,
    order: OrderCheck,
    head: Option<Entry>,
    ended: bool,
}

impl<I> Input<I> {
    fn new(iter: I, side: Side) -> Self {
        Self {
            iter,
            side,
            order: OrderCheck::default(),
            head: None,
            ended: false,
        }
    }
}

impl<I: Iterator<Item = Result<Entry, TreeReadError>>> Input<I> {
    fn peek(&mut self) -> Result<Option<&Entry>, CompareError> {
        if self.head.is_none() && !self.ended {
            match self.iter.next() {
                None => self.ended = true,
                Some(Err(source)) => {
                    return Err(CompareError::Read {
                        side: self.side,
                        source,
                    })
                }
                Some(Ok(e)) => {
                    self.order
                        .push(&e.path, e.kind)
                        .map_err(|source| CompareError::Order {
                            side: self.side,
                            source,
                        })?;
                    self.head = Some(e);
                }
            }
        }
        Ok(self.head.as_ref())
    }
}

enum Frame {
    /// A directory that exists on the master (and will on the replica).
    Dir {
        entry: Entry,
        changes: AttrChanges,
        /// Something inside changed, so its time must be set again.
        dirty: bool,
    },
    /// A replica directory being deleted; `then` is what replaces it.
    Delete {
        path: RelPath,
        then: Vec<PlanOp>,
        /// It holds excluded entries, so it stays (and `then` is dropped).
        kept: bool,
    },
}

impl Frame {
    fn path(&self) -> &RelPath {
        match self {
            Frame::Dir { entry, .. } => &entry.path,
            Frame::Delete { path, .. } => path,
        }
    }
}

struct Group {
    leader: RelPath,
    /// The leader was given a new inode by the plan: every other name must
    /// be linked again.
    replaced: bool,
}

/// The sync plan: an iterator of [`PlanOp`]s, produced by [`compare`].
///
/// Memory: one entry of lookahead per side, one frame per directory level,
/// and one record per hard-linked file; never the whole tree.
pub struct Compare<M, R> {
    master: Input<M>,
    replica: Input<R>,
    options: CompareOptions,
    out: VecDeque<PlanOp>,
    stack: Vec<Frame>,
    master_groups: HashMap<HardLink, Group>,
    replica_groups: HashMap<HardLink, RelPath>,
    skip: Option<RelPath>,
    failed: bool,
}

impl<M, R> std::fmt::Debug for Compare<M, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compare")
            .field("options", &self.options)
            .field("depth", &self.stack.len())
            .field("pending", &self.out.len())
            .finish_non_exhaustive()
    }
}

/// Compares the master's signature with the replica's and returns the plan
/// that makes the replica equal to the master.
///
/// Both inputs are streams of entries in signature order (as
/// [`TreeReader`](super::TreeReader) yields them); they are merged in one
/// pass. An input error or an out-of-order entry ends the plan with a
/// [`CompareError`] naming the side.
///
/// ```
/// use rha_core::journal::RelPath;
/// use rha_core::signature::tree::{compare, CompareOptions, Entry, EntryKind, PlanOp};
///
/// let file = |p: &str, size| {
///     let mut e = Entry::new(RelPath::new(p.to_owned()).unwrap(), EntryKind::File);
///     e.size = size;
///     e
/// };
/// let master = vec![file("a", 1), file("b", 2)];
/// let replica = vec![file("b", 3), file("c", 4)];
/// let plan: Vec<PlanOp> = compare(
///     master.into_iter().map(Ok),
///     replica.into_iter().map(Ok),
///     CompareOptions::default(),
/// )
/// .collect::<Result<_, _>>()?;
/// let names: Vec<_> = plan.iter().map(|op| (op.name(), op.path().to_string())).collect();
/// assert_eq!(names, [("create", "a".into()), ("update", "b".into()), ("delete", "c".into())]);
/// # Ok::<(), rha_core::signature::tree::CompareError>(())
/// ```
pub fn compare<M, R>(
    master: M,
    replica: R,
    options: CompareOptions,
) -> Compare<M::IntoIter, R::IntoIter>
where
    M: IntoIterator<Item = Result<Entry, TreeReadError>>,
    R: IntoIterator<Item = Result<Entry, TreeReadError>>,
{
    Compare {
        master: Input::new(master.into_iter(), Side::Master),
        replica: Input::new(replica.into_iter(), Side::Replica),
        options,
        out: VecDeque::new(),
        stack: Vec::new(),
        master_groups: HashMap::new(),
        replica_groups: HashMap::new(),
        skip: None,
        failed: false,
    }
}

impl<M, R> Iterator for Compare<M, R>
where
    M: Iterator<Item = Result<Entry, TreeReadError>>,
    R: Iterator<Item = Result<Entry, TreeReadError>>,
{
    type Item = Result<PlanOp, CompareError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(op) = self.out.pop_front() {
                return Some(Ok(op));
            }
            if self.failed {
                return None;
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => {
                    if self.out.is_empty() {
                        return None;
                    }
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<M, R> Compare<M, R>
where
    M: Iterator<Item = Result<Entry, TreeReadError>>,
    R: Iterator<Item = Result<Entry, TreeReadError>>,
{
    /// Consumes the next path of either side; `false` at the end.
    fn step(&mut self) -> Result<bool, CompareError> {
        self.master.peek()?;
        self.replica.peek()?;
        let order = match (&self.master.head, &self.replica.head) {
            (None, None) => {
                while !self.stack.is_empty() {
                    self.pop_frame();
                }
                return Ok(false);
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(m), Some(r)) => path_order(m.path.as_bytes(), r.path.as_bytes()),
        };
        let master = if order != Ordering::Greater {
            self.master.head.take()
        } else {
            None
        };
        let replica = if order != Ordering::Less {
            self.replica.head.take()
        } else {
            None
        };
        let Some(path) = master.as_ref().or(replica.as_ref()).map(|e| &e.path) else {
            return Ok(true);
        };

        while self
            .stack
            .last()
            .is_some_and(|f| !is_inside(f.path().as_bytes(), path.as_bytes()))
        {
            self.pop_frame();
        }

        if let Some(skip) = &self.skip {
            if is_inside(skip.as_bytes(), path.as_bytes()) {
                return Ok(true);
            }
            self.skip = None;
        }
        let is_dir = [&master, &replica]
            .iter()
            .any(|e| e.as_ref().is_some_and(|e| e.kind == EntryKind::Dir));
        if self.options.excluded(path.as_bytes(), is_dir) {
            if is_dir {
                self.skip = Some(path.clone());
            }
            // Directories around an excluded entry cannot be deleted.
            for frame in &mut self.stack {
                if let Frame::Delete { kept, .. } = frame {
                    *kept = true;
                }
            }
            return Ok(true);
        }

        match (master, replica) {
            (Some(m), None) => {
                self.dirty_parent();
                let ops = self.create_ops(m);
                self.emit_creation(ops);
            }
            (None, Some(r)) => {
                self.note_replica(&r);
                // A directory's deletion dirties its parent when it happens.
                if r.kind != EntryKind::Dir {
                    self.dirty_parent();
                }
                self.delete(r, Vec::new());
            }
            (Some(m), Some(r)) => self.both(m, r),
            (None, None) => {}
        }
        Ok(true)
    }

    fn both(&mut self, m: Entry, r: Entry) {
        let r_leader = self.note_replica(&r);
        if m.kind != r.kind {
            if r.kind != EntryKind::Dir {
                self.dirty_parent();
            }
            let ops = self.create_ops(m);
            self.delete(r, ops);
            return;
        }
        let owners = self.options.owners;
        match m.kind {
            EntryKind::Dir => {
                let changes = AttrChanges::between(&m, &r, owners);
                self.stack.push(Frame::Dir {
                    entry: m,
                    changes,
                    dirty: false,
                });
            }
            EntryKind::Symlink if m.target != r.target => {
                self.dirty_parent();
                self.out.push_back(PlanOp::Delete {
                    path: r.path,
                    kind: r.kind,
                });
                self.out.push_back(PlanOp::Symlink { entry: m });
            }
            EntryKind::Symlink | EntryKind::Other => self.fix_attrs(m, &r),
            EntryKind::File => {
                let m_leader = self.note_master(&m);
                match m_leader {
                    Some((leader, replaced)) if leader != m.path => {
                        if replaced || r_leader.as_ref() != Some(&leader) {
                            self.dirty_parent();
                            self.out.push_back(PlanOp::Delete {
                                path: r.path,
                                kind: r.kind,
                            });
                            self.out.push_back(PlanOp::Link {
                                entry: m,
                                target: leader,
                            });
                        }
                        // Otherwise the same file as its leader: already synced.
                    }
                    _ => {
                        let linked_elsewhere = r_leader.is_some_and(|l| l != r.path);
                        let same = m.size == r.size && m.mtime_ns == r.mtime_ns;
                        let op = if linked_elsewhere || !same {
                            Some(PlanOp::Update { entry: m.clone() })
                        } else if self.options.ignore_same {
                            None
                        } else if self.options.check_contents {
                            Some(PlanOp::Check { entry: m.clone() })
                        } else {
                            Some(PlanOp::Update { entry: m.clone() })
                        };
                        match op {
                            Some(op) => {
                                if let Some(link) = m.link {
                                    if let Some(g) = self.master_groups.get_mut(&link) {
                                        g.replaced = true;
                                    }
                                }
                                self.dirty_parent();
                                self.out.push_back(op);
                            }
                            None => self.fix_attrs(m, &r),
                        }
                    }
                }
            }
        }
    }

    fn fix_attrs(&mut self, m: Entry, r: &Entry) {
        let changes = AttrChanges::between(&m, r, self.options.owners);
        if !changes.is_empty() {
            self.out.push_back(PlanOp::SetAttrs { entry: m, changes });
        }
    }

    /// Registers a master file's hard-link group; its leader (first name)
    /// and whether the plan replaced the leader's inode.
    fn note_master(&mut self, m: &Entry) -> Option<(RelPath, bool)> {
        let link = m.link?;
        let g = self.master_groups.entry(link).or_insert_with(|| Group {
            leader: m.path.clone(),
            replaced: false,
        });
        Some((g.leader.clone(), g.replaced))
    }

    /// Registers a replica file's hard-link group and returns its leader.
    fn note_replica(&mut self, r: &Entry) -> Option<RelPath> {
        let link = r.link?;
        Some(
            self.replica_groups
                .entry(link)
                .or_insert_with(|| r.path.clone())
                .clone(),
        )
    }

    /// The ops that create master entry `m` where nothing is.
    fn create_ops(&mut self, m: Entry) -> Vec<PlanOp> {
        match m.kind {
            EntryKind::Dir => vec![PlanOp::Mkdir { entry: m }],
            EntryKind::Symlink => vec![PlanOp::Symlink { entry: m }],
            EntryKind::Other => vec![PlanOp::Special { entry: m }],
            EntryKind::File => match self.note_master(&m) {
                Some((leader, _)) if leader != m.path => vec![PlanOp::Link {
                    entry: m,
                    target: leader,
                }],
                leader => {
                    if leader.is_some() {
                        if let Some(g) = m.link.and_then(|l| self.master_groups.get_mut(&l)) {
                            g.replaced = true;
                        }
                    }
                    vec![PlanOp::Create { entry: m }]
                }
            },
        }
    }

    /// Emits creating ops now; a new directory opens a frame.
    fn emit_creation(&mut self, ops: Vec<PlanOp>) {
        for op in ops {
            if let PlanOp::Mkdir { entry } = &op {
                self.stack.push(Frame::Dir {
                    entry: entry.clone(),
                    changes: AttrChanges::ALL,
                    dirty: true,
                });
            }
            self.out.push_back(op);
        }
    }

    /// Deletes replica entry `r`, then runs `then` in its place. A
    /// directory's deletion waits until its contents are deleted.
    fn delete(&mut self, r: Entry, then: Vec<PlanOp>) {
        if r.kind == EntryKind::Dir {
            self.stack.push(Frame::Delete {
                path: r.path,
                then,
                kept: false,
            });
        } else {
            self.out.push_back(PlanOp::Delete {
                path: r.path,
                kind: r.kind,
            });
            self.emit_creation(then);
        }
    }

    fn dirty_parent(&mut self) {
        if let Some(Frame::Dir { dirty, .. }) = self.stack.last_mut() {
            *dirty = true;
        }
    }

    fn pop_frame(&mut self) {
        match self.stack.pop() {
            Some(Frame::Dir {
                entry,
                mut changes,
                dirty,
            }) => {
                changes.mtime |= dirty;
                if !changes.is_empty() {
                    self.out.push_back(PlanOp::SetAttrs { entry, changes });
                }
            }
            Some(Frame::Delete {
                kept: true, then, ..
            }) => {
                // A dropped file cannot be linked to: its group's next name
                // becomes the group's first.
                for op in then {
                    if let PlanOp::Create { entry } = op {
                        if let Some(link) = entry.link {
                            if self
                                .master_groups
                                .get(&link)
                                .is_some_and(|g| g.leader == entry.path)
                            {
                                self.master_groups.remove(&link);
                            }
                        }
                    }
                }
            }
            Some(Frame::Delete { path, then, .. }) => {
                self.dirty_parent();
                self.out.push_back(PlanOp::Delete {
                    path,
                    kind: EntryKind::Dir,
                });
                self.emit_creation(then);
            }
            None => {}
        }
    }
}
