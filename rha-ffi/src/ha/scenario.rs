//! `rha_ha_scenario` and its builder: the scenario state machine from C.

use std::ffi::c_char;
use std::net::IpAddr;
use std::ptr;
use std::time::Duration;

use rha_core::ha::{
    CommandError, ConfigError, Host, Instant, Link, RedirectStep, RestoreError, Scenario,
    ScenarioConfig, ScenarioType, State, SwitchoverMode,
};

use super::types::{
    check_method, flatten, flatten_event, rha_ha_action, rha_ha_command, rha_ha_event,
    rha_ha_observation, rha_ha_state, scenario_type, utf8_field,
};
use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

impl From<CommandError> for rha_error {
    fn from(e: CommandError) -> Self {
        let code = match e {
            CommandError::ConfirmationRequired { .. } => rha_result::RHA_HA_CONFIRMATION_REQUIRED,
            CommandError::InvalidConfig { .. } => rha_result::RHA_HA_INVALID_CONFIG,
            _ => rha_result::RHA_HA_REFUSED,
        };
        rha_error::new(code, e.to_string())
    }
}

impl From<ConfigError> for rha_error {
    fn from(e: ConfigError) -> Self {
        rha_error::new(rha_result::RHA_HA_INVALID_CONFIG, e.to_string())
    }
}

impl From<RestoreError> for rha_error {
    fn from(e: RestoreError) -> Self {
        let code = match e {
            RestoreError::UnsupportedVersion { .. } => rha_result::RHA_HA_STATE_UNSUPPORTED_VERSION,
            _ => rha_result::RHA_HA_STATE_CORRUPT,
        };
        rha_error::new(code, e.to_string())
    }
}

/// Settings for a scenario, consumed by `rha_ha_scenario_build`.
///
/// Starts as a file-server scenario named "scenario" with the SPEC.md
/// defaults (heartbeat every 30 s, is-alive timeout 300 s, manual
/// switchover, one ping link, no redirection) and no hosts: set the master
/// and the replica before building. Ownership: made by
/// `rha_ha_scenario_builder_new`, owned by the caller until
/// `rha_ha_scenario_build` (which frees it, even on failure) or
/// `rha_ha_scenario_builder_free`. One thread at a time.
#[derive(Debug)]
pub struct rha_ha_scenario_builder {
    name: String,
    scenario_type: ScenarioType,
    master: Option<Host>,
    replica: Option<Host>,
    config: Option<ScenarioConfig>,
    links: Vec<Link>,
    redirection: Vec<RedirectStep>,
    is_alive: Option<(Duration, Duration, SwitchoverMode)>,
}

/// A scenario's lifecycle state machine (SPEC.md §6), sans-IO: feed it
/// commands, observations and time; poll actions (work for the embedder),
/// events, and the next timeout.
///
/// Ownership: made by `rha_ha_scenario_build` or `rha_ha_scenario_restore`,
/// owned by the caller, released with `rha_ha_scenario_free`. One thread at
/// a time (it may move between threads).
#[derive(Debug)]
pub struct rha_ha_scenario {
    scenario: Scenario,
    /// Backing store of the last action's views.
    action_text: String,
    action_json: Vec<u8>,
    /// Backing store of the last event's view.
    event_json: Vec<u8>,
    /// Backing store of the last save.
    saved: Vec<u8>,
}

impl rha_ha_scenario {
    fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            action_text: String::new(),
            action_json: Vec::new(),
            event_json: Vec::new(),
            saved: Vec::new(),
        }
    }
}

/// A scenario's status, filled by `rha_ha_scenario_status`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rha_ha_status {
    /// The state, an `rha_ha_state` value.
    pub state: u32,
    /// The host serving clients, an `rha_ha_side` value.
    pub active: u32,
    /// Whether an operation waits for action reports.
    pub busy: bool,
    /// Whether the replica holds the master's latest data.
    pub replica_current: bool,
    /// Whether the configuration is locked (switched over, failed over, or
    /// any transitional state).
    pub config_locked: bool,
}

/// # Safety
///
/// `ptr` is NULL with `len` 0, or valid for reading `len` bytes.
unsafe fn text_arg(ptr: *const u8, len: usize, field: &str) -> Result<String, rha_error> {
    // SAFETY: forwarded from this function's contract.
    let bytes = unsafe { rha_bytes { ptr, len }.as_slice(field)? };
    utf8_field(bytes, field)
}

/// # Safety
///
/// `builder` is non-NULL, live, and not used by another thread.
unsafe fn builder_mut<'a>(
    builder: *mut rha_ha_scenario_builder,
) -> &'a mut rha_ha_scenario_builder {
    // SAFETY: forwarded from this function's contract.
    unsafe { &mut *builder }
}

/// # Safety
///
/// `scenario` is non-NULL, live, and not used by another thread.
unsafe fn scenario_mut<'a>(scenario: *mut rha_ha_scenario) -> &'a mut rha_ha_scenario {
    // SAFETY: forwarded from this function's contract.
    unsafe { &mut *scenario }
}

/// Makes a scenario builder with the defaults described at
/// `rha_ha_scenario_builder`. Returns a new builder owned by the caller
/// (never NULL). Thread-safe.
#[no_mangle]
pub extern "C" fn rha_ha_scenario_builder_new() -> *mut rha_ha_scenario_builder {
    ffi_fn!(default(ptr::null_mut()), non_null(), {
        crate::handle::new(rha_ha_scenario_builder {
            name: "scenario".into(),
            scenario_type: ScenarioType::FileServer,
            master: None,
            replica: None,
            config: None,
            links: Vec::new(),
            redirection: Vec::new(),
            is_alive: None,
        })
    })
}

/// Sets the scenario's name (UTF-8, `name_len` bytes at `name`, read during
/// the call; used in logs and script context).
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
/// if the name is not UTF-8 or `name` is NULL with a non-zero length.
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread; `name` is
/// valid for reading `name_len` bytes (or NULL with 0); `error_out` is NULL
/// or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_set_name(
    builder: *mut rha_ha_scenario_builder,
    name: *const u8,
    name_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: valid by this function's contract.
        let name = unsafe { text_arg(name, name_len, "name")? };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        unsafe { builder_mut(builder) }.name = name;
        Ok(rha_result::RHA_OK)
    })
}

/// Sets the scenario type, an `rha_ha_scenario_type` value: it decides which
/// redirection methods are allowed.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown type.
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread; `error_out`
/// is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_set_type(
    builder: *mut rha_ha_scenario_builder,
    scenario_type_value: u32,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        let t = scenario_type(scenario_type_value)?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        unsafe { builder_mut(builder) }.scenario_type = t;
        Ok(rha_result::RHA_OK)
    })
}

/// Sets one host: `replica` false for the master, true for the replica;
/// its computer name and its address as text (`"10.0.0.1"`, `"fd00::1"`)
/// with the prefix length of its network segment. Both strings are UTF-8,
/// read during the call.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if the address does
/// not parse or a string is not UTF-8.
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread; `name` and
/// `address` are valid for reading their lengths (or NULL with 0);
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_set_host(
    builder: *mut rha_ha_scenario_builder,
    replica: bool,
    name: *const u8,
    name_len: usize,
    address: *const u8,
    address_len: usize,
    prefix_len: u8,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: valid by this function's contract.
        let name = unsafe { text_arg(name, name_len, "name")? };
        // SAFETY: valid by this function's contract.
        let address = unsafe { text_arg(address, address_len, "address")? };
        let address: IpAddr = address
            .parse()
            .map_err(|e| rha_error::invalid_argument(format!("address {address:?}: {e}")))?;
        let host = Host {
            name,
            address,
            prefix_len,
        };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let b = unsafe { builder_mut(builder) };
        if replica {
            b.replica = Some(host);
        } else {
            b.master = Some(host);
        }
        Ok(rha_result::RHA_OK)
    })
}

/// Sets the Is Alive heartbeat interval and timeout (nanoseconds) and
/// whether a detected failure switches over automatically. Checked at
/// build.
///
/// Errors: `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread; `error_out`
/// is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_set_is_alive(
    builder: *mut rha_ha_scenario_builder,
    heartbeat_interval_ns: u64,
    timeout_ns: u64,
    automatic: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        let mode = if automatic {
            SwitchoverMode::Automatic
        } else {
            SwitchoverMode::Manual
        };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        unsafe { builder_mut(builder) }.is_alive = Some((
            Duration::from_nanos(heartbeat_interval_ns),
            Duration::from_nanos(timeout_ns),
            mode,
        ));
        Ok(rha_result::RHA_OK)
    })
}

/// Adds an Is Alive link (the first call replaces the default ping link):
/// a name, an `rha_ha_check` method, the ping reply limit in nanoseconds
/// (ping only) and, for a user-defined check, the command to run
/// (`command`, UTF-8; may be empty otherwise). Links are numbered from 0 in
/// the order added.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// method or non-UTF-8 text.
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread; `name` and
/// `command` are valid for reading their lengths (or NULL with 0);
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_add_link(
    builder: *mut rha_ha_scenario_builder,
    name: *const u8,
    name_len: usize,
    method: u32,
    reply_limit_ns: u64,
    command: *const u8,
    command_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: valid by this function's contract.
        let name = unsafe { text_arg(name, name_len, "name")? };
        // SAFETY: valid by this function's contract.
        let command = unsafe { text_arg(command, command_len, "command")? };
        let method = check_method(method, reply_limit_ns, command)?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        unsafe { builder_mut(builder) }
            .links
            .push(Link { name, method });
        Ok(rha_result::RHA_OK)
    })
}

/// Appends a redirection step given as JSON (UTF-8), in the shapes of
/// `docs/ha-state-machine.md`, for example
/// `{"method":"move_ip","address":"10.0.0.100","prefix_len":24,"master_interface":"eth0","replica_interface":"eth0"}`.
/// The plan is validated against the scenario type at build.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_HA_INVALID_CONFIG` if the JSON is not
/// a redirection step (the message says where).
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread; `json` is
/// valid for reading `json_len` bytes (or NULL with 0); `error_out` is NULL
/// or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_add_redirect_json(
    builder: *mut rha_ha_scenario_builder,
    json: *const u8,
    json_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: valid by this function's contract.
        let bytes = unsafe {
            rha_bytes {
                ptr: json,
                len: json_len,
            }
            .as_slice("json")?
        };
        let step: RedirectStep = serde_json::from_slice(bytes).map_err(|e| {
            rha_error::new(
                rha_result::RHA_HA_INVALID_CONFIG,
                format!("redirection step: {e}"),
            )
        })?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        unsafe { builder_mut(builder) }.redirection.push(step);
        Ok(rha_result::RHA_OK)
    })
}

/// Replaces every setting with a whole configuration given as JSON (the
/// `config` object of a saved state, see `docs/ha-state-machine.md`).
/// Setters called after this one change it further.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_HA_INVALID_CONFIG` if the JSON is not
/// a configuration.
///
/// # Safety
///
/// As for `rha_ha_scenario_builder_add_redirect_json`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_set_config_json(
    builder: *mut rha_ha_scenario_builder,
    json: *const u8,
    json_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: valid by this function's contract.
        let bytes = unsafe {
            rha_bytes {
                ptr: json,
                len: json_len,
            }
            .as_slice("json")?
        };
        let c: ScenarioConfig = serde_json::from_slice(bytes).map_err(|e| {
            rha_error::new(
                rha_result::RHA_HA_INVALID_CONFIG,
                format!("configuration: {e}"),
            )
        })?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let b = unsafe { builder_mut(builder) };
        b.name = c.name.clone();
        b.scenario_type = c.scenario_type;
        b.master = Some(c.master.clone());
        b.replica = Some(c.replica.clone());
        b.links = c.is_alive.links.clone();
        b.redirection = c.redirection.clone();
        b.is_alive = Some((
            c.is_alive.heartbeat_interval,
            c.is_alive.timeout,
            c.is_alive.mode,
        ));
        b.config = Some(c);
        Ok(rha_result::RHA_OK)
    })
}

/// Releases a builder not passed to `rha_ha_scenario_build`. NULL does
/// nothing.
///
/// # Safety
///
/// `builder` is NULL or a live builder, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_free(builder: *mut rha_ha_scenario_builder) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `_builder_new` and not used again, by contract.
        unsafe { crate::handle::free(builder) }
    })
}

fn config_of(b: rha_ha_scenario_builder) -> Result<ScenarioConfig, rha_error> {
    let missing = |what: &str| {
        rha_error::new(
            rha_result::RHA_HA_INVALID_CONFIG,
            format!("invalid configuration: the {what} host is not set"),
        )
    };
    let master = b.master.ok_or_else(|| missing("master"))?;
    let replica = b.replica.ok_or_else(|| missing("replica"))?;
    let mut c = b.config.unwrap_or_else(|| {
        ScenarioConfig::new(
            b.name.clone(),
            b.scenario_type,
            master.clone(),
            replica.clone(),
        )
    });
    c.name = b.name;
    c.scenario_type = b.scenario_type;
    c.master = master;
    c.replica = replica;
    if !b.links.is_empty() {
        c.is_alive.links = b.links;
    }
    c.redirection = b.redirection;
    if let Some((interval, timeout, mode)) = b.is_alive {
        c.is_alive.heartbeat_interval = interval;
        c.is_alive.timeout = timeout;
        c.is_alive.mode = mode;
    }
    Ok(c)
}

/// Makes a stopped scenario from `builder`, which this call consumes
/// (freed whether or not it succeeds).
///
/// On success stores a new scenario in `*scenario_out`, owned by the caller
/// (release with `rha_ha_scenario_free`). Errors: `RHA_NULL_PARAMETER` if
/// `builder` or `scenario_out` is NULL; `RHA_HA_INVALID_CONFIG` if a host is
/// missing or the configuration breaks a rule (the message names the field
/// or redirection step and the rule, for example "redirection step 1:
/// switch computer name is not allowed for Exchange scenarios").
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread;
/// `scenario_out` is NULL or valid for writing an `rha_ha_scenario *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_build(
    builder: *mut rha_ha_scenario_builder,
    scenario_out: *mut *mut rha_ha_scenario,
    error_out: *mut *mut rha_error,
) -> rha_result {
    // `builder` is checked in the body: it is consumed even when
    // `scenario_out` is NULL.
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: `builder` is NULL or made by `_builder_new` and not used
        // again; `scenario_out` is NULL or writable; by contract.
        unsafe {
            crate::handle::build(builder, scenario_out, "scenario_out", |b| {
                Ok(rha_ha_scenario::new(Scenario::new(config_of(b)?)?))
            })
        }
    })
}

/// Releases a scenario and every view it handed out. NULL does nothing.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_free(scenario: *mut rha_ha_scenario) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `_build`/`_restore`, not used again, by contract.
        unsafe { crate::handle::free(scenario) }
    })
}

/// Applies an operator command at `now_ns` (the caller's monotonic clock,
/// nanoseconds). Poll actions and events afterwards.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown kind
/// or bad text; `RHA_HA_REFUSED` when the command is not valid in the
/// current state and `RHA_HA_CONFIRMATION_REQUIRED` when a destructive
/// command lacks `confirm` — the message names the state and the reason,
/// and the scenario is unchanged.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread; `command`
/// is NULL or points to a command whose `text` view is valid during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_command(
    scenario: *mut rha_ha_scenario,
    command: *const rha_ha_command,
    now_ns: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario, command), {
        // SAFETY: non-NULL (checked by ffi_fn!); its view is valid by contract.
        let cmd = unsafe { (*command).command()? };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        s.scenario
            .handle_command(cmd, Instant::from_nanos(now_ns))?;
        Ok(rha_result::RHA_OK)
    })
}

/// Replaces the configuration (JSON, as for
/// `rha_ha_scenario_builder_set_config_json`). Refused with
/// `RHA_HA_REFUSED` while the configuration is locked (switched over,
/// failed over, transitional states) and with `RHA_HA_INVALID_CONFIG` if it
/// does not validate; the scenario is then unchanged.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread; `json` is
/// valid for reading `json_len` bytes (or NULL with 0); `error_out` is NULL
/// or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_update_config_json(
    scenario: *mut rha_ha_scenario,
    json: *const u8,
    json_len: usize,
    now_ns: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario), {
        // SAFETY: valid by this function's contract.
        let bytes = unsafe {
            rha_bytes {
                ptr: json,
                len: json_len,
            }
            .as_slice("json")?
        };
        let c: ScenarioConfig = serde_json::from_slice(bytes).map_err(|e| {
            rha_error::new(
                rha_result::RHA_HA_INVALID_CONFIG,
                format!("configuration: {e}"),
            )
        })?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        let cmd = rha_core::ha::Command::UpdateConfig(Box::new(c));
        s.scenario
            .handle_command(cmd, Instant::from_nanos(now_ns))?;
        Ok(rha_result::RHA_OK)
    })
}

/// Applies a fact (an action's outcome, a heartbeat, ...) at `now_ns`.
/// Observations are never refused: one that does not apply is ignored with
/// an event.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// kind.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread;
/// `observation` is NULL or points to an observation whose `text` view is
/// valid during the call; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_observe(
    scenario: *mut rha_ha_scenario,
    observation: *const rha_ha_observation,
    now_ns: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario, observation), {
        // SAFETY: non-NULL (checked by ffi_fn!); its view is valid by contract.
        let obs = unsafe { (*observation).observation()? };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        s.scenario
            .handle_observation(obs, Instant::from_nanos(now_ns));
        Ok(rha_result::RHA_OK)
    })
}

/// Lets time pass to `now_ns`: runs due heartbeat rounds and the failure
/// detection. Call when the instant from `rha_ha_scenario_poll_timeout` is
/// reached (earlier or more often is harmless).
///
/// Errors: `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_handle_timeout(
    scenario: *mut rha_ha_scenario,
    now_ns: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        unsafe { scenario_mut(scenario) }
            .scenario
            .handle_timeout(Instant::from_nanos(now_ns));
        Ok(rha_result::RHA_OK)
    })
}

/// When `rha_ha_scenario_handle_timeout` must be called next: returns true
/// and stores the instant (nanoseconds) in `*deadline_ns_out`, or returns
/// false (no timer runs; or a NULL argument) leaving it untouched. Ask again
/// after every call that feeds the scenario.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread;
/// `deadline_ns_out` is NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_poll_timeout(
    scenario: *const rha_ha_scenario,
    deadline_ns_out: *mut u64,
) -> bool {
    ffi_fn!(default(false), non_null(scenario, deadline_ns_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        match unsafe { &*scenario }.scenario.poll_timeout() {
            Some(t) => {
                // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
                unsafe { deadline_ns_out.write(t.as_nanos()) };
                true
            }
            None => false,
        }
    })
}

/// Takes the next action: `RHA_OK` with `*action_out` filled, or `RHA_DONE`
/// when there is none (`*action_out` untouched). Call after every call that
/// feeds the scenario until `RHA_DONE`. The views in `*action_out` belong
/// to the scenario and stay valid until the next `rha_ha_scenario_poll_action`
/// on it or its free.
///
/// Errors: `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread;
/// `action_out` is NULL or valid for writing an `rha_ha_action`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_poll_action(
    scenario: *mut rha_ha_scenario,
    action_out: *mut rha_ha_action,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario, action_out), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        let Some(action) = s.scenario.poll_action() else {
            return Ok(rha_result::RHA_DONE);
        };
        let (mut flat, text, json) = flatten(&action);
        s.action_text = text;
        s.action_json = json;
        flat.text = rha_bytes::borrow(s.action_text.as_bytes());
        flat.json = rha_bytes::borrow(&s.action_json);
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { action_out.write(flat) };
        Ok(rha_result::RHA_OK)
    })
}

/// Takes the next event: `RHA_OK` with `*event_out` filled, or `RHA_DONE`
/// when there is none. Its `json` view stays valid until the next
/// `rha_ha_scenario_poll_event` on the scenario or its free. Events
/// accumulate until polled.
///
/// Errors: `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread;
/// `event_out` is NULL or valid for writing an `rha_ha_event`; `error_out`
/// is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_poll_event(
    scenario: *mut rha_ha_scenario,
    event_out: *mut rha_ha_event,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario, event_out), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        let Some(event) = s.scenario.poll_event() else {
            return Ok(rha_result::RHA_DONE);
        };
        let (mut flat, json) = flatten_event(&event);
        s.event_json = json;
        flat.json = rha_bytes::borrow(&s.event_json);
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { event_out.write(flat) };
        Ok(rha_result::RHA_OK)
    })
}

/// Fills `*status_out` with the scenario's state, active host and flags.
///
/// Errors: `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario; `status_out` is NULL or valid for
/// writing an `rha_ha_status`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_status(
    scenario: *const rha_ha_scenario,
    status_out: *mut rha_ha_status,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario, status_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let s = &unsafe { &*scenario }.scenario;
        let status = rha_ha_status {
            state: rha_ha_state::from(s.state()) as u32,
            active: super::types::rha_ha_side::from(s.active()) as u32,
            busy: s.busy(),
            replica_current: s.replica_current(),
            config_locked: s.state().config_locked() || s.busy(),
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { status_out.write(status) };
        Ok(rha_result::RHA_OK)
    })
}

/// Saves the whole machine state (versioned JSON, including queued actions
/// and events) and stores a view of it in `*state_out`: owned by the
/// scenario, valid until the next `rha_ha_scenario_save` on it or its free.
/// Pass the bytes to `rha_ha_scenario_restore` after an agent restart.
///
/// Errors: `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread;
/// `state_out` is NULL or valid for writing an `rha_bytes`; `error_out` is
/// NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_save(
    scenario: *mut rha_ha_scenario,
    state_out: *mut rha_bytes,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario, state_out), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        s.saved = s.scenario.save();
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { state_out.write(rha_bytes::borrow(&s.saved)) };
        Ok(rha_result::RHA_OK)
    })
}

/// Makes a scenario from bytes saved by `rha_ha_scenario_save` (this
/// version or an older one); `state` is read during the call only. On
/// success stores a new scenario in `*scenario_out` (release with
/// `rha_ha_scenario_free`).
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_HA_STATE_CORRUPT` if the bytes do not
/// parse or contradict themselves (the message gives line and column or the
/// contradiction); `RHA_HA_STATE_UNSUPPORTED_VERSION` if a newer version
/// wrote them.
///
/// # Safety
///
/// `state` is valid for reading `state_len` bytes (or NULL with 0);
/// `scenario_out` is NULL or valid for writing an `rha_ha_scenario *`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_restore(
    state: *const u8,
    state_len: usize,
    scenario_out: *mut *mut rha_ha_scenario,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario_out), {
        // SAFETY: valid by this function's contract.
        let bytes = unsafe {
            rha_bytes {
                ptr: state,
                len: state_len,
            }
            .as_slice("state")?
        };
        let scenario = Scenario::restore(bytes)?;
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { scenario_out.write(crate::handle::new(rha_ha_scenario::new(scenario))) };
        Ok(rha_result::RHA_OK)
    })
}

/// The name of an `rha_ha_state` value, such as `"switched over"`: a static
/// NUL-terminated string (never NULL, never freed); `"unknown"` for a value
/// this version does not know. Thread-safe.
#[no_mangle]
pub extern "C" fn rha_ha_state_name(state: u32) -> *const c_char {
    ffi_fn!(default(c"unknown".as_ptr()), non_null(), {
        State::ALL
            .get(state as usize)
            .map(|s| state_name_c(*s))
            .unwrap_or(c"unknown")
            .as_ptr()
    })
}

fn state_name_c(s: State) -> &'static std::ffi::CStr {
    match s {
        State::Stopped => c"stopped",
        State::Verifying => c"verifying",
        State::Synchronising => c"synchronising",
        State::Replicating => c"replicating",
        State::Paused => c"paused",
        State::IntegrityTesting => c"integrity testing",
        State::TestFailover => c"test failover",
        State::SwitchingOver => c"switching over",
        State::SwitchedOver => c"switched over",
        State::ReverseReplicating => c"reverse replicating",
        State::SwitchingBack => c"switching back",
        State::FailedOver => c"failed over",
        State::SyncingBack => c"syncing back",
        State::FailingBack => c"failing back",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_values_match_the_core_order_and_names() {
        for (i, s) in State::ALL.iter().enumerate() {
            assert_eq!(rha_ha_state::from(*s) as usize, i);
            assert_eq!(state_name_c(*s).to_str().ok(), Some(s.name()));
        }
    }

    #[test]
    fn errors_map_to_ha_codes() {
        let e = CommandError::ConfirmationRequired {
            command: "failover",
            state: State::Replicating,
            what: "x",
        };
        assert_eq!(
            rha_error::from(e).code(),
            rha_result::RHA_HA_CONFIRMATION_REQUIRED
        );
        let e = RestoreError::UnsupportedVersion {
            found: 9,
            supported: 1,
        };
        assert_eq!(
            rha_error::from(e).code(),
            rha_result::RHA_HA_STATE_UNSUPPORTED_VERSION
        );
        let e = RestoreError::Inconsistent("x".into());
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_HA_STATE_CORRUPT);
    }
}
