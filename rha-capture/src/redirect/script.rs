//! User-defined scripts, run with the scenario context in their environment.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::{Direction, Executor, RedirectError, Report};

/// Default bound on the output kept from each of stdout and stderr.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024;

/// How long output is still collected after the script exits (a background
/// process it started may hold the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// The scenario context handed to scripts as environment variables.
///
/// | variable | value |
/// |---|---|
/// | `RHA_SCENARIO` | [`scenario`](Self::scenario) |
/// | `RHA_STEP` | [`step`](Self::step), the position of the step in the redirection plan |
/// | `RHA_DIRECTION` | `do` or `undo` |
/// | `RHA_MASTER` | [`master`](Self::master) |
/// | `RHA_REPLICA` | [`replica`](Self::replica) |
/// | `RHA_SCRIPT_INDEX` | the script's position in a [`ScriptList`] (0 for a lone script) |
///
/// plus every pair of [`extra`](Self::extra).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptContext {
    /// The scenario's name.
    pub scenario: String,
    /// The step number in the redirection plan.
    pub step: u32,
    /// The master host.
    pub master: String,
    /// The replica host.
    pub replica: String,
    /// More variables, set as given (after the ones above, so they can
    /// override them).
    pub extra: Vec<(String, String)>,
}

/// What a script did.
#[derive(Debug, Clone)]
pub struct ScriptOutput {
    /// How it ended.
    pub status: ExitStatus,
    /// Its standard output (at most the output limit, lossily decoded).
    pub stdout: String,
    /// Its standard error (at most the output limit, lossily decoded).
    pub stderr: String,
    /// Whether standard output was longer than the limit.
    pub stdout_truncated: bool,
    /// Whether standard error was longer than the limit.
    pub stderr_truncated: bool,
    /// How long it ran.
    pub elapsed: Duration,
}

/// One user script: `path args...`, run once for `apply` with
/// `RHA_DIRECTION=do` and once for `undo` with `RHA_DIRECTION=undo`.
///
/// The script runs in a process group of its own with standard input closed.
/// On timeout the whole group is killed (`SIGKILL`) and the step fails with
/// [`RedirectError::ScriptTimeout`]; a non-zero exit fails it with
/// [`RedirectError::ScriptFailed`]. Output is captured up to a bound. Whether
/// a script is idempotent is up to the script: it is told the direction.
#[derive(Debug, Clone)]
pub struct Script {
    path: PathBuf,
    args: Vec<String>,
    timeout: Duration,
    context: ScriptContext,
    index: usize,
    output_limit: usize,
    last: Option<ScriptOutput>,
}

impl Script {
    /// A script run with `args`, killed after `timeout`.
    pub fn new(
        path: impl Into<PathBuf>,
        args: Vec<String>,
        timeout: Duration,
        context: ScriptContext,
    ) -> Self {
        Self {
            path: path.into(),
            args,
            timeout,
            context,
            index: 0,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            last: None,
        }
    }

    /// Sets the bound on the output kept from each of stdout and stderr.
    #[must_use]
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// The script's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The output of the last run that finished (successfully or not, but
    /// not killed by the timeout).
    pub fn last_output(&self) -> Option<&ScriptOutput> {
        self.last.as_ref()
    }

    /// Runs the script once in `direction` and returns what it did, whatever
    /// its exit status.
    ///
    /// # Errors
    ///
    /// [`RedirectError::ScriptSpawn`] when it cannot be started,
    /// [`RedirectError::ScriptTimeout`] when it ran past the timeout.
    pub fn execute(&self, direction: Direction) -> Result<ScriptOutput, RedirectError> {
        let start = Instant::now();
        let spawn_err = |source| RedirectError::ScriptSpawn {
            path: self.path.clone(),
            direction,
            source,
        };
        let mut command = Command::new(&self.path);
        command
            .args(&self.args)
            .env("RHA_SCENARIO", &self.context.scenario)
            .env("RHA_STEP", self.context.step.to_string())
            .env("RHA_DIRECTION", direction.to_string())
            .env("RHA_MASTER", &self.context.master)
            .env("RHA_REPLICA", &self.context.replica)
            .env("RHA_SCRIPT_INDEX", self.index.to_string())
            .envs(self.context.extra.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = spawn(&mut command).map_err(spawn_err)?;
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            collect(out, self.output_limit, 1, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            collect(err, self.output_limit, 2, tx);
        }
        let deadline = start + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => {
                    kill_group(child.id());
                    let _ = child.wait();
                    return Err(spawn_err(e));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                kill_group(child.id());
                let _ = child.wait();
                let (_, stderr) = gather(&rx, Instant::now() + OUTPUT_GRACE);
                return Err(RedirectError::ScriptTimeout {
                    path: self.path.clone(),
                    direction,
                    timeout: self.timeout,
                    stderr: stderr.0,
                });
            }
            thread::sleep((deadline - now).min(Duration::from_millis(10)));
        };
        let (stdout, stderr) = gather(&rx, Instant::now() + OUTPUT_GRACE);
        Ok(ScriptOutput {
            status,
            stdout: stdout.0,
            stderr: stderr.0,
            stdout_truncated: stdout.1,
            stderr_truncated: stderr.1,
            elapsed: start.elapsed(),
        })
    }

    fn run_checked(&mut self, direction: Direction) -> Result<Report, RedirectError> {
        let output = self.execute(direction)?;
        let status = output.status;
        let stderr = output.stderr.clone();
        self.last = Some(output);
        if status.success() {
            Ok(Report::changed(format!(
                "script {} ({direction}) succeeded",
                self.path.display()
            )))
        } else {
            Err(RedirectError::ScriptFailed {
                path: self.path.clone(),
                direction,
                status: status.to_string(),
                stderr,
            })
        }
    }
}

impl Executor for Script {
    fn describe(&self) -> String {
        format!("script {}", self.path.display())
    }

    fn apply(&mut self) -> Result<Report, RedirectError> {
        self.run_checked(Direction::Do)
    }

    fn undo(&mut self) -> Result<Report, RedirectError> {
        self.run_checked(Direction::Undo)
    }
}

/// Scripts run in order for `apply` and in reverse order for `undo`.
///
/// If a script fails during `apply`, the scripts that had succeeded are
/// undone in reverse order and the error ([`RedirectError::ScriptList`])
/// names the failed script and any failure of that rollback. `undo` stops at
/// the first failing script.
#[derive(Debug, Clone, Default)]
pub struct ScriptList {
    scripts: Vec<Script>,
}

impl ScriptList {
    /// A list; each script is told its position in `RHA_SCRIPT_INDEX`.
    pub fn new(scripts: Vec<Script>) -> Self {
        let scripts = scripts
            .into_iter()
            .enumerate()
            .map(|(index, s)| Script { index, ..s })
            .collect();
        Self { scripts }
    }

    /// The scripts, in order.
    pub fn scripts(&self) -> &[Script] {
        &self.scripts
    }
}

impl Executor for ScriptList {
    fn describe(&self) -> String {
        let names: Vec<String> = self
            .scripts
            .iter()
            .map(|s| s.path.display().to_string())
            .collect();
        format!("scripts {}", names.join(", "))
    }

    fn apply(&mut self) -> Result<Report, RedirectError> {
        for index in 0..self.scripts.len() {
            if let Err(failed) = self.scripts[index].apply() {
                let rollback = self.scripts[..index]
                    .iter_mut()
                    .rev()
                    .filter_map(|s| s.undo().err())
                    .collect();
                return Err(RedirectError::ScriptList {
                    index,
                    failed: Box::new(failed),
                    rollback: Some(rollback),
                });
            }
        }
        Ok(Report::changed(format!(
            "{} scripts succeeded",
            self.scripts.len()
        )))
    }

    fn undo(&mut self) -> Result<Report, RedirectError> {
        for (index, script) in self.scripts.iter_mut().enumerate().rev() {
            if let Err(failed) = script.undo() {
                return Err(RedirectError::ScriptList {
                    index,
                    failed: Box::new(failed),
                    rollback: None,
                });
            }
        }
        Ok(Report::changed(format!(
            "{} scripts undone",
            self.scripts.len()
        )))
    }
}

/// Spawns, retrying briefly on `ETXTBSY`: a script that was just written
/// can still be open for writing in a child some other thread forked but has
/// not yet exec'd.
fn spawn(command: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                tries += 1;
                thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Reads a pipe on a thread, keeping at most `limit` bytes and draining the
/// rest so the writer never blocks; sends (stream, kept bytes, truncated).
fn collect(
    mut pipe: impl Read + Send + 'static,
    limit: usize,
    stream: u8,
    tx: mpsc::Sender<(u8, Vec<u8>, bool)>,
) {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut truncated = false;
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let room = limit.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                    truncated |= n > room;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send((stream, kept, truncated));
    });
}

type Collected = (String, bool);

/// Waits (until `deadline`) for both streams; a stream still held open by a
/// leftover background process comes back as whatever was not received: empty.
fn gather(rx: &mpsc::Receiver<(u8, Vec<u8>, bool)>, deadline: Instant) -> (Collected, Collected) {
    let mut out = (String::new(), false);
    let mut err = (String::new(), false);
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((stream, bytes, truncated)) = rx.recv_timeout(left) else {
            break;
        };
        let text = (String::from_utf8_lossy(&bytes).into_owned(), truncated);
        if stream == 1 {
            out = text;
        } else {
            err = text;
        }
    }
    (out, err)
}

fn kill_group(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes no pointers; a negative pid names the process
    // group the child leads (it was spawned with process_group(0)).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}
