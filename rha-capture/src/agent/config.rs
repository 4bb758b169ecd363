//! The scenario file: one TOML file that both hosts share, holding the
//! scenario itself (`rha_core::ha::ScenarioConfig`, the same definition
//! the HA machine uses) and what each agent needs to run it.

use std::fmt;
use std::path::{Path, PathBuf};

use rha_core::ha::ScenarioConfig;
use rha_core::spool::{OverflowPolicy, SpoolConfig};
use serde::Deserialize;

/// A scenario file (`docs/agents.md`, "The scenario file").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The scenario: name, hosts and addresses, sync kind, Is Alive
    /// (whose heartbeat interval and timeout the session uses),
    /// redirection.
    pub scenario: ScenarioConfig,
    /// The master agent's settings.
    pub master: MasterSide,
    /// The replica agent's settings.
    pub replica: ReplicaSide,
}

/// The master's part of a scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterSide {
    /// The protected directory.
    pub dir: PathBuf,
    /// The master's state directory (spool, state, status, inbox).
    pub spool: PathBuf,
    /// The master's identity directory (`rha keygen`).
    pub identity: PathBuf,
    /// The master's certificate fingerprint (what the replica allows).
    pub fingerprint: String,
    /// Spool limits and overflow policy.
    #[serde(default)]
    pub limits: SpoolLimitsSection,
    /// Compress journal messages: `none` or `zstd`.
    #[serde(default)]
    pub compression: CompressionName,
}

/// The replica's part of a scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaSide {
    /// The replica directory.
    pub dir: PathBuf,
    /// The replica's identity directory.
    pub identity: PathBuf,
    /// The replica's certificate fingerprint (what the master pins).
    pub fingerprint: String,
    /// The port the replica listens on, at the scenario's replica
    /// address (default: 7400).
    #[serde(default = "default_port")]
    pub port: u16,
    /// The address to listen on (default: the replica host's address).
    #[serde(default)]
    pub listen: Option<String>,
    /// Keep a rewind log (default: false).
    #[serde(default)]
    pub rewind: bool,
    /// Bytes of journal the master may send ahead of acknowledgements
    /// (default: 8 MiB).
    #[serde(default = "default_window")]
    pub window: u64,
    /// Limits of the spool of received records.
    #[serde(default)]
    pub limits: SpoolLimitsSection,
}

/// Spool limits, as a scenario file spells them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolLimitsSection {
    /// Largest spool in bytes (default: none).
    pub max_bytes: Option<u64>,
    /// Free space to leave on the file system (default: 1 GiB).
    pub min_free_bytes: u64,
    /// What a full spool does: `stop` or `degrade` (default: stop).
    pub overflow: OverflowName,
}

impl Default for SpoolLimitsSection {
    fn default() -> Self {
        Self {
            max_bytes: None,
            min_free_bytes: 1 << 30,
            overflow: OverflowName::Stop,
        }
    }
}

impl SpoolLimitsSection {
    /// The spool configuration these limits give.
    pub fn spool_config(&self) -> SpoolConfig {
        SpoolConfig::default()
            .max_bytes(self.max_bytes)
            .min_free_bytes(self.min_free_bytes)
            .overflow(match self.overflow {
                OverflowName::Stop => OverflowPolicy::Stop,
                OverflowName::Degrade => OverflowPolicy::DegradeToDirtyRegions,
            })
    }
}

/// An overflow policy's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverflowName {
    /// Stop the scenario.
    #[default]
    Stop,
    /// Degrade to dirty-region tracking.
    Degrade,
}

/// A compression's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressionName {
    /// None.
    #[default]
    None,
    /// zstd, level 3.
    Zstd,
}

fn default_port() -> u16 {
    7400
}

fn default_window() -> u64 {
    8 << 20
}

/// Why a scenario file could not be used: the file, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line (from 1), when the error has a place in the file.
    pub line: Option<usize>,
    /// What is wrong (naming the key).
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ScenarioFile {
    /// Reads and checks the scenario file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses a scenario file's text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            // The first line of toml's message; the rest repeats the
            // source with a caret.
            message: e.message().trim().to_owned(),
        })?;
        let bad = |key: &str, message: String| ConfigError {
            path: path.to_path_buf(),
            line: line_of_key(text, key),
            message: format!("{key}: {message}"),
        };
        for (key, fp) in [
            ("fingerprint", &file.master.fingerprint),
            ("fingerprint", &file.replica.fingerprint),
        ] {
            fp.parse::<crate::transport::Fingerprint>()
                .map_err(|e| bad(key, e.to_string()))?;
        }
        file.scenario
            .validate()
            .map_err(|e| bad("scenario", e.to_string()))?;
        Ok(file)
    }

    /// Where the replica listens: `listen`, or the replica host's address
    /// and `port`.
    pub fn listen_addr(&self) -> String {
        self.replica.listen.clone().unwrap_or_else(|| {
            std::net::SocketAddr::new(self.scenario.replica.address, self.replica.port).to_string()
        })
    }

    /// Where the master connects: the replica host's address and `port`.
    pub fn replica_addr(&self) -> String {
        std::net::SocketAddr::new(self.scenario.replica.address, self.replica.port).to_string()
    }
}

/// The line of the first `key =` in `text`, for errors found after
/// parsing.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
                || l.starts_with(&format!("[{key}"))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[scenario]
name = "files"
scenario_type = "file_server"
masters_on_replica = 1
sync_kind = "file"
redirection = []
stop_on_spool_full = true

[scenario.master]
name = "alpha"
address = "10.0.0.1"
prefix_len = 24

[scenario.replica]
name = "beta"
address = "10.0.0.2"
prefix_len = 24

[scenario.is_alive]
heartbeat_interval = { secs = 3, nanos = 0 }
timeout = { secs = 30, nanos = 0 }
mode = "manual"
links = [{ name = "lan", method = { method = "ping", reply_limit = { secs = 2, nanos = 0 } } }]

[master]
dir = "/srv/data"
spool = "/var/lib/rha/spool"
identity = "/etc/rha/master"
fingerprint = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
compression = "zstd"
limits = { max_bytes = 1073741824, overflow = "degrade" }

[replica]
dir = "/srv/replica"
identity = "/etc/rha/replica"
fingerprint = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
rewind = true
"#;

    #[test]
    fn a_scenario_file_reads_with_its_defaults() {
        let f = ScenarioFile::parse(GOOD, Path::new("s.toml")).expect("parse");
        assert_eq!(f.scenario.name, "files");
        assert_eq!(f.scenario.is_alive.heartbeat_interval.as_secs(), 3);
        assert_eq!(f.master.compression, CompressionName::Zstd);
        assert_eq!(f.master.limits.overflow, OverflowName::Degrade);
        assert_eq!(f.master.limits.min_free_bytes, 1 << 30);
        assert_eq!(f.replica.port, 7400);
        assert!(f.replica.rewind);
        assert_eq!(f.listen_addr(), "10.0.0.2:7400");
        assert_eq!(f.replica_addr(), "10.0.0.2:7400");
        let c = f.master.limits.spool_config();
        assert_eq!(c.max_bytes, Some(1 << 30));
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let typo = GOOD.replace("rewind = true", "rewnid = true");
        let e = ScenarioFile::parse(&typo, Path::new("s.toml")).expect_err("unknown key");
        let line = typo
            .lines()
            .position(|l| l.starts_with("rewnid"))
            .expect("line")
            + 1;
        assert_eq!(e.line, Some(line), "{e}");
        assert!(
            e.to_string().starts_with(&format!("s.toml:{line}: ")),
            "{e}"
        );
        assert!(e.message.contains("rewnid"), "{e}");

        let missing = GOOD.replace("identity = \"/etc/rha/replica\"\n", "");
        let e = ScenarioFile::parse(&missing, Path::new("s.toml")).expect_err("missing key");
        assert!(e.message.contains("identity"), "{e}");

        let bad_fp = GOOD.replace("sha256:2222", "sha256:zz22");
        let e = ScenarioFile::parse(&bad_fp, Path::new("s.toml")).expect_err("bad fingerprint");
        assert!(e.message.starts_with("fingerprint: "), "{e}");
        assert!(e.line.is_some(), "{e}");

        let bad_value = GOOD
            .replace("port", "x")
            .replace("rewind = true", "rewind = 3");
        let e = ScenarioFile::parse(&bad_value, Path::new("s.toml")).expect_err("bad type");
        assert!(e.line.is_some(), "{e}");

        let e = ScenarioFile::load(Path::new("/nonexistent/s.toml")).expect_err("missing file");
        assert!(e.to_string().starts_with("/nonexistent/s.toml: "), "{e}");
    }
}
