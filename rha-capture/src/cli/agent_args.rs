//! What `rha serve` and `rha replicate` share: identities and scenario
//! names, timing options, and stopping on SIGINT/SIGTERM.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;
use rha_capture::transport::{Fingerprint, Identity};

pub(crate) use rha_capture::agent::{node_id, scenario_id};

/// Session timing shared by both agents.
#[derive(Debug, Args)]
pub(crate) struct Timing {
    /// Heartbeat interval in milliseconds (the scenario's Is Alive
    /// frequency).
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(10..))]
    pub(crate) heartbeat_ms: u64,
    /// Silence from the peer for this many milliseconds ends a session.
    #[arg(long, default_value_t = 30000, value_parser = clap::value_parser!(u64).range(100..))]
    pub(crate) timeout_ms: u64,
    /// The scenario's name, the same on both sides (default: derived from
    /// the master's and the replica's fingerprints).
    #[arg(long)]
    pub(crate) scenario: Option<String>,
}

impl Timing {
    pub(crate) fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// Loads the identity in `dir`, naming it on failure.
pub(crate) fn load_identity(dir: &Path) -> Result<Identity, String> {
    Identity::load(dir).map_err(|e| format!("identity {}: {e}", dir.display()))
}

/// Parses fingerprints given on the command line.
pub(crate) fn fingerprints(list: &[String], option: &str) -> Result<Vec<Fingerprint>, String> {
    list.iter()
        .map(|s| {
            s.parse::<Fingerprint>()
                .map_err(|e| format!("{option} {s:?}: {e}"))
        })
        .collect()
}

/// A link state as the status line and `rha status` print it.
pub(crate) fn link_name(link: rha_capture::agent::LinkState) -> &'static str {
    use rha_capture::agent::LinkState;
    match link {
        LinkState::Connected => "connected",
        LinkState::Connecting => "connecting",
        LinkState::Down => "down",
        LinkState::Stopped => "stopped",
    }
}

/// This host's name, for the peer's logs.
pub(crate) fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "(unknown host)".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM set the stop flag ([`stopping`]) instead of
/// killing the process, so the agent can end its session in order.
pub(crate) fn catch_stop_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; the sigaction struct is zeroed and then
        // filled in completely.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Whether SIGINT or SIGTERM arrived.
pub(crate) fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}
