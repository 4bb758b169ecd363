//! The master's side of a sync: scan, compare, send.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytes::Bytes;
use rha_core::journal::{Attrs, JournalWriter, Op, RelPath, WriterConfig};
use rha_core::session::{Session, SyncMode, SyncReply, SyncRequest, SyncScope, BLOCK_HASH_LEN};
use rha_core::signature::tree::{
    compare, AttrChanges, Compare, CompareOptions, Entry, EntryKind, PlanOp, TreeReader,
};

use super::{block_hash, piece_for, unix_ns, SyncSettings, SyncStatus, OUT_BUDGET};
use rha_core::spool::{DirtyRegions, RegionTarget, TO_END};

use crate::sync::scan::{signature_of, ScanOptions, ScanStats, TreeScanner};
use crate::sync::xattr::{self, XattrScope};

/// The largest replica tree signature a master takes (a hostile replica
/// cannot fill the master's disk).
const MAX_TREE_BYTES: u64 = 16 << 30;

/// How many times a file whose check failed is sent again before the sync
/// fails.
const MAX_RESENDS: u32 = 2;

/// Files waiting to be sent again at most (a replica naming more is
/// refused: memory stays bounded whatever it sends).
const MAX_RESEND_QUEUE: usize = 4096;

/// Room a sync's begin needs beside its scope.
const SCOPE_ROOM: usize = 64;

type TreeFile = TreeReader<BufReader<File>>;

/// A sync run on the master: driven by [`poll`](Self::poll) while the
/// session has room, fed the replica's replies by
/// [`on_reply`](Self::on_reply).
pub(crate) struct SyncSender {
    id: u64,
    root: PathBuf,
    work: PathBuf,
    settings: SyncSettings,
    owners: bool,
    tree: Option<BufWriter<File>>,
    tree_bytes: u64,
    scan: Option<JoinHandle<Result<ScanStats, String>>>,
    plan: Option<Compare<TreeFile, TreeFile>>,
    records: Records,
    whole: Option<WholeFile>,
    blocks: Option<BlockFile>,
    resend: VecDeque<RelPath>,
    resent: HashMap<RelPath, u32>,
    next_request: u64,
    next_tmp: u64,
    ended: bool,
    done: bool,
    /// Master files that vanished between the scan and their transfer.
    vanished: u64,
    /// The last journal record the run's end said its content may include.
    replay_to: u64,
    /// A run narrowed to what a degraded spool marked dirty: the regions.
    regions: Option<DirtyRegions>,
    status: SyncStatus,
}

/// The sync's records not yet sent.
struct Records {
    writer: Option<JournalWriter<Vec<u8>>>,
    next_seq: u64,
}

impl Records {
    fn push(&mut self, op: Op) -> Result<(), String> {
        let next = self.next_seq;
        let w = self.writer.get_or_insert_with(|| {
            JournalWriter::new(
                Vec::new(),
                WriterConfig::default().stream_header(false).first_seq(next),
            )
        });
        w.append(unix_ns(), &op)
            .map_err(|e| format!("encoding sync record {next}: {e}"))?;
        self.next_seq += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.writer.as_ref().map_or(0, |w| w.get_ref().len())
    }

    /// Queues a write of `data` at `offset`, in records of at most `piece`
    /// bytes (a block larger than the peer's messages travels in parts),
    /// sending when a message's worth is queued.
    fn push_write(
        &mut self,
        id: u64,
        path: &RelPath,
        offset: u64,
        data: Bytes,
        piece: usize,
        session: &mut Session,
    ) -> Result<(), String> {
        let mut at = 0;
        while at < data.len() {
            let n = (data.len() - at).min(piece);
            self.push(Op::Write {
                path: path.clone(),
                offset: offset + at as u64,
                data: data.slice(at..at + n),
            })?;
            if self.len() >= piece {
                self.flush(id, session)?;
            }
            at += n;
        }
        Ok(())
    }

    /// Sends the records held, if any.
    fn flush(&mut self, id: u64, session: &mut Session) -> Result<(), String> {
        let Some(w) = self.writer.take() else {
            return Ok(());
        };
        let frames = w
            .into_inner()
            .map_err(|e| format!("encoding sync records: {e}"))?;
        if frames.is_empty() {
            return Ok(());
        }
        session
            .send_sync(SyncRequest::Records {
                id,
                frames: Bytes::from(frames),
            })
            .map_err(|e| format!("sending sync records: {e}"))
    }
}

/// A file on its way whole: into a temporary name renamed over the
/// replica's copy at the end, or, for a file the replica lacks, under its
/// own name.
struct WholeFile {
    entry: Entry,
    /// The name written: a temporary one, or the file's own.
    tmp: RelPath,
    /// Rename `tmp` to the file's name at the end.
    rename: bool,
    file: File,
    /// The data ranges left to read (and hash), in order.
    ranges: VecDeque<(u64, u64)>,
    /// Written in place over the replica's copy, which differs only here:
    /// of what is read, only these ranges are sent (the hash covers all).
    dirty: Option<Vec<(u64, u64)>>,
    /// The hash covers the file up to here (holes as zeros).
    hashed: u64,
    len: u64,
    hasher: blake3::Hasher,
}

/// A file compared block by block with the replica's copy.
struct BlockFile {
    request: u64,
    entry: Entry,
    file: File,
    len: u64,
    next_block: u64,
    /// Fed the master's block hashes, in order: the file's check.
    hasher: blake3::Hasher,
    /// Whether the replica answered with any block.
    answered: bool,
}

/// Reads `len` bytes at `offset` of `file`; what the file no longer has
/// (it shrank) reads as zeros, as the replica's copy will hold after its
/// length is set.
fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// Feeds `n` zero bytes to `hasher`.
pub(super) fn hash_zeros(hasher: &mut blake3::Hasher, mut n: u64) {
    const ZEROS: [u8; 8192] = [0; 8192];
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        hasher.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

impl SyncSender {
    /// Starts run `id`: sends the replica the request for its tree and
    /// scans the master's tree on a thread of its own. `work` holds the two
    /// signatures while the run lasts.
    /// With `regions`, the run covers only the paths they name (the
    /// replica scans the same ones), and a file dirty in parts has only
    /// those parts sent.
    pub(crate) fn start(
        id: u64,
        root: &Path,
        work: &Path,
        settings: SyncSettings,
        regions: Option<DirtyRegions>,
        session: &mut Session,
    ) -> Result<Self, String> {
        let mut regions = regions;
        let mut paths = regions.as_ref().map(scope_paths).unwrap_or_default();
        let mut scope = SyncScope::from_paths(&paths);
        if scope.as_bytes().len() + SCOPE_ROOM > session.max_body() {
            tracing::warn!(
                paths = paths.len(),
                "too many dirty paths to name in one message: the whole tree is synchronised"
            );
            (regions, paths, scope) = (None, Vec::new(), SyncScope::whole());
        }
        std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
        let tree_path = work.join("replica.sig");
        let tree = File::create(&tree_path)
            .map(BufWriter::new)
            .map_err(|e| format!("{}: {e}", tree_path.display()))?;
        let scan = {
            let root = root.to_path_buf();
            let out = work.join("master.sig");
            let paths = paths.clone();
            std::thread::Builder::new()
                .name("rha-sync-scan".to_owned())
                .spawn(move || scan_master(&root, &paths, &out))
                .map_err(|e| format!("starting the master scan: {e}"))?
        };
        session
            .send_sync(SyncRequest::Begin {
                id,
                mode: settings.mode,
                ignore_same: settings.ignore_same,
                block_size: settings.block_size,
                scope,
            })
            .map_err(|e| format!("starting sync {id}: {e}"))?;
        tracing::info!(id, root = %root.display(), paths = paths.len(), "sync started");
        Ok(Self {
            id,
            root: root.to_path_buf(),
            work: work.to_path_buf(),
            settings,
            owners: crate::sync::can_chown(),
            tree: Some(tree),
            tree_bytes: 0,
            scan: Some(scan),
            plan: None,
            records: Records {
                writer: None,
                next_seq: 1,
            },
            whole: None,
            blocks: None,
            resend: VecDeque::new(),
            resent: HashMap::new(),
            next_request: 1,
            next_tmp: 1,
            ended: false,
            done: false,
            vanished: 0,
            replay_to: 0,
            regions,
            status: SyncStatus {
                scope_paths: paths.len() as u64,
                ..SyncStatus::new(id, settings.mode)
            },
        })
    }

    /// The run's progress.
    pub(crate) fn status(&self) -> &SyncStatus {
        &self.status
    }

    /// Whether the replica said the run is applied and durable.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Whether another run must follow: a master file vanished between the
    /// scan and its transfer (and the run's end said so).
    pub(crate) fn needs_another(&self) -> bool {
        self.replay_to == u64::MAX
    }

    /// Advances the run while the session's output has room; `replay_to`
    /// is the master's last durable journal record now (what the sync's
    /// content may already include). If a file vanished under the run,
    /// another follows it and the replica applies the journal in replay
    /// mode until then (a rename whose source the sync could not send
    /// cannot be applied as written). Says whether anything was sent.
    pub(crate) fn poll(&mut self, session: &mut Session, replay_to: u64) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        if self.plan.is_none() && !self.open_plan()? {
            return Ok(false);
        }
        let piece = piece_for(session.max_body());
        let mut sent = false;
        while session.pending_output() < OUT_BUDGET {
            if self.blocks.is_some() {
                break;
            }
            if self.whole.is_some() {
                self.step_whole(piece, session)?;
            } else if let Some(path) = self.resend.pop_front() {
                self.resend_whole(path)?;
            } else if let Some(op) = self.plan.as_mut().and_then(|p| p.next()) {
                let op = op.map_err(|e| format!("comparing the trees: {e}"))?;
                self.status.compared += 1;
                self.start_op(op, session)?;
            } else if !self.ended {
                self.records.flush(self.id, session)?;
                let replay_to = if self.vanished > 0 {
                    u64::MAX
                } else {
                    replay_to
                };
                session
                    .send_sync(SyncRequest::End {
                        id: self.id,
                        replay_to,
                        entries: self.status.sent_entries,
                        bytes: self.status.sent_bytes,
                    })
                    .map_err(|e| format!("ending sync {}: {e}", self.id))?;
                self.ended = true;
                self.replay_to = replay_to;
                "finishing".clone_into(&mut self.status.phase);
            } else {
                break;
            }
            if self.records.len() >= piece {
                self.records.flush(self.id, session)?;
            }
            sent = true;
        }
        self.records.flush(self.id, session)?;
        Ok(sent)
    }

    /// Once the replica's tree and the master's scan are both complete:
    /// the plan. Says whether it is open.
    fn open_plan(&mut self) -> Result<bool, String> {
        if self.tree.is_some() || self.scan.as_ref().is_some_and(|s| !s.is_finished()) {
            return Ok(false);
        }
        if let Some(scan) = self.scan.take() {
            let stats = scan
                .join()
                .map_err(|_| "the master scan panicked".to_owned())??;
            self.status.scanned_entries = stats.entries;
            self.status.scanned_bytes = stats.bytes;
        }
        let open = |name: &str| -> Result<TreeFile, String> {
            let path = self.work.join(name);
            File::open(&path)
                .map(|f| TreeReader::new(BufReader::new(f)))
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        let mut options = CompareOptions::default()
            .ignore_same(self.settings.ignore_same)
            .owners(self.owners);
        if self.settings.mode == SyncMode::Block {
            options = options.check_contents(true);
        }
        self.plan = Some(compare(open("master.sig")?, open("replica.sig")?, options));
        "sending".clone_into(&mut self.status.phase);
        Ok(true)
    }

    /// Takes a reply of the replica.
    pub(crate) fn on_reply(
        &mut self,
        reply: SyncReply,
        session: &mut Session,
    ) -> Result<(), String> {
        if reply.id() != self.id {
            return Err(format!(
                "a sync reply of run {} during run {}",
                reply.id(),
                self.id
            ));
        }
        match reply {
            SyncReply::Tree { last, chunk, .. } => {
                let Some(tree) = self.tree.as_mut() else {
                    return Err("a piece of the replica's tree after its last".to_owned());
                };
                self.tree_bytes += chunk.len() as u64;
                if self.tree_bytes > MAX_TREE_BYTES {
                    return Err(format!(
                        "the replica's tree signature passes {MAX_TREE_BYTES} bytes"
                    ));
                }
                tree.write_all(&chunk)
                    .map_err(|e| format!("storing the replica's tree: {e}"))?;
                if last {
                    if let Some(mut t) = self.tree.take() {
                        t.flush()
                            .map_err(|e| format!("storing the replica's tree: {e}"))?;
                    }
                }
            }
            SyncReply::Blocks {
                file, last, hashes, ..
            } => self.on_blocks(file, last, &hashes, session)?,
            SyncReply::Mismatch { path, .. } => {
                let n = self.resent.entry(path.clone()).or_insert(0);
                *n += 1;
                if *n > MAX_RESENDS {
                    return Err(format!(
                        "the replica's copy of '{path}' does not match what was sent, \
                         {MAX_RESENDS} times"
                    ));
                }
                if self.resend.len() >= MAX_RESEND_QUEUE {
                    return Err(format!(
                        "more than {MAX_RESEND_QUEUE} files waiting to be sent again"
                    ));
                }
                tracing::warn!(%path, "the replica's copy did not match: sending it again");
                self.status.resent += 1;
                self.resend.push_back(path);
                if self.ended {
                    // The replica does not finish a run with a failed
                    // check: the end goes again after the resend.
                    self.ended = false;
                    "sending".clone_into(&mut self.status.phase);
                }
            }
            SyncReply::Progress { records, bytes, .. } => {
                self.status.applied_records = records;
                self.status.applied_bytes = bytes;
            }
            SyncReply::Done { .. } => {
                if !self.ended {
                    return Err("the replica finished a sync before its end".to_owned());
                }
                self.done = true;
                self.status.finish("done", None);
                tracing::info!(
                    id = self.id,
                    entries = self.status.sent_entries,
                    bytes = self.status.sent_bytes,
                    "sync done"
                );
            }
            _ => return Err("an unknown sync reply".to_owned()),
        }
        Ok(())
    }

    fn start_op(&mut self, op: PlanOp, session: &mut Session) -> Result<(), String> {
        match op {
            PlanOp::Delete { path, kind } => {
                self.records.push(if kind == EntryKind::Dir {
                    Op::Rmdir { path }
                } else {
                    Op::Delete { path }
                })?;
            }
            PlanOp::Mkdir { entry } => self.records.push(Op::Mkdir {
                path: entry.path,
                mode: entry.mode & 0o7777,
            })?,
            PlanOp::Create { entry } => return self.start_whole(entry, true).map(|_| ()),
            PlanOp::Update { entry } => {
                if let Some(dirty) = self.dirty_parts(&entry.path) {
                    return self.start_in_place(entry, dirty).map(|_| ());
                }
                if self.settings.mode == SyncMode::Block
                    && entry.size >= u64::from(self.settings.block_size)
                {
                    return self.start_blocks(entry, session);
                }
                return self.start_whole(entry, false).map(|_| ());
            }
            PlanOp::Check { entry } => return self.start_blocks(entry, session),
            PlanOp::Symlink { entry } => {
                self.records.push(Op::Symlink {
                    path: entry.path.clone(),
                    target: entry.target.clone(),
                })?;
                self.push_attrs(&entry.path, &entry, AttrChanges::ALL, true)?;
            }
            PlanOp::Link { entry, target } => self.records.push(Op::HardLink {
                existing: target,
                link: entry.path,
            })?,
            PlanOp::Special { entry } => return self.start_special(entry),
            PlanOp::SetAttrs { entry, changes } => {
                if !self.push_attrs(&entry.path, &entry, changes, false)? {
                    return Ok(());
                }
            }
            _ => return Err("an unknown plan step".to_owned()),
        }
        self.status.sent_entries += 1;
        Ok(())
    }

    /// Creates the master's FIFO or device node `entry` on the replica,
    /// with its attributes. A socket (only its listening program can make
    /// one) is skipped, as a local sync skips it.
    fn start_special(&mut self, entry: Entry) -> Result<(), String> {
        let full = crate::sync::join(&self.root, &entry.path);
        let meta = match std::fs::symlink_metadata(&full) {
            Ok(m) => m,
            Err(e) => {
                if e.kind() == std::io::ErrorKind::NotFound {
                    self.vanished += 1;
                } else {
                    tracing::warn!(path = %full.display(), %e, "not synced");
                }
                self.status.skipped += 1;
                return Ok(());
            }
        };
        let mode = std::os::unix::fs::MetadataExt::mode(&meta);
        if !rha_core::journal::is_mknod_mode(mode) {
            tracing::debug!(path = %entry.path, mode, "a socket is not synced");
            self.status.skipped += 1;
            return Ok(());
        }
        self.records.push(Op::Mknod {
            path: entry.path.clone(),
            mode,
            rdev: std::os::unix::fs::MetadataExt::rdev(&meta),
        })?;
        self.push_attrs(&entry.path, &entry, AttrChanges::ALL, true)?;
        self.status.sent_entries += 1;
        Ok(())
    }

    /// Queues the records that give the replica's `at` the `changes`
    /// attributes of the master's `entry`; `fresh` says the sync just made
    /// `at`, with no extended attributes. Says whether it queued any.
    ///
    /// Extended attributes go after the contents and the owner (a change
    /// of owner clears a file capability), before the mode and time: the
    /// master's whole set (what [`XattrScope::current`] covers), after an
    /// [`Op::ClearXattrs`] unless `at` is fresh. The master knows only a
    /// digest of the replica's set, not its names, so clearing first is
    /// what removes the names the master lacks; the records apply in the
    /// same batch, and a sync cut between them leaves a digest that
    /// differs, which the next run fixes.
    fn push_attrs(
        &mut self,
        at: &RelPath,
        entry: &Entry,
        changes: AttrChanges,
        fresh: bool,
    ) -> Result<bool, String> {
        let xattrs = if changes.xattrs && !(fresh && entry.xattrs.is_none()) {
            self.master_xattrs(entry)
        } else {
            None
        };
        let attrs = self.attrs(entry, changes.mode, changes.owner, changes.mtime);
        let Some(xattrs) = xattrs else {
            if attrs == Attrs::default() {
                return Ok(false);
            }
            self.records.push(Op::SetAttr {
                path: at.clone(),
                attrs,
            })?;
            return Ok(true);
        };
        if attrs.uid.is_some() {
            self.records.push(Op::SetAttr {
                path: at.clone(),
                attrs: Attrs {
                    uid: attrs.uid,
                    gid: attrs.gid,
                    ..Attrs::default()
                },
            })?;
        }
        if !fresh {
            self.records.push(Op::ClearXattrs { path: at.clone() })?;
        }
        for (name, value) in xattrs {
            self.records.push(Op::SetXattr {
                path: at.clone(),
                name: Bytes::from(name),
                value: Bytes::from(value),
            })?;
        }
        let rest = Attrs {
            uid: None,
            gid: None,
            ..attrs
        };
        if rest != Attrs::default() {
            self.records.push(Op::SetAttr {
                path: at.clone(),
                attrs: rest,
            })?;
        }
        Ok(true)
    }

    /// The master's extended attributes of `entry` now; `None` (logged) if
    /// they cannot be read: the entry vanished, and the journal carries
    /// what happened to it, or the next run finds the digests still differ.
    fn master_xattrs(&self, entry: &Entry) -> Option<xattr::Xattrs> {
        let full = crate::sync::join(&self.root, &entry.path);
        match xattr::read(&full, XattrScope::current()) {
            Ok(x) => Some(x),
            Err(e) => {
                tracing::warn!(path = %full.display(), %e, "extended attributes not synced");
                None
            }
        }
    }

    /// The attributes of `entry` a record sets.
    fn attrs(&self, entry: &Entry, mode: bool, owner: bool, mtime: bool) -> Attrs {
        let owner = owner && self.owners;
        Attrs {
            mode: (mode && entry.kind != EntryKind::Symlink).then_some(entry.mode & 0o7777),
            uid: owner.then_some(entry.uid),
            gid: owner.then_some(entry.gid),
            atime: None,
            mtime: mtime.then_some(entry.mtime_ns),
        }
    }

    /// Opens the master's file at `entry.path`, with its length now;
    /// `None` (counted, logged) if it vanished or cannot be read: the
    /// journal carries what happened to it.
    fn open_master(&mut self, entry: &Entry) -> Result<Option<(File, u64)>, String> {
        let path = self.root.join(entry.path.to_string());
        match File::open(&path) {
            Ok(f) => {
                let len = f
                    .metadata()
                    .map_err(|e| format!("'{}': {e}", entry.path))?
                    .len();
                Ok(Some((f, len)))
            }
            Err(e) => {
                if e.kind() == std::io::ErrorKind::NotFound {
                    self.vanished += 1;
                } else {
                    tracing::warn!(path = %path.display(), %e, "not synced");
                }
                self.status.skipped += 1;
                Ok(None)
            }
        }
    }

    /// Starts sending `entry` whole; says whether it did. A file the
    /// replica lacks (`missing`) is written under its own name, created
    /// exclusively and readable by its owner only until its attributes
    /// come last: a cut sync leaves it with a time after the replica's
    /// last durable point, which the next run suspects and sends again.
    /// Any other goes into a temporary name beside it, renamed over the
    /// replica's copy once complete.
    fn start_whole(&mut self, entry: Entry, missing: bool) -> Result<bool, String> {
        let Some((file, len)) = self.open_master(&entry)? else {
            return Ok(false);
        };
        let ranges: VecDeque<(u64, u64)> = if entry.sparse {
            crate::sync::data_ranges(&file, len)
                .map_err(|e| format!("'{}': {e}", entry.path))?
                .into_iter()
                .collect()
        } else {
            std::iter::once((0, len)).filter(|r| r.1 > r.0).collect()
        };
        let tmp = if missing {
            entry.path.clone()
        } else {
            self.temporary_beside(&entry.path)?
        };
        self.records.push(Op::Create {
            path: tmp.clone(),
            mode: 0o600,
        })?;
        self.whole = Some(WholeFile {
            entry,
            tmp,
            rename: !missing,
            file,
            ranges,
            dirty: None,
            hashed: 0,
            len,
            hasher: blake3::Hasher::new(),
        });
        Ok(true)
    }

    /// The ranges of `path` a narrowed run sends, when only parts of it are
    /// dirty (`None`: it is not, or all of it is).
    fn dirty_parts(&self, path: &RelPath) -> Option<Vec<(u64, u64)>> {
        let ranges = self
            .regions
            .as_ref()?
            .ranges(&RegionTarget::File(path.as_bytes().to_vec()));
        let whole = ranges.iter().any(|&(s, e)| s == 0 && e == TO_END);
        (!ranges.is_empty() && !whole).then_some(ranges)
    }

    /// Starts writing the `dirty` parts of `entry` in place over the
    /// replica's copy, which a narrowed run trusts to match elsewhere: the
    /// whole file is read and hashed for its check, and a copy that fails
    /// it is sent again whole. Holes read as zeros. Says whether it did.
    fn start_in_place(&mut self, entry: Entry, dirty: Vec<(u64, u64)>) -> Result<bool, String> {
        let Some((file, len)) = self.open_master(&entry)? else {
            return Ok(false);
        };
        self.whole = Some(WholeFile {
            tmp: entry.path.clone(),
            entry,
            rename: false,
            file,
            ranges: std::iter::once((0, len)).filter(|r| r.1 > r.0).collect(),
            dirty: Some(dirty),
            hashed: 0,
            len,
            hasher: blake3::Hasher::new(),
        });
        Ok(true)
    }

    /// A new temporary name in the directory of `path`.
    fn temporary_beside(&mut self, path: &RelPath) -> Result<RelPath, String> {
        let name = format!(".rha-sync-{}-{}.tmp", self.id, self.next_tmp);
        self.next_tmp += 1;
        match path.as_bytes().iter().rposition(|&b| b == b'/') {
            Some(i) => {
                let mut p = path.as_bytes()[..=i].to_vec();
                p.extend_from_slice(name.as_bytes());
                RelPath::new(p)
            }
            None => RelPath::new(name),
        }
        .map_err(|e| format!("a temporary name beside '{path}': {e}"))
    }

    /// Sends the next piece of the file on its way whole, or finishes it.
    fn step_whole(&mut self, piece: usize, session: &mut Session) -> Result<(), String> {
        let Some(w) = self.whole.as_mut() else {
            return Ok(());
        };
        if let Some(&(start, end)) = w.ranges.front() {
            let n = (end - start).min(piece as u64);
            let data = read_at(&w.file, start, n as usize)
                .map_err(|e| format!("reading '{}': {e}", w.entry.path))?;
            hash_zeros(&mut w.hasher, start - w.hashed);
            w.hasher.update(&data);
            w.hashed = start + n;
            if start + n >= end {
                w.ranges.pop_front();
            } else if let Some(r) = w.ranges.front_mut() {
                r.0 = start + n;
            }
            let data = Bytes::from(data);
            let Some(dirty) = &w.dirty else {
                self.status.sent_bytes += n;
                let op = Op::Write {
                    path: w.tmp.clone(),
                    offset: start,
                    data,
                };
                return self.records.push(op);
            };
            // In place: only the dirty parts of what was read.
            let path = w.tmp.clone();
            for (s, e) in overlaps(dirty, start, start + n) {
                self.status.sent_bytes += e - s;
                self.records.push(Op::Write {
                    path: path.clone(),
                    offset: s,
                    data: data.slice((s - start) as usize..(e - start) as usize),
                })?;
            }
            return Ok(());
        }
        let Some(w) = self.whole.take() else {
            return Ok(());
        };
        let mut hasher = w.hasher;
        hash_zeros(&mut hasher, w.len - w.hashed);
        if w.hashed != w.len || w.dirty.is_some() {
            // A hole at the end: the writes stopped short of the length.
            self.records.push(Op::SetLen {
                path: w.tmp.clone(),
                len: w.len,
            })?;
        }
        self.push_attrs(&w.tmp, &w.entry, AttrChanges::ALL, true)?;
        if w.rename {
            self.records.push(Op::Rename {
                from: w.tmp,
                to: w.entry.path.clone(),
            })?;
        }
        self.status.sent_entries += 1;
        self.check(w.entry.path, w.len, false, hasher, session)
    }

    /// Sends the check of a file whose records are all out.
    fn check(
        &mut self,
        path: RelPath,
        len: u64,
        by_blocks: bool,
        hasher: blake3::Hasher,
        session: &mut Session,
    ) -> Result<(), String> {
        self.records.flush(self.id, session)?;
        session
            .send_sync(SyncRequest::Check {
                id: self.id,
                path,
                len,
                by_blocks,
                hash: *hasher.finalize().as_bytes(),
            })
            .map_err(|e| format!("sending a sync check: {e}"))
    }

    fn resend_whole(&mut self, path: RelPath) -> Result<(), String> {
        let full = self.root.join(path.to_string());
        let meta = match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_file() => m,
            _ => {
                // Gone or no longer a file: the journal carries what
                // happened to it.
                self.vanished += 1;
                self.status.skipped += 1;
                return Ok(());
            }
        };
        let entry = crate::sync::scan::entry_from(path, &meta);
        self.start_whole(entry, false).map(|_| ())
    }

    /// Asks for the replica's block hashes of `entry`'s file.
    fn start_blocks(&mut self, entry: Entry, session: &mut Session) -> Result<(), String> {
        let Some((file, len)) = self.open_master(&entry)? else {
            return Ok(());
        };
        let request = self.next_request;
        self.next_request += 1;
        self.records.flush(self.id, session)?;
        session
            .send_sync(SyncRequest::Blocks {
                id: self.id,
                file: request,
                path: entry.path.clone(),
            })
            .map_err(|e| format!("asking for the blocks of '{}': {e}", entry.path))?;
        self.blocks = Some(BlockFile {
            request,
            entry,
            file,
            len,
            next_block: 0,
            hasher: blake3::Hasher::new(),
            answered: false,
        });
        Ok(())
    }

    /// Compares a piece of the replica's block hashes with the master's
    /// blocks at the same offsets and sends the blocks that differ.
    fn on_blocks(
        &mut self,
        request: u64,
        last: bool,
        hashes: &[u8],
        session: &mut Session,
    ) -> Result<(), String> {
        let piece = piece_for(session.max_body());
        let bs = u64::from(self.settings.block_size);
        let Some(b) = self.blocks.as_mut() else {
            return Err(format!(
                "block hashes for request {request}, which is not open"
            ));
        };
        if b.request != request {
            return Err(format!(
                "block hashes for request {request} while request {} is open",
                b.request
            ));
        }
        for h in hashes.chunks_exact(BLOCK_HASH_LEN) {
            b.answered = true;
            let offset = b.next_block.saturating_mul(bs);
            b.next_block += 1;
            if offset >= b.len {
                continue;
            }
            let n = (b.len - offset).min(bs) as usize;
            let data = read_at(&b.file, offset, n)
                .map_err(|e| format!("reading '{}': {e}", b.entry.path))?;
            let mine = block_hash(&data);
            b.hasher.update(&mine);
            if mine[..] == *h {
                self.status.matched_bytes += n as u64;
                continue;
            }
            self.status.sent_bytes += n as u64;
            self.records.push_write(
                self.id,
                &b.entry.path,
                offset,
                Bytes::from(data),
                piece,
                session,
            )?;
        }
        if !last {
            return Ok(());
        }
        let Some(mut b) = self.blocks.take() else {
            return Ok(());
        };
        if !b.answered {
            // The replica has no blocks of it (an empty file, none, or one
            // with other names it must not change in place): send it whole.
            return self.start_whole(b.entry, false).map(|_| ());
        }
        // What the master has past the replica's blocks, block by block.
        let mut offset = b.next_block.saturating_mul(bs);
        while offset < b.len {
            let n = (b.len - offset).min(bs) as usize;
            let data = read_at(&b.file, offset, n)
                .map_err(|e| format!("reading '{}': {e}", b.entry.path))?;
            b.hasher.update(&block_hash(&data));
            self.status.sent_bytes += n as u64;
            self.records.push_write(
                self.id,
                &b.entry.path,
                offset,
                Bytes::from(data),
                piece,
                session,
            )?;
            offset += n as u64;
        }
        self.records.push(Op::SetLen {
            path: b.entry.path.clone(),
            len: b.len,
        })?;
        // Changed in place: the replica's extended attributes are not
        // known to match.
        self.push_attrs(&b.entry.path, &b.entry, AttrChanges::ALL, false)?;
        self.status.sent_entries += 1;
        self.check(b.entry.path, b.len, true, b.hasher, session)
    }
}

impl Drop for SyncSender {
    fn drop(&mut self) {
        self.tree = None;
        for name in ["replica.sig", "master.sig"] {
            let _ = std::fs::remove_file(self.work.join(name));
        }
    }
}

/// The paths a run narrowed to `regions` covers: every file they name
/// (volumes are not synced over the session).
fn scope_paths(regions: &DirtyRegions) -> Vec<RelPath> {
    regions
        .iter()
        .filter_map(|(target, _)| match target {
            RegionTarget::File(path) => RelPath::new(path.clone()).ok(),
            RegionTarget::Volume(_) => None,
        })
        .collect()
}

/// The parts of the sorted, disjoint `ranges` within `[start, end)`.
fn overlaps(ranges: &[(u64, u64)], start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
    ranges
        .iter()
        .map(move |&(s, e)| (s.max(start), e.min(end)))
        .filter(|&(s, e)| s < e)
}

/// Scans the master's tree (only `paths`, when there are any) into the
/// signature file `out`.
fn scan_master(root: &Path, paths: &[RelPath], out: &Path) -> Result<ScanStats, String> {
    let _span = tracing::info_span!("sync_scan", root = %root.display()).entered();
    let file = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let options = ScanOptions {
        skip_unreadable: true,
        xattrs: Some(XattrScope::current()),
        ..ScanOptions::default()
    };
    let scanner = if paths.is_empty() {
        TreeScanner::new(root, options)
    } else {
        TreeScanner::scoped(root, options, paths)
    };
    let (stats, w) = signature_of(scanner, BufWriter::new(file))
        .map_err(|e| format!("scanning {}: {e}", root.display()))?;
    w.into_inner()
        .map_err(|e| format!("{}: {}", out.display(), e.error()))?;
    Ok(stats)
}
