//! The cursor's on-disk slots (see `docs/rewind-log-format.md`).

use super::{Job, State, STATE_MAGIC, STATE_SLOT_LEN};

pub(super) fn encode_state(gen: u64, st: &State) -> [u8; STATE_SLOT_LEN] {
    let mut b = [0u8; STATE_SLOT_LEN];
    b[..8].copy_from_slice(STATE_MAGIC);
    b[8..16].copy_from_slice(&gen.to_le_bytes());
    let mut flags = 0u8;
    if st.head.is_some() {
        flags |= 1;
    }
    if let Some(j) = st.job {
        flags |= 2;
        if j.forward {
            flags |= 4;
        }
        if j.discard {
            flags |= 8;
        }
        b[24..32].copy_from_slice(&j.target.to_le_bytes());
        b[32..40].copy_from_slice(&j.entry.to_le_bytes());
        b[40..44].copy_from_slice(&j.op.to_le_bytes());
    }
    b[16] = flags;
    b[44..52].copy_from_slice(&st.head.unwrap_or(0).to_le_bytes());
    let crc = crc32c::crc32c(&b[..60]);
    b[60..64].copy_from_slice(&crc.to_le_bytes());
    b
}

pub(super) fn decode_state(b: &[u8]) -> Option<(u64, State)> {
    if b.len() != STATE_SLOT_LEN || &b[..8] != STATE_MAGIC {
        return None;
    }
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let mut c = [0u8; 4];
    c.copy_from_slice(&b[60..64]);
    if crc32c::crc32c(&b[..60]) != u32::from_le_bytes(c) {
        return None;
    }
    let flags = b[16];
    let mut op = [0u8; 4];
    op.copy_from_slice(&b[40..44]);
    let st = State {
        head: (flags & 1 != 0).then(|| u64_at(44)),
        job: (flags & 2 != 0).then(|| Job {
            target: u64_at(24),
            forward: flags & 4 != 0,
            discard: flags & 8 != 0,
            entry: u64_at(32),
            op: u32::from_le_bytes(op),
        }),
    };
    Some((u64_at(8), st))
}
