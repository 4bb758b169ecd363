//! The output side of streaming jobs.

/// What one call of a streaming job's `run` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes consumed (the caller drops them).
    pub consumed: usize,
    /// Output bytes written at the start of the output slice.
    pub produced: usize,
    /// The job has produced all of its output; further calls produce nothing.
    pub done: bool,
}

/// Encoded bytes waiting for output room, kept below a few hundred KiB by
/// the jobs (they stop consuming input while it is full).
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    buf: Vec<u8>,
    head: usize,
}

/// A job stops consuming input while this much output waits.
pub(crate) const HIGH_WATER: usize = 256 << 10;

impl OutQueue {
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves as much as fits into `out`; returns the count.
    pub(crate) fn drain_into(&mut self, out: &mut [u8]) -> usize {
        let n = self.len().min(out.len());
        out[..n].copy_from_slice(&self.buf[self.head..self.head + n]);
        self.head += n;
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        } else if self.head > HIGH_WATER {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        n
    }
}
