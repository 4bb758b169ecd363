//! A scenario's configuration and its validation.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::redirect::{validate_plan, RedirectStep};
use super::timeouts::StepTimeouts;

/// The kind of application a scenario protects; it decides which redirection
/// methods are allowed (SPEC.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioType {
    /// A file server.
    FileServer,
    /// Microsoft SQL Server.
    SqlServer,
    /// Microsoft Exchange.
    Exchange,
    /// Microsoft IIS.
    Iis,
    /// Oracle Database.
    Oracle,
    /// VMware vCenter.
    VCenter,
    /// Hyper-V virtual machines.
    HyperV,
    /// A whole system (the replica is a virtual machine).
    FullSystem,
}

impl ScenarioType {
    /// Every scenario type, in the order of the SPEC.md table.
    pub const ALL: [ScenarioType; 8] = [
        ScenarioType::FileServer,
        ScenarioType::SqlServer,
        ScenarioType::Exchange,
        ScenarioType::Iis,
        ScenarioType::Oracle,
        ScenarioType::VCenter,
        ScenarioType::HyperV,
        ScenarioType::FullSystem,
    ];
}

impl fmt::Display for ScenarioType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScenarioType::FileServer => "file server",
            ScenarioType::SqlServer => "SQL Server",
            ScenarioType::Exchange => "Exchange",
            ScenarioType::Iis => "IIS",
            ScenarioType::Oracle => "Oracle",
            ScenarioType::VCenter => "vCenter",
            ScenarioType::HyperV => "Hyper-V",
            ScenarioType::FullSystem => "full system",
        })
    }
}

/// One host of a scenario: its name and its address in its network segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The host's computer name.
    pub name: String,
    /// Its primary address.
    pub address: IpAddr,
    /// The prefix length of its network segment (24 for a /24).
    pub prefix_len: u8,
}

impl Host {
    /// Whether `addr` lies in this host's network segment.
    pub fn segment_contains(&self, addr: IpAddr) -> bool {
        same_segment(self.address, addr, self.prefix_len)
    }
}

/// Whether `a` and `b` share their first `prefix_len` bits (false when their
/// families differ or the prefix is longer than the address).
pub(crate) fn same_segment(a: IpAddr, b: IpAddr, prefix_len: u8) -> bool {
    let (a, b, bits) = match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let prefix_len = u32::from(prefix_len);
    if prefix_len > bits {
        return false;
    }
    if prefix_len == 0 {
        return true;
    }
    let shift = bits - prefix_len;
    (a >> shift) == (b >> shift)
}

/// Whether a detected failure starts a switchover on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchoverMode {
    /// Switch over as soon as Is Alive declares the active host dead.
    Automatic,
    /// Only notify; an operator starts the switchover (recommended over WAN
    /// links, where a network break must not cause a needless switchover).
    Manual,
}

/// How one Is Alive link checks the active host. The embedder performs the
/// check and reports the result as an observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum CheckMethod {
    /// An ICMP echo; no reply within `reply_limit` counts as a failure.
    Ping {
        /// How long to wait for the reply [2 s].
        reply_limit: Duration,
    },
    /// Connect to the protected database.
    DatabaseConnect,
    /// A user-defined check (a command the embedder runs).
    UserDefined {
        /// What to run; interpreted by the embedder.
        command: String,
    },
}

impl CheckMethod {
    /// A ping with the default 2 s reply limit.
    pub fn ping() -> Self {
        CheckMethod::Ping {
            reply_limit: DEFAULT_PING_REPLY_LIMIT,
        }
    }
}

/// The default reply limit of a ping check.
pub const DEFAULT_PING_REPLY_LIMIT: Duration = Duration::from_secs(2);
/// The default heartbeat frequency.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// The default is-alive timeout.
pub const DEFAULT_IS_ALIVE_TIMEOUT: Duration = Duration::from_secs(300);
/// The most Is Alive links a scenario may have.
pub const MAX_LINKS: usize = 16;
/// The most redirection steps a scenario may have.
pub const MAX_REDIRECT_STEPS: usize = 64;

/// One redundant path over which the standby checks the active host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// A name for logs ("lan", "interconnect-2").
    pub name: String,
    /// How the check is made.
    pub method: CheckMethod,
}

/// Is Alive settings (SPEC.md §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsAliveConfig {
    /// How often each link is checked [30 s].
    pub heartbeat_interval: Duration,
    /// How long every link must stay silent before the active host is
    /// declared dead [300 s].
    pub timeout: Duration,
    /// Automatic or manual switchover.
    pub mode: SwitchoverMode,
    /// The links; failure needs every one of them silent.
    pub links: Vec<Link>,
}

impl Default for IsAliveConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            timeout: DEFAULT_IS_ALIVE_TIMEOUT,
            mode: SwitchoverMode::Manual,
            links: vec![Link {
                name: "default".into(),
                method: CheckMethod::ping(),
            }],
        }
    }
}

/// What a synchronisation compares and copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    /// File by file.
    File,
    /// Block by block inside files (signatures).
    Block,
    /// Whole volumes (used for the first reverse sync after a restore).
    Volume,
}

/// Everything that describes a scenario; locked while switched over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioConfig {
    /// The scenario's name, for logs and script context.
    pub name: String,
    /// What it protects.
    pub scenario_type: ScenarioType,
    /// The production host.
    pub master: Host,
    /// The host holding the copy.
    pub replica: Host,
    /// How many masters replicate to this replica (1 for 1:1; more is an
    /// N:1 configuration, which rules out switching the computer name).
    pub masters_on_replica: u32,
    /// How the forward synchronisation compares data.
    pub sync_kind: SyncKind,
    /// Is Alive settings.
    pub is_alive: IsAliveConfig,
    /// The redirection plan, run in order on switchover and undone in
    /// reverse order on switchback.
    pub redirection: Vec<RedirectStep>,
    /// Stop the whole scenario when the replica's spool or disk is full
    /// (default: on); off stops only the replica, which resynchronises when
    /// resumed.
    pub stop_on_spool_full: bool,
    /// For Hyper-V and full-system scenarios: the address the replica's
    /// virtual machine is given before it starts on switchover (none: it
    /// keeps its own). Absent from older saved states, where it reads as
    /// none.
    #[serde(default)]
    pub replica_vm_address: Option<VmAddress>,
    /// How long awaited actions may take and how often a hung one is
    /// re-issued. Absent from older saved states, where it reads as the
    /// defaults.
    #[serde(default)]
    pub timeouts: StepTimeouts,
}

/// The network settings a replica virtual machine is given on switchover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmAddress {
    /// The address.
    pub address: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The default gateway, if any.
    pub gateway: Option<IpAddr>,
}

impl ScenarioConfig {
    /// A 1:1 scenario with the defaults and no redirection.
    pub fn new(
        name: impl Into<String>,
        scenario_type: ScenarioType,
        master: Host,
        replica: Host,
    ) -> Self {
        Self {
            name: name.into(),
            scenario_type,
            master,
            replica,
            masters_on_replica: 1,
            sync_kind: SyncKind::File,
            is_alive: IsAliveConfig::default(),
            redirection: Vec::new(),
            stop_on_spool_full: true,
            replica_vm_address: None,
            timeouts: StepTimeouts::default(),
        }
    }

    /// Checks the configuration: Is Alive settings, and every redirection
    /// step against the scenario-type table and the N:1 and network-segment
    /// rules of SPEC.md §6.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::Field {
                field: "name",
                reason: "is empty".into(),
            });
        }
        for (field, host) in [("master", &self.master), ("replica", &self.replica)] {
            if host.name.is_empty() {
                return Err(ConfigError::Field {
                    field,
                    reason: "host name is empty".into(),
                });
            }
            let bits = if host.address.is_ipv4() { 32 } else { 128 };
            if host.prefix_len > bits {
                return Err(ConfigError::Field {
                    field,
                    reason: format!(
                        "prefix length {} is longer than {bits} bits",
                        host.prefix_len
                    ),
                });
            }
        }
        if self.masters_on_replica == 0 {
            return Err(ConfigError::Field {
                field: "masters_on_replica",
                reason: "must be at least 1".into(),
            });
        }
        let ia = &self.is_alive;
        if ia.heartbeat_interval.is_zero() {
            return Err(ConfigError::Field {
                field: "is_alive.heartbeat_interval",
                reason: "must be positive".into(),
            });
        }
        if ia.timeout < ia.heartbeat_interval {
            return Err(ConfigError::Field {
                field: "is_alive.timeout",
                reason: format!(
                    "{:?} is shorter than the heartbeat interval {:?}",
                    ia.timeout, ia.heartbeat_interval
                ),
            });
        }
        if ia.links.is_empty() || ia.links.len() > MAX_LINKS {
            return Err(ConfigError::Field {
                field: "is_alive.links",
                reason: format!("{} links; 1 to {MAX_LINKS} are allowed", ia.links.len()),
            });
        }
        for link in &ia.links {
            if let CheckMethod::Ping { reply_limit } = link.method {
                if reply_limit.is_zero() || reply_limit > ia.heartbeat_interval {
                    return Err(ConfigError::Field {
                        field: "is_alive.links",
                        reason: format!(
                            "link {:?}: ping reply limit {reply_limit:?} must be positive and at most the heartbeat interval",
                            link.name
                        ),
                    });
                }
            }
        }
        if self.redirection.len() > MAX_REDIRECT_STEPS {
            return Err(ConfigError::Field {
                field: "redirection",
                reason: format!(
                    "{} steps; at most {MAX_REDIRECT_STEPS} are allowed",
                    self.redirection.len()
                ),
            });
        }
        if let Some(vm) = &self.replica_vm_address {
            if !matches!(
                self.scenario_type,
                ScenarioType::HyperV | ScenarioType::FullSystem
            ) {
                return Err(ConfigError::Field {
                    field: "replica_vm_address",
                    reason: format!(
                        "applies to Hyper-V and full-system scenarios, not {}",
                        self.scenario_type
                    ),
                });
            }
            let bits = if vm.address.is_ipv4() { 32 } else { 128 };
            let gateway_family_ok = vm
                .gateway
                .is_none_or(|g| g.is_ipv4() == vm.address.is_ipv4());
            if vm.prefix_len == 0 || vm.prefix_len > bits || !gateway_family_ok {
                return Err(ConfigError::Field {
                    field: "replica_vm_address",
                    reason: format!(
                        "{}/{} (gateway {:?}) is not a usable address",
                        vm.address, vm.prefix_len, vm.gateway
                    ),
                });
            }
        }
        self.timeouts.validate()?;
        validate_plan(self)
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field outside the redirection plan is invalid.
    #[error("invalid configuration: {field} {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The scenario type does not allow a redirection method (SPEC.md §6
    /// table).
    #[error("redirection step {step}: {method} is not allowed for {scenario_type} scenarios")]
    MethodNotAllowed {
        /// Index of the step in the plan.
        step: usize,
        /// The method's name.
        method: &'static str,
        /// The scenario's type.
        scenario_type: ScenarioType,
    },
    /// Switch computer name in an N:1 configuration.
    #[error("redirection step {step}: switch computer name is not usable when {masters} masters share one replica (N:1)")]
    SwitchNameNToOne {
        /// Index of the step.
        step: usize,
        /// How many masters share the replica.
        masters: u32,
    },
    /// Move IP between hosts in different network segments, or of an
    /// address outside the master's segment.
    #[error("redirection step {step}: move IP needs {what} in the same network segment")]
    DifferentSegment {
        /// Index of the step.
        step: usize,
        /// What is not in the same segment, with the addresses.
        what: String,
    },
    /// A step's parameter is invalid.
    #[error("redirection step {step} ({method}): {field} {reason}")]
    Step {
        /// Index of the step.
        step: usize,
        /// The method's name.
        method: &'static str,
        /// The parameter.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Two steps would fight over the same resource.
    #[error("redirection step {step} ({method}) repeats step {earlier}")]
    Duplicate {
        /// Index of the later step.
        step: usize,
        /// Index of the earlier one.
        earlier: usize,
        /// The method's name.
        method: &'static str,
    },
}
