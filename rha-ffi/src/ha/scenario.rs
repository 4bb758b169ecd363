//! `rha_ha_scenario`: the scenario state machine from C, fed commands,
//! observations and time, polled for actions, events and deadlines.

use std::ffi::c_char;

use rha_core::ha::{Instant, Scenario, ScenarioConfig, State};

use super::output::{flatten, flatten_event, rha_ha_action, rha_ha_event};
use super::types::{json_arg, rha_ha_command, rha_ha_observation, rha_ha_state};
use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

/// A scenario's lifecycle state machine, sans-IO: feed it
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
    /// Backing store of the last intent's views.
    intent_text: String,
    intent_json: Vec<u8>,
    /// Backing store of the last event's view.
    event_json: Vec<u8>,
    /// Backing store of the last save.
    saved: Vec<u8>,
}

impl rha_ha_scenario {
    pub(super) fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            action_text: String::new(),
            action_json: Vec::new(),
            intent_text: String::new(),
            intent_json: Vec::new(),
            event_json: Vec::new(),
            saved: Vec::new(),
        }
    }
}

/// A scenario's status, filled by `rha_ha_scenario_status`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rha_ha_status {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
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
    /// Whether the replication link to the replica is up (as last
    /// observed).
    pub replica_connected: bool,
    /// Whether the active host was declared dead while an operation or a
    /// test stood in the way; it is acted on when that ends.
    pub failure_pending: bool,
    /// Whether the scenario was restored and not yet given the time (call
    /// `rha_ha_scenario_handle_timeout` at once).
    pub awaiting_restart: bool,
}

// The first version was 16 bytes: 15 of fields and a byte of padding, where
// `replica_connected` now sits (a caller of that version gets it written
// into its padding, which it never reads).
sized_struct!(
    rha_ha_status,
    older: [std::mem::offset_of!(rha_ha_status, failure_pending)]
);

/// # Safety
///
/// `scenario` is non-NULL, live, and not used by another thread.
unsafe fn scenario_mut<'a>(scenario: *mut rha_ha_scenario) -> &'a mut rha_ha_scenario {
    // SAFETY: forwarded from this function's contract.
    unsafe { &mut *scenario }
}

/// Writes `action` flat to `*action_out` (`size` bytes of it), its `text`
/// and `json` views borrowing from `text` and `json`, which keep them.
///
/// # Safety
///
/// `action_out` is valid for writing `size` bytes.
unsafe fn hand_out(
    action: &rha_core::ha::Action,
    text: &mut String,
    json: &mut Vec<u8>,
    action_out: *mut rha_ha_action,
    size: usize,
) {
    let (mut flat, t, j) = flatten(action);
    (*text, *json) = (t, j);
    flat.text = rha_bytes::borrow(text.as_bytes());
    flat.json = rha_bytes::borrow(json);
    // SAFETY: forwarded from this function's contract.
    unsafe { crate::sized::write_sized(action_out, flat, size) };
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
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown kind or `struct_size`
/// or bad text; `RHA_HA_REFUSED` when the command is not valid in the
/// current state and `RHA_HA_CONFIRMATION_REQUIRED` when a destructive
/// command's `text` is not its confirmation word — the message names the
/// state, the reason and the word to type, and the scenario is unchanged.
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
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by contract.
        let command = unsafe { crate::sized::read_sized(command) }?;
        // SAFETY: its view is valid by contract.
        let cmd = unsafe { command.command()? };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        s.scenario
            .handle_command(cmd, Instant::from_nanos(now_ns))?;
        Ok(rha_result::RHA_OK)
    })
}

/// Replaces the configuration (JSON, as for
/// `rha_ha_scenario_builder_set_config_json`) at `now_ns`, the caller's
/// monotonic clock in nanoseconds (the clock of every `now_ns`: timers the
/// new configuration changes count from it). Refused with
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
        let c: ScenarioConfig = unsafe { json_arg(json, json_len, "configuration")? };
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
/// kind or `struct_size` (the scenario is then unchanged).
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
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by contract.
        let observation = unsafe { crate::sized::read_sized(observation) }?;
        // SAFETY: its view is valid by contract.
        let obs = unsafe { observation.observation()? };
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
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `action_out->struct_size` (no action is taken).
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
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by contract.
        let size = unsafe { crate::sized::declared_size(action_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        let Some(action) = s.scenario.poll_action() else {
            return Ok(rha_result::RHA_DONE);
        };
        let (text, json) = (&mut s.action_text, &mut s.action_json);
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { hand_out(&action, text, json, action_out, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// The action the operation in progress waits for (its intent): `RHA_OK`
/// with `*action_out` filled (the same id as when it was handed out; after a
/// restore it is handed out again), or `RHA_DONE` when nothing is awaited.
/// Nothing is taken from the action queue. Its `text` and `json` views stay
/// valid until the next `rha_ha_scenario_intent` on the scenario or its
/// free. `RHA_HA_CMD_ABANDON_STEP` gives the step up.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `action_out->struct_size`.
///
/// # Safety
///
/// `scenario` is NULL or a live scenario used by no other thread;
/// `action_out` is NULL or valid for writing an `rha_ha_action`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_ha_scenario_intent(
    scenario: *mut rha_ha_scenario,
    action_out: *mut rha_ha_action,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(scenario, action_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by contract.
        let size = unsafe { crate::sized::declared_size(action_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        let Some(intent) = s.scenario.intent() else {
            return Ok(rha_result::RHA_DONE);
        };
        let action = rha_core::ha::Action {
            id: intent.id,
            kind: intent.action,
            awaits_report: true,
        };
        let (text, json) = (&mut s.intent_text, &mut s.intent_json);
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { hand_out(&action, text, json, action_out, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Takes the next event: `RHA_OK` with `*event_out` filled, or `RHA_DONE`
/// when there is none. Its `json` view stays valid until the next
/// `rha_ha_scenario_poll_event` on the scenario or its free. Events
/// accumulate until polled.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `event_out->struct_size` (no event is taken).
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
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by contract.
        let size = unsafe { crate::sized::declared_size(event_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { scenario_mut(scenario) };
        let Some(event) = s.scenario.poll_event() else {
            return Ok(rha_result::RHA_DONE);
        };
        let (mut flat, json) = flatten_event(&event);
        s.event_json = json;
        flat.json = rha_bytes::borrow(&s.event_json);
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { crate::sized::write_sized(event_out, flat, size) };
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
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(status_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let s = &unsafe { &*scenario }.scenario;
        let status = rha_ha_status {
            struct_size: 0,
            state: rha_ha_state::from(s.state()) as u32,
            active: super::types::rha_ha_side::from(s.active()) as u32,
            busy: s.busy(),
            replica_current: s.replica_current(),
            config_locked: s.state().config_locked() || s.busy(),
            replica_connected: s.replica_connected(),
            failure_pending: s.failure_pending(),
            awaiting_restart: s.awaiting_restart(),
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { crate::sized::write_sized(status_out, status, size) };
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
    ffi_fn!(
        fallible(error_out),
        non_null(scenario_out),
        handle_out(scenario_out),
        {
            // SAFETY: valid by this function's contract.
            let bytes = unsafe { crate::buffer::arg_slice(state, state_len, "state")? };
            let scenario = Scenario::restore(bytes)?;
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
            unsafe { scenario_out.write(crate::handle::new(rha_ha_scenario::new(scenario))) };
            Ok(rha_result::RHA_OK)
        }
    )
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
}
