//! Reading a journal from any `std::io::Read`.

use std::io::{self, Read};

use bytes::BytesMut;

use super::decoder::{Decoder, DecoderConfig, End};
use super::error::DecodeError;
use super::record::Record;

/// Why a [`JournalReader`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading the source failed.
    #[error("reading the journal failed: {0}")]
    Io(#[from] io::Error),
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Reads records from a byte source, for example a journal file.
///
/// ```
/// use rha_core::journal::{End, JournalReader, JournalWriter, Op};
///
/// let mut w = JournalWriter::new(Vec::new(), Default::default());
/// w.append(1, &Op::SyncStart { sync_id: 9 }).unwrap();
/// let bytes = w.into_inner().unwrap();
///
/// let mut r = JournalReader::new(&bytes[..], Default::default());
/// let rec = r.next_record().unwrap().unwrap();
/// assert_eq!(rec.op, Op::SyncStart { sync_id: 9 });
/// assert!(r.next_record().unwrap().is_none());
/// assert!(matches!(r.end(), Some(End::Clean { .. })));
/// ```
#[derive(Debug)]
pub struct JournalReader<R> {
    source: R,
    decoder: Decoder,
    end: Option<End>,
    chunk: usize,
}

impl<R: Read> JournalReader<R> {
    /// Reads from `source` with the given decoder settings.
    pub fn new(source: R, config: DecoderConfig) -> Self {
        Self {
            source,
            decoder: Decoder::new(config),
            end: None,
            chunk: 256 << 10,
        }
    }

    /// The next record; `Ok(None)` at the end of the source, after which
    /// [`end`](Self::end) says whether the journal ended cleanly or torn.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            if let Some(rec) = self.decoder.next_record()? {
                return Ok(Some(rec));
            }
            if self.end.is_some() {
                return Ok(None);
            }
            let want = self.decoder.needed().max(self.chunk);
            let mut buf = BytesMut::zeroed(want);
            let n = loop {
                match self.source.read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            if n == 0 {
                self.end = Some(self.decoder.finish()?);
                return Ok(None);
            }
            buf.truncate(n);
            self.decoder.feed_bytes(buf.freeze());
        }
    }

    /// How the journal ended, once [`next_record`](Self::next_record) returned `Ok(None)`.
    pub fn end(&self) -> Option<End> {
        self.end
    }

    /// The decoder, for its offset and last sequence number.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }
}
