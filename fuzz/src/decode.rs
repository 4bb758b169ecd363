//! The `journal_decode` target: arbitrary bytes through the incremental decoder.

use bytes::Bytes;
use rha_core::journal::{
    Decoder, DecoderConfig, End, JournalWriter, Record, WriterConfig, FRAME_HEADER_LEN,
    STREAM_HEADER_LEN,
};

/// Number of control bytes at the start of a `journal_decode` input (see
/// [`journal_decode`]).
pub(crate) const CONTROL_LEN: usize = 4;

const NO_STREAM_HEADER: u8 = 1;
const FIRST_SEQ: u8 = 2;
const COPY_FEED: u8 = 16;
const SEAL: u8 = 32;

/// The record size limits byte 0 chooses between: the default and a few small
/// ones that make "too large" reachable.
const MAX_RECORD_SIZES: [usize; 4] = [rha_core::journal::DEFAULT_MAX_RECORD_SIZE, 64, 4096, 65536];

/// How a decoding run ended: the error that stopped it or what
/// [`Decoder::finish`] said.
pub(crate) type Outcome = Result<End, rha_core::journal::DecodeError>;

/// What a `journal_decode` input asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Control {
    pub(crate) flags: u8,
    pub(crate) chunking: u8,
    pub(crate) seed: u8,
    pub(crate) first_seq: u8,
}

impl Control {
    /// Default settings, the journal fed in one piece.
    pub(crate) const WHOLE: Control = Control {
        flags: 0,
        chunking: 0,
        seed: 0,
        first_seq: 0,
    };

    /// The input prefix that selects these settings.
    #[cfg(test)]
    pub(crate) fn to_bytes(self) -> [u8; CONTROL_LEN] {
        [self.flags, self.chunking, self.seed, self.first_seq]
    }

    fn split(data: &[u8]) -> (Control, &[u8]) {
        let mut c = [0; CONTROL_LEN];
        let n = data.len().min(CONTROL_LEN);
        c[..n].copy_from_slice(&data[..n]);
        let control = Control {
            flags: c[0],
            chunking: c[1],
            seed: c[2],
            first_seq: c[3],
        };
        (control, &data[n..])
    }

    fn config(self) -> DecoderConfig {
        let max = MAX_RECORD_SIZES[usize::from(self.flags >> 2) & 3];
        let first_seq = (self.flags & FIRST_SEQ != 0).then_some(u64::from(self.first_seq));
        DecoderConfig::default()
            .stream_header(self.flags & NO_STREAM_HEADER == 0)
            .max_record_size(max)
            .first_seq(first_seq)
    }

    /// Lengths of the pieces to feed `len` bytes in.
    fn chunks(self, len: usize) -> Vec<usize> {
        if self.chunking == 0 {
            return vec![len];
        }
        let limit = 1usize << (self.chunking % 17);
        // xorshift32; the seed is never zero.
        let mut state = 0x9E37_79B9u32 ^ u32::from(self.seed);
        let mut out = Vec::new();
        let mut left = len;
        while left > 0 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let n = (state as usize % limit + 1).min(left);
            out.push(n);
            left -= n;
        }
        out
    }
}

/// Runs one `journal_decode` input; panics if the decoder misbehaves.
///
/// The first 4 bytes pick the decoder settings and the chunking (missing
/// bytes count as zero); the rest is the journal:
///
/// - byte 0, flags: bit 0 clears [`DecoderConfig::stream_header`]; bit 1
///   sets [`DecoderConfig::first_seq`] to byte 3; bits 2–3 pick
///   [`DecoderConfig::max_record_size`]: the default, 64, 4096 or 65536;
///   bit 4 feeds copies ([`Decoder::feed`]) instead of shared buffers
///   ([`Decoder::feed_bytes`]); bit 5 first rewrites every checksum the
///   frame lengths lead to, so that mutated frames get past the checksums
///   to the checks behind them (a fuzzer almost never keeps a CRC right).
/// - byte 1: 0 feeds the journal in one piece; otherwise in chunks of 1 to
///   `2^(byte 1 % 17)` bytes, their lengths drawn from a generator seeded by
///   byte 2. Records are pulled after every chunk.
///
/// Checks that decoding never panics; that chunked and whole decoding agree
/// on every record and on the outcome; that records are consecutive, the
/// outcome accounts for every input byte and an error names the last record
/// returned; and that whatever decodes can be written again and decodes to
/// the same records.
pub fn journal_decode(data: &[u8]) {
    let (control, config, input) = prepare(data);

    let (records, outcome) = decode_chunked(control, &config, &input);
    check_outcome(&config, &input, &records, &outcome);

    let (whole_records, whole_outcome) = decode_chunked(Control::WHOLE, &config, &input);
    assert_eq!(records, whole_records, "chunked and whole decoding differ");
    assert_eq!(
        outcome, whole_outcome,
        "chunked and whole decoding end apart"
    );

    reencode(&config, &records);
}

/// How a `journal_decode` input ends when decoded whole (for checking seeds).
#[cfg(test)]
pub(crate) fn decode_input(data: &[u8]) -> Outcome {
    let (_, config, input) = prepare(data);
    decode_chunked(Control::WHOLE, &config, &input).1
}

/// Splits off the control bytes and applies them: the settings, the decoder
/// configuration and the (maybe sealed) journal.
fn prepare(data: &[u8]) -> (Control, DecoderConfig, Bytes) {
    let (control, journal) = Control::split(data);
    let config = control.config();
    let mut journal = journal.to_vec();
    if control.flags & SEAL != 0 {
        seal(&mut journal, config.stream_header);
    }
    (control, config, Bytes::from(journal))
}

/// Recomputes the stream header checksum (if `stream_header`) and the header
/// and body checksums of every frame that lies wholly in `journal`, walking
/// the frames by their declared lengths; a frame cut short by the end of the
/// input gets only its header checksum.
///
/// A fuzzer's mutations almost never keep a CRC-32C right, so without this
/// nearly every mutated input would stop at the first checksum.
pub(crate) fn seal(journal: &mut [u8], stream_header: bool) {
    let mut pos = 0;
    if stream_header {
        if journal.len() < STREAM_HEADER_LEN {
            return;
        }
        let crc = crc32c::crc32c(&journal[..12]);
        journal[12..16].copy_from_slice(&crc.to_le_bytes());
        pos = STREAM_HEADER_LEN;
    }
    while journal.len() - pos >= FRAME_HEADER_LEN {
        let header = pos..pos + FRAME_HEADER_LEN;
        let mut len = [0; 4];
        len.copy_from_slice(&journal[pos..pos + 4]);
        let body_len = u32::from_le_bytes(len) as usize;
        let body_end = header.end.saturating_add(body_len);
        let whole = body_end <= journal.len();
        if whole {
            let crc = crc32c::crc32c(&journal[header.end..body_end]);
            journal[pos + 24..pos + 28].copy_from_slice(&crc.to_le_bytes());
        }
        let crc = crc32c::crc32c(&journal[pos..pos + 28]);
        journal[pos + 28..header.end].copy_from_slice(&crc.to_le_bytes());
        if !whole {
            return;
        }
        pos = body_end;
    }
}

/// Decodes `input` fed in the pieces `control` chooses, pulling records
/// after every piece as a streaming consumer would.
fn decode_chunked(
    control: Control,
    config: &DecoderConfig,
    input: &Bytes,
) -> (Vec<Record>, Outcome) {
    let mut decoder = Decoder::new(config.clone());
    let mut records = Vec::new();
    let mut pos = 0;
    for n in control.chunks(input.len()) {
        let piece = input.slice(pos..pos + n);
        pos += n;
        if control.flags & COPY_FEED != 0 {
            decoder.feed(&piece);
        } else {
            decoder.feed_bytes(piece);
        }
        if let Err(e) = drain(&mut decoder, &mut records) {
            // A failed decoder keeps failing with the same error.
            assert_eq!(decoder.next_record(), Err(e.clone()));
            assert_eq!(decoder.finish(), Err(e.clone()));
            return (records, Err(e));
        }
    }
    (records, decoder.finish())
}

/// Pulls every record the decoder can return now.
fn drain(
    decoder: &mut Decoder,
    records: &mut Vec<Record>,
) -> Result<(), rha_core::journal::DecodeError> {
    let mut offset = decoder.offset();
    while let Some(rec) = decoder.next_record()? {
        assert!(decoder.offset() >= offset, "the decoder's offset went back");
        offset = decoder.offset();
        records.push(rec);
    }
    Ok(())
}

/// Checks what the decoder promises about records and outcome.
fn check_outcome(config: &DecoderConfig, input: &[u8], records: &[Record], outcome: &Outcome) {
    let len = input.len() as u64;
    if let (Some(first), Some(rec)) = (config.first_seq, records.first()) {
        assert_eq!(rec.seq, first, "first record does not have first_seq");
    }
    for pair in records.windows(2) {
        assert_eq!(
            pair[0].seq.checked_add(1),
            Some(pair[1].seq),
            "sequence numbers are not consecutive"
        );
    }
    let last_seq = records.last().map(|r| r.seq);
    match outcome {
        Ok(End::Clean { len: l }) => assert_eq!(*l, len, "a clean end must cover the input"),
        Ok(End::TornTail { offset, tail_len }) => {
            assert!(*tail_len > 0, "a torn tail has bytes");
            assert_eq!(offset + tail_len, len, "a torn tail must reach the end");
        }
        Err(e) => {
            assert!(
                e.offset <= len,
                "error offset {} is past the input",
                e.offset
            );
            assert_eq!(
                e.last_good_seq, last_seq,
                "error names the wrong last record"
            );
        }
    }
}

/// Writes the decoded records again and checks they decode to themselves:
/// anything the decoder accepts, the writer must be able to produce.
fn reencode(config: &DecoderConfig, records: &[Record]) {
    let Some(first) = records.first() else {
        return;
    };
    let writer_config = WriterConfig::default()
        .first_seq(first.seq)
        .stream_header(config.stream_header)
        .max_record_size(config.max_record_size);
    let mut writer = JournalWriter::new(Vec::new(), writer_config);
    for rec in records {
        if let Err(e) = writer.append_record(rec) {
            panic!("decoded record seq {} does not encode: {e}", rec.seq);
        }
    }
    let bytes = writer.into_inner().expect("writing into a Vec cannot fail");
    let bytes = Bytes::from(bytes);
    let (again, outcome) = decode_chunked(Control::WHOLE, config, &bytes);
    assert_eq!(again, records, "re-encoded records decode differently");
    assert_eq!(
        outcome,
        Ok(End::Clean {
            len: bytes.len() as u64
        })
    );
}
