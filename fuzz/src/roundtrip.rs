//! The `journal_roundtrip` target: structured records through the writer and
//! back through the decoder.
//!
//! The input is a mirror of [`Op`] that `arbitrary` can build: paths, names
//! and payloads are generated as raw material that is often but not always
//! valid, so the target also checks that exactly the invalid ones are refused
//! (against a model of the rules written out here).

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use rha_core::journal::{
    Attrs, Compression, Decoder, DecoderConfig, EncodeError, End, JournalWriter, Op, Record,
    RelPath, WriteError, WriterConfig, MAX_BOOKMARK_NAME_LEN, MAX_PATH_LEN, MAX_SYMLINK_TARGET_LEN,
    MAX_XATTR_NAME_LEN, MAX_XATTR_VALUE_LEN,
};

/// A whole `journal_roundtrip` run: writer settings, records, decoder chunking.
#[derive(Debug, Arbitrary)]
pub(crate) struct Input {
    codec: Codec,
    /// [`WriterConfig::batch_bytes`], modulo 512 KiB.
    batch_bytes: u32,
    /// A small [`WriterConfig::max_record_size`], or the default.
    max_record_size: Option<u16>,
    first_seq: u64,
    stream_header: bool,
    /// Decoder chunk size; 0 feeds everything at once.
    chunk: u16,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Codec {
    None,
    Zstd1,
    Zstd3,
}

#[derive(Debug, Arbitrary)]
struct Step {
    timestamp_ns: u64,
    op: ArbOp,
    then: Then,
}

/// What the writer is asked to do after an append.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Then {
    Nothing,
    Flush,
    Sync,
}

/// Mirrors [`Op`], with raw material where `Op` has validated types.
#[derive(Debug, Arbitrary)]
enum ArbOp {
    Create {
        path: ArbPath,
        mode: u32,
    },
    Write {
        path: ArbPath,
        offset: u64,
        data: Payload,
    },
    SetLen {
        path: ArbPath,
        len: u64,
    },
    Delete {
        path: ArbPath,
    },
    Rename {
        from: ArbPath,
        to: ArbPath,
    },
    Mkdir {
        path: ArbPath,
        mode: u32,
    },
    Rmdir {
        path: ArbPath,
    },
    Symlink {
        path: ArbPath,
        target: Vec<u8>,
    },
    HardLink {
        existing: ArbPath,
        link: ArbPath,
    },
    SetAttr {
        path: ArbPath,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        atime: Option<i64>,
        mtime: Option<i64>,
    },
    SetXattr {
        path: ArbPath,
        name: Vec<u8>,
        value: Payload,
    },
    RemoveXattr {
        path: ArbPath,
        name: Vec<u8>,
    },
    BlockWrite {
        volume: u32,
        offset: u64,
        data: Payload,
    },
    Discard {
        volume: u32,
        offset: u64,
        len: u64,
    },
    Bookmark {
        name: String,
        app_consistent: bool,
    },
    TxBegin {
        txid: u64,
    },
    TxCommit {
        txid: u64,
    },
    SyncStart {
        sync_id: u64,
    },
    SyncEnd {
        sync_id: u64,
    },
    Epoch {
        scenario: u64,
        epoch: u64,
    },
    Mknod {
        path: ArbPath,
        /// The mode's low 16 bits: file type and permissions.
        mode: u16,
        /// Bits above them, which no valid mode has.
        high: Option<u16>,
        rdev: u64,
    },
    ClearXattrs {
        path: ArbPath,
    },
}

/// A path assembled from components, most of them ordinary names.
#[derive(Debug, Arbitrary)]
struct ArbPath {
    absolute: bool,
    components: Vec<Component>,
}

#[derive(Debug, Arbitrary)]
enum Component {
    /// One of [`NAMES`].
    Name(u8),
    /// Any bytes, including `/` and NUL.
    Raw(Vec<u8>),
    Empty,
    Dot,
    DotDot,
    /// `x` repeated (modulo 4200 times), to reach [`MAX_PATH_LEN`].
    Long(u16),
}

/// Valid component names, some of them look-alikes of invalid ones.
const NAMES: [&[u8]; 8] = [
    b"a",
    b"dir",
    b"file.txt",
    b"...",
    b".hidden",
    b"..x",
    "é".as_bytes(),
    b"\xff\xfe",
];

/// Payloads are bytes repeated, so a short input can make a write large enough
/// to take the writer's unbuffered path (64 KiB and more).
#[derive(Debug, Arbitrary)]
struct Payload {
    bytes: Vec<u8>,
    repeat: u16,
}

/// The largest payload built from a [`Payload`].
const MAX_PAYLOAD: usize = 256 << 10;

impl Payload {
    fn build(&self) -> Bytes {
        let len = self
            .bytes
            .len()
            .saturating_mul(usize::from(self.repeat) + 1)
            .min(MAX_PAYLOAD);
        self.bytes.iter().copied().cycle().take(len).collect()
    }
}

impl ArbPath {
    fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.absolute {
            out.push(b'/');
        }
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            match c {
                Component::Name(n) => out.extend_from_slice(NAMES[usize::from(*n) % NAMES.len()]),
                Component::Raw(b) => out.extend_from_slice(b),
                Component::Empty => {}
                Component::Dot => out.push(b'.'),
                Component::DotDot => out.extend_from_slice(b".."),
                Component::Long(n) => out.resize(out.len() + usize::from(*n) % 4200, b'x'),
            }
        }
        out
    }
}

/// The [`RelPath`] rules, written out independently of rha-core.
fn path_is_valid(p: &[u8]) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PATH_LEN
        && p[0] != b'/'
        && !p.contains(&0)
        && p.split(|&b| b == b'/')
            .all(|c| !matches!(c, b"" | b"." | b".."))
}

/// The rule for a node's mode: a FIFO, character or block device, with
/// nothing above the file type bits.
fn mknod_mode_is_valid(mode: u32) -> bool {
    matches!(mode >> 12, 0o01 | 0o02 | 0o06)
}

/// The rule for names (symlink targets, xattr and bookmark names).
fn name_is_valid(name: &[u8], max: usize) -> bool {
    !name.is_empty() && name.len() <= max && !name.contains(&0)
}

/// Builds a real path; `None` (after checking that the model agrees) if
/// `RelPath` refuses it.
fn rel_path(p: &ArbPath) -> Option<RelPath> {
    let bytes = p.build();
    let valid = path_is_valid(&bytes);
    match RelPath::new(bytes) {
        Ok(path) => {
            assert!(valid, "RelPath accepted an invalid path: {path:?}");
            Some(path)
        }
        Err(e) => {
            assert!(!valid, "RelPath refused a valid path: {e}");
            None
        }
    }
}

impl ArbOp {
    /// The real operation (`None` if a path is invalid) and whether its other
    /// fields are valid, which the writer must agree with.
    fn build(&self) -> Option<(Op, bool)> {
        let bytes = |b: &[u8]| Bytes::copy_from_slice(b);
        Some(match self {
            ArbOp::Create { path, mode } => (
                Op::Create {
                    path: rel_path(path)?,
                    mode: *mode,
                },
                true,
            ),
            ArbOp::Write { path, offset, data } => (
                Op::Write {
                    path: rel_path(path)?,
                    offset: *offset,
                    data: data.build(),
                },
                true,
            ),
            ArbOp::SetLen { path, len } => (
                Op::SetLen {
                    path: rel_path(path)?,
                    len: *len,
                },
                true,
            ),
            ArbOp::Delete { path } => (
                Op::Delete {
                    path: rel_path(path)?,
                },
                true,
            ),
            ArbOp::Rename { from, to } => (
                Op::Rename {
                    from: rel_path(from)?,
                    to: rel_path(to)?,
                },
                true,
            ),
            ArbOp::Mkdir { path, mode } => (
                Op::Mkdir {
                    path: rel_path(path)?,
                    mode: *mode,
                },
                true,
            ),
            ArbOp::Rmdir { path } => (
                Op::Rmdir {
                    path: rel_path(path)?,
                },
                true,
            ),
            ArbOp::Symlink { path, target } => (
                Op::Symlink {
                    path: rel_path(path)?,
                    target: bytes(target),
                },
                name_is_valid(target, MAX_SYMLINK_TARGET_LEN),
            ),
            ArbOp::HardLink { existing, link } => (
                Op::HardLink {
                    existing: rel_path(existing)?,
                    link: rel_path(link)?,
                },
                true,
            ),
            ArbOp::SetAttr {
                path,
                mode,
                uid,
                gid,
                atime,
                mtime,
            } => (
                Op::SetAttr {
                    path: rel_path(path)?,
                    attrs: Attrs {
                        mode: *mode,
                        uid: *uid,
                        gid: *gid,
                        atime: *atime,
                        mtime: *mtime,
                    },
                },
                true,
            ),
            ArbOp::SetXattr { path, name, value } => {
                let value = value.build();
                let valid =
                    name_is_valid(name, MAX_XATTR_NAME_LEN) && value.len() <= MAX_XATTR_VALUE_LEN;
                (
                    Op::SetXattr {
                        path: rel_path(path)?,
                        name: bytes(name),
                        value,
                    },
                    valid,
                )
            }
            ArbOp::RemoveXattr { path, name } => (
                Op::RemoveXattr {
                    path: rel_path(path)?,
                    name: bytes(name),
                },
                name_is_valid(name, MAX_XATTR_NAME_LEN),
            ),
            ArbOp::BlockWrite {
                volume,
                offset,
                data,
            } => (
                Op::BlockWrite {
                    volume: *volume,
                    offset: *offset,
                    data: data.build(),
                },
                true,
            ),
            ArbOp::Discard {
                volume,
                offset,
                len,
            } => (
                Op::Discard {
                    volume: *volume,
                    offset: *offset,
                    len: *len,
                },
                true,
            ),
            ArbOp::Bookmark {
                name,
                app_consistent,
            } => (
                Op::Bookmark {
                    name: name.clone(),
                    app_consistent: *app_consistent,
                },
                name_is_valid(name.as_bytes(), MAX_BOOKMARK_NAME_LEN),
            ),
            ArbOp::TxBegin { txid } => (Op::TxBegin { txid: *txid }, true),
            ArbOp::TxCommit { txid } => (Op::TxCommit { txid: *txid }, true),
            ArbOp::SyncStart { sync_id } => (Op::SyncStart { sync_id: *sync_id }, true),
            ArbOp::SyncEnd { sync_id } => (Op::SyncEnd { sync_id: *sync_id }, true),
            ArbOp::Epoch { scenario, epoch } => (
                Op::Epoch {
                    scenario: *scenario,
                    epoch: *epoch,
                },
                true,
            ),
            ArbOp::Mknod {
                path,
                mode,
                high,
                rdev,
            } => {
                let mode = u32::from(*mode) | high.map_or(0, |h| u32::from(h) << 16);
                (
                    Op::Mknod {
                        path: rel_path(path)?,
                        mode,
                        rdev: *rdev,
                    },
                    mknod_mode_is_valid(mode),
                )
            }
            ArbOp::ClearXattrs { path } => (
                Op::ClearXattrs {
                    path: rel_path(path)?,
                },
                true,
            ),
        })
    }
}

impl Input {
    /// Parses a fuzzer input; `None` if the bytes run out too early.
    pub(crate) fn parse(data: &[u8]) -> Option<Input> {
        Input::arbitrary_take_rest(Unstructured::new(data)).ok()
    }

    /// The operations the input names, with their validity (for seeding).
    #[cfg(test)]
    pub(crate) fn ops(&self) -> impl Iterator<Item = (Op, bool)> + '_ {
        self.steps.iter().filter_map(|s| s.op.build())
    }

    /// Whether the input compresses batches (for seeding).
    #[cfg(test)]
    pub(crate) fn compressed(&self) -> bool {
        !matches!(self.codec, Codec::None)
    }

    fn writer_config(&self) -> WriterConfig {
        let compression = match self.codec {
            Codec::None => Compression::None,
            Codec::Zstd1 => Compression::Zstd { level: 1 },
            Codec::Zstd3 => Compression::Zstd { level: 3 },
        };
        let max_record_size = self
            .max_record_size
            .map_or(rha_core::journal::DEFAULT_MAX_RECORD_SIZE, usize::from);
        // Starting near u64::MAX exercises the writer's refusal to wrap.
        let first_seq = self.first_seq;
        WriterConfig::default()
            .compression(compression)
            .batch_bytes(self.batch_bytes as usize % (512 << 10))
            .max_record_size(max_record_size)
            .first_seq(first_seq)
            .stream_header(self.stream_header)
    }
}

/// Runs one `journal_roundtrip` input; panics if a record does not come back
/// as it was written.
///
/// The input is read with `arbitrary` as writer settings, a list of
/// operations (with flushes and syncs in between) and a decoder chunk size.
/// Records the writer refuses must be exactly those the format rules forbid;
/// every record it accepts must decode to itself, in order, and the journal
/// must end cleanly.
pub fn journal_roundtrip(data: &[u8]) {
    if let Some(input) = Input::parse(data) {
        roundtrip(&input);
    }
}

fn roundtrip(input: &Input) {
    let config = input.writer_config();
    let mut writer = JournalWriter::new(Vec::new(), config.clone());
    let mut expected = Vec::new();
    for step in &input.steps {
        let Some((op, valid)) = step.op.build() else {
            continue;
        };
        let seq = writer.next_seq();
        let accepted = match writer.append(step.timestamp_ns, &op) {
            Ok(s) => {
                assert!(valid, "the writer accepted an invalid {op:?}");
                assert_eq!(s, seq);
                expected.push(Record {
                    seq,
                    timestamp_ns: step.timestamp_ns,
                    op,
                });
                true
            }
            Err(WriteError::Encode(EncodeError::InvalidField { .. })) => {
                assert!(!valid, "the writer refused a valid {op:?}");
                false
            }
            Err(WriteError::Encode(EncodeError::TooLarge { size, max, .. })) => {
                assert!(valid, "an invalid {op:?} was refused only as too large");
                assert_eq!(max, config.max_record_size);
                assert!(size > max, "refused as too large: {size} <= {max}");
                false
            }
            Err(WriteError::Encode(EncodeError::SequenceExhausted)) => {
                let last = expected.last().map(|r: &Record| r.seq);
                assert_eq!(last, Some(u64::MAX), "refused as exhausted after {last:?}");
                false
            }
            Err(e) => panic!("append failed: {e}"),
        };
        // A refused record leaves no trace, not even a used sequence number;
        // after u64::MAX the number stays put (every later append is refused).
        let next = if accepted {
            seq.checked_add(1).unwrap_or(seq)
        } else {
            seq
        };
        assert_eq!(writer.next_seq(), next);
        match step.then {
            Then::Nothing => Ok(()),
            Then::Flush => writer.flush(),
            Then::Sync => writer.sync(),
        }
        .expect("writing into a Vec cannot fail");
    }
    let bytes = Bytes::from(writer.into_inner().expect("writing into a Vec cannot fail"));

    let decoder_config = DecoderConfig::default()
        .max_record_size(config.max_record_size)
        .stream_header(config.stream_header)
        .first_seq(Some(config.first_seq));
    let mut decoder = Decoder::new(decoder_config);
    let chunk = match usize::from(input.chunk) {
        0 => bytes.len().max(1),
        n => n,
    };
    let mut decoded = Vec::new();
    for start in (0..bytes.len()).step_by(chunk) {
        decoder.feed_bytes(bytes.slice(start..bytes.len().min(start + chunk)));
        while let Some(rec) = decoder
            .next_record()
            .unwrap_or_else(|e| panic!("a written journal does not decode: {e}"))
        {
            decoded.push(rec);
        }
    }
    assert_eq!(decoded, expected, "records did not survive the round trip");
    assert_eq!(
        decoder.finish(),
        Ok(End::Clean {
            len: bytes.len() as u64
        })
    );
}
