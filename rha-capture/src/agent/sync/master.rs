//! The master's side of a sync: scan, compare, send.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytes::Bytes;
use rha_core::journal::{Attrs, JournalWriter, Op, RelPath, WriterConfig};
use rha_core::session::{Session, SyncMode, SyncReply, SyncRequest, SyncScope};
use rha_core::signature::tree::{
    compare, AttrChanges, Compare, CompareOptions, Entry, EntryKind, PlanOp, TreeReader,
};

use super::{piece_for, unix_ns, SyncSettings, SyncStatus, OUT_BUDGET};
use rha_core::spool::{DirtyRegions, RegionTarget};

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

mod files;

pub(super) use files::hash_zeros;
use files::{BlockFile, WholeFile};

/// A signature file, read in the reader's own 64 KiB pieces (a `BufReader`
/// in front would only copy them once more).
type TreeFile = TreeReader<File>;

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
                tracing::debug!(id = self.id, "compared and sent: the run ends");
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
                .map(TreeReader::new)
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        let mut options = CompareOptions::default()
            .ignore_same(self.settings.ignore_same)
            .owners(self.owners);
        if self.settings.mode == SyncMode::Block {
            options = options.check_contents(true);
        }
        self.plan = Some(compare(open("master.sig")?, open("replica.sig")?, options));
        tracing::debug!(id = self.id, "both trees scanned: comparing");
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
