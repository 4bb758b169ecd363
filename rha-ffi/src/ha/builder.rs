//! `rha_ha_scenario_builder`: a scenario's settings, consumed by
//! `rha_ha_scenario_build`.

use std::net::IpAddr;
use std::ptr;
use std::time::Duration;

use rha_core::ha::{
    Host, Link, RedirectStep, Scenario, ScenarioConfig, ScenarioType, SwitchoverMode,
};

use super::scenario::rha_ha_scenario;
use super::types::{check_method, json_arg, rha_ha_side, scenario_type, utf8_field};
use crate::error::{rha_error, rha_result};

/// Settings for a scenario, consumed by `rha_ha_scenario_build`.
///
/// Starts as a file-server scenario named "scenario" with the default
/// settings (heartbeat every 30 s, is-alive timeout 300 s, manual
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

/// # Safety
///
/// `ptr` is NULL with `len` 0, or valid for reading `len` bytes.
unsafe fn text_arg(ptr: *const u8, len: usize, field: &str) -> Result<String, rha_error> {
    // SAFETY: forwarded from this function's contract.
    let bytes = unsafe { crate::buffer::arg_slice(ptr, len, field)? };
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

/// Sets the host of one side, `side` an `rha_ha_side` value
/// (`RHA_HA_MASTER` or `RHA_HA_REPLICA`): its computer name and its address
/// as text (`"10.0.0.1"`, `"fd00::1"`) with the prefix length of its network
/// segment. Both strings are UTF-8, read during the call.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `side` is not an
/// `rha_ha_side` value, the address does not parse or a string is not UTF-8.
///
/// # Safety
///
/// `builder` is NULL or a live builder used by no other thread; `name` and
/// `address` are valid for reading their lengths (or NULL with 0);
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_builder_set_side_host(
    builder: *mut rha_ha_scenario_builder,
    side: u32,
    name: *const u8,
    name_len: usize,
    address: *const u8,
    address_len: usize,
    prefix_len: u8,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        let side = rha_ha_side::from_raw(side).ok_or_else(|| {
            rha_error::invalid_argument(format!("unknown rha_ha_side value {side}"))
        })?;
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
        match side {
            rha_ha_side::RHA_HA_MASTER => b.master = Some(host),
            rha_ha_side::RHA_HA_REPLICA => b.replica = Some(host),
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

/// Appends a redirection step given as a JSON object (UTF-8) whose
/// `method` is one of: `move_ip` (`address`, `prefix_len`,
/// `master_interface`, `replica_interface`); `switch_name`
/// (`master_name`, `replica_name`, `suffix`); `dns_redirect` (`server` as
/// `"host:port"`, `zone`, `name`, `ttl` in seconds, `master_address`,
/// `replica_address`); `alias_switch` with `kind` `dns` (`server`, `zone`,
/// `alias`, `ttl`, `master_target`, `replica_target`) or `net_bios`
/// (`alias`, `master_name`, `replica_name`); `script` (`path`, `args` an
/// array of strings, `timeout` as `{"secs":N,"nanos":N}`). For example
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
        let step: RedirectStep = unsafe { json_arg(json, json_len, "redirection step")? };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        unsafe { builder_mut(builder) }.redirection.push(step);
        Ok(rha_result::RHA_OK)
    })
}

/// Replaces every setting with a whole configuration given as JSON (UTF-8):
/// the `config` object of the state `rha_ha_scenario_save` writes.
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
        let c: ScenarioConfig = unsafe { json_arg(json, json_len, "configuration")? };
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
    ffi_fn!(fallible(error_out), non_null(), handle_out(scenario_out), {
        // SAFETY: `builder` is NULL or made by `_builder_new` and not used
        // again; `scenario_out` is NULL or writable; by contract.
        unsafe {
            crate::handle::build(builder, scenario_out, "scenario_out", |b| {
                Ok(rha_ha_scenario::new(Scenario::new(config_of(b)?)?))
            })
        }
    })
}
