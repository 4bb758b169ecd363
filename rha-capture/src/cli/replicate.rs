//! `rha replicate MASTER_DIR ADDR:PORT --identity DIR --peer FP --spool DIR`:
//! the master agent, sending its spool to the replica over TLS.
//!
//! The spool and the agent's state live in the `--spool` directory. A
//! replica that needs it (a new one, one too far behind, one of another
//! master) is first synchronised from MASTER_DIR over the session
//! (`--sync-mode`, `--ignore-same`). Until file-system capture exists, the
//! master's changes come from journal files dropped into the inbox
//! (`--inbox`, default `SPOOL/inbox`; see `docs/agents.md`): whoever drops
//! them has made those changes to MASTER_DIR first. Runs until
//! SIGINT or SIGTERM, which end the session in order and make the spool
//! durable, or with `--exit-after-sync` once a sync is done. On a terminal a status line shows the link and the lag.
//! Exit codes: 0 stopped by a signal, 1 an I/O failure, 2 bad arguments,
//! 5 the spool is in use.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use rha_capture::agent::{
    take_inbox, tls_connector, AgentError, CompressionName, MasterAgent, MasterConfig, ScenarioFile,
};
use rha_capture::transport::Timeouts;
use rha_core::journal::Compression;
use rha_core::session::SyncMode;

use super::agent_args::{self, Timing};
use super::exit::Exit;
use super::sync::{ModeArg, Switch};

/// Arguments of `rha replicate`.
#[derive(Debug, Args)]
pub(crate) struct ReplicateArgs {
    /// The directory this scenario protects.
    #[arg(required_unless_present = "config")]
    pub(crate) master: Option<PathBuf>,
    /// The replica's address and port (`rha serve --listen`).
    #[arg(required_unless_present = "config")]
    pub(crate) addr: Option<String>,
    /// This master's identity directory (`rha keygen DIR`).
    #[arg(long, required_unless_present = "config")]
    pub(crate) identity: Option<PathBuf>,
    /// The replica's fingerprint.
    #[arg(long, required_unless_present = "config")]
    pub(crate) peer: Option<String>,
    /// The master's state directory: its spool, state and status.
    #[arg(long, required_unless_present = "config")]
    pub(crate) spool: Option<PathBuf>,
    /// Take everything from a scenario file (`docs/agents.md`) instead.
    #[arg(long, conflicts_with_all = ["master", "addr", "identity", "peer", "spool"])]
    pub(crate) config: Option<PathBuf>,
    /// A directory of journal files to append to the spool (default:
    /// SPOOL/inbox).
    #[arg(long)]
    pub(crate) inbox: Option<PathBuf>,
    /// Compress each message's journal frames with zstd.
    #[arg(long)]
    pub(crate) zstd: bool,
    /// How a sync compares files on both sides: whole files, or blocks at
    /// fixed offsets (only changed blocks are sent and written). Default:
    /// the scenario file's sync kind, else file.
    #[arg(long, value_enum)]
    pub(crate) sync_mode: Option<ModeArg>,
    /// Treat files of the same size and modification time as identical
    /// when syncing; off, they are compared by content.
    #[arg(long, value_enum, default_value = "on")]
    pub(crate) ignore_same: Switch,
    /// Synchronise the replica first even if it follows the journal (a
    /// check after doubts, or a benchmark).
    #[arg(long)]
    pub(crate) resync: bool,
    /// Stop once a sync has brought the replica to the master's tree (exit
    /// 0), or failed (exit 1): a one-shot sync over the network.
    #[arg(long)]
    pub(crate) exit_after_sync: bool,
    /// The longest wait between reconnection attempts, in milliseconds.
    #[arg(long, default_value_t = 30000, value_parser = clap::value_parser!(u64).range(10..))]
    pub(crate) retry_max_ms: u64,
    #[command(flatten)]
    pub(crate) timing: Timing,
}

/// What `rha replicate` runs, from the arguments or a scenario file.
struct Plan {
    master: PathBuf,
    addr: String,
    identity: PathBuf,
    peer: String,
    spool: PathBuf,
    scenario: Option<String>,
    zstd: bool,
    heartbeat: Duration,
    timeout: Duration,
    limits: rha_core::spool::SpoolConfig,
    sync_mode: SyncMode,
}

fn plan(args: &ReplicateArgs) -> Result<Plan, (Exit, String)> {
    if let Some(path) = &args.config {
        let f = ScenarioFile::load(path).map_err(|e| (Exit::Usage, e.to_string()))?;
        return Ok(Plan {
            addr: f.replica_addr(),
            master: f.master.dir,
            identity: f.master.identity,
            peer: f.replica.fingerprint,
            spool: f.master.spool,
            scenario: Some(f.scenario.name),
            zstd: args.zstd || f.master.compression == CompressionName::Zstd,
            heartbeat: f.scenario.is_alive.heartbeat_interval,
            timeout: f.scenario.is_alive.timeout,
            limits: f.master.limits.spool_config(),
            sync_mode: match (args.sync_mode, f.scenario.sync_kind) {
                (Some(m), _) => mode(m),
                (None, rha_core::ha::SyncKind::File) => SyncMode::File,
                (None, _) => SyncMode::Block,
            },
        });
    }
    let missing = || (Exit::Usage, "give the arguments or --config".to_owned());
    Ok(Plan {
        master: args.master.clone().ok_or_else(missing)?,
        addr: args.addr.clone().ok_or_else(missing)?,
        identity: args.identity.clone().ok_or_else(missing)?,
        peer: args.peer.clone().ok_or_else(missing)?,
        spool: args.spool.clone().ok_or_else(missing)?,
        scenario: args.timing.scenario.clone(),
        zstd: args.zstd,
        heartbeat: args.timing.heartbeat(),
        timeout: args.timing.timeout(),
        limits: rha_core::spool::SpoolConfig::default(),
        sync_mode: args.sync_mode.map_or(SyncMode::File, mode),
    })
}

fn mode(m: ModeArg) -> SyncMode {
    match m {
        ModeArg::File => SyncMode::File,
        ModeArg::Block => SyncMode::Block,
    }
}

/// Runs `rha replicate`.
pub(crate) fn run(args: &ReplicateArgs) -> ExitCode {
    match replicate(args) {
        Ok(()) => Exit::Ok.into(),
        Err((code, msg)) => {
            eprintln!("rha: error: {msg}");
            code.into()
        }
    }
}

fn replicate(args: &ReplicateArgs) -> Result<(), (Exit, String)> {
    let usage = |m: String| (Exit::Usage, m);
    let io = |m: String| (Exit::Io, m);
    let p = plan(args)?;
    if !p.master.is_dir() {
        return Err(io(format!("{}: not a directory", p.master.display())));
    }
    let identity = agent_args::load_identity(&p.identity).map_err(io)?;
    let peer = agent_args::fingerprints(std::slice::from_ref(&p.peer), "--peer")
        .map_err(usage)?
        .remove(0);
    let own = identity.fingerprint();
    let scenario = agent_args::scenario_id(p.scenario.as_deref(), &own, &peer);
    let mut config = MasterConfig::new(scenario, agent_args::node_id(&own), &p.spool);
    config.name = agent_args::host_name();
    config.heartbeat = p.heartbeat;
    config.timeout = p.timeout;
    config.spool = p.limits;
    config.retry_max = Duration::from_millis(args.retry_max_ms);
    config.retry_min = config.retry_min.min(config.retry_max);
    if p.zstd {
        config.compression = Compression::Zstd { level: 3 };
    }
    config.root = Some(p.master.clone());
    config.sync.mode = p.sync_mode;
    config.sync.ignore_same = args.ignore_same == Switch::On;
    config.resync = args.resync;
    let inbox = args.inbox.clone().unwrap_or_else(|| p.spool.join("inbox"));
    agent_args::catch_stop_signals();
    let timeouts = Timeouts {
        connect: Duration::from_secs(5),
        handshake: p.timeout.min(Duration::from_secs(10)),
        ..Timeouts::default()
    };
    let connector = tls_connector(p.addr.clone(), identity, peer, timeouts);
    let agent = MasterAgent::start(config, connector).map_err(|e| match &e {
        AgentError::Spool { source, .. } if source.to_string().contains("in use") => {
            (Exit::Busy, e.to_string())
        }
        _ => io(e.to_string()),
    })?;
    std::fs::create_dir_all(&inbox).map_err(|e| io(format!("{}: {e}", inbox.display())))?;
    let live = std::io::stderr().is_terminal();
    let mut last_error = String::new();
    let mut last_line = Instant::now();
    let mut sync_failed = None;
    // Waiting for a sync to end, look often: the exit is what a one-shot
    // sync's caller waits for.
    let tick = if args.exit_after_sync {
        Duration::from_millis(2)
    } else {
        Duration::from_millis(50)
    };
    while !agent_args::stopping() {
        if args.exit_after_sync {
            let st = agent.status();
            match st.sync.as_ref().map(|s| s.phase.as_str()) {
                Some("done") if !st.resync_needed => break,
                Some("failed") => {
                    sync_failed = st.sync.and_then(|s| s.error);
                    break;
                }
                _ => {}
            }
        }
        match take_inbox(&inbox, agent.spool()) {
            Ok(_) => last_error.clear(),
            Err(e) => {
                let msg = e.to_string();
                if msg != last_error {
                    eprintln!("rha: inbox: {msg}");
                    last_error = msg;
                }
            }
        }
        if live && last_line.elapsed() >= Duration::from_secs(1) {
            last_line = Instant::now();
            let st = agent.status();
            let link = agent_args::link_name(st.link);
            if let Some(s) = st.sync.as_ref().filter(|s| s.finished_unix_ms.is_none()) {
                eprint!(
                    "\r\x1b[Klink {link} | sync {} | scanned {} entries | compared {} | sent {} entries {} MiB | replica applied {} MiB",
                    s.phase,
                    s.scanned_entries,
                    s.compared,
                    s.sent_entries,
                    s.sent_bytes >> 20,
                    s.applied_bytes >> 20
                );
                std::thread::sleep(tick);
                continue;
            }
            eprint!(
                "\r\x1b[Klink {link} | record {} | stored {} applied {} | lag {} records {:.2} s | spool {} KiB",
                st.last_seq,
                st.acked_stored,
                st.acked_applied,
                st.lag_records,
                st.lag_seconds,
                st.spool_used_bytes / 1024
            );
        }
        std::thread::sleep(tick);
    }
    if live {
        eprintln!();
    }
    agent.stop().map_err(|e| io(e.to_string()))?;
    if let Some(why) = sync_failed {
        return Err(io(format!("sync failed: {why}")));
    }
    Ok(())
}
