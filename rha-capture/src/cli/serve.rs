//! `rha serve REPLICA_DIR --listen ADDR:PORT --identity DIR --allow FP`:
//! the replica agent, serving one master session at a time over TLS.
//!
//! Prints `listening on ADDR` once it listens (the port chosen when the
//! given one is 0), then runs until SIGINT or SIGTERM, which end the
//! session in order (the master hears "done") and stop applying after a
//! last checkpoint. Exit codes: 0 stopped by a signal, 1 an I/O or
//! transport failure, 2 bad arguments, 5 the replica is in use.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use rha_capture::agent::{AgentError, ReplicaAgent, ReplicaConfig, ReplicaServer, ScenarioFile};
use rha_capture::apply::ApplyError;
use rha_capture::transport::{Listener, Timeouts};

use super::agent_args::{self, Timing};
use super::exit::Exit;

/// Arguments of `rha serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The replica directory (its agent state is kept in `.rha` inside).
    #[arg(required_unless_present = "config")]
    pub(crate) replica: Option<PathBuf>,
    /// Address and port to listen on (port 0: any free port).
    #[arg(long, required_unless_present = "config")]
    pub(crate) listen: Option<String>,
    /// This replica's identity directory (`rha keygen DIR`).
    #[arg(long, required_unless_present = "config")]
    pub(crate) identity: Option<PathBuf>,
    /// Fingerprint of a master allowed to connect (repeatable).
    #[arg(long, required_unless_present = "config")]
    pub(crate) allow: Vec<String>,
    /// Keep a rewind log on the replica.
    #[arg(long)]
    pub(crate) rewind: bool,
    /// Bytes of journal a master may send ahead of acknowledgements.
    #[arg(long, default_value_t = 8 << 20)]
    pub(crate) window: u64,
    /// Take everything from a scenario file (`docs/agents.md`) instead.
    #[arg(long, conflicts_with_all = ["replica", "listen", "identity", "allow"])]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) timing: Timing,
}

/// What `rha serve` runs, from the arguments or a scenario file.
struct Plan {
    replica: PathBuf,
    listen: String,
    identity: PathBuf,
    allow: Vec<String>,
    scenario: Option<String>,
    rewind: bool,
    window: u64,
    heartbeat: Duration,
    timeout: Duration,
    spool: rha_core::spool::SpoolConfig,
}

fn plan(args: &ServeArgs) -> Result<Plan, (Exit, String)> {
    if let Some(path) = &args.config {
        let f = ScenarioFile::load(path).map_err(|e| (Exit::Usage, e.to_string()))?;
        return Ok(Plan {
            listen: f.listen_addr(),
            replica: f.replica.dir,
            identity: f.replica.identity,
            allow: vec![f.master.fingerprint],
            scenario: Some(f.scenario.name),
            rewind: f.replica.rewind || args.rewind,
            window: f.replica.window,
            heartbeat: f.scenario.is_alive.heartbeat_interval,
            timeout: f.scenario.is_alive.timeout,
            spool: f.replica.limits.spool_config(),
        });
    }
    let missing = || (Exit::Usage, "give the arguments or --config".to_owned());
    Ok(Plan {
        replica: args.replica.clone().ok_or_else(missing)?,
        listen: args.listen.clone().ok_or_else(missing)?,
        identity: args.identity.clone().ok_or_else(missing)?,
        allow: args.allow.clone(),
        scenario: args.timing.scenario.clone(),
        rewind: args.rewind,
        window: args.window,
        heartbeat: args.timing.heartbeat(),
        timeout: args.timing.timeout(),
        spool: rha_core::spool::SpoolConfig::default(),
    })
}

/// Runs `rha serve`.
pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    match serve(args) {
        Ok(()) => Exit::Ok.into(),
        Err((code, msg)) => {
            eprintln!("rha: error: {msg}");
            code.into()
        }
    }
}

fn serve(args: &ServeArgs) -> Result<(), (Exit, String)> {
    let usage = |m: String| (Exit::Usage, m);
    let io = |m: String| (Exit::Io, m);
    let p = plan(args)?;
    let identity = agent_args::load_identity(&p.identity).map_err(io)?;
    let allowed = agent_args::fingerprints(&p.allow, "--allow").map_err(usage)?;
    let own = identity.fingerprint();
    let scenario = match (&p.scenario, allowed.as_slice()) {
        (Some(name), _) => agent_args::scenario_id(Some(name), &own, &own),
        (None, [master]) => agent_args::scenario_id(None, master, &own),
        (None, _) => {
            return Err(usage(
                "give --scenario NAME when more than one master is allowed".to_owned(),
            ))
        }
    };
    let mut config = ReplicaConfig::new(scenario, agent_args::node_id(&own), &p.replica);
    config.name = agent_args::host_name();
    config.rewind = p.rewind;
    config.window = p.window;
    config.heartbeat = p.heartbeat;
    config.timeout = p.timeout;
    config.spool = p.spool;
    agent_args::catch_stop_signals();
    let agent = ReplicaAgent::open(config).map_err(|e| match e {
        AgentError::Apply(ApplyError::Busy { .. }) => (Exit::Busy, e.to_string()),
        e => io(e.to_string()),
    })?;
    let timeouts = Timeouts {
        handshake: p.timeout.min(Duration::from_secs(10)),
        ..Timeouts::default()
    };
    let listener = Listener::bind(p.listen.as_str(), &identity, &allowed, timeouts)
        .map_err(|e| io(e.to_string()))?;
    let server = ReplicaServer::start(agent, listener).map_err(|e| io(e.to_string()))?;
    outln!("listening on {}", server.local_addr());
    tracing::info!(replica = %p.replica.display(), fingerprint = %own, "serving");
    let live = std::io::stderr().is_terminal();
    let mut last_line = std::time::Instant::now();
    while !agent_args::stopping() {
        std::thread::sleep(Duration::from_millis(20));
        if live && last_line.elapsed() >= Duration::from_secs(1) {
            last_line = std::time::Instant::now();
            let st = server.status();
            eprint!(
                "\r\x1b[Klink {} | stored {} applied {} | lag {} records {:.2} s{}",
                agent_args::link_name(st.link),
                st.last_seq,
                st.acked_applied,
                st.lag_records,
                st.lag_seconds,
                if st.paused { " | paused" } else { "" }
            );
        }
    }
    if live {
        eprintln!();
    }
    let st = server.stop().map_err(|e| io(e.to_string()))?;
    if let Some(e) = st.apply_error {
        return Err((Exit::Apply, format!("the replica stopped applying: {e}")));
    }
    Ok(())
}
