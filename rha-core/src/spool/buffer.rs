//! The buffer records are encoded into before a flush writes them: small
//! frames are copied together, large payloads are kept by reference.

use std::io;

use bytes::Bytes;

use crate::journal::{Op, Sink};

/// Payloads at least this large are written by the journal writer in a call
/// of their own (see `journal::writer`), which this buffer keeps by
/// reference instead of copying.
const SHARED_PAYLOAD: usize = 64 << 10;

/// A [`Sink`] that gathers encoded bytes as a list of shared buffers.
#[derive(Debug, Default)]
pub(crate) struct EncodeBuffer {
    parts: Vec<Bytes>,
    cur: Vec<u8>,
    len: usize,
    /// The payload of the record being encoded, if it has one.
    payload: Option<Bytes>,
}

impl EncodeBuffer {
    /// Bytes held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Tells the buffer which payload the next record carries, so that it
    /// can keep it by reference.
    pub(crate) fn expect_payload(&mut self, op: Option<&Op>) {
        self.payload = op.and_then(|op| match op {
            Op::Write { data, .. } | Op::BlockWrite { data, .. } => Some(data.clone()),
            Op::SetXattr { value, .. } => Some(value.clone()),
            _ => None,
        });
    }

    /// Tells the buffer that the next bytes written may lie in `bytes`, a
    /// frame stored as received, so that it can keep a large one by
    /// reference.
    pub(crate) fn expect_shared(&mut self, bytes: Option<Bytes>) {
        self.payload = bytes;
    }

    /// Takes everything held, leaving the buffer empty but with room for
    /// up to `reserve` bytes of small frames.
    pub(crate) fn take(&mut self, reserve: usize) -> (Vec<Bytes>, usize) {
        let room = self.cur.len().min(reserve);
        let cur = std::mem::replace(&mut self.cur, Vec::with_capacity(room));
        if !cur.is_empty() {
            self.parts.push(cur.into());
        }
        let len = std::mem::take(&mut self.len);
        (std::mem::take(&mut self.parts), len)
    }
}

impl Sink for EncodeBuffer {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.len() >= SHARED_PAYLOAD {
            if let Some(p) = &self.payload {
                let base = p.as_ptr() as usize;
                let start = buf.as_ptr() as usize;
                if start >= base && start + buf.len() <= base + p.len() {
                    let shared = p.slice_ref(buf);
                    if !self.cur.is_empty() {
                        let cur = std::mem::take(&mut self.cur);
                        self.parts.push(cur.into());
                    }
                    self.parts.push(shared);
                    self.len += buf.len();
                    return Ok(());
                }
            }
        }
        self.cur.extend_from_slice(buf);
        self.len += buf.len();
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Decoder, JournalWriter, RelPath, WriterConfig};

    #[test]
    fn large_payloads_are_shared_and_the_bytes_are_the_same() {
        let data = Bytes::from(vec![5u8; 100_000]);
        let op = Op::Write {
            path: RelPath::new("a").expect("path"),
            offset: 0,
            data: data.clone(),
        };
        let small = Op::TxBegin { txid: 1 };
        let mut w = JournalWriter::new(
            EncodeBuffer::default(),
            WriterConfig::default().batch_bytes(1),
        );
        w.get_mut().expect_payload(Some(&small));
        w.append(1, &small).expect("append");
        w.get_mut().expect_payload(Some(&op));
        w.append(2, &op).expect("append");
        w.get_mut().expect_payload(None);
        let (parts, len) = w.get_mut().take(1 << 20);
        assert_eq!(len, parts.iter().map(Bytes::len).sum::<usize>());
        assert!(
            parts.iter().any(|p| p.as_ptr() == data.as_ptr()),
            "payload was copied"
        );
        let mut plain = JournalWriter::new(Vec::new(), WriterConfig::default().batch_bytes(1));
        plain.append(1, &small).expect("append");
        plain.append(2, &op).expect("append");
        let plain = plain.into_inner().expect("vec");
        assert_eq!(parts.concat(), plain);
        let mut d = Decoder::new(Default::default());
        d.feed(&parts.concat());
        assert_eq!(d.next_record().expect("ok").map(|r| r.seq), Some(1));
    }
}
