//! What an agent keeps between runs: its scenario, journal epoch and data
//! generations (`docs/agents.md`).

use std::io;
use std::path::Path;

use rha_core::ha::Generations;
use rha_core::spool::DirtyRegions;
use rha_core::storage::{DirStorage, Storage};
use serde::{Deserialize, Serialize};

use super::error::AgentError;

/// The file that holds an agent's state, in its state directory.
pub const STATE_FILE: &str = "agent.json";

/// The file of a master's state directory that holds the regions a resync
/// after a degrading overflow covers (the spool's dirty-region format,
/// `docs/spool-format.md`).
pub const RESYNC_REGIONS_FILE: &str = "resync.dirty";

/// An agent's durable state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentState {
    /// The format's version: 1.
    pub version: u32,
    /// The scenario served, as 32 hexadecimal digits.
    pub scenario: String,
    /// The journal's epoch (0: none yet). A master picks one when it is
    /// first started; a replica takes its master's.
    pub epoch: u64,
    /// The data generations (see `rha_core::ha::MirrorNode`).
    pub generations: Generations,
    /// A master: its replica needs a sync (the spool overflowed and was
    /// reset), until one is done.
    #[serde(default, skip_serializing_if = "is_false")]
    pub resync: bool,
    /// A master: the resync pending follows a degrading overflow and may
    /// cover only the regions saved in [`RESYNC_REGIONS_FILE`], if the
    /// replica applied every record up to this one (what the spool held
    /// beyond it is in those regions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_regions_after: Option<u64>,
    /// A master: a run narrowed to those regions has started (a replica
    /// in the middle of it holds the master's data outside them).
    #[serde(default, skip_serializing_if = "is_false")]
    pub resync_narrowed: bool,
    /// A replica: a sync is under way (or was cut short). Until one
    /// finishes nothing is applied, and the next sync counts files changed
    /// since this time (nanoseconds since the Unix epoch: the sync's
    /// start, or the last point at which what it wrote was made durable)
    /// as changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_since_ns: Option<i64>,
    /// A replica: a sync ended with another to follow; files this replica
    /// changed since this time (applying the journal in replay mode) are
    /// compared by content in the next one, whatever their times say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspect_since_ns: Option<i64>,
    /// A replica: journal records up to this one may already be in the
    /// data a sync left (they are applied in replay mode, without a rewind
    /// log); 0 once past them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replay_to: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl AgentState {
    /// Reads the state from `storage`, `None` if there is none yet.
    pub(crate) fn load(storage: &DirStorage) -> Result<Option<Self>, AgentError> {
        let path = storage.path().join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(AgentError::Io { path, source }),
        };
        let state: AgentState = serde_json::from_slice(&bytes).map_err(|e| AgentError::State {
            path: path.clone(),
            why: e.to_string(),
        })?;
        if state.version != 1 {
            return Err(AgentError::State {
                path,
                why: format!("format version {} is not supported (1 is)", state.version),
            });
        }
        Ok(Some(state))
    }

    /// Writes the state durably (a new file renamed over the old one).
    pub(crate) fn store(&self, storage: &DirStorage) -> Result<(), AgentError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| AgentError::State {
            path: storage.path().join(STATE_FILE),
            why: e.to_string(),
        })?;
        bytes.push(b'\n');
        rha_core::storage::replace_file(storage as &dyn Storage, STATE_FILE, &bytes).map_err(
            |source| AgentError::Io {
                path: storage.path().join(STATE_FILE),
                source,
            },
        )
    }
}

/// The regions a narrowed resync covers, as saved in `storage`.
pub(crate) fn load_regions(storage: &DirStorage) -> Result<DirtyRegions, AgentError> {
    let path = storage.path().join(RESYNC_REGIONS_FILE);
    let bytes = std::fs::read(&path).map_err(|source| AgentError::Io {
        path: path.clone(),
        source,
    })?;
    DirtyRegions::from_bytes(&bytes, RESYNC_REGIONS_FILE).map_err(|e| AgentError::State {
        path,
        why: e.to_string(),
    })
}

/// Saves `regions` durably (a new file renamed over the old one).
pub(crate) fn store_regions(
    storage: &DirStorage,
    regions: &DirtyRegions,
) -> Result<(), AgentError> {
    rha_core::storage::replace_file(
        storage as &dyn Storage,
        RESYNC_REGIONS_FILE,
        &regions.to_bytes(),
    )
    .map_err(|source| AgentError::Io {
        path: storage.path().join(RESYNC_REGIONS_FILE),
        source,
    })
}

/// Removes the saved regions, if any.
pub(crate) fn remove_regions(storage: &DirStorage) -> Result<(), AgentError> {
    let path = storage.path().join(RESYNC_REGIONS_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AgentError::Io { path, source }),
    }
}

/// A scenario's identity as the state file and the command line write it.
pub fn scenario_hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random non-zero identifier (an epoch or a generation), from the
/// kernel's random source.
pub(crate) fn random_id(dir: &Path) -> Result<u64, AgentError> {
    let mut b = [0u8; 8];
    loop {
        // SAFETY: `b` is a valid buffer of `b.len()` bytes.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(AgentError::Io {
                path: dir.to_path_buf(),
                source: e,
            });
        }
        if n as usize == b.len() && u64::from_le_bytes(b) != 0 {
            return Ok(u64::from_le_bytes(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_refuses_what_it_does_not_know() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = DirStorage::open(dir.path()).expect("storage");
        assert_eq!(AgentState::load(&storage).expect("load"), None);
        let s = AgentState {
            version: 1,
            scenario: scenario_hex(&[7; 16]),
            epoch: 42,
            generations: Generations {
                current: 9,
                ..Default::default()
            },
            resync: true,
            resync_regions_after: Some(12),
            resync_narrowed: true,
            sync_since_ns: Some(-5),
            suspect_since_ns: Some(-6),
            replay_to: 77,
        };
        s.store(&storage).expect("store");
        assert_eq!(AgentState::load(&storage).expect("load"), Some(s.clone()));
        // The sync fields are left out when unset, and read as unset.
        let plain = AgentState {
            resync: false,
            resync_regions_after: None,
            resync_narrowed: false,
            sync_since_ns: None,
            suspect_since_ns: None,
            replay_to: 0,
            ..s
        };
        plain.store(&storage).expect("store");
        let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).expect("read");
        assert!(
            !text.contains("resync") && !text.contains("replay_to"),
            "{text}"
        );
        assert_eq!(AgentState::load(&storage).expect("load"), Some(plain));
        std::fs::write(dir.path().join(STATE_FILE), b"{\"version\": 2}").expect("write");
        let e = AgentState::load(&storage).expect_err("unknown");
        assert!(e.to_string().contains(STATE_FILE), "{e}");
        std::fs::write(dir.path().join(STATE_FILE), b"{not json").expect("write");
        let e = AgentState::load(&storage).expect_err("garbage");
        assert!(e.to_string().contains("agent.json"), "{e}");
    }

    #[test]
    fn saved_regions_round_trip_and_damage_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = DirStorage::open(dir.path()).expect("storage");
        let e = load_regions(&storage).expect_err("none yet");
        assert!(e.to_string().contains(RESYNC_REGIONS_FILE), "{e}");
        let mut r = DirtyRegions::new(4096);
        r.mark(rha_core::spool::RegionTarget::File(b"a/b".to_vec()), 5, 9);
        store_regions(&storage, &r).expect("store");
        assert_eq!(load_regions(&storage).expect("load"), r);
        let path = dir.path().join(RESYNC_REGIONS_FILE);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[14] ^= 0x40;
        std::fs::write(&path, bytes).expect("write");
        let e = load_regions(&storage).expect_err("damaged");
        assert!(e.to_string().contains(RESYNC_REGIONS_FILE), "{e}");
        remove_regions(&storage).expect("remove");
        remove_regions(&storage).expect("twice");
        assert!(!path.exists());
    }

    #[test]
    fn scenario_ids_are_hex_and_random_ids_are_not_zero() {
        assert_eq!(scenario_hex(&[0xab; 16]), "ab".repeat(16));
        assert_ne!(random_id(Path::new(".")).expect("random"), 0);
    }
}
