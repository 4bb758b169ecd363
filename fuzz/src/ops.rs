//! The `delta_ops` target: a delta from untrusted bytes turned into journal
//! operations by the streaming [`DeltaOpsJob`].

use rha_core::journal::{Op, RelPath};
use rha_core::signature::block::{delta_to_ops, DeltaOpsJob, OpsStep, WriteAt, DELTA_MAGIC};

/// The most bytes of `Write` operations a fuzzed delta may produce.
const MAX_OUTPUT: usize = 1 << 20;

/// `delta_ops`: the `delta_apply` layout (byte 0 picks the chunk size,
/// bytes 1..3 the basis length as u16 LE, then the basis, then a delta).
/// Checks: no panic or hang, every `Write` within 1 MiB, nothing after
/// `Done`; when the streamed conversion ends within the output budget, the
/// one-call [`delta_to_ops`] agrees on success, on the operations (rha
/// deltas, whose literals are whole commands) and on the file they build.
pub fn delta_ops(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let step = usize::from(data[0] % 32) + 1;
    let basis_len = usize::from(u16::from_le_bytes([data[1], data[2]])).min(data.len() - 3);
    let (basis, delta) = data[3..].split_at(basis_len);
    let path = RelPath::new("f").expect("valid path");

    let mut job = DeltaOpsJob::new(basis, path.clone()).with_max_output(MAX_OUTPUT as u64);
    let mut ops = Vec::new();
    let mut written = 0usize;
    let mut chunks = delta.chunks(step).peekable();
    let streamed: Result<(), String> = 'feed: loop {
        let mut input: &[u8] = chunks.next().unwrap_or_default();
        let end = chunks.peek().is_none();
        loop {
            match job.next(&mut input, end) {
                Ok(OpsStep::Op(op)) => {
                    if let Op::Write { data, .. } = &op {
                        assert!(!data.is_empty() && data.len() <= 1 << 20, "write size");
                        written += data.len();
                    }
                    ops.push(op);
                    if written > MAX_OUTPUT {
                        return;
                    }
                }
                Ok(OpsStep::NeedInput) => {
                    assert!(input.is_empty(), "NeedInput with input left");
                    assert!(!end, "NeedInput after the end of input");
                    break;
                }
                Ok(OpsStep::Done) => {
                    assert!(job.is_done());
                    assert!(chunks.peek().is_none() && input.is_empty());
                    break 'feed Ok(());
                }
                Err(e) => {
                    let again = job.next(&mut &[][..], true);
                    assert!(again.is_err(), "a failed job must stay failed");
                    break 'feed Err(e.to_string());
                }
            }
        }
    };
    let mut whole = Vec::new();
    let converted = delta_to_ops(delta, &path, &mut &basis[..], MAX_OUTPUT as u64, |op| {
        whole.push(op)
    });
    match (&streamed, &converted) {
        (Ok(()), Ok(hash)) => {
            assert_eq!(*hash, job.hash(), "whole-file hashes differ");
            if delta.starts_with(&DELTA_MAGIC) {
                assert_eq!(ops, whole, "streamed operations differ");
            }
            // Files are built only when small: an identity copy or a
            // SetLen may declare any length without writing a byte.
            if extent(&ops) <= 4 * MAX_OUTPUT as u64 && extent(&whole) <= 4 * MAX_OUTPUT as u64 {
                assert_eq!(apply(basis, &ops), apply(basis, &whole), "files differ");
            }
        }
        (Err(_), Err(_)) => {}
        _ => panic!("streamed and one-call conversion disagree: {streamed:?} / {converted:?}"),
    }
}

/// The largest file length the operations reach.
fn extent(ops: &[Op]) -> u64 {
    ops.iter()
        .map(|op| match op {
            Op::Write { offset, data, .. } => offset.saturating_add(data.len() as u64),
            Op::SetLen { len, .. } => *len,
            _ => u64::MAX,
        })
        .max()
        .unwrap_or(0)
}

fn apply(basis: &[u8], ops: &[Op]) -> Vec<u8> {
    let mut file = basis.to_vec();
    for op in ops {
        match op {
            Op::Write { offset, data, .. } => file.write_at(*offset, data).expect("in memory"),
            Op::SetLen { len, .. } => WriteAt::set_len(&mut file, *len).expect("in memory"),
            other => panic!("unexpected operation {other:?}"),
        }
    }
    file
}
