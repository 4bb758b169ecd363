//! DNS messages on the wire (RFC 1035 §4, RFC 2136 §2): just what the
//! redirection steps need.
//!
//! [`Message::encode`] writes a message without name compression;
//! [`Message::decode`] reads any well-formed message (compressed names
//! included) and rejects anything else with a [`WireError`] naming the byte
//! offset. Decoding never panics and allocates at most in proportion to the
//! input: every record it keeps consumed at least eleven input bytes.
//!
//! ```
//! use rha_capture::redirect::dns_wire::{Message, Name, RecordType};
//!
//! let name = Name::parse("www.example.test")?;
//! let bytes = Message::query(7, name.clone(), RecordType::A).encode();
//! let back = Message::decode(&bytes)?;
//! assert_eq!(back.id, 7);
//! assert_eq!(back.questions[0].name, name);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Largest encoded name, in bytes (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Largest label, in bytes.
pub const MAX_LABEL_LEN: usize = 63;
/// Length of the fixed message header.
pub const HEADER_LEN: usize = 12;
/// Largest message (the TCP length prefix is 16 bits).
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// A domain name: lower-cased labels, the root excluded.
///
/// Names compare case-insensitively (they are folded to lower case when
/// made). Printed in presentation form without the final dot; bytes outside
/// letters, digits, `-`, `_` and `*` are printed as `\DDD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Name {
    labels: Vec<Vec<u8>>,
}

impl Name {
    /// The root name.
    pub fn root() -> Self {
        Self::default()
    }

    /// Parses a name in presentation form (`www.example.test`, with or
    /// without the final dot). Labels are letters, digits, `-`, `_` and `*`.
    ///
    /// # Errors
    ///
    /// The reason the name is not valid.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return if text == "." {
                Ok(Self::root())
            } else {
                Err("empty name")
            };
        }
        let mut labels = Vec::new();
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err("empty label");
            }
            if label.len() > MAX_LABEL_LEN {
                return Err("label longer than 63 bytes");
            }
            if !label.bytes().all(is_plain) {
                return Err("labels may hold only letters, digits, '-', '_' and '*'");
            }
            labels.push(label.to_ascii_lowercase().into_bytes());
        }
        Self::from_labels(labels).ok_or("name longer than 255 bytes")
    }

    /// Builds a name from raw labels, or `None` if a label is empty or too
    /// long, or the whole name is too long.
    pub fn from_labels(labels: Vec<Vec<u8>>) -> Option<Self> {
        let mut len = 1;
        for label in &labels {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return None;
            }
            len += 1 + label.len();
        }
        if len > MAX_NAME_LEN {
            return None;
        }
        let labels = labels
            .into_iter()
            .map(|mut l| {
                l.make_ascii_lowercase();
                l
            })
            .collect();
        Some(Self { labels })
    }

    /// The labels, most specific first.
    pub fn labels(&self) -> &[Vec<u8>] {
        &self.labels
    }

    /// Length of the uncompressed wire form.
    pub fn wire_len(&self) -> usize {
        1 + self.labels.iter().map(|l| 1 + l.len()).sum::<usize>()
    }

    /// Whether this name is `zone` or lies under it.
    pub fn is_within(&self, zone: &Name) -> bool {
        self.labels.len() >= zone.labels.len()
            && self.labels[self.labels.len() - zone.labels.len()..] == zone.labels[..]
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for label in &self.labels {
            // A label is at most 63 bytes: checked when the name was made.
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        out.push(0);
    }
}

fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*'
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.labels.is_empty() {
            return f.write_str(".");
        }
        for (i, label) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                if is_plain(b) {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
        }
        Ok(())
    }
}

/// A record type (RFC 1035 §3.2.2 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    /// IPv4 address.
    pub const A: Self = Self(1);
    /// Canonical name (alias).
    pub const CNAME: Self = Self(5);
    /// Start of authority.
    pub const SOA: Self = Self(6);
    /// IPv6 address (RFC 3596).
    pub const AAAA: Self = Self(28);
    /// Transaction signature (RFC 8945).
    pub const TSIG: Self = Self(250);
    /// Any type (queries; "delete every RRset" in updates).
    pub const ANY: Self = Self(255);
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::A => f.write_str("A"),
            Self::CNAME => f.write_str("CNAME"),
            Self::SOA => f.write_str("SOA"),
            Self::AAAA => f.write_str("AAAA"),
            Self::TSIG => f.write_str("TSIG"),
            Self::ANY => f.write_str("ANY"),
            Self(n) => write!(f, "TYPE{n}"),
        }
    }
}

/// A record class; updates also use [`Class::NONE`] and [`Class::ANY`]
/// (RFC 2136 §2.4, §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Class(pub u16);

impl Class {
    /// The Internet.
    pub const IN: Self = Self(1);
    /// "Must not exist" (prerequisites) or "delete this record" (updates).
    pub const NONE: Self = Self(254);
    /// "Must exist" (prerequisites) or "delete this RRset" (updates).
    pub const ANY: Self = Self(255);
}

/// A response code (RFC 1035 §4.1.1, RFC 2136 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rcode(pub u8);

impl Rcode {
    /// No error.
    pub const NOERROR: Self = Self(0);
    /// The server could not parse the message.
    pub const FORMERR: Self = Self(1);
    /// Server failure.
    pub const SERVFAIL: Self = Self(2);
    /// The name does not exist (or, in a prerequisite, it must exist but does not).
    pub const NXDOMAIN: Self = Self(3);
    /// Not implemented.
    pub const NOTIMP: Self = Self(4);
    /// Refused by policy.
    pub const REFUSED: Self = Self(5);
    /// A name that must not exist does.
    pub const YXDOMAIN: Self = Self(6);
    /// An RRset that must not exist does.
    pub const YXRRSET: Self = Self(7);
    /// An RRset that must exist does not (or differs).
    pub const NXRRSET: Self = Self(8);
    /// The server is not authoritative for the zone.
    pub const NOTAUTH: Self = Self(9);
    /// A name is outside the zone.
    pub const NOTZONE: Self = Self(10);
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "NOERROR",
            1 => "FORMERR (the server could not parse the message)",
            2 => "SERVFAIL (server failure)",
            3 => "NXDOMAIN (no such name)",
            4 => "NOTIMP (not implemented)",
            5 => "REFUSED (refused by policy)",
            6 => "YXDOMAIN (a name that must not exist does)",
            7 => "YXRRSET (a record set that must not exist does)",
            8 => "NXRRSET (a record set that must exist does not)",
            9 => "NOTAUTH (server not authoritative for the zone)",
            10 => "NOTZONE (name outside the zone)",
            n => return write!(f, "RCODE{n}"),
        };
        f.write_str(name)
    }
}

/// The opcode of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// A standard query.
    pub const QUERY: Self = Self(0);
    /// A dynamic update (RFC 2136).
    pub const UPDATE: Self = Self(5);
}

/// Record data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RData {
    /// No data (RDLENGTH 0), as in update deletions and prerequisites.
    Empty,
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// The target of an alias.
    Cname(Name),
    /// Any other data, kept as bytes (names inside are not decompressed).
    Other(Vec<u8>),
}

impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::Empty => f.write_str("(empty)"),
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            RData::Cname(n) => write!(f, "{n}"),
            RData::Other(b) => write!(f, "({} bytes)", b.len()),
        }
    }
}

/// A question (or, in an update, the zone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The type asked for.
    pub rtype: RecordType,
    /// The class.
    pub class: Class,
}

/// A resource record (or, in an update, a prerequisite or a change).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// The type.
    pub rtype: RecordType,
    /// The class.
    pub class: Class,
    /// Time to live, in seconds.
    pub ttl: u32,
    /// The data.
    pub rdata: RData,
}

/// A DNS message.
///
/// In an update (RFC 2136 §2) the sections are renamed: `questions` holds
/// the zone, `answers` the prerequisites, `authority` the changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// Identifier matching a response to its request.
    pub id: u16,
    /// Whether this is a response.
    pub response: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// Authoritative answer.
    pub authoritative: bool,
    /// The message was truncated (retry over TCP).
    pub truncated: bool,
    /// Recursion desired.
    pub recursion_desired: bool,
    /// Recursion available.
    pub recursion_available: bool,
    /// The response code.
    pub rcode: Rcode,
    /// Question (zone) section.
    pub questions: Vec<Question>,
    /// Answer (prerequisite) section.
    pub answers: Vec<Record>,
    /// Authority (update) section.
    pub authority: Vec<Record>,
    /// Additional section.
    pub additional: Vec<Record>,
}

impl Message {
    fn empty(id: u16, opcode: Opcode) -> Self {
        Self {
            id,
            response: false,
            opcode,
            authoritative: false,
            truncated: false,
            recursion_desired: false,
            recursion_available: false,
            rcode: Rcode::NOERROR,
            questions: Vec::new(),
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }

    /// A query for `name`/`rtype` in class IN, without recursion (the
    /// redirection steps ask the authoritative server directly).
    pub fn query(id: u16, name: Name, rtype: RecordType) -> Self {
        let mut m = Self::empty(id, Opcode::QUERY);
        m.questions.push(Question {
            name,
            rtype,
            class: Class::IN,
        });
        m
    }

    /// A dynamic update of `zone` with these prerequisites and changes
    /// (RFC 2136 §2.4, §2.5).
    pub fn update(id: u16, zone: Name, prerequisites: Vec<Record>, changes: Vec<Record>) -> Self {
        let mut m = Self::empty(id, Opcode::UPDATE);
        m.questions.push(Question {
            name: zone,
            rtype: RecordType::SOA,
            class: Class::IN,
        });
        m.answers = prerequisites;
        m.authority = changes;
        m
    }

    /// The wire form, without name compression.
    ///
    /// Section counts and record data lengths are clamped to 16 bits; a
    /// message built from more than 65,535 records per section or more than
    /// 65,535 bytes of record data is not meaningful and encodes truncated.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(&self.id.to_be_bytes());
        let mut b2 = (self.opcode.0 & 0x0f) << 3;
        if self.response {
            b2 |= 0x80;
        }
        if self.authoritative {
            b2 |= 0x04;
        }
        if self.truncated {
            b2 |= 0x02;
        }
        if self.recursion_desired {
            b2 |= 0x01;
        }
        let mut b3 = self.rcode.0 & 0x0f;
        if self.recursion_available {
            b3 |= 0x80;
        }
        out.push(b2);
        out.push(b3);
        for n in [
            self.questions.len(),
            self.answers.len(),
            self.authority.len(),
            self.additional.len(),
        ] {
            out.extend_from_slice(&clamp16(n).to_be_bytes());
        }
        for q in self.questions.iter().take(usize::from(u16::MAX)) {
            q.name.encode(&mut out);
            out.extend_from_slice(&q.rtype.0.to_be_bytes());
            out.extend_from_slice(&q.class.0.to_be_bytes());
        }
        for section in [&self.answers, &self.authority, &self.additional] {
            for r in section.iter().take(usize::from(u16::MAX)) {
                encode_record(r, &mut out);
            }
        }
        out
    }

    /// Reads a message.
    ///
    /// # Errors
    ///
    /// A [`WireError`] with the offset of the first byte that does not fit.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        Self::decode_with_last_record(bytes).map(|(m, _)| m)
    }

    /// Decodes, also returning the byte offset at which the last record of
    /// the additional section starts (where a TSIG record sits).
    pub(crate) fn decode_with_last_record(
        bytes: &[u8],
    ) -> Result<(Self, Option<usize>), WireError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(WireError::new(MAX_MESSAGE_LEN, WireErrorKind::TooLong));
        }
        let mut r = Reader { bytes, pos: 0 };
        let id = r.u16()?;
        let b2 = r.u8()?;
        let b3 = r.u8()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        let mut m = Self::empty(id, Opcode((b2 >> 3) & 0x0f));
        m.response = b2 & 0x80 != 0;
        m.authoritative = b2 & 0x04 != 0;
        m.truncated = b2 & 0x02 != 0;
        m.recursion_desired = b2 & 0x01 != 0;
        m.recursion_available = b3 & 0x80 != 0;
        m.rcode = Rcode(b3 & 0x0f);
        for _ in 0..counts[0] {
            let name = r.name()?;
            let rtype = RecordType(r.u16()?);
            let class = Class(r.u16()?);
            m.questions.push(Question { name, rtype, class });
        }
        let mut last = None;
        for (i, section) in [&mut m.answers, &mut m.authority, &mut m.additional]
            .into_iter()
            .enumerate()
        {
            for _ in 0..counts[i + 1] {
                if i == 2 {
                    last = Some(r.pos);
                }
                section.push(r.record()?);
            }
        }
        if r.pos != bytes.len() {
            return Err(WireError::new(r.pos, WireErrorKind::TrailingBytes));
        }
        Ok((m, last))
    }
}

fn clamp16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn encode_record(r: &Record, out: &mut Vec<u8>) {
    r.name.encode(out);
    out.extend_from_slice(&r.rtype.0.to_be_bytes());
    out.extend_from_slice(&r.class.0.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0, 0]);
    match &r.rdata {
        RData::Empty => {}
        RData::A(a) => out.extend_from_slice(&a.octets()),
        RData::Aaaa(a) => out.extend_from_slice(&a.octets()),
        RData::Cname(n) => n.encode(out),
        RData::Other(b) => out.extend_from_slice(&b[..b.len().min(usize::from(u16::MAX))]),
    }
    let len = clamp16(out.len() - len_at - 2);
    out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
}

/// A message that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte offset {offset}")]
pub struct WireError {
    /// Where in the message the problem is.
    pub offset: usize,
    /// What the problem is.
    pub kind: WireErrorKind,
}

impl WireError {
    fn new(offset: usize, kind: WireErrorKind) -> Self {
        Self { offset, kind }
    }
}

/// The kinds of [`WireError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireErrorKind {
    /// The message ends in the middle of a field.
    #[error("message ends early")]
    Truncated,
    /// The message is longer than 65,535 bytes.
    #[error("message longer than 65535 bytes")]
    TooLong,
    /// Bytes follow the last record the header announces.
    #[error("trailing bytes after the last record")]
    TrailingBytes,
    /// A label length byte uses the reserved 0x40/0x80 forms.
    #[error("reserved label type")]
    ReservedLabel,
    /// A compression pointer does not point to an earlier name.
    #[error("compression pointer does not point backwards")]
    BadPointer,
    /// A name is longer than 255 bytes.
    #[error("name longer than 255 bytes")]
    NameTooLong,
    /// Record data does not fit its type.
    #[error("{rtype} record data of {len} bytes is malformed")]
    BadRdata {
        /// The record type.
        rtype: RecordType,
        /// The data length.
        len: usize,
    },
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(WireError::new(self.pos, WireErrorKind::Truncated))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a possibly compressed name at the current position.
    ///
    /// Every pointer must point before the label it replaces, so following
    /// pointers always ends; the 255-byte name limit bounds the labels kept.
    fn name(&mut self) -> Result<Name, WireError> {
        let mut labels = Vec::new();
        let mut wire_len = 1;
        let mut at = self.pos;
        // Where reading resumes once the name is done (after the first pointer).
        let mut resume = None;
        // Pointers must point strictly below this.
        let mut limit = self.pos;
        loop {
            let len = *self
                .bytes
                .get(at)
                .ok_or(WireError::new(at, WireErrorKind::Truncated))?;
            match len & 0xc0 {
                0x00 if len == 0 => {
                    at += 1;
                    break;
                }
                0x00 => {
                    let len = usize::from(len);
                    let label = self
                        .bytes
                        .get(at + 1..at + 1 + len)
                        .ok_or(WireError::new(at, WireErrorKind::Truncated))?;
                    wire_len += 1 + len;
                    if wire_len > MAX_NAME_LEN {
                        return Err(WireError::new(at, WireErrorKind::NameTooLong));
                    }
                    labels.push(label.to_vec());
                    at += 1 + len;
                }
                0xc0 => {
                    let low = *self
                        .bytes
                        .get(at + 1)
                        .ok_or(WireError::new(at, WireErrorKind::Truncated))?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                    if target >= limit {
                        return Err(WireError::new(at, WireErrorKind::BadPointer));
                    }
                    resume.get_or_insert(at + 2);
                    limit = target;
                    at = target;
                }
                _ => return Err(WireError::new(at, WireErrorKind::ReservedLabel)),
            }
        }
        self.pos = resume.unwrap_or(at);
        // Labels are 1..=63 bytes by construction and the length is checked.
        Name::from_labels(labels).ok_or(WireError::new(self.pos, WireErrorKind::NameTooLong))
    }

    fn record(&mut self) -> Result<Record, WireError> {
        let name = self.name()?;
        let rtype = RecordType(self.u16()?);
        let class = Class(self.u16()?);
        let ttl = self.u32()?;
        let len = usize::from(self.u16()?);
        let start = self.pos;
        let data = self.take(len)?;
        let bad = || WireError::new(start, WireErrorKind::BadRdata { rtype, len });
        let rdata = if len == 0 {
            RData::Empty
        } else {
            match rtype {
                RecordType::A => RData::A(Ipv4Addr::from(
                    <[u8; 4]>::try_from(data).map_err(|_| bad())?,
                )),
                RecordType::AAAA => RData::Aaaa(Ipv6Addr::from(
                    <[u8; 16]>::try_from(data).map_err(|_| bad())?,
                )),
                RecordType::CNAME => {
                    let end = self.pos;
                    self.pos = start;
                    let target = self.name()?;
                    if self.pos != end {
                        return Err(bad());
                    }
                    RData::Cname(target)
                }
                _ => RData::Other(data.to_vec()),
            }
        };
        Ok(Record {
            name,
            rtype,
            class,
            ttl,
            rdata,
        })
    }
}

#[cfg(test)]
mod tests;
