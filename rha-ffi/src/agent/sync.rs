//! Sync over the session from C (`docs/agents.md`, "Sync"): the sync mode
//! a master agent's configuration names, the checks of its sync fields, and
//! the phase its status reports.

use rha_capture::agent::{SyncSettings, SyncStatus};
use rha_core::session::{SyncMode, MAX_SYNC_BLOCK, MIN_SYNC_BLOCK};

use crate::error::rha_error;

/// How a master agent syncs its replica
/// (`rha_master_agent_config.sync_mode`, `rha_agent_status.sync_mode`).
/// Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_sync_mode {
    /// Whole files: a file the replica lacks, or one that differs, is sent
    /// whole (the default).
    RHA_SYNC_FILE = 0,
    /// Blocks at fixed offsets: for a file on both sides the replica hashes
    /// its copy's blocks and the master sends only the blocks that differ,
    /// written in place.
    RHA_SYNC_BLOCK = 1,
}

closed_set!(rha_sync_mode {
    RHA_SYNC_FILE,
    RHA_SYNC_BLOCK,
});

/// Where an agent's last sync over the session stands
/// (`rha_agent_status.sync_phase`). Values never change; expect values a
/// later version adds (treat them as a sync under way).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_agent_sync_phase {
    /// No sync since the agent started: the `sync_*` counters are 0.
    RHA_AGENT_SYNC_NONE = 0,
    /// Both sides scan their trees; the master compares them.
    RHA_AGENT_SYNC_SCANNING = 1,
    /// The master sends what the replica lacks; the replica applies it.
    RHA_AGENT_SYNC_SENDING = 2,
    /// Everything is sent; the replica makes it durable.
    RHA_AGENT_SYNC_FINISHING = 3,
    /// The sync ended: the replica holds the master's tree and follows the
    /// journal.
    RHA_AGENT_SYNC_DONE = 4,
    /// The sync failed (`_sync_error` says why); the next session syncs
    /// again.
    RHA_AGENT_SYNC_FAILED = 5,
}

closed_set!(rha_agent_sync_phase {
    RHA_AGENT_SYNC_NONE,
    RHA_AGENT_SYNC_SCANNING,
    RHA_AGENT_SYNC_SENDING,
    RHA_AGENT_SYNC_FINISHING,
    RHA_AGENT_SYNC_DONE,
    RHA_AGENT_SYNC_FAILED,
});

impl rha_agent_sync_phase {
    /// The phase of `sync` (none for `None`). A phase this version does not
    /// name counts as sending: a sync under way.
    pub(crate) fn of(sync: Option<&SyncStatus>) -> Self {
        match sync.map(|s| s.phase.as_str()) {
            None => Self::RHA_AGENT_SYNC_NONE,
            Some("scanning") => Self::RHA_AGENT_SYNC_SCANNING,
            Some("finishing") => Self::RHA_AGENT_SYNC_FINISHING,
            Some("done") => Self::RHA_AGENT_SYNC_DONE,
            Some("failed") => Self::RHA_AGENT_SYNC_FAILED,
            Some(_) => Self::RHA_AGENT_SYNC_SENDING,
        }
    }
}

impl rha_sync_mode {
    /// The mode a status names (`file` or `block`; file for anything
    /// else).
    pub(crate) fn of_status(sync: &SyncStatus) -> Self {
        if sync.mode == "block" {
            Self::RHA_SYNC_BLOCK
        } else {
            Self::RHA_SYNC_FILE
        }
    }
}

/// The block size a caller gave, 0 for the default (64 KiB): a power of
/// two from 4 KiB to 16 MiB.
pub(crate) fn block_size_field(raw: u32, field: &str) -> Result<u32, rha_error> {
    if raw == 0 {
        return Ok(SyncSettings::default().block_size);
    }
    if !raw.is_power_of_two() || !(MIN_SYNC_BLOCK..=MAX_SYNC_BLOCK).contains(&raw) {
        return Err(rha_error::invalid_argument(format!(
            "`{field}` is {raw}: a block size is a power of two from {MIN_SYNC_BLOCK} to \
             {MAX_SYNC_BLOCK} bytes (or 0 for the default, 65536)"
        )));
    }
    Ok(raw)
}

/// The sync settings of a configuration's raw fields, each checked.
pub(crate) fn settings(
    mode: u32,
    ignore_same: bool,
    block_size: u32,
    what: &str,
) -> Result<SyncSettings, rha_error> {
    let mode = rha_sync_mode::from_raw(mode).ok_or_else(|| {
        rha_error::invalid_argument(format!(
            "{what}.sync_mode is {mode}, not RHA_SYNC_FILE (0) or RHA_SYNC_BLOCK (1)"
        ))
    })?;
    let mut s = SyncSettings::default();
    s.mode = match mode {
        rha_sync_mode::RHA_SYNC_FILE => SyncMode::File,
        rha_sync_mode::RHA_SYNC_BLOCK => SyncMode::Block,
    };
    s.ignore_same = ignore_same;
    s.block_size = block_size_field(block_size, &format!("{what}.sync_block_size"))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::rha_result;

    #[test]
    fn block_sizes_are_powers_of_two_within_bounds() {
        assert_eq!(block_size_field(0, "b").expect("default"), 64 << 10);
        for ok in [4096, 1 << 16, 16 << 20] {
            assert_eq!(block_size_field(ok, "b").expect("valid"), ok);
        }
        for bad in [1, 2048, 4097, 100_000, 32 << 20, u32::MAX] {
            let e = block_size_field(bad, "c.sync_block_size").expect_err("invalid");
            assert_eq!(e.code(), rha_result::RHA_INVALID_ARGUMENT);
            assert!(
                e.message()
                    .contains(&format!("`c.sync_block_size` is {bad}: a block size")),
                "{}",
                e.message()
            );
        }
    }

    #[test]
    fn modes_are_checked_and_mapped() {
        let s = settings(1, false, 8192, "cfg").expect("block");
        assert_eq!(
            (s.mode, s.ignore_same, s.block_size),
            (SyncMode::Block, false, 8192)
        );
        let s = settings(0, true, 0, "cfg").expect("file");
        assert_eq!((s.mode, s.block_size), (SyncMode::File, 64 << 10));
        let e = settings(2, true, 0, "cfg").expect_err("unknown mode");
        assert_eq!(e.code(), rha_result::RHA_INVALID_ARGUMENT);
        assert!(
            e.message()
                .contains("cfg.sync_mode is 2, not RHA_SYNC_FILE (0) or RHA_SYNC_BLOCK (1)"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn phases_map_from_the_agents_words() {
        assert_eq!(
            rha_agent_sync_phase::of(None),
            rha_agent_sync_phase::RHA_AGENT_SYNC_NONE
        );
        for (word, phase) in [
            ("scanning", rha_agent_sync_phase::RHA_AGENT_SYNC_SCANNING),
            ("sending", rha_agent_sync_phase::RHA_AGENT_SYNC_SENDING),
            ("finishing", rha_agent_sync_phase::RHA_AGENT_SYNC_FINISHING),
            ("done", rha_agent_sync_phase::RHA_AGENT_SYNC_DONE),
            ("failed", rha_agent_sync_phase::RHA_AGENT_SYNC_FAILED),
        ] {
            let mut s = SyncStatus::default();
            s.phase = word.to_owned();
            assert_eq!(rha_agent_sync_phase::of(Some(&s)), phase, "{word}");
        }
    }
}
