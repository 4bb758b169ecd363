//! The incremental message decoder.

use bytes::{Buf, Bytes, BytesMut};

use super::error::MessageError;
use super::message::{
    type_name, AckKind, Control, Hello, Message, Point, Reason, Role, CONTROL_BOOKMARK,
    CONTROL_PAUSE, CONTROL_RESUME, DEFAULT_MAX_BODY, HEADER_LEN, MAX_TEXT, MIN_PEER_BODY, PREFACE,
    T_ACK, T_CLOSE, T_CONTROL, T_HEARTBEAT, T_HELLO, T_JOURNAL, T_SYNC, T_SYNC_REPLY, T_WELCOME,
    T_WINDOW, WELCOME_SYNC,
};
use super::sync::{
    SyncMode, SyncReply, SyncRequest, BLOCK_HASH_LEN, FILE_HASH_LEN, MAX_SYNC_BLOCK,
    MIN_SYNC_BLOCK, REPLY_BLOCKS, REPLY_DONE, REPLY_MISMATCH, REPLY_PROGRESS, REPLY_TREE,
    SYNC_BEGIN, SYNC_BLOCKS, SYNC_CHECK, SYNC_END, SYNC_RECORDS,
};
use super::SyncScope;
use crate::ha::Generations;
use crate::journal::{RelPath, MAX_PATH_LEN};

/// Decodes the messages of one direction of a session, fed in chunks of
/// any size. Every allocation is bounded by the largest body accepted
/// ([`with_max_body`](Self::with_max_body)) plus one header; a message
/// that claims more is refused before any of it is buffered.
#[derive(Debug)]
pub struct MessageDecoder {
    buf: BytesMut,
    preface_seen: bool,
    max_body: usize,
    /// Bytes consumed so far (for error offsets).
    offset: u64,
    /// Set after an error: the stream cannot be trusted any further.
    failed: bool,
}

impl Default for MessageDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageDecoder {
    /// A decoder expecting the [`PREFACE`] first.
    pub fn new() -> Self {
        Self {
            buf: BytesMut::new(),
            preface_seen: false,
            max_body: DEFAULT_MAX_BODY,
            offset: 0,
            failed: false,
        }
    }

    /// Sets the largest message body accepted (default
    /// [`DEFAULT_MAX_BODY`]).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Bytes fed and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds received bytes. Nothing is decoded until
    /// [`next_message`](Self::next_message).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `None` if more bytes are needed. After an
    /// error every further call returns [`MessageError::Failed`].
    pub fn next_message(&mut self) -> Result<Option<Message>, MessageError> {
        if self.failed {
            return Err(MessageError::Failed);
        }
        let result = self.decode_next();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn decode_next(&mut self) -> Result<Option<Message>, MessageError> {
        if !self.preface_seen {
            let n = self.buf.len().min(PREFACE.len());
            if self.buf[..n] != PREFACE[..n] {
                return Err(MessageError::Preface);
            }
            if n < PREFACE.len() {
                return Ok(None);
            }
            self.buf.advance(PREFACE.len());
            self.offset += PREFACE.len() as u64;
            self.preface_seen = true;
        }
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let at = self.offset;
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&self.buf[..HEADER_LEN]);
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let kind = h[4];
        if h[5..8] != [0, 0, 0] {
            return Err(MessageError::Flags { offset: at });
        }
        if len > self.max_body {
            return Err(MessageError::TooLarge {
                offset: at,
                len,
                max: self.max_body,
            });
        }
        if self.buf.len() < HEADER_LEN + len {
            // Room for the rest, bounded by the check above.
            self.buf.reserve(HEADER_LEN + len - self.buf.len());
            return Ok(None);
        }
        let crc = crate::journal::crc::crc32c(&h[0..8]);
        let crc = crate::journal::crc::crc32c_append(crc, &self.buf[HEADER_LEN..HEADER_LEN + len]);
        if crc != u32::from_le_bytes([h[8], h[9], h[10], h[11]]) {
            return Err(MessageError::Crc { offset: at });
        }
        self.buf.advance(HEADER_LEN);
        let body = self.buf.split_to(len).freeze();
        self.offset += (HEADER_LEN + len) as u64;
        decode_body(kind, body).map(Some).map_err(|what| {
            if type_name(kind) == "unknown" {
                MessageError::UnknownType { offset: at, kind }
            } else {
                MessageError::Malformed {
                    offset: at,
                    message: type_name(kind),
                    what,
                }
            }
        })
    }
}

/// Reads a body; the error names what was wrong.
struct Body(Bytes);

impl Body {
    fn need(&self, n: usize, what: &'static str) -> Result<(), &'static str> {
        if self.0.remaining() < n {
            Err(what)
        } else {
            Ok(())
        }
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, &'static str> {
        self.need(1, what)?;
        Ok(self.0.get_u8())
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, &'static str> {
        self.need(2, what)?;
        Ok(self.0.get_u16_le())
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, &'static str> {
        self.need(4, what)?;
        Ok(self.0.get_u32_le())
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, &'static str> {
        self.need(8, what)?;
        Ok(self.0.get_u64_le())
    }
    fn id(&mut self, what: &'static str) -> Result<[u8; 16], &'static str> {
        self.need(16, what)?;
        let mut id = [0u8; 16];
        self.0.copy_to_slice(&mut id);
        Ok(id)
    }
    fn point(&mut self, what: &'static str) -> Result<Point, &'static str> {
        Ok(Point {
            epoch: self.u64(what)?,
            seq: self.u64(what)?,
        })
    }
    fn text(&mut self, what: &'static str) -> Result<String, &'static str> {
        let n = usize::from(self.u16(what)?);
        if n > MAX_TEXT {
            return Err("text longer than 1024 bytes");
        }
        self.need(n, what)?;
        let bytes = self.0.split_to(n);
        String::from_utf8(bytes.to_vec()).map_err(|_| "text that is not UTF-8")
    }
    fn flag(&mut self, what: &'static str) -> Result<bool, &'static str> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("a flag that is neither 0 nor 1"),
        }
    }
    fn path(&mut self, what: &'static str) -> Result<RelPath, &'static str> {
        let n = usize::from(self.u16(what)?);
        if n > MAX_PATH_LEN {
            return Err("a path longer than 4096 bytes");
        }
        self.need(n, what)?;
        RelPath::new(self.0.split_to(n)).map_err(|_| "a path that is not a valid relative path")
    }
    fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.0)
    }
    fn end(&self) -> Result<(), &'static str> {
        if self.0.has_remaining() {
            Err("bytes after the end of the body")
        } else {
            Ok(())
        }
    }
}

fn decode_body(kind: u8, body: Bytes) -> Result<Message, &'static str> {
    let mut b = Body(body);
    let message = match kind {
        T_HELLO => {
            let version_min = b.u16("a short version range")?;
            let version_max = b.u16("a short version range")?;
            if version_min > version_max {
                return Err("a version range whose minimum exceeds its maximum");
            }
            let role = Role::from_code(b.u8("a missing role")?).ok_or("an unknown role")?;
            b.need(3, "a short header")?;
            b.0.advance(3);
            let node = b.id("a short node identity")?;
            let scenario = b.id("a short scenario identity")?;
            let generations = Generations {
                current: b.u64("short generations")?,
                bitmap: b.u64("short generations")?,
                history: [b.u64("short generations")?, b.u64("short generations")?],
            };
            Message::Hello(Hello {
                version_min,
                version_max,
                role,
                node,
                scenario,
                generations,
                stored: b.point("a short stored point")?,
                applied: b.point("a short applied point")?,
                heartbeat_ms: b.u32("a short heartbeat interval")?,
                max_body: match b.u32("a short body limit")? {
                    n if (n as usize) < MIN_PEER_BODY => {
                        return Err("a body limit too small for any journal message")
                    }
                    n => n,
                },
                window: b.u64("a short window")?,
                name: b.text("a short name")?,
            })
        }
        T_WELCOME => Message::Welcome {
            version: b.u16("a short version")?,
            resume_after: b.point("a short resume point")?,
            sync: match b.u8("missing welcome flags")? {
                0 => false,
                WELCOME_SYNC => true,
                _ => return Err("unknown welcome flags"),
            },
        },
        T_CLOSE => Message::Close {
            reason: Reason::from_code(b.u16("a short reason")?),
            text: b.text("a short reason text")?,
        },
        T_JOURNAL => {
            let epoch = b.u64("a short epoch")?;
            let first = b.u64("a short first sequence number")?;
            let last = b.u64("a short last sequence number")?;
            if first == 0 || first > last {
                return Err("a record range that is empty or starts at 0");
            }
            let frames = std::mem::take(&mut b.0);
            if frames.is_empty() {
                return Err("no journal frames");
            }
            Message::Journal {
                epoch,
                first,
                last,
                frames,
            }
        }
        T_ACK => {
            let kind = match b.u8("a missing acknowledgement kind")? {
                1 => AckKind::Stored,
                2 => AckKind::Applied,
                _ => return Err("an unknown acknowledgement kind"),
            };
            Message::Ack {
                kind,
                at: b.point("a short point")?,
            }
        }
        T_WINDOW => Message::Window {
            bytes: b.u64("a short window")?,
        },
        T_HEARTBEAT => Message::Heartbeat {
            sent: b.u64("a short time")?,
            echo: b.u64("a short echo")?,
        },
        T_CONTROL => Message::Control(match b.u8("a missing control code")? {
            CONTROL_PAUSE => Control::Pause,
            CONTROL_RESUME => Control::Resume,
            CONTROL_BOOKMARK => Control::Bookmark {
                at: b.point("a short bookmark point")?,
                name: b.text("a short bookmark name")?,
            },
            _ => return Err("an unknown control code"),
        }),
        T_SYNC => Message::Sync(sync_request(&mut b)?),
        T_SYNC_REPLY => Message::SyncReply(sync_reply(&mut b)?),
        _ => return Err("an unknown type"),
    };
    b.end()?;
    Ok(message)
}

fn sync_request(b: &mut Body) -> Result<SyncRequest, &'static str> {
    let op = b.u8("a missing sync operation")?;
    let id = b.u64("a short sync id")?;
    Ok(match op {
        SYNC_BEGIN => {
            let mode =
                SyncMode::from_code(b.u8("a missing sync mode")?).ok_or("an unknown sync mode")?;
            let ignore_same = b.flag("a missing ignore-same flag")?;
            let block_size = b.u32("a short block size")?;
            if !block_size.is_power_of_two()
                || !(MIN_SYNC_BLOCK..=MAX_SYNC_BLOCK).contains(&block_size)
            {
                return Err("a block size that is not a power of two from 4 KiB to 16 MiB");
            }
            let scope = SyncScope::from_bytes(b.rest())
                .map_err(|_| "a sync scope that is not a list of valid paths")?;
            SyncRequest::Begin {
                id,
                mode,
                ignore_same,
                block_size,
                scope,
            }
        }
        SYNC_RECORDS => {
            let frames = b.rest();
            if frames.is_empty() {
                return Err("no journal frames");
            }
            SyncRequest::Records { id, frames }
        }
        SYNC_BLOCKS => SyncRequest::Blocks {
            id,
            file: b.u64("a short file number")?,
            path: b.path("a short path")?,
        },
        SYNC_CHECK => {
            let path = b.path("a short path")?;
            let len = b.u64("a short length")?;
            let by_blocks = b.flag("a missing hash kind")?;
            b.need(FILE_HASH_LEN, "a short hash")?;
            let mut hash = [0u8; FILE_HASH_LEN];
            b.0.copy_to_slice(&mut hash);
            SyncRequest::Check {
                id,
                path,
                len,
                by_blocks,
                hash,
            }
        }
        SYNC_END => SyncRequest::End {
            id,
            replay_to: b.u64("a short replay point")?,
            entries: b.u64("a short entry count")?,
            bytes: b.u64("a short byte count")?,
        },
        _ => return Err("an unknown sync operation"),
    })
}

fn sync_reply(b: &mut Body) -> Result<SyncReply, &'static str> {
    let op = b.u8("a missing sync reply")?;
    let id = b.u64("a short sync id")?;
    Ok(match op {
        REPLY_TREE => SyncReply::Tree {
            id,
            last: b.flag("a missing last-piece flag")?,
            chunk: b.rest(),
        },
        REPLY_BLOCKS => {
            let file = b.u64("a short file number")?;
            let last = b.flag("a missing last-piece flag")?;
            let hashes = b.rest();
            if hashes.len() % BLOCK_HASH_LEN != 0 {
                return Err("block hashes that are not 16 bytes each");
            }
            SyncReply::Blocks {
                id,
                file,
                last,
                hashes,
            }
        }
        REPLY_MISMATCH => SyncReply::Mismatch {
            id,
            path: b.path("a short path")?,
        },
        REPLY_PROGRESS => SyncReply::Progress {
            id,
            records: b.u64("a short record count")?,
            bytes: b.u64("a short byte count")?,
        },
        REPLY_DONE => SyncReply::Done { id },
        _ => return Err("an unknown sync reply"),
    })
}
