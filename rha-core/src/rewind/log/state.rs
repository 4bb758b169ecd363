//! The cursor: its on-disk slots (see `docs/rewind-log-format.md`), read
//! at open and replaced durably.

use super::{Job, LogError, RewindLog, State, STATE_FILE, STATE_MAGIC, STATE_SLOT_LEN};
use crate::storage::Storage;

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

impl<S: Storage> RewindLog<S> {
    pub(super) fn read_state(&mut self) -> Result<(), LogError> {
        let mut buf = [0u8; 2 * STATE_SLOT_LEN];
        let len = self.files.len(STATE_FILE).map_err(|source| LogError::Io {
            file: STATE_FILE.to_owned(),
            source,
        })?;
        let n = (len as usize).min(buf.len());
        self.files
            .read_at(STATE_FILE, 0, &mut buf[..n])
            .map_err(|source| LogError::Io {
                file: STATE_FILE.to_owned(),
                source,
            })?;
        let best = buf
            .chunks(STATE_SLOT_LEN)
            .filter_map(decode_state)
            .max_by_key(|(g, _)| *g);
        match best {
            Some((gen, st)) => {
                self.state_gen = gen;
                self.state = st;
                Ok(())
            }
            None if len == 0 => Ok(()),
            None => Err(LogError::Corrupt {
                file: STATE_FILE.to_owned(),
                offset: 0,
                detail: "no valid state slot".to_owned(),
            }),
        }
    }

    /// Replaces the durable cursor.
    pub(crate) fn set_state(&mut self, st: State) -> Result<(), LogError> {
        self.check()?;
        let gen = self.state_gen + 1;
        let slot = encode_state(gen, &st);
        let at = (gen % 2) * STATE_SLOT_LEN as u64;
        let create = !self.state_file;
        // A new state file's entry is made durable before it is relied on.
        if let Err(e) = (if create {
            self.files.create(STATE_FILE)
        } else {
            Ok(())
        })
        .and_then(|()| self.files.write_at(STATE_FILE, at, &slot))
        .and_then(|()| self.files.sync(STATE_FILE))
        .and_then(|()| {
            if create {
                self.files.sync_dir()
            } else {
                Ok(())
            }
        }) {
            return Err(self.io(STATE_FILE, e));
        }
        self.state_file = true;
        self.state_gen = gen;
        self.state = st;
        Ok(())
    }
}
