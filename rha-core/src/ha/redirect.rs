//! Redirection: the steps that send clients to the new active host, their
//! validation against SPEC.md §6, and the parameters the executors need.
//!
//! A plan is the scenario's ordered list of [`RedirectStep`]s. Switchover
//! runs each step's *do* in order; if one fails, the steps already done are
//! undone in reverse order. Switchback runs the *undo* of every step, last
//! step first. The OS-side executors (rha-capture) implement do and undo for
//! each method.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{same_segment, ConfigError, ScenarioConfig, ScenarioType};

/// The suffix the master's computer name gets when the replica takes its name.
pub const DEFAULT_NAME_SUFFIX: &str = "-RHA";

/// One redirection step. *Do* moves clients from the master to the replica;
/// *undo* moves them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum RedirectStep {
    /// Remove the service address from the master's interface and add it to
    /// the replica's, then announce it with gratuitous ARP (same network
    /// segment only).
    MoveIp {
        /// The service address.
        address: IpAddr,
        /// Its prefix length on the interfaces.
        prefix_len: u8,
        /// The master's interface.
        master_interface: String,
        /// The replica's interface.
        replica_interface: String,
    },
    /// The replica takes the master's computer name; the master is renamed
    /// with `suffix`.
    SwitchName {
        /// The master's name.
        master_name: String,
        /// The replica's name.
        replica_name: String,
        /// Appended to the master's name (default `-RHA`).
        suffix: String,
    },
    /// Rewrite the master's DNS A/AAAA record to the replica's address
    /// (RFC 2136 dynamic update).
    DnsRedirect {
        /// The DNS server accepting updates.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The record's name.
        name: String,
        /// The record's TTL, in seconds.
        ttl: u32,
        /// The address the record holds before switchover.
        master_address: IpAddr,
        /// The address it holds after.
        replica_address: IpAddr,
    },
    /// Re-point a computer alias.
    AliasSwitch(Alias),
    /// A user-defined script, run with the scenario context in environment
    /// variables (see [`script_env`]); `RHA_DIRECTION` is `do` or `undo`.
    Script {
        /// The script's absolute path.
        path: PathBuf,
        /// Its arguments.
        args: Vec<String>,
        /// How long it may run.
        timeout: Duration,
    },
}

/// The two kinds of computer alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Alias {
    /// A DNS CNAME re-pointed from the master to the replica.
    Dns {
        /// The DNS server accepting updates.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The alias (the CNAME's owner name).
        alias: String,
        /// The record's TTL, in seconds.
        ttl: u32,
        /// The CNAME target before switchover.
        master_target: String,
        /// The CNAME target after.
        replica_target: String,
    },
    /// A NetBIOS alias dropped by the master and taken by the replica
    /// (several masters' aliases may land on one replica).
    NetBios {
        /// The alias.
        alias: String,
        /// The master's name.
        master_name: String,
        /// The replica's name.
        replica_name: String,
    },
}

/// The five redirection methods of SPEC.md §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// [`RedirectStep::MoveIp`].
    MoveIp,
    /// [`RedirectStep::SwitchName`].
    SwitchName,
    /// [`RedirectStep::DnsRedirect`].
    DnsRedirect,
    /// [`RedirectStep::AliasSwitch`].
    AliasSwitch,
    /// [`RedirectStep::Script`].
    Script,
}

impl Method {
    /// Every method, in the order of the SPEC.md table.
    pub const ALL: [Method; 5] = [
        Method::MoveIp,
        Method::SwitchName,
        Method::DnsRedirect,
        Method::AliasSwitch,
        Method::Script,
    ];

    /// The method's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Method::MoveIp => "move IP",
            Method::SwitchName => "switch computer name",
            Method::DnsRedirect => "DNS redirect",
            Method::AliasSwitch => "computer alias switch",
            Method::Script => "user-defined script",
        }
    }

    /// Whether scenarios of type `t` may use this method (the SPEC.md §6
    /// table).
    pub fn allowed_for(self, t: ScenarioType) -> bool {
        use ScenarioType::*;
        match self {
            Method::DnsRedirect | Method::Script => true,
            Method::MoveIp | Method::AliasSwitch => !matches!(t, HyperV | FullSystem),
            Method::SwitchName => !matches!(t, Exchange | Oracle | HyperV | FullSystem),
        }
    }
}

impl RedirectStep {
    /// The step's method.
    pub fn method(&self) -> Method {
        match self {
            RedirectStep::MoveIp { .. } => Method::MoveIp,
            RedirectStep::SwitchName { .. } => Method::SwitchName,
            RedirectStep::DnsRedirect { .. } => Method::DnsRedirect,
            RedirectStep::AliasSwitch(_) => Method::AliasSwitch,
            RedirectStep::Script { .. } => Method::Script,
        }
    }

    /// Whether the step has a half on each host, each performed by that
    /// host: move IP (the master removes the address, the replica adds it),
    /// switch computer name (the master takes the suffix, the replica the
    /// name), and a NetBIOS alias (the master drops it, the replica takes
    /// it). The scenario issues one action per half, naming its host, with
    /// its own outcome and undo. DNS steps and scripts are one action.
    pub fn two_sided(&self) -> bool {
        matches!(
            self,
            RedirectStep::MoveIp { .. }
                | RedirectStep::SwitchName { .. }
                | RedirectStep::AliasSwitch(Alias::NetBios { .. })
        )
    }

    /// What two steps must not share (the same address, name, record or
    /// alias would be moved twice), if anything.
    fn resource(&self) -> Option<String> {
        match self {
            RedirectStep::MoveIp { address, .. } => Some(format!("ip {address}")),
            RedirectStep::SwitchName { master_name, .. } => {
                Some(format!("name {}", master_name.to_ascii_lowercase()))
            }
            RedirectStep::DnsRedirect { zone, name, .. } => Some(format!(
                "dns {} {}",
                zone.to_ascii_lowercase(),
                name.to_ascii_lowercase()
            )),
            RedirectStep::AliasSwitch(Alias::Dns { zone, alias, .. }) => Some(format!(
                "dns {} {}",
                zone.to_ascii_lowercase(),
                alias.to_ascii_lowercase()
            )),
            RedirectStep::AliasSwitch(Alias::NetBios { alias, .. }) => {
                Some(format!("netbios {}", alias.to_ascii_lowercase()))
            }
            RedirectStep::Script { .. } => None,
        }
    }
}

/// The longest DNS name accepted (RFC 1035).
const MAX_DNS_NAME: usize = 253;
/// The longest computer name accepted (NetBIOS names are 15 characters; DNS
/// host labels 63).
const MAX_HOST_NAME: usize = 63;

fn step_err(
    step: usize,
    method: Method,
    field: &'static str,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Step {
        step,
        method: method.name(),
        field,
        reason: reason.into(),
    }
}

fn check_name(
    step: usize,
    m: Method,
    field: &'static str,
    name: &str,
    max: usize,
) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(step_err(step, m, field, "is empty"));
    }
    if name.len() > max {
        return Err(step_err(
            step,
            m,
            field,
            format!("is {} bytes long, the limit is {max}", name.len()),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(step_err(step, m, field, format!("{name:?} contains {c:?}")));
    }
    Ok(())
}

fn check_ttl(step: usize, m: Method, ttl: u32) -> Result<(), ConfigError> {
    // RFC 2181: TTLs are at most 2^31 - 1.
    if ttl == 0 || ttl > i32::MAX as u32 {
        return Err(step_err(
            step,
            m,
            "ttl",
            format!("{ttl} is outside 1..=2147483647"),
        ));
    }
    Ok(())
}

/// Checks one step's own parameters and the scenario-wide rules.
fn validate_step(
    config: &ScenarioConfig,
    step: usize,
    s: &RedirectStep,
) -> Result<(), ConfigError> {
    let m = s.method();
    if !m.allowed_for(config.scenario_type) {
        return Err(ConfigError::MethodNotAllowed {
            step,
            method: m.name(),
            scenario_type: config.scenario_type,
        });
    }
    match s {
        RedirectStep::MoveIp {
            address,
            prefix_len,
            master_interface,
            replica_interface,
        } => {
            let bits = if address.is_ipv4() { 32 } else { 128 };
            if *prefix_len == 0 || *prefix_len > bits {
                return Err(step_err(
                    step,
                    m,
                    "prefix_len",
                    format!("{prefix_len} is outside 1..={bits}"),
                ));
            }
            check_name(step, m, "master_interface", master_interface, 15)?;
            check_name(step, m, "replica_interface", replica_interface, 15)?;
            let (master, replica) = (&config.master, &config.replica);
            if !same_segment(master.address, replica.address, master.prefix_len)
                || !same_segment(master.address, replica.address, replica.prefix_len)
            {
                return Err(ConfigError::DifferentSegment {
                    step,
                    what: format!(
                        "master {}/{} and replica {}/{}",
                        master.address, master.prefix_len, replica.address, replica.prefix_len
                    ),
                });
            }
            if !same_segment(master.address, *address, master.prefix_len) {
                return Err(ConfigError::DifferentSegment {
                    step,
                    what: format!(
                        "the service address {address} and the master {}/{}",
                        master.address, master.prefix_len
                    ),
                });
            }
            if *address == master.address || *address == replica.address {
                return Err(step_err(
                    step,
                    m,
                    "address",
                    format!("{address} is a host's own address, not a movable service address"),
                ));
            }
        }
        RedirectStep::SwitchName {
            master_name,
            replica_name,
            suffix,
        } => {
            if config.masters_on_replica > 1 {
                return Err(ConfigError::SwitchNameNToOne {
                    step,
                    masters: config.masters_on_replica,
                });
            }
            check_name(step, m, "master_name", master_name, MAX_HOST_NAME)?;
            check_name(step, m, "replica_name", replica_name, MAX_HOST_NAME)?;
            check_name(step, m, "suffix", suffix, MAX_HOST_NAME)?;
            if master_name.len() + suffix.len() > MAX_HOST_NAME {
                return Err(step_err(
                    step,
                    m,
                    "suffix",
                    format!("{master_name}{suffix} would be longer than {MAX_HOST_NAME} bytes"),
                ));
            }
            if master_name.eq_ignore_ascii_case(replica_name) {
                return Err(step_err(
                    step,
                    m,
                    "replica_name",
                    "equals the master's name",
                ));
            }
        }
        RedirectStep::DnsRedirect {
            zone,
            name,
            ttl,
            master_address,
            replica_address,
            ..
        } => {
            check_name(step, m, "zone", zone, MAX_DNS_NAME)?;
            check_name(step, m, "name", name, MAX_DNS_NAME)?;
            check_ttl(step, m, *ttl)?;
            if master_address.is_ipv4() != replica_address.is_ipv4() {
                return Err(step_err(
                    step,
                    m,
                    "replica_address",
                    format!("{replica_address} is not of the same family as {master_address}"),
                ));
            }
            if master_address == replica_address {
                return Err(step_err(
                    step,
                    m,
                    "replica_address",
                    "equals the master's address",
                ));
            }
        }
        RedirectStep::AliasSwitch(Alias::Dns {
            zone,
            alias,
            ttl,
            master_target,
            replica_target,
            ..
        }) => {
            check_name(step, m, "zone", zone, MAX_DNS_NAME)?;
            check_name(step, m, "alias", alias, MAX_DNS_NAME)?;
            check_name(step, m, "master_target", master_target, MAX_DNS_NAME)?;
            check_name(step, m, "replica_target", replica_target, MAX_DNS_NAME)?;
            check_ttl(step, m, *ttl)?;
            if master_target.eq_ignore_ascii_case(replica_target) {
                return Err(step_err(
                    step,
                    m,
                    "replica_target",
                    "equals the master's target",
                ));
            }
        }
        RedirectStep::AliasSwitch(Alias::NetBios {
            alias,
            master_name,
            replica_name,
        }) => {
            check_name(step, m, "alias", alias, 15)?;
            check_name(step, m, "master_name", master_name, MAX_HOST_NAME)?;
            check_name(step, m, "replica_name", replica_name, MAX_HOST_NAME)?;
        }
        RedirectStep::Script {
            path,
            args,
            timeout,
        } => {
            if !path.is_absolute() {
                return Err(step_err(
                    step,
                    m,
                    "path",
                    format!("{} is not absolute", path.display()),
                ));
            }
            if timeout.is_zero() {
                return Err(step_err(step, m, "timeout", "must be positive"));
            }
            if args.iter().any(|a| a.contains('\0')) {
                return Err(step_err(step, m, "args", "an argument contains a NUL byte"));
            }
        }
    }
    Ok(())
}

/// Checks every step of `config.redirection`, in order, and that no two
/// steps move the same resource.
pub(crate) fn validate_plan(config: &ScenarioConfig) -> Result<(), ConfigError> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, step) in config.redirection.iter().enumerate() {
        validate_step(config, i, step)?;
        if let Some(res) = step.resource() {
            if let Some((_, earlier)) = seen.iter().find(|(r, _)| *r == res) {
                return Err(ConfigError::Duplicate {
                    step: i,
                    earlier: *earlier,
                    method: step.method().name(),
                });
            }
            seen.push((res, i));
        }
    }
    Ok(())
}

/// Whether a step is being done or undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Clients move to the replica.
    Do,
    /// Clients move back to the master.
    Undo,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Do => "do",
            Direction::Undo => "undo",
        })
    }
}

/// The environment a script step runs with: the scenario context.
///
/// `RHA_SCENARIO`, `RHA_SCENARIO_TYPE`, `RHA_MASTER`, `RHA_MASTER_ADDRESS`,
/// `RHA_REPLICA`, `RHA_REPLICA_ADDRESS`, `RHA_STEP` (the step's index) and
/// `RHA_DIRECTION` (`do` or `undo`).
pub fn script_env(
    config: &ScenarioConfig,
    step: usize,
    direction: Direction,
) -> Vec<(String, String)> {
    let dir = match direction {
        Direction::Do => "do",
        Direction::Undo => "undo",
    };
    [
        ("RHA_SCENARIO", config.name.clone()),
        ("RHA_SCENARIO_TYPE", config.scenario_type.to_string()),
        ("RHA_MASTER", config.master.name.clone()),
        ("RHA_MASTER_ADDRESS", config.master.address.to_string()),
        ("RHA_REPLICA", config.replica.name.clone()),
        ("RHA_REPLICA_ADDRESS", config.replica.address.to_string()),
        ("RHA_STEP", step.to_string()),
        ("RHA_DIRECTION", dir.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
