//! `rha replicate MASTER_DIR ADDR:PORT --identity DIR --peer FP --spool DIR`:
//! the master agent, sending its spool to the replica over TLS.
//!
//! The spool and the agent's state live in the `--spool` directory. Until
//! file-system capture and the initial sync over the session exist, the
//! master's changes come from journal files dropped into the inbox
//! (`--inbox`, default `SPOOL/inbox`; see `docs/agents.md`). Runs until
//! SIGINT or SIGTERM, which end the session in order and make the spool
//! durable. On a terminal a status line shows the link and the lag.
//! Exit codes: 0 stopped by a signal, 1 an I/O failure, 2 bad arguments,
//! 5 the spool is in use.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use rha_capture::agent::{
    take_inbox, tls_connector, AgentError, LinkState, MasterAgent, MasterConfig,
};
use rha_capture::transport::Timeouts;
use rha_core::journal::Compression;

use super::agent_args::{self, Timing};
use super::exit::Exit;

/// Arguments of `rha replicate`.
#[derive(Debug, Args)]
pub(crate) struct ReplicateArgs {
    /// The directory this scenario protects.
    pub(crate) master: PathBuf,
    /// The replica's address and port (`rha serve --listen`).
    pub(crate) addr: String,
    /// This master's identity directory (`rha keygen DIR`).
    #[arg(long)]
    pub(crate) identity: PathBuf,
    /// The replica's fingerprint.
    #[arg(long)]
    pub(crate) peer: String,
    /// The master's state directory: its spool, state and status.
    #[arg(long)]
    pub(crate) spool: PathBuf,
    /// A directory of journal files to append to the spool (default:
    /// SPOOL/inbox).
    #[arg(long)]
    pub(crate) inbox: Option<PathBuf>,
    /// Compress each message's journal frames with zstd.
    #[arg(long)]
    pub(crate) zstd: bool,
    /// The longest wait between reconnection attempts, in milliseconds.
    #[arg(long, default_value_t = 30000, value_parser = clap::value_parser!(u64).range(10..))]
    pub(crate) retry_max_ms: u64,
    #[command(flatten)]
    pub(crate) timing: Timing,
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
    if !args.master.is_dir() {
        return Err(io(format!("{}: not a directory", args.master.display())));
    }
    let identity = agent_args::load_identity(&args.identity).map_err(io)?;
    let peer = agent_args::fingerprints(std::slice::from_ref(&args.peer), "--peer")
        .map_err(usage)?
        .remove(0);
    let own = identity.fingerprint();
    let scenario = agent_args::scenario_id(args.timing.scenario.as_deref(), &own, &peer);
    let mut config = MasterConfig::new(scenario, agent_args::node_id(&own), &args.spool);
    config.name = agent_args::host_name();
    config.heartbeat = args.timing.heartbeat();
    config.timeout = args.timing.timeout();
    config.retry_max = Duration::from_millis(args.retry_max_ms);
    config.retry_min = config.retry_min.min(config.retry_max);
    if args.zstd {
        config.compression = Compression::Zstd { level: 3 };
    }
    let inbox = args
        .inbox
        .clone()
        .unwrap_or_else(|| args.spool.join("inbox"));
    agent_args::catch_stop_signals();
    let timeouts = Timeouts {
        connect: Duration::from_secs(5),
        handshake: args.timing.timeout().min(Duration::from_secs(10)),
        ..Timeouts::default()
    };
    let connector = tls_connector(args.addr.clone(), identity, peer, timeouts);
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
    while !agent_args::stopping() {
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
            let link = match st.link {
                LinkState::Connected => "connected",
                LinkState::Connecting => "connecting",
                LinkState::Down => "down",
                LinkState::Stopped => "stopped",
            };
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
        std::thread::sleep(Duration::from_millis(50));
    }
    if live {
        eprintln!();
    }
    agent.stop().map_err(|e| io(e.to_string()))?;
    Ok(())
}
