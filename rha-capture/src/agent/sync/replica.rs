//! The replica's side of a sync: scan, hash blocks, apply, check.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rha_core::journal::{Decoder, DecoderConfig, End, Op, RelPath};
use rha_core::rewind::{PreImage, Target};
use rha_core::session::{
    SyncMode, SyncReply, SyncRequest, SyncScope, BLOCK_HASH_LEN, SYNC_TREE_FIELDS,
};
use rha_core::signature::tree::TreeWriter;

use super::{block_hash, Replies, SyncStatus, OUT_BUDGET};
use crate::apply::{DirTarget, DEFAULT_SPOOL};
use crate::sync::scan::{ScanOptions, TreeScanner};
use crate::sync::xattr::XattrScope;

/// Entries scanned per turn of the session loop.
const SCAN_STEP: usize = 2048;
/// Blocks hashed per turn (and per reply).
const HASH_STEP: u64 = 64;
/// How often the replica reports what it applied.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// What the sync wrote is made durable after this many bytes, or this
/// long after the last time, so that a sync cut short (even by a crash)
/// resumes without sending finished files again.
const DURABLE_EVERY_BYTES: u64 = 32 << 20;
/// See [`DURABLE_EVERY_BYTES`].
const DURABLE_EVERY: Duration = Duration::from_secs(1);

/// Block hashes kept per file at most (16 bytes each): a larger file is
/// checked by reading it again.
const MAX_KEPT_BLOCKS: usize = 1 << 20;

/// Files followed at once as they are written whole (a master sends one at
/// a time; past this, whatever a hostile one does, files are checked by
/// reading them again and memory stays bounded).
const MAX_FOLLOWED: usize = 64;

/// A file being written whole: the hash of what was written so far, in
/// order (holes as zeros).
struct Written {
    hasher: blake3::Hasher,
    upto: u64,
}

/// A file sent by blocks: the hashes of its blocks before the sync wrote
/// it, its length then, and the hashes of the blocks written since.
struct Blocks {
    before: Vec<[u8; BLOCK_HASH_LEN]>,
    before_len: u64,
    written: HashMap<u64, ([u8; BLOCK_HASH_LEN], u64)>,
}

/// A sync run on the replica.
pub(crate) struct SyncReceiver {
    id: u64,
    target: DirTarget,
    block_size: u64,
    scan: Option<(TreeScanner, TreeWriter<Vec<u8>>)>,
    next_seq: u64,
    mismatches: u64,
    jobs: VecDeque<(u64, RelPath)>,
    hashing: Option<Hashing>,
    /// Files written whole, by name (a check hashes what was written, as
    /// it was written, instead of reading the file again).
    whole: HashMap<RelPath, Written>,
    /// Files sent by blocks, by name.
    blocks: HashMap<RelPath, Blocks>,
    owners: bool,
    last_progress: Instant,
    /// Records applied since what the sync wrote was last made durable,
    /// their bytes, and when that was.
    undurable: (u64, u64),
    last_durable: Instant,
    status: SyncStatus,
}

/// A file whose block hashes are on their way.
struct Hashing {
    request: u64,
    path: RelPath,
    len: u64,
    next_block: u64,
    /// The hashes so far, when kept.
    kept: Option<Vec<[u8; BLOCK_HASH_LEN]>>,
}

/// Whether `op` is one a sync may send: file-tree changes only.
fn allowed(op: &Op) -> bool {
    matches!(
        op,
        Op::Create { .. }
            | Op::Write { .. }
            | Op::SetLen { .. }
            | Op::Delete { .. }
            | Op::Rename { .. }
            | Op::Mkdir { .. }
            | Op::Rmdir { .. }
            | Op::Symlink { .. }
            | Op::HardLink { .. }
            | Op::SetAttr { .. }
            | Op::Mknod { .. }
            | Op::SetXattr { .. }
            | Op::RemoveXattr { .. }
            | Op::ClearXattrs { .. }
    )
}

impl SyncReceiver {
    /// Starts run `id` on the replica at `root`: its scan starts (files
    /// changed since `changed_since_ns`, when an earlier sync was cut
    /// short, count as changed).
    /// A `scope` other than the whole tree narrows the scan to its paths
    /// (the master scans the same).
    pub(crate) fn start(
        id: u64,
        mode: SyncMode,
        block_size: u32,
        scope: &SyncScope,
        root: &Path,
        changed_since_ns: Option<i64>,
    ) -> Result<Self, String> {
        let mut target = DirTarget::open(root, Some(DEFAULT_SPOOL))
            .map_err(|e| format!("{}: {e}", root.display()))?;
        target.set_write_behind(true);
        let options = ScanOptions {
            changed_since_ns,
            // The master compares digests of the same scope.
            xattrs: Some(XattrScope::current()),
            ..ScanOptions::default()
        };
        let scanner = if scope.is_whole() {
            TreeScanner::new(root, options)
        } else {
            TreeScanner::scoped(root, options, &scope.paths().collect::<Vec<_>>())
        };
        tracing::info!(id, root = %root.display(), "sync started by the master");
        Ok(Self {
            id,
            target,
            block_size: u64::from(block_size),
            scan: Some((scanner, TreeWriter::new(Vec::new()))),
            next_seq: 1,
            mismatches: 0,
            jobs: VecDeque::new(),
            hashing: None,
            whole: HashMap::new(),
            blocks: HashMap::new(),
            owners: crate::sync::can_chown(),
            last_progress: Instant::now(),
            undurable: (0, 0),
            last_durable: Instant::now(),
            status: SyncStatus {
                scope_paths: scope.len() as u64,
                ..SyncStatus::new(id, mode)
            },
        })
    }

    /// The run's progress.
    pub(crate) fn status(&self) -> &SyncStatus {
        &self.status
    }

    /// Takes a request of the master. Returns, at the run's end, the last
    /// journal record its content may include.
    pub(crate) fn on_request(
        &mut self,
        request: SyncRequest,
        session: &mut dyn Replies,
    ) -> Result<Option<u64>, String> {
        if request.id() != self.id {
            return Err(format!(
                "a sync message of run {} during run {}",
                request.id(),
                self.id
            ));
        }
        match request {
            SyncRequest::Begin { .. } => return Err("a second start of the same sync".to_owned()),
            SyncRequest::Records { frames, .. } => self.apply(frames)?,
            SyncRequest::Blocks { file, path, .. } => {
                if self.jobs.len() >= MAX_FOLLOWED {
                    return Err(format!(
                        "more than {MAX_FOLLOWED} block requests waiting: the master does not \
                         wait for the answers"
                    ));
                }
                self.jobs.push_back((file, path));
            }
            SyncRequest::Check {
                path,
                len,
                by_blocks,
                hash,
                ..
            } => {
                let ok = if by_blocks {
                    self.matches_by_blocks(&path, len, &hash)?
                } else {
                    self.matches(&path, len, &hash)?
                };
                if !ok {
                    tracing::warn!(%path, "a synced file does not match its check");
                    self.mismatches += 1;
                    session.send_sync_reply(SyncReply::Mismatch { id: self.id, path })?;
                }
            }
            SyncRequest::End { replay_to, .. } => {
                if self.scan.is_some() || self.hashing.is_some() || !self.jobs.is_empty() {
                    return Err("the master ended the sync before the replica answered".to_owned());
                }
                if self.mismatches > 0 {
                    // The master sends those files again, then ends again.
                    self.mismatches = 0;
                    return Ok(None);
                }
                self.target
                    .sync()
                    .map_err(|e| format!("making the synced data durable: {e}"))?;
                self.send_progress(session)?;
                self.status.finish("done", None);
                return Ok(Some(replay_to));
            }
            _ => return Err("an unknown sync message".to_owned()),
        }
        if self.last_progress.elapsed() >= PROGRESS_EVERY {
            self.send_progress(session)?;
        }
        Ok(None)
    }

    fn send_progress(&mut self, session: &mut dyn Replies) -> Result<(), String> {
        self.last_progress = Instant::now();
        session.send_sync_reply(SyncReply::Progress {
            id: self.id,
            records: self.status.applied_records,
            bytes: self.status.applied_bytes,
        })
    }

    /// Applies a message of the sync's records, which must continue the
    /// run's numbering.
    fn apply(&mut self, frames: Bytes) -> Result<(), String> {
        let mut d = Decoder::new(
            DecoderConfig::default()
                .stream_header(false)
                .first_seq(Some(self.next_seq)),
        );
        d.feed_bytes(frames);
        while let Some(rec) = d.next_record().map_err(|e| format!("sync records: {e}"))? {
            if rec.seq != self.next_seq {
                return Err(format!(
                    "sync record {} where {} was next",
                    rec.seq, self.next_seq
                ));
            }
            let mut op = rec.op;
            if !allowed(&op) {
                return Err(format!(
                    "sync record {} is a {} record, which a sync does not send",
                    rec.seq,
                    op.code().name()
                ));
            }
            if let (Op::SetAttr { attrs, .. }, false) = (&mut op, self.owners) {
                // Without the right to give files away, keep this side's
                // owners rather than fail.
                attrs.uid = None;
                attrs.gid = None;
            }
            self.track(&op);
            if let Op::Write { data, .. } = &op {
                self.status.applied_bytes += data.len() as u64;
                self.undurable.1 += data.len() as u64;
            }
            self.undurable.0 += 1;
            self.target
                .apply(&op)
                .map_err(|e| format!("applying sync record {}: {e}", rec.seq))?;
            self.status.applied_records += 1;
            self.next_seq += 1;
        }
        match d.finish() {
            Ok(End::Clean { .. }) => Ok(()),
            Ok(end) => Err(format!("sync records end inside a record: {end:?}")),
            Err(e) => Err(format!("sync records: {e}")),
        }
    }

    /// Makes what the sync wrote durable when enough was written since the
    /// last time; returns the time (nanoseconds since the Unix epoch) taken
    /// before it did: every file changed before it is durable, so a later
    /// sync need only suspect files changed since.
    pub(crate) fn checkpoint(&mut self) -> Result<Option<i64>, String> {
        let (records, bytes) = self.undurable;
        if records == 0
            || (bytes < DURABLE_EVERY_BYTES && self.last_durable.elapsed() < DURABLE_EVERY)
        {
            return Ok(None);
        }
        let before = super::unix_ns();
        self.target
            .sync()
            .map_err(|e| format!("making the synced data durable: {e}"))?;
        self.undurable = (0, 0);
        self.last_durable = Instant::now();
        Ok(Some(i64::try_from(before).unwrap_or(i64::MAX)))
    }

    /// Follows what the sync's records write, for the checks.
    fn track(&mut self, op: &Op) {
        match op {
            Op::Create { path, .. } if self.whole.len() < MAX_FOLLOWED => {
                self.whole.insert(
                    path.clone(),
                    Written {
                        hasher: blake3::Hasher::new(),
                        upto: 0,
                    },
                );
            }
            Op::Write { path, offset, data } => {
                if let Some(w) = self.whole.get_mut(path) {
                    if *offset >= w.upto {
                        super::master::hash_zeros(&mut w.hasher, offset - w.upto);
                        w.hasher.update(data);
                        w.upto = offset + data.len() as u64;
                    } else {
                        // Not in order: the check reads the file.
                        self.whole.remove(path);
                    }
                }
                if let Some(b) = self.blocks.get_mut(path) {
                    if offset % self.block_size == 0
                        && data.len() as u64 <= self.block_size
                        && b.written.len() < MAX_KEPT_BLOCKS
                    {
                        b.written.insert(
                            offset / self.block_size,
                            (block_hash(data), data.len() as u64),
                        );
                    } else {
                        self.blocks.remove(path);
                    }
                }
            }
            Op::Rename { from, to } => {
                self.blocks.remove(to);
                match self.whole.remove(from) {
                    Some(w) => {
                        self.whole.insert(to.clone(), w);
                    }
                    None => {
                        self.whole.remove(to);
                    }
                }
            }
            Op::Delete { path } => {
                self.whole.remove(path);
                self.blocks.remove(path);
            }
            _ => {}
        }
    }

    /// Whether the replica's file at `path`, sent by blocks, has length
    /// `len` and `hash` over its block hashes. Blocks the sync did not
    /// write keep the hashes taken before; those it wrote have the hashes
    /// of what it wrote; any other block is read again.
    fn matches_by_blocks(
        &mut self,
        path: &RelPath,
        len: u64,
        hash: &[u8; 32],
    ) -> Result<bool, String> {
        if !self.has_len(path, len)? {
            return Ok(false);
        }
        let bs = self.block_size;
        let kept = self.blocks.remove(path);
        let mut hasher = blake3::Hasher::new();
        for i in 0..len.div_ceil(bs) {
            let want = (len - i * bs).min(bs);
            let known = kept.as_ref().and_then(|k| match k.written.get(&i) {
                Some(&(h, n)) if n == want => Some(h),
                Some(_) => None,
                None => {
                    let before = (k.before_len.saturating_sub(i * bs)).min(bs);
                    k.before.get(i as usize).copied().filter(|_| before == want)
                }
            });
            let h = match known {
                Some(h) => h,
                None => {
                    let data = self
                        .target
                        .read(path, i * bs, want)
                        .map_err(|e| format!("checking '{path}': {e}"))?;
                    block_hash(&data)
                }
            };
            hasher.update(&h);
        }
        Ok(hasher.finalize().as_bytes() == hash)
    }

    /// Whether the replica has a file at `path` of length `len`.
    fn has_len(&mut self, path: &RelPath, len: u64) -> Result<bool, String> {
        let meta = self
            .target
            .stat(path)
            .map_err(|e| format!("checking '{path}': {e}"))?;
        Ok(meta.is_some_and(|m| m.size == len))
    }

    /// Whether the replica's file at `path` has length `len` and BLAKE3
    /// `hash`: from what the sync wrote when it wrote the file whole and
    /// in order, else by reading the file.
    fn matches(&mut self, path: &RelPath, len: u64, hash: &[u8; 32]) -> Result<bool, String> {
        if let Some(mut w) = self.whole.remove(path) {
            if w.upto <= len {
                super::master::hash_zeros(&mut w.hasher, len - w.upto);
                return Ok(self.has_len(path, len)? && w.hasher.finalize().as_bytes() == hash);
            }
        }
        if !self.has_len(path, len)? {
            return Ok(false);
        }
        let mut hasher = blake3::Hasher::new();
        let mut at = 0;
        while at < len {
            let n = (len - at).min(1 << 20);
            let data = self
                .target
                .read(path, at, n)
                .map_err(|e| format!("checking '{path}': {e}"))?;
            if data.is_empty() {
                return Ok(false);
            }
            hasher.update(&data);
            at += data.len() as u64;
        }
        Ok(hasher.finalize().as_bytes() == hash)
    }

    /// Whether it has scanning or hashing left to do.
    pub(crate) fn has_work(&self) -> bool {
        self.scan.is_some() || self.hashing.is_some() || !self.jobs.is_empty()
    }

    /// Scans and hashes while the session's output has room. Says whether
    /// anything was sent.
    pub(crate) fn poll(&mut self, session: &mut dyn Replies) -> Result<bool, String> {
        let mut sent = false;
        while session.pending_output() < OUT_BUDGET {
            if self.scan.is_some() {
                self.step_scan(session)?;
            } else if self.hashing.is_some() || !self.jobs.is_empty() {
                self.step_hash(session)?;
            } else {
                break;
            }
            sent = true;
        }
        Ok(sent)
    }

    fn step_scan(&mut self, session: &mut dyn Replies) -> Result<(), String> {
        let chunk = session
            .max_body()
            .saturating_sub(SYNC_TREE_FIELDS)
            .min(1 << 20);
        let Some((scanner, writer)) = self.scan.as_mut() else {
            return Ok(());
        };
        let mut ended = true;
        for _ in 0..SCAN_STEP {
            match scanner.next() {
                Some(entry) => {
                    let entry = entry.map_err(|e| format!("scanning the replica: {e}"))?;
                    writer
                        .push(&entry)
                        .map_err(|e| format!("scanning the replica: {e}"))?;
                }
                None => {
                    ended = true;
                    break;
                }
            }
            ended = false;
        }
        let stats = scanner.stats();
        self.status.scanned_entries = stats.entries;
        self.status.scanned_bytes = stats.bytes;
        let mut pieces: Vec<Vec<u8>> = Vec::new();
        if let Some(buf) = writer.get_mut() {
            while buf.len() >= chunk {
                let rest = buf.split_off(chunk);
                pieces.push(std::mem::replace(buf, rest));
            }
        }
        let mut last = Vec::new();
        if ended {
            if let Some((_, writer)) = self.scan.take() {
                last = writer
                    .finish()
                    .map_err(|e| format!("scanning the replica: {e}"))?;
            }
            "sending".clone_into(&mut self.status.phase);
        }
        for p in pieces {
            session.send_sync_reply(SyncReply::Tree {
                id: self.id,
                last: false,
                chunk: Bytes::from(p),
            })?;
        }
        if ended {
            for (i, p) in last.chunks(chunk.max(1)).enumerate() {
                let is_last = (i + 1) * chunk.max(1) >= last.len();
                session.send_sync_reply(SyncReply::Tree {
                    id: self.id,
                    last: is_last,
                    chunk: Bytes::copy_from_slice(p),
                })?;
            }
            if last.is_empty() {
                session.send_sync_reply(SyncReply::Tree {
                    id: self.id,
                    last: true,
                    chunk: Bytes::new(),
                })?;
            }
        }
        Ok(())
    }

    fn step_hash(&mut self, session: &mut dyn Replies) -> Result<(), String> {
        if self.hashing.is_none() {
            let Some((request, path)) = self.jobs.pop_front() else {
                return Ok(());
            };
            let meta = self
                .target
                .stat(&path)
                .map_err(|e| format!("hashing '{path}': {e}"))?;
            // A file with other names is not changed in place: no blocks,
            // so the master sends it whole under a new name.
            let len = match meta {
                Some(m) if m.kind == rha_core::rewind::NodeKind::File && m.nlink == 1 => m.size,
                _ => 0,
            };
            let blocks = len.div_ceil(self.block_size);
            self.hashing = Some(Hashing {
                request,
                path,
                len,
                next_block: 0,
                kept: (blocks <= MAX_KEPT_BLOCKS as u64).then(Vec::new),
            });
        }
        let Some(h) = self.hashing.as_mut() else {
            return Ok(());
        };
        let blocks = h.len.div_ceil(self.block_size);
        let upto = (h.next_block + HASH_STEP).min(blocks);
        let mut hashes = Vec::with_capacity(((upto - h.next_block) as usize) * 16);
        while h.next_block < upto {
            let offset = h.next_block * self.block_size;
            let n = (h.len - offset).min(self.block_size);
            let data = self
                .target
                .read(&h.path, offset, n)
                .map_err(|e| format!("hashing '{}': {e}", h.path))?;
            let bh = block_hash(&data);
            hashes.extend_from_slice(&bh);
            if let Some(k) = h.kept.as_mut() {
                k.push(bh);
            }
            h.next_block += 1;
        }
        let last = h.next_block >= blocks;
        session.send_sync_reply(SyncReply::Blocks {
            id: self.id,
            file: h.request,
            last,
            hashes: Bytes::from(hashes),
        })?;
        if last {
            if let Some(h) = self.hashing.take() {
                let room = self.blocks.len() < MAX_FOLLOWED;
                if let Some(before) = h.kept.filter(|k| room && !k.is_empty()) {
                    self.blocks.insert(
                        h.path,
                        Blocks {
                            before,
                            before_len: h.len,
                            written: HashMap::new(),
                        },
                    );
                }
            }
        }
        Ok(())
    }
}
