//! The delta formats: rha's (checksummed, with a whole-file hash) and
//! librsync's. Byte layout: `docs/delta-format.md`.

use super::error::{DeltaError, DeltaErrorKind};

/// Magic bytes of an rha delta.
pub const DELTA_MAGIC: [u8; 4] = *b"RHBD";
/// The delta format version this library writes and reads.
pub const DELTA_VERSION: u16 = 1;
/// Length of the rha delta header.
pub const DELTA_HEADER_LEN: usize = 16;
/// The longest literal one rha command carries (1 MiB).
pub const MAX_LITERAL: usize = 1 << 20;
/// librsync's delta magic.
pub const RDIFF_DELTA_MAGIC: u32 = 0x7273_0236;

const OP_END: u8 = 0;
const OP_COPY: u8 = 1;
const OP_LITERAL: u8 = 2;
pub(crate) const OP_ZERO: u8 = 3;
const OP_BASIS: u8 = 4;

const COPY_LEN: usize = 1 + 8 + 8 + 4;
const ZERO_LEN: usize = 1 + 8 + 4;
const END_LEN: usize = 1 + 8 + 32 + 4;
const BASIS_LEN: usize = 1 + 8 + 32 + 8 + 32 + 4;
const LITERAL_HEAD: usize = 1 + 4;

/// Zero runs inside literals are found in pieces of this size.
const ZERO_PIECE: usize = 512;

/// The largest literal piece the rdiff reader hands out at once.
const RDIFF_PIECE: usize = 64 << 10;

/// Which delta format to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeltaFormat {
    /// rha's format: checksummed commands, zero runs, a whole-file hash.
    #[default]
    Rha,
    /// librsync's format, which `rdiff patch` applies.
    Rdiff,
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    None,
    Copy { start: u64, len: u64 },
    Zero { len: u64 },
}

/// Encodes delta commands, merging adjacent copies and zero runs.
#[derive(Debug)]
pub(crate) struct Encoder {
    format: DeltaFormat,
    header_crc: u32,
    pending: Pending,
}

impl Encoder {
    /// Writes the header to `out`. `block_len` is the whole-file hash's
    /// block length.
    pub(crate) fn new(format: DeltaFormat, block_len: u32, out: &mut Vec<u8>) -> Self {
        let mut header_crc = 0;
        match format {
            DeltaFormat::Rha => {
                let mut h = [0u8; DELTA_HEADER_LEN];
                h[..4].copy_from_slice(&DELTA_MAGIC);
                h[4..6].copy_from_slice(&DELTA_VERSION.to_le_bytes());
                h[8..12].copy_from_slice(&block_len.to_le_bytes());
                header_crc = crc32c::crc32c(&h[..12]);
                h[12..].copy_from_slice(&header_crc.to_le_bytes());
                out.extend_from_slice(&h);
            }
            DeltaFormat::Rdiff => out.extend_from_slice(&RDIFF_DELTA_MAGIC.to_be_bytes()),
        }
        Self {
            format,
            header_crc,
            pending: Pending::None,
        }
    }

    pub(crate) fn copy(&mut self, start: u64, len: u64, out: &mut Vec<u8>) {
        if len == 0 {
            return;
        }
        if let Pending::Copy { start: s, len: l } = &mut self.pending {
            if *s + *l == start {
                *l += len;
                return;
            }
        }
        self.flush(out);
        self.pending = Pending::Copy { start, len };
    }

    /// A literal; in the rha format, runs of zeros (whole 512-byte pieces)
    /// become zero runs.
    pub(crate) fn literal(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.format == DeltaFormat::Rdiff || data.len() < ZERO_PIECE {
            return self.literal_piece(data, out);
        }
        let mut start = 0;
        let mut zeros = false;
        for (i, piece) in data.chunks(ZERO_PIECE).enumerate() {
            let z = piece.len() == ZERO_PIECE && piece.iter().all(|&b| b == 0);
            if z != zeros {
                self.literal_piece(&data[start..i * ZERO_PIECE], out);
                start = i * ZERO_PIECE;
                zeros = z;
            }
        }
        self.literal_piece(&data[start..], out);
    }

    fn literal_piece(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        if self.format == DeltaFormat::Rha && data.iter().all(|&b| b == 0) {
            if let Pending::Zero { len } = &mut self.pending {
                *len += data.len() as u64;
                return;
            }
            self.flush(out);
            self.pending = Pending::Zero {
                len: data.len() as u64,
            };
            return;
        }
        self.flush(out);
        match self.format {
            DeltaFormat::Rha => {
                for piece in data.chunks(MAX_LITERAL) {
                    let start = out.len();
                    out.push(OP_LITERAL);
                    out.extend_from_slice(&(piece.len() as u32).to_le_bytes());
                    out.extend_from_slice(piece);
                    let crc = crc32c::crc32c(&out[start..]);
                    out.extend_from_slice(&crc.to_le_bytes());
                }
            }
            DeltaFormat::Rdiff => rdiff_literal(data, out),
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Copy { start, len } => match self.format {
                DeltaFormat::Rha => {
                    let s = out.len();
                    out.push(OP_COPY);
                    out.extend_from_slice(&start.to_le_bytes());
                    out.extend_from_slice(&len.to_le_bytes());
                    let crc = crc32c::crc32c(&out[s..]);
                    out.extend_from_slice(&crc.to_le_bytes());
                }
                DeltaFormat::Rdiff => {
                    let (ws, wl) = (width(start), width(len));
                    out.push(0x45 + 4 * ws + wl);
                    put_be(start, ws, out);
                    put_be(len, wl, out);
                }
            },
            Pending::Zero { len } => {
                let s = out.len();
                out.push(OP_ZERO);
                out.extend_from_slice(&len.to_le_bytes());
                let crc = crc32c::crc32c(&out[s..]);
                out.extend_from_slice(&crc.to_le_bytes());
            }
        }
    }

    /// Names the basis the delta applies to (`basis`: its length and
    /// whole-file hash) and the result it makes (`new`, as the end will
    /// declare). rha format only; the first command, before any other.
    pub(crate) fn basis(
        &mut self,
        basis: (u64, &[u8; 32]),
        new: (u64, &[u8; 32]),
        out: &mut Vec<u8>,
    ) {
        if self.format != DeltaFormat::Rha {
            return;
        }
        self.flush(out);
        let s = out.len();
        out.push(OP_BASIS);
        out.extend_from_slice(&basis.0.to_le_bytes());
        out.extend_from_slice(basis.1);
        out.extend_from_slice(&new.0.to_le_bytes());
        out.extend_from_slice(new.1);
        let crc = crc32c::crc32c(&out[s..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// `len` zero bytes known to be zeros (a hole), as a zero run merged
    /// with an adjacent one. The rha format only: rdiff has no zero runs.
    pub(crate) fn zeros(&mut self, len: u64, out: &mut Vec<u8>) {
        debug_assert_eq!(self.format, DeltaFormat::Rha);
        if len == 0 {
            return;
        }
        if let Pending::Zero { len: l } = &mut self.pending {
            *l += len;
            return;
        }
        self.flush(out);
        self.pending = Pending::Zero { len };
    }

    /// Ends the delta: `new_len` bytes with whole-file hash `hash`.
    pub(crate) fn end(&mut self, new_len: u64, hash: &[u8; 32], out: &mut Vec<u8>) {
        self.flush(out);
        match self.format {
            DeltaFormat::Rha => {
                let s = out.len();
                out.push(OP_END);
                out.extend_from_slice(&new_len.to_le_bytes());
                out.extend_from_slice(hash);
                let crc = crc32c::crc32c_append(
                    crc32c::crc32c(&self.header_crc.to_le_bytes()),
                    &out[s..],
                );
                out.extend_from_slice(&crc.to_le_bytes());
            }
            DeltaFormat::Rdiff => out.push(0),
        }
    }
}

fn rdiff_literal(data: &[u8], out: &mut Vec<u8>) {
    let n = data.len();
    if n <= 64 {
        out.push(n as u8);
    } else {
        let w = width(n as u64);
        out.push(0x41 + w);
        put_be(n as u64, w, out);
    }
    out.extend_from_slice(data);
}

/// librsync's width index (0..=3 for 1, 2, 4, 8 bytes) of `v`.
fn width(v: u64) -> u8 {
    if v <= 0xff {
        0
    } else if v <= 0xffff {
        1
    } else if v <= 0xffff_ffff {
        2
    } else {
        3
    }
}

fn put_be(v: u64, w: u8, out: &mut Vec<u8>) {
    let n = 1usize << w;
    out.extend_from_slice(&v.to_be_bytes()[8 - n..]);
}

fn read_be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// One decoded delta command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// Copy `len` bytes from basis offset `start`.
    Copy {
        /// Basis offset.
        start: u64,
        /// Length (not 0).
        len: u64,
    },
    /// Output these bytes (an rdiff literal may arrive in several pieces).
    Literal(&'a [u8]),
    /// Output `len` zero bytes.
    Zero {
        /// Length (not 0).
        len: u64,
    },
    /// The delta applies only to this basis (rha format; only ever the
    /// first command). Patchers check the basis before producing anything.
    Basis {
        /// The basis's length in bytes.
        len: u64,
        /// The basis's whole-file hash (with the header's block length).
        hash: [u8; 32],
        /// The result's length (the end command declares the same).
        new_len: u64,
        /// The result's whole-file hash (the end command declares the same).
        new_hash: [u8; 32],
    },
    /// The delta is over.
    End {
        /// The output length the rha trailer declares.
        len: Option<u64>,
        /// The whole-file hash of the output (rha format).
        hash: Option<[u8; 32]>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DState {
    Magic,
    RhaHeader,
    RhaCmd,
    RdiffCmd,
    RdiffLiteral { left: u64 },
    Done,
}

/// Decodes an rha or rdiff delta fed in chunks of any size.
///
/// Memory: one command (at most [`MAX_LITERAL`] plus a few bytes for rha
/// deltas, 64 KiB pieces of rdiff literals).
#[derive(Debug)]
pub struct DeltaDecoder {
    state: DState,
    cmd: Vec<u8>,
    /// `cmd` was handed out and must be dropped at the next call.
    handed_out: bool,
    /// Stream offset of the start of `cmd`.
    offset: u64,
    header_crc: u32,
    block_len: Option<u32>,
    produced: u64,
    /// Where the literal handed out last sits in `cmd`.
    lit: std::ops::Range<usize>,
    /// A command has been decoded (a basis may only come first).
    any_cmd: bool,
    /// The result a basis command announced, which the end must match.
    promised: Option<(u64, [u8; 32])>,
    failed: Option<DeltaError>,
}

impl Default for DeltaDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl DeltaDecoder {
    /// A decoder expecting either format (told apart by the magic).
    pub fn new() -> Self {
        Self {
            state: DState::Magic,
            cmd: Vec::new(),
            handed_out: false,
            offset: 0,
            header_crc: 0,
            block_len: None,
            produced: 0,
            lit: 0..0,
            any_cmd: false,
            promised: None,
            failed: None,
        }
    }

    /// The format, once the header has been read.
    pub fn format(&self) -> Option<DeltaFormat> {
        match self.state {
            DState::Magic | DState::RhaHeader => None,
            DState::RdiffCmd | DState::RdiffLiteral { .. } => Some(DeltaFormat::Rdiff),
            _ if self.block_len.is_some() => Some(DeltaFormat::Rha),
            _ => Some(DeltaFormat::Rdiff),
        }
    }

    /// The block length of the whole-file hash (rha format, after the header).
    pub fn block_len(&self) -> Option<u32> {
        self.block_len
    }

    /// Stream offset of the command being decoded (or just handed out).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the end command has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == DState::Done
    }

    fn fail(&mut self, kind: DeltaErrorKind) -> DeltaError {
        let e = DeltaError {
            offset: self.offset,
            kind,
        };
        self.failed = Some(e.clone());
        e
    }

    /// Gathers `cmd` up to `n` bytes from `input`; whether it has them.
    fn gather(&mut self, input: &mut &[u8], n: usize) -> bool {
        if self.cmd.len() < n {
            let take = (n - self.cmd.len()).min(input.len());
            self.cmd.extend_from_slice(&input[..take]);
            *input = &input[take..];
        }
        self.cmd.len() >= n
    }

    fn add_output(&mut self, len: u64) -> Result<(), DeltaError> {
        match self.produced.checked_add(len) {
            Some(p) => {
                self.produced = p;
                Ok(())
            }
            None => Err(self.fail(DeltaErrorKind::Overflow {
                start: self.produced,
                len,
            })),
        }
    }

    /// Decodes the next command, consuming from the front of `input` only
    /// what it needs (and advancing `input` past it). `Ok(None)`: all of
    /// `input` was consumed and more is needed.
    ///
    /// A literal borrows the decoder's buffer until the next call.
    pub fn next<'s>(&'s mut self, input: &mut &[u8]) -> Result<Option<Command<'s>>, DeltaError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.handed_out {
            self.offset += self.cmd.len() as u64;
            self.cmd.clear();
            self.handed_out = false;
        }
        loop {
            match self.state {
                DState::Magic => {
                    if !self.gather(input, 4) {
                        return Ok(None);
                    }
                    if self.cmd[..4] == DELTA_MAGIC {
                        self.state = DState::RhaHeader;
                    } else if read_be(&self.cmd[..4]) == u64::from(RDIFF_DELTA_MAGIC) {
                        self.offset += 4;
                        self.cmd.clear();
                        self.state = DState::RdiffCmd;
                    } else {
                        return Err(self.fail(DeltaErrorKind::BadMagic));
                    }
                }
                DState::RhaHeader => {
                    if !self.gather(input, DELTA_HEADER_LEN) {
                        return Ok(None);
                    }
                    let h = &self.cmd;
                    if crc32c::crc32c(&h[..12]) != le_u32(&h[12..16]) {
                        return Err(self.fail(DeltaErrorKind::HeaderChecksum));
                    }
                    let version = u16::from_le_bytes([h[4], h[5]]);
                    if version != DELTA_VERSION {
                        return Err(self.fail(DeltaErrorKind::UnsupportedVersion(version)));
                    }
                    let block_len = le_u32(&h[8..12]);
                    if h[6..8] != [0, 0] || block_len == 0 {
                        return Err(self.fail(DeltaErrorKind::HeaderChecksum));
                    }
                    self.header_crc = le_u32(&h[12..16]);
                    self.block_len = Some(block_len);
                    self.offset += DELTA_HEADER_LEN as u64;
                    self.cmd.clear();
                    self.state = DState::RhaCmd;
                }
                DState::RhaCmd => return self.rha_cmd(input),
                DState::RdiffCmd => return self.rdiff_cmd(input),
                DState::RdiffLiteral { left } => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let n = (left.min(RDIFF_PIECE as u64) as usize).min(input.len());
                    self.cmd.extend_from_slice(&input[..n]);
                    *input = &input[n..];
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        DState::RdiffCmd
                    } else {
                        DState::RdiffLiteral { left }
                    };
                    self.handed_out = true;
                    self.lit = 0..self.cmd.len();
                    return Ok(Some(Command::Literal(&self.cmd)));
                }
                DState::Done => {
                    if !input.is_empty() {
                        return Err(self.fail(DeltaErrorKind::TrailingBytes));
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn rha_cmd<'s>(&'s mut self, input: &mut &[u8]) -> Result<Option<Command<'s>>, DeltaError> {
        if !self.gather(input, 1) {
            return Ok(None);
        }
        let need = match self.cmd[0] {
            OP_COPY => COPY_LEN,
            OP_ZERO => ZERO_LEN,
            OP_END => END_LEN,
            OP_BASIS => BASIS_LEN,
            OP_LITERAL => {
                if !self.gather(input, LITERAL_HEAD) {
                    return Ok(None);
                }
                let len = le_u32(&self.cmd[1..5]) as usize;
                if len == 0 {
                    return Err(self.fail(DeltaErrorKind::ZeroLength("literal")));
                }
                if len > MAX_LITERAL {
                    return Err(self.fail(DeltaErrorKind::LiteralTooLarge {
                        len: len as u64,
                        max: MAX_LITERAL as u64,
                    }));
                }
                LITERAL_HEAD + len + 4
            }
            op => return Err(self.fail(DeltaErrorKind::UnknownCommand(op))),
        };
        if !self.gather(input, need) {
            return Ok(None);
        }
        let (body, crc) = self.cmd.split_at(need - 4);
        let want = if body[0] == OP_END {
            crc32c::crc32c_append(crc32c::crc32c(&self.header_crc.to_le_bytes()), body)
        } else {
            crc32c::crc32c(body)
        };
        if want != le_u32(crc) {
            return Err(self.fail(DeltaErrorKind::CommandChecksum));
        }
        self.handed_out = true;
        let first = !self.any_cmd;
        self.any_cmd = true;
        match self.cmd[0] {
            OP_BASIS => {
                if !first {
                    return Err(self.fail(DeltaErrorKind::MisplacedBasis));
                }
                let len = le_u64(&self.cmd[1..9]);
                let mut hash = [0u8; 32];
                hash.copy_from_slice(&self.cmd[9..41]);
                let new_len = le_u64(&self.cmd[41..49]);
                let mut new_hash = [0u8; 32];
                new_hash.copy_from_slice(&self.cmd[49..81]);
                self.promised = Some((new_len, new_hash));
                Ok(Some(Command::Basis {
                    len,
                    hash,
                    new_len,
                    new_hash,
                }))
            }
            OP_COPY => {
                let start = le_u64(&self.cmd[1..9]);
                let len = le_u64(&self.cmd[9..17]);
                self.check_copy(start, len)?;
                Ok(Some(Command::Copy { start, len }))
            }
            OP_ZERO => {
                let len = le_u64(&self.cmd[1..9]);
                if len == 0 {
                    return Err(self.fail(DeltaErrorKind::ZeroLength("zero run")));
                }
                self.add_output(len)?;
                Ok(Some(Command::Zero { len }))
            }
            OP_END => {
                let len = le_u64(&self.cmd[1..9]);
                if len != self.produced {
                    return Err(self.fail(DeltaErrorKind::LengthMismatch {
                        declared: len,
                        produced: self.produced,
                    }));
                }
                let mut hash = [0u8; 32];
                hash.copy_from_slice(&self.cmd[9..41]);
                if self.promised.is_some_and(|p| p != (len, hash)) {
                    return Err(self.fail(DeltaErrorKind::EndContradictsBasis));
                }
                self.state = DState::Done;
                Ok(Some(Command::End {
                    len: Some(len),
                    hash: Some(hash),
                }))
            }
            _ => {
                let len = self.cmd.len() - LITERAL_HEAD - 4;
                self.add_output(len as u64)?;
                self.lit = LITERAL_HEAD..LITERAL_HEAD + len;
                Ok(Some(Command::Literal(&self.cmd[self.lit.clone()])))
            }
        }
    }

    fn check_copy(&mut self, start: u64, len: u64) -> Result<(), DeltaError> {
        if len == 0 {
            return Err(self.fail(DeltaErrorKind::ZeroLength("copy")));
        }
        if start.checked_add(len).is_none() {
            return Err(self.fail(DeltaErrorKind::Overflow { start, len }));
        }
        self.add_output(len)
    }

    fn rdiff_cmd<'s>(&'s mut self, input: &mut &[u8]) -> Result<Option<Command<'s>>, DeltaError> {
        if !self.gather(input, 1) {
            return Ok(None);
        }
        let op = self.cmd[0];
        match op {
            0 => {
                self.state = DState::Done;
                self.handed_out = true;
                Ok(Some(Command::End {
                    len: None,
                    hash: None,
                }))
            }
            1..=0x40 => {
                self.add_output(u64::from(op))?;
                self.offset += 1;
                self.cmd.clear();
                self.state = DState::RdiffLiteral {
                    left: u64::from(op),
                };
                self.next(input)
            }
            0x41..=0x44 => {
                let w = 1usize << (op - 0x41);
                if !self.gather(input, 1 + w) {
                    return Ok(None);
                }
                let len = read_be(&self.cmd[1..1 + w]);
                if len == 0 {
                    return Err(self.fail(DeltaErrorKind::ZeroLength("literal")));
                }
                self.add_output(len)?;
                self.offset += (1 + w) as u64;
                self.cmd.clear();
                self.state = DState::RdiffLiteral { left: len };
                self.next(input)
            }
            0x45..=0x54 => {
                let ws = 1usize << ((op - 0x45) / 4);
                let wl = 1usize << ((op - 0x45) % 4);
                if !self.gather(input, 1 + ws + wl) {
                    return Ok(None);
                }
                let start = read_be(&self.cmd[1..1 + ws]);
                let len = read_be(&self.cmd[1 + ws..1 + ws + wl]);
                self.check_copy(start, len)?;
                self.handed_out = true;
                Ok(Some(Command::Copy { start, len }))
            }
            _ => Err(self.fail(DeltaErrorKind::UnknownCommand(op))),
        }
    }

    /// The literal handed out by the last call of [`next`](Self::next).
    pub(crate) fn literal(&self) -> &[u8] {
        self.cmd.get(self.lit.clone()).unwrap_or_default()
    }

    /// Checks that the delta ended; call when the input is over.
    pub fn finish(&self) -> Result<(), DeltaError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.state == DState::Done {
            Ok(())
        } else {
            Err(DeltaError {
                offset: self.offset,
                kind: DeltaErrorKind::Truncated,
            })
        }
    }
}
