//! The tree signature file format (`docs/tree-signature-format.md`):
//! constants, the streaming writer and the incremental decoder.

use std::io::{self, Read, Write};

use bytes::{Buf, Bytes, BytesMut};

use super::entry::{Entry, EntryKind, HardLink, XattrDigest, MAX_TARGET_LEN, XATTR_DIGEST_LEN};
use super::error::{SignatureError, SignatureErrorKind, TreeReadError, TreeWriteError};
use super::order::OrderCheck;
use crate::journal::{RelPath, MAX_PATH_LEN};

/// The first eight bytes of every tree signature.
pub const TREE_MAGIC: [u8; 8] = *b"RHATREE\0";
/// The format version this library writes (and the newest it reads).
/// Version 2 added the extended-attribute digest.
pub const TREE_FORMAT_VERSION: u16 = 2;
/// The oldest format version this library reads.
pub const TREE_MIN_FORMAT_VERSION: u16 = 1;
/// Length of the stream header: magic, version, flags, CRC-32C.
pub const TREE_HEADER_LEN: usize = 16;
/// Length of a block header: entry count, body length, body CRC, header CRC.
pub const BLOCK_HEADER_LEN: usize = 16;
/// The largest block body a reader accepts, in bytes.
pub const MAX_BLOCK_BODY: usize = 4 << 20;
/// The most entries a reader accepts in one block.
pub const MAX_BLOCK_ENTRIES: u32 = 65_536;
/// The writer closes a block once its body reaches this many bytes.
const TARGET_BLOCK_BODY: usize = 256 << 10;
/// The writer closes a block once it holds this many entries.
const TARGET_BLOCK_ENTRIES: u32 = 4096;
/// Fixed part of an encoded entry.
pub(crate) const ENTRY_FIXED_LEN: usize = 34;
/// Body length of the end block: the total entry count.
const END_BODY_LEN: usize = 8;

const FLAG_SPARSE: u8 = 1;
const FLAG_LINK: u8 = 2;
/// Version 2 on: an extended-attribute digest follows the link fields.
const FLAG_XATTRS: u8 = 4;

/// The entry flags format version `version` defines.
fn known_flags(version: u16) -> u8 {
    if version >= 2 {
        FLAG_SPARSE | FLAG_LINK | FLAG_XATTRS
    } else {
        FLAG_SPARSE | FLAG_LINK
    }
}

fn crc(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Checks that an entry's fields agree with its kind (the rules the decoder
/// enforces), returning the reason they do not.
pub(crate) fn check_entry(e: &Entry) -> Result<(), &'static str> {
    if e.mode > 0o7777 {
        return Err("mode has bits beyond 0o7777");
    }
    if e.kind != EntryKind::File && (e.size != 0 || e.sparse || e.link.is_some()) {
        return Err("size, sparse flag or hard link on an entry that is not a file");
    }
    if e.kind == EntryKind::Symlink {
        if e.target.is_empty() {
            return Err("symlink with an empty target");
        }
        if e.target.len() > MAX_TARGET_LEN {
            return Err("symlink target longer than 4096 bytes");
        }
        if e.target.contains(&0) {
            return Err("symlink target contains a NUL byte");
        }
    } else if !e.target.is_empty() {
        return Err("target on an entry that is not a symlink");
    }
    Ok(())
}

fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Writes a tree signature to any [`Write`], one entry at a time, in blocks.
///
/// Entries must come in signature order ([`path_order`](super::path_order),
/// each directory before its contents); the writer checks it. Memory is one
/// block (about 256 KiB) whatever the number of entries.
///
/// ```
/// use rha_core::signature::tree::{Entry, EntryKind, TreeReader, TreeWriter};
/// use rha_core::journal::RelPath;
///
/// let mut w = TreeWriter::new(Vec::new());
/// w.push(&Entry::new(RelPath::new("docs")?, EntryKind::Dir))?;
/// let mut file = Entry::new(RelPath::new("docs/a.txt")?, EntryKind::File);
/// file.size = 5;
/// w.push(&file)?;
/// let bytes = w.finish()?;
///
/// let entries: Vec<Entry> = TreeReader::new(&bytes[..]).collect::<Result<_, _>>()?;
/// assert_eq!(entries[1], file);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TreeWriter<W: Write> {
    sink: Option<W>,
    order: OrderCheck,
    header_written: bool,
    block: Vec<u8>,
    block_entries: u32,
    prev_path: Vec<u8>,
    total: u64,
    poisoned: bool,
}

impl<W: Write> TreeWriter<W> {
    /// A writer that writes to `sink`.
    pub fn new(sink: W) -> Self {
        Self {
            sink: Some(sink),
            order: OrderCheck::default(),
            header_written: false,
            block: Vec::new(),
            block_entries: 0,
            prev_path: Vec::new(),
            total: 0,
            poisoned: false,
        }
    }

    /// Entries accepted so far.
    pub fn entries(&self) -> u64 {
        self.total
    }

    /// The sink, to take what was written so far (the writer writes whole
    /// blocks, so a caller may drain a `Vec` sink between pushes). `None`
    /// after [`finish`](Self::finish) failed.
    pub fn get_mut(&mut self) -> Option<&mut W> {
        self.sink.as_mut()
    }

    /// Appends `entry`. Fails if it is out of order or its fields contradict
    /// its kind; after an I/O failure every call fails with `Poisoned`.
    pub fn push(&mut self, entry: &Entry) -> Result<(), TreeWriteError> {
        if self.poisoned {
            return Err(TreeWriteError::Poisoned);
        }
        check_entry(entry).map_err(|reason| TreeWriteError::Invalid {
            path: entry.path.to_string(),
            reason,
        })?;
        self.order.push(&entry.path, entry.kind)?;
        let path = entry.path.as_bytes();
        let shared = shared_prefix(&self.prev_path, path).min(u16::MAX as usize);
        let suffix = &path[shared..];
        let b = &mut self.block;
        b.push(entry.kind as u8);
        let mut flags = 0;
        if entry.sparse {
            flags |= FLAG_SPARSE;
        }
        if entry.link.is_some() {
            flags |= FLAG_LINK;
        }
        if entry.xattrs.is_some() {
            flags |= FLAG_XATTRS;
        }
        b.push(flags);
        // Both fit in u16: paths are at most MAX_PATH_LEN (4096) bytes.
        b.extend_from_slice(&(shared as u16).to_le_bytes());
        b.extend_from_slice(&(suffix.len() as u16).to_le_bytes());
        b.extend_from_slice(&entry.mode.to_le_bytes());
        b.extend_from_slice(&entry.uid.to_le_bytes());
        b.extend_from_slice(&entry.gid.to_le_bytes());
        b.extend_from_slice(&entry.size.to_le_bytes());
        b.extend_from_slice(&entry.mtime_ns.to_le_bytes());
        if let Some(link) = entry.link {
            b.extend_from_slice(&link.dev.to_le_bytes());
            b.extend_from_slice(&link.ino.to_le_bytes());
        }
        if let Some(digest) = entry.xattrs {
            b.extend_from_slice(&digest.0);
        }
        if entry.kind == EntryKind::Symlink {
            b.extend_from_slice(&(entry.target.len() as u16).to_le_bytes());
            b.extend_from_slice(&entry.target);
        }
        b.extend_from_slice(suffix);
        self.prev_path.clear();
        self.prev_path.extend_from_slice(path);
        self.block_entries += 1;
        self.total += 1;
        if self.block.len() >= TARGET_BLOCK_BODY || self.block_entries >= TARGET_BLOCK_ENTRIES {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Writes what is buffered and the end block, and returns the sink.
    pub fn finish(mut self) -> Result<W, TreeWriteError> {
        if self.poisoned {
            return Err(TreeWriteError::Poisoned);
        }
        self.flush_block()?;
        let total = self.total.to_le_bytes();
        let header = block_header(0, &total);
        self.write(&header)?;
        self.write(&total)?;
        let mut sink = self.sink.take().ok_or(TreeWriteError::Poisoned)?;
        sink.flush()?;
        Ok(sink)
    }

    fn flush_block(&mut self) -> Result<(), TreeWriteError> {
        if !self.header_written {
            let mut h = [0u8; TREE_HEADER_LEN];
            h[..8].copy_from_slice(&TREE_MAGIC);
            h[8..10].copy_from_slice(&TREE_FORMAT_VERSION.to_le_bytes());
            let c = crc(&h[..12]);
            h[12..].copy_from_slice(&c.to_le_bytes());
            self.write(&h)?;
            self.header_written = true;
        }
        if self.block_entries == 0 {
            return Ok(());
        }
        let block = std::mem::take(&mut self.block);
        let header = block_header(self.block_entries, &block);
        self.write(&header)?;
        self.write(&block)?;
        self.block = block;
        self.block.clear();
        self.block_entries = 0;
        self.prev_path.clear();
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), TreeWriteError> {
        let sink = self.sink.as_mut().ok_or(TreeWriteError::Poisoned)?;
        sink.write_all(data).map_err(|e| {
            self.poisoned = true;
            TreeWriteError::Io(e)
        })
    }
}

fn block_header(count: u32, body: &[u8]) -> [u8; BLOCK_HEADER_LEN] {
    let mut h = [0u8; BLOCK_HEADER_LEN];
    h[..4].copy_from_slice(&count.to_le_bytes());
    // A block body never exceeds MAX_BLOCK_BODY, far below u32::MAX.
    h[4..8].copy_from_slice(&(body.len() as u32).to_le_bytes());
    h[8..12].copy_from_slice(&crc(body).to_le_bytes());
    let c = crc(&h[..12]);
    h[12..].copy_from_slice(&c.to_le_bytes());
    h
}

#[derive(Debug)]
enum State {
    Header,
    BlockHeader,
    /// Inside a block body.
    Block {
        body: Bytes,
        /// Stream offset of the body's first byte.
        base: u64,
        left: u32,
        prev: Vec<u8>,
    },
    Ended,
    Failed(SignatureError),
}

/// Decodes a tree signature fed in chunks of any size (sans-IO).
///
/// Holds at most one block (bounded by [`MAX_BLOCK_BODY`]) plus what the
/// caller fed beyond it. Verifies every checksum and the entry order; any
/// damage is a [`SignatureError`] naming the offset.
#[derive(Debug)]
pub struct TreeDecoder {
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    state: State,
    entries: u64,
    order: OrderCheck,
    /// The stream's format version, once its header is read.
    version: u16,
}

impl Default for TreeDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl TreeDecoder {
    /// A decoder expecting the stream header first.
    pub fn new() -> Self {
        Self {
            buf: BytesMut::new(),
            offset: 0,
            state: State::Header,
            entries: 0,
            order: OrderCheck::default(),
            version: TREE_FORMAT_VERSION,
        }
    }

    /// The format version of the stream, once its header has been read
    /// (before that, the version this library writes).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Adds input.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Entries decoded so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes the decoder needs buffered before it can make progress
    /// (a hint for how much to read next); 0 when it can make progress.
    pub fn needed(&self) -> usize {
        let want = match &self.state {
            State::Header => TREE_HEADER_LEN,
            State::BlockHeader => {
                if self.buf.len() >= BLOCK_HEADER_LEN {
                    let len =
                        u32::from_le_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]);
                    BLOCK_HEADER_LEN + (len as usize).min(MAX_BLOCK_BODY)
                } else {
                    BLOCK_HEADER_LEN
                }
            }
            _ => 0,
        };
        want.saturating_sub(self.buf.len())
    }

    /// Whether the end block has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Ended)
    }

    fn fail(&mut self, offset: u64, kind: SignatureErrorKind) -> SignatureError {
        let e = SignatureError {
            offset,
            entries: self.entries,
            kind,
        };
        self.state = State::Failed(e.clone());
        e
    }

    /// The next entry: `Ok(None)` when more input is needed or the end
    /// block was read (see [`is_done`](Self::is_done)).
    pub fn next_entry(&mut self) -> Result<Option<Entry>, SignatureError> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Ended => {
                    if !self.buf.is_empty() {
                        let at = self.offset;
                        return Err(self.fail(at, SignatureErrorKind::TrailingData));
                    }
                    return Ok(None);
                }
                State::Header => {
                    if self.buf.len() < TREE_HEADER_LEN {
                        return Ok(None);
                    }
                    let h = self.buf.split_to(TREE_HEADER_LEN);
                    self.offset += TREE_HEADER_LEN as u64;
                    if h[..8] != TREE_MAGIC {
                        return Err(self.fail(0, SignatureErrorKind::BadMagic));
                    }
                    if crc(&h[..12]) != u32::from_le_bytes([h[12], h[13], h[14], h[15]]) {
                        return Err(self.fail(0, SignatureErrorKind::HeaderChecksum));
                    }
                    let version = u16::from_le_bytes([h[8], h[9]]);
                    if !(TREE_MIN_FORMAT_VERSION..=TREE_FORMAT_VERSION).contains(&version) {
                        return Err(self.fail(0, SignatureErrorKind::UnsupportedVersion(version)));
                    }
                    self.version = version;
                    if h[10] != 0 || h[11] != 0 {
                        return Err(
                            self.fail(0, SignatureErrorKind::Invalid("unknown header flags"))
                        );
                    }
                    self.state = State::BlockHeader;
                }
                State::BlockHeader => {
                    if self.buf.len() < BLOCK_HEADER_LEN {
                        return Ok(None);
                    }
                    let at = self.offset;
                    let h: [u8; BLOCK_HEADER_LEN] = match self.buf[..BLOCK_HEADER_LEN].try_into() {
                        Ok(h) => h,
                        Err(_) => return Ok(None),
                    };
                    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
                    if crc(&h[..12]) != word(12) {
                        return Err(self.fail(at, SignatureErrorKind::BlockHeaderChecksum));
                    }
                    let (count, len, body_crc) = (word(0), word(4) as usize, word(8));
                    if len > MAX_BLOCK_BODY {
                        return Err(self.fail(
                            at,
                            SignatureErrorKind::TooLarge {
                                what: "bytes",
                                len: len as u64,
                                max: MAX_BLOCK_BODY as u64,
                            },
                        ));
                    }
                    if count > MAX_BLOCK_ENTRIES {
                        return Err(self.fail(
                            at,
                            SignatureErrorKind::TooLarge {
                                what: "entries",
                                len: count.into(),
                                max: MAX_BLOCK_ENTRIES.into(),
                            },
                        ));
                    }
                    if count == 0 && len != END_BODY_LEN {
                        return Err(self.fail(
                            at,
                            SignatureErrorKind::Invalid("end block of the wrong length"),
                        ));
                    }
                    if (count as usize).saturating_mul(ENTRY_FIXED_LEN) > len {
                        return Err(self.fail(
                            at,
                            SignatureErrorKind::Invalid("block too short for its entry count"),
                        ));
                    }
                    if self.buf.len() < BLOCK_HEADER_LEN + len {
                        return Ok(None);
                    }
                    self.buf.advance(BLOCK_HEADER_LEN);
                    let body = self.buf.split_to(len).freeze();
                    self.offset += (BLOCK_HEADER_LEN + len) as u64;
                    if crc(&body) != body_crc {
                        return Err(self.fail(at, SignatureErrorKind::BlockChecksum));
                    }
                    if count == 0 {
                        let mut n = [0u8; 8];
                        n.copy_from_slice(&body);
                        let declared = u64::from_le_bytes(n);
                        if declared != self.entries {
                            let found = self.entries;
                            return Err(self
                                .fail(at, SignatureErrorKind::CountMismatch { declared, found }));
                        }
                        self.state = State::Ended;
                        continue;
                    }
                    self.state = State::Block {
                        body,
                        base: at + BLOCK_HEADER_LEN as u64,
                        left: count,
                        prev: Vec::new(),
                    };
                }
                State::Block {
                    body,
                    base,
                    left,
                    prev,
                } => {
                    if *left == 0 {
                        if !body.is_empty() {
                            let at = *base;
                            return Err(self.fail(
                                at,
                                SignatureErrorKind::Invalid(
                                    "bytes after the last entry of a block",
                                ),
                            ));
                        }
                        self.state = State::BlockHeader;
                        continue;
                    }
                    let at = *base;
                    let before = body.len();
                    let decoded = decode_entry(body, prev, known_flags(self.version));
                    *base += (before - body.len()) as u64;
                    *left -= 1;
                    let entry = match decoded {
                        Ok(e) => e,
                        Err(kind) => return Err(self.fail(at, kind)),
                    };
                    if let Err(e) = self.order.push(&entry.path, entry.kind) {
                        return Err(self.fail(at, SignatureErrorKind::Order(e)));
                    }
                    self.entries += 1;
                    return Ok(Some(entry));
                }
            }
        }
    }

    /// Declares the end of input: `Ok(total entries)` if the end block was
    /// read and nothing follows it, otherwise the error (a truncated
    /// signature is [`SignatureErrorKind::Truncated`]).
    pub fn finish(&mut self) -> Result<u64, SignatureError> {
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            State::Ended if self.buf.is_empty() => Ok(self.entries),
            State::Ended => {
                let at = self.offset;
                Err(self.fail(at, SignatureErrorKind::TrailingData))
            }
            State::Block { base, .. } => {
                let at = *base;
                Err(self.fail(at, SignatureErrorKind::Truncated))
            }
            State::Header | State::BlockHeader => {
                let at = self.offset;
                Err(self.fail(at, SignatureErrorKind::Truncated))
            }
        }
    }
}

/// Decodes one entry from the front of `body`, advancing it.
fn decode_entry(
    body: &mut Bytes,
    prev: &mut Vec<u8>,
    known_flags: u8,
) -> Result<Entry, SignatureErrorKind> {
    let short = SignatureErrorKind::Invalid("entry runs past the end of its block");
    if body.len() < ENTRY_FIXED_LEN {
        return Err(short);
    }
    let kind = EntryKind::from_code(body.get_u8())
        .ok_or(SignatureErrorKind::Invalid("unknown entry kind"))?;
    let flags = body.get_u8();
    if flags & !known_flags != 0 {
        return Err(SignatureErrorKind::Invalid("unknown entry flags"));
    }
    let shared = usize::from(body.get_u16_le());
    let suffix_len = usize::from(body.get_u16_le());
    let mode = body.get_u32_le();
    let uid = body.get_u32_le();
    let gid = body.get_u32_le();
    let size = body.get_u64_le();
    let mtime_ns = body.get_i64_le();
    let link = if flags & FLAG_LINK != 0 {
        if body.len() < 16 {
            return Err(short);
        }
        Some(HardLink {
            dev: body.get_u64_le(),
            ino: body.get_u64_le(),
        })
    } else {
        None
    };
    let xattrs = if flags & FLAG_XATTRS != 0 {
        if body.len() < XATTR_DIGEST_LEN {
            return Err(short);
        }
        let mut digest = [0u8; XATTR_DIGEST_LEN];
        body.copy_to_slice(&mut digest);
        Some(XattrDigest(digest))
    } else {
        None
    };
    let target = if kind == EntryKind::Symlink {
        if body.len() < 2 {
            return Err(short);
        }
        let n = usize::from(body.get_u16_le());
        if n > MAX_TARGET_LEN {
            return Err(SignatureErrorKind::Invalid(
                "symlink target longer than 4096 bytes",
            ));
        }
        if body.len() < n {
            return Err(short);
        }
        body.split_to(n)
    } else {
        Bytes::new()
    };
    if shared > prev.len() {
        return Err(SignatureErrorKind::Invalid(
            "path shares more bytes than the previous path has",
        ));
    }
    if shared + suffix_len > MAX_PATH_LEN {
        return Err(SignatureErrorKind::Invalid("path longer than 4096 bytes"));
    }
    if body.len() < suffix_len {
        return Err(short);
    }
    prev.truncate(shared);
    prev.extend_from_slice(&body.split_to(suffix_len));
    let path = RelPath::new(Bytes::copy_from_slice(prev)).map_err(SignatureErrorKind::Path)?;
    let entry = Entry {
        path,
        kind,
        size,
        mtime_ns,
        mode,
        uid,
        gid,
        target,
        link,
        sparse: flags & FLAG_SPARSE != 0,
        xattrs,
    };
    check_entry(&entry).map_err(SignatureErrorKind::Invalid)?;
    Ok(entry)
}

/// Reads a tree signature's entries from any [`Read`], block by block.
///
/// An iterator of `Result<Entry, TreeReadError>`: it ends after the end
/// block, and yields an error (then ends) on damage, on a truncated input or
/// on an I/O failure. Memory is bounded by one block.
#[derive(Debug)]
pub struct TreeReader<R> {
    source: R,
    decoder: TreeDecoder,
    done: bool,
    chunk: Vec<u8>,
}

impl<R: Read> TreeReader<R> {
    /// Reads from `source`.
    pub fn new(source: R) -> Self {
        Self {
            source,
            decoder: TreeDecoder::new(),
            done: false,
            chunk: Vec::new(),
        }
    }

    /// The next entry, `Ok(None)` after the end block.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TreeReadError> {
        if self.done {
            return Ok(None);
        }
        let result = self.step();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn step(&mut self) -> Result<Option<Entry>, TreeReadError> {
        if self.chunk.is_empty() {
            self.chunk = vec![0u8; 64 << 10];
        }
        loop {
            if let Some(e) = self.decoder.next_entry()? {
                return Ok(Some(e));
            }
            let want = self.decoder.needed().clamp(4096, self.chunk.len());
            let n = loop {
                match self.source.read(&mut self.chunk[..want]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            if n == 0 {
                self.decoder.finish()?;
                return Ok(None);
            }
            self.decoder.feed(&self.chunk[..n]);
        }
    }

    /// Entries read so far.
    pub fn entries(&self) -> u64 {
        self.decoder.entries()
    }
}

impl<R: Read> Iterator for TreeReader<R> {
    type Item = Result<Entry, TreeReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}
