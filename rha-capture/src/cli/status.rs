//! `rha status --state DIR [--json]`: what a master or replica agent last
//! reported (link, lag, spool use, acknowledged points).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use rha_capture::agent::{AgentStatus, LinkState, ScenarioFile, REPLICA_AGENT_DIR, STATUS_FILE};

use super::exit::Exit;

/// Arguments of `rha status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// A master agent's state directory (its `--spool`), a replica
    /// directory, or its `.rha` directory.
    #[arg(long, required_unless_present = "config", conflicts_with = "config")]
    pub(crate) state: Option<PathBuf>,
    /// A scenario file: shows the agents of it whose state is on this host.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Print the status as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Seconds without an update after which a running agent is suspect (it
/// rewrites its status twice a second).
const STALE_SECS: u64 = 5;

/// Where the status file of the agent whose state is at `dir` lives.
fn status_dir(dir: &Path) -> PathBuf {
    [
        dir.to_path_buf(),
        dir.join(REPLICA_AGENT_DIR),
        dir.join(".rha").join(REPLICA_AGENT_DIR),
    ]
    .into_iter()
    .find(|d| d.join(STATUS_FILE).is_file())
    .unwrap_or_else(|| dir.to_path_buf())
}

/// Runs `rha status`.
pub(crate) fn run(args: &StatusArgs) -> ExitCode {
    let Some(path) = &args.config else {
        return match &args.state {
            Some(state) => show(state, args.json),
            None => {
                eprintln!("rha: error: give --state DIR or --config FILE");
                Exit::Usage.into()
            }
        };
    };
    let f = match ScenarioFile::load(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rha: error: {e}");
            return Exit::Usage.into();
        }
    };
    let here: Vec<PathBuf> = [f.master.spool, f.replica.dir]
        .into_iter()
        .filter(|d| status_dir(d).join(STATUS_FILE).is_file())
        .collect();
    if here.is_empty() {
        eprintln!(
            "rha: error: {}: neither agent of this scenario has run on this host",
            path.display()
        );
        return Exit::Io.into();
    }
    let mut code = Exit::Ok.into();
    for d in here {
        code = show(&d, args.json);
    }
    code
}

/// Prints the status of the agent whose state is at `state`.
fn show(state: &Path, json: bool) -> ExitCode {
    let dir = status_dir(state);
    let st = match AgentStatus::read(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rha: error: {e} (is an agent running with this state directory?)");
            return Exit::Io.into();
        }
    };
    if json {
        match serde_json::to_string_pretty(&st) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("rha: error: {e}");
                return Exit::Io.into();
            }
        }
        return Exit::Ok.into();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let age = now.saturating_sub(st.updated_unix_ms) / 1000;
    let link = super::agent_args::link_name(st.link);
    outln!("role:          {}", st.role);
    outln!(
        "link:          {link}{}",
        st.peer
            .as_deref()
            .map(|p| format!(" to {p}"))
            .unwrap_or_default()
    );
    if st.link != LinkState::Stopped && age > STALE_SECS {
        outln!("               (no update for {age} s: the agent may not be running)");
    }
    if let Some(end) = &st.last_end {
        outln!("last session:  {end}");
    }
    outln!("sessions:      {}", st.sessions);
    outln!("epoch:         {:016x}", st.epoch);
    let stored = if st.role == "master" {
        "last record:  "
    } else {
        "last stored:  "
    };
    outln!("{stored} {}", st.last_seq);
    outln!("acked stored:  {}", st.acked_stored);
    outln!("acked applied: {}", st.acked_applied);
    outln!(
        "lag:           {} records, {} bytes, {:.3} s",
        st.lag_records,
        st.lag_bytes,
        st.lag_seconds
    );
    outln!(
        "spool:         {} of {} bytes",
        st.spool_used_bytes,
        st.spool_capacity_bytes
    );
    if st.paused {
        outln!("application:   paused");
    }
    if let Some(e) = &st.apply_error {
        outln!("apply error:   {e}");
    }
    if st.resync_needed {
        outln!("resync:        needed");
    }
    if let Some(s) = &st.sync {
        outln!(
            "sync {}:{:width$}{} ({} mode): scanned {} entries, {} bytes; compared {}; sent {} entries, {} bytes ({} bytes already there); applied {} records, {} bytes; resent {}; skipped {}",
            s.id,
            "",
            s.phase,
            s.mode,
            s.scanned_entries,
            s.scanned_bytes,
            s.compared,
            s.sent_entries,
            s.sent_bytes,
            s.matched_bytes,
            s.applied_records,
            s.applied_bytes,
            s.resent,
            s.skipped,
            width = 9usize.saturating_sub(s.id.to_string().len()),
        );
        if let Some(e) = &s.error {
            outln!("sync error:    {e}");
        }
    }
    Exit::Ok.into()
}
