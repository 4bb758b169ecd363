//! The actions and events a scenario hands out, flattened into C structs
//! with borrowed views (`rha_ha_scenario_poll_action`,
//! `rha_ha_scenario_poll_event`).

use rha_core::ha::{Action, ActionKind, Artefact, CheckMethod, Direction, Event, Flow, SyncKind};

use super::types::{rha_ha_side, rha_ha_state};
use crate::buffer::rha_bytes;

/// What an action asks for (`rha_ha_action.kind`). Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_action_kind {
    /// Verify the scenario.
    RHA_HA_ACT_VERIFY = 1,
    /// Begin a sync: `sync_kind` (0 file, 1 block, 2 volume), `reverse`.
    RHA_HA_ACT_BEGIN_SYNC = 2,
    /// Stop replication.
    RHA_HA_ACT_STOP_REPLICATION = 3,
    /// Resume replication.
    RHA_HA_ACT_RESUME_REPLICATION = 4,
    /// Spool instead of sending.
    RHA_HA_ACT_START_SPOOLING = 5,
    /// Send the spool and go on.
    RHA_HA_ACT_DRAIN_SPOOL = 6,
    /// Drop the spool.
    RHA_HA_ACT_CLEAR_SPOOL = 7,
    /// Hold application on the replica.
    RHA_HA_ACT_HOLD_APPLICATION = 8,
    /// Apply the spool and go on applying.
    RHA_HA_ACT_RELEASE_APPLICATION = 9,
    /// Discard the integrity test's changes.
    RHA_HA_ACT_DISCARD_TEST_CHANGES = 10,
    /// Start services on `host` (`flag`: for a test).
    RHA_HA_ACT_START_SERVICES = 11,
    /// Stop services on `host` (`flag`: fence, confirm it is down).
    RHA_HA_ACT_STOP_SERVICES = 12,
    /// Check `host` over Is Alive link `link`; report a heartbeat.
    RHA_HA_ACT_CHECK_ALIVE = 13,
    /// Do (`flag` false) or undo (`flag` true) redirection step `step`;
    /// the parameters are in `json`. For a two-sided step (move IP, switch
    /// name, NetBIOS alias) each half is its own action, performed by the
    /// host `host` (`json` field `half`); a one-sided step's action has no
    /// `half` in `json` (and `host` 0): whichever host runs it does it all.
    RHA_HA_ACT_REDIRECT = 14,
    /// Set the bookmark named `text`.
    RHA_HA_ACT_SET_BOOKMARK = 15,
    /// Present a test copy to the host named `text`.
    RHA_HA_ACT_PRESENT_TEST_COPY = 16,
    /// Serve from the replica's copy with a write overlay.
    RHA_HA_ACT_MOUNT_OVERLAY = 17,
    /// Ship DR-side changes back as image `number`.
    RHA_HA_ACT_BEGIN_SYNC_BACK = 18,
    /// Restore the original site from image `number`.
    RHA_HA_ACT_RESTORE_FROM_IMAGE = 19,
    /// Remove an artefact (described in `json`; idempotent).
    RHA_HA_ACT_REMOVE_ARTEFACT = 20,
    /// Give the replica's virtual machine the address `text` with prefix
    /// length `number` (gateway in `json`) before it starts.
    RHA_HA_ACT_READDRESS_VM = 21,
    /// Give the replica's virtual machine back the address
    /// `RHA_HA_ACT_READDRESS_VM` replaced (switchback or rollback).
    RHA_HA_ACT_REVERT_VM_ADDRESS = 22,
}

/// An action handed out by `rha_ha_scenario_poll_action`: the common
/// parameters flattened, and every parameter in `json` (the whole action
/// as one JSON object).
///
/// `text` and `json` are borrowed from the scenario: valid until the next
/// `rha_ha_scenario_poll_action` on the same scenario or its free.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_ha_action {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// The id to report with `RHA_HA_OBS_ACTION_COMPLETED` / `_FAILED`.
    pub id: u64,
    /// An `rha_ha_action_kind` value.
    pub kind: u32,
    /// Whether the scenario waits for a report on this action.
    pub awaits_report: bool,
    /// The host, an `rha_ha_side` value (start/stop services, check alive).
    pub host: u32,
    /// Kind-specific flag: test (start services), fence (stop services),
    /// undo (redirect), reverse (begin sync).
    pub flag: bool,
    /// Redirection step index, Is Alive link, image number or sync kind.
    pub number: u64,
    /// Host or bookmark name (UTF-8), empty if none.
    pub text: rha_bytes,
    /// The whole action as JSON.
    pub json: rha_bytes,
}

impl Default for rha_ha_action {
    fn default() -> Self {
        Self {
            struct_size: 0,
            id: 0,
            kind: 0,
            awaits_report: false,
            host: 0,
            flag: false,
            number: 0,
            text: rha_bytes::EMPTY,
            json: rha_bytes::EMPTY,
        }
    }
}

sized_struct!(rha_ha_action, rha_ha_event);

fn sync_number(k: SyncKind) -> u64 {
    match k {
        SyncKind::File => 0,
        SyncKind::Block => 1,
        SyncKind::Volume => 2,
    }
}

/// The flat fields of `a`, its text (owned), and its JSON.
pub(crate) fn flatten(a: &Action) -> (rha_ha_action, String, Vec<u8>) {
    use rha_ha_action_kind::*;
    let mut out = rha_ha_action {
        id: a.id,
        awaits_report: a.awaits_report,
        ..Default::default()
    };
    let mut text = String::new();
    let (kind, host, flag, number) = match &a.kind {
        ActionKind::Verify => (RHA_HA_ACT_VERIFY, None, false, 0),
        ActionKind::BeginSync { kind, flow } => (
            RHA_HA_ACT_BEGIN_SYNC,
            None,
            *flow == Flow::Reverse,
            sync_number(*kind),
        ),
        ActionKind::StopReplication => (RHA_HA_ACT_STOP_REPLICATION, None, false, 0),
        ActionKind::ResumeReplication => (RHA_HA_ACT_RESUME_REPLICATION, None, false, 0),
        ActionKind::StartSpooling => (RHA_HA_ACT_START_SPOOLING, None, false, 0),
        ActionKind::DrainSpool => (RHA_HA_ACT_DRAIN_SPOOL, None, false, 0),
        ActionKind::ClearSpool => (RHA_HA_ACT_CLEAR_SPOOL, None, false, 0),
        ActionKind::HoldApplication => (RHA_HA_ACT_HOLD_APPLICATION, None, false, 0),
        ActionKind::ReleaseApplication => (RHA_HA_ACT_RELEASE_APPLICATION, None, false, 0),
        ActionKind::DiscardTestChanges => (RHA_HA_ACT_DISCARD_TEST_CHANGES, None, false, 0),
        ActionKind::StartServices { host, test } => {
            (RHA_HA_ACT_START_SERVICES, Some(*host), *test, 0)
        }
        ActionKind::StopServices { host, fence } => {
            (RHA_HA_ACT_STOP_SERVICES, Some(*host), *fence, 0)
        }
        ActionKind::CheckAlive { link, host, method } => {
            if let CheckMethod::UserDefined { command } = method {
                text = command.clone();
            }
            (RHA_HA_ACT_CHECK_ALIVE, Some(*host), false, *link as u64)
        }
        ActionKind::Redirect {
            step,
            direction,
            half,
            ..
        } => (
            RHA_HA_ACT_REDIRECT,
            *half,
            *direction == Direction::Undo,
            *step as u64,
        ),
        ActionKind::SetBookmark { name } => {
            text = name.clone();
            (RHA_HA_ACT_SET_BOOKMARK, None, false, 0)
        }
        ActionKind::PresentTestCopy { host } => {
            text = host.clone();
            (RHA_HA_ACT_PRESENT_TEST_COPY, None, false, 0)
        }
        ActionKind::MountOverlay => (RHA_HA_ACT_MOUNT_OVERLAY, None, false, 0),
        ActionKind::BeginSyncBack { image } => {
            (RHA_HA_ACT_BEGIN_SYNC_BACK, None, false, u64::from(*image))
        }
        ActionKind::RestoreFromImage { image } => (
            RHA_HA_ACT_RESTORE_FROM_IMAGE,
            None,
            false,
            u64::from(*image),
        ),
        ActionKind::RemoveArtefact(artefact) => {
            let number = match artefact {
                Artefact::SyncBackImage { image } => u64::from(*image),
                Artefact::TestCopy { host } => {
                    text = host.clone();
                    0
                }
                Artefact::Overlay => 0,
            };
            (RHA_HA_ACT_REMOVE_ARTEFACT, None, false, number)
        }
        ActionKind::ReaddressVm(vm) => {
            text = vm.address.to_string();
            (
                RHA_HA_ACT_READDRESS_VM,
                None,
                false,
                u64::from(vm.prefix_len),
            )
        }
        ActionKind::RevertVmAddress => (RHA_HA_ACT_REVERT_VM_ADDRESS, None, false, 0),
        // A kind added later without a C value: the JSON still carries it.
        _ => (RHA_HA_ACT_VERIFY, None, false, 0),
    };
    out.kind = kind as u32;
    out.host = host.map(|h| rha_ha_side::from(h) as u32).unwrap_or(0);
    out.flag = flag;
    out.number = number;
    let json = serde_json::to_vec(a).unwrap_or_default();
    (out, text, json)
}

/// An event kind (`rha_ha_event.kind`). Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_event_kind {
    /// The state changed from `from` to `to`.
    RHA_HA_EV_STATE_CHANGED = 1,
    /// Every Is Alive link has been silent for the timeout.
    RHA_HA_EV_ACTIVE_UNRESPONSIVE = 2,
    /// A link has been silent for two heartbeat intervals.
    RHA_HA_EV_LINK_SILENT = 3,
    /// The active host answered again.
    RHA_HA_EV_ACTIVE_RECOVERED = 4,
    /// A switchover began.
    RHA_HA_EV_SWITCHOVER_STARTED = 5,
    /// An operation's step failed.
    RHA_HA_EV_STEP_FAILED = 6,
    /// An undo failed during a rollback: needs an operator.
    RHA_HA_EV_UNDO_FAILED = 7,
    /// An operation finished.
    RHA_HA_EV_OPERATION_FINISHED = 8,
    /// Verification failed.
    RHA_HA_EV_VERIFICATION_FAILED = 9,
    /// A synchronisation failed.
    RHA_HA_EV_SYNC_FAILED = 10,
    /// The spool or disk is full.
    RHA_HA_EV_SPOOL_FULL = 11,
    /// The replication link went down.
    RHA_HA_EV_REPLICA_DISCONNECTED = 12,
    /// The replication link is back.
    RHA_HA_EV_REPLICA_RECONNECTED = 13,
    /// A sync-back image is ready.
    RHA_HA_EV_SYNC_BACK_IMAGE_READY = 14,
    /// Failback finished (leftovers in `json`).
    RHA_HA_EV_FAILBACK_COMPLETED = 15,
    /// A cleanup finished (leftovers in `json`).
    RHA_HA_EV_CLEANUP_COMPLETED = 16,
    /// A report named an action nobody waited for.
    RHA_HA_EV_UNEXPECTED_REPORT = 17,
    /// A heartbeat named an unknown link.
    RHA_HA_EV_UNKNOWN_LINK = 18,
    /// An awaited step timed out and was issued again; `number` is the
    /// re-issue (1, 2, ...); the step is named in `json`.
    RHA_HA_EV_STEP_RETRIED = 19,
    /// An awaited step timed out on every attempt and counts as failed;
    /// `number` is the attempts; the step is named in `json`.
    RHA_HA_EV_STEP_TIMED_OUT = 20,
    /// The operator abandoned the awaited step (named in `json`).
    RHA_HA_EV_STEP_ABANDONED = 21,
    /// A restored scenario was given the time: its timers restarted;
    /// `flag`: the awaited step was re-issued (named in `json`).
    RHA_HA_EV_RESTARTED = 22,
    /// An event of a later version; see `json`.
    RHA_HA_EV_OTHER = 99,
}

/// An event handed out by `rha_ha_scenario_poll_event`.
///
/// `json` is borrowed from the scenario: valid until the next
/// `rha_ha_scenario_poll_event` on the same scenario or its free.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_ha_event {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_ha_event_kind` value.
    pub kind: u32,
    /// For a state change: the old state (`rha_ha_state`).
    pub from: u32,
    /// For a state change: the new state (`rha_ha_state`).
    pub to: u32,
    /// Kind-specific: automatic (unresponsive, switchover started), ok
    /// (operation finished), scenario stopped (spool full).
    pub flag: bool,
    /// Kind-specific: link, image or action id.
    pub number: u64,
    /// The whole event as JSON.
    pub json: rha_bytes,
}

impl Default for rha_ha_event {
    fn default() -> Self {
        Self {
            struct_size: 0,
            kind: 0,
            from: 0,
            to: 0,
            flag: false,
            number: 0,
            json: rha_bytes::EMPTY,
        }
    }
}

/// The flat fields of `e` and its JSON.
pub(crate) fn flatten_event(e: &Event) -> (rha_ha_event, Vec<u8>) {
    use rha_ha_event_kind::*;
    let mut out = rha_ha_event::default();
    let (kind, flag, number) = match e {
        Event::StateChanged { from, to, .. } => {
            out.from = rha_ha_state::from(*from) as u32;
            out.to = rha_ha_state::from(*to) as u32;
            (RHA_HA_EV_STATE_CHANGED, false, 0)
        }
        Event::ActiveUnresponsive { automatic, .. } => {
            (RHA_HA_EV_ACTIVE_UNRESPONSIVE, *automatic, 0)
        }
        Event::LinkSilent { link } => (RHA_HA_EV_LINK_SILENT, false, *link as u64),
        Event::ActiveRecovered => (RHA_HA_EV_ACTIVE_RECOVERED, false, 0),
        Event::SwitchoverStarted { automatic } => (RHA_HA_EV_SWITCHOVER_STARTED, *automatic, 0),
        Event::StepFailed { .. } => (RHA_HA_EV_STEP_FAILED, false, 0),
        Event::UndoFailed { .. } => (RHA_HA_EV_UNDO_FAILED, false, 0),
        Event::OperationFinished { ok, .. } => (RHA_HA_EV_OPERATION_FINISHED, *ok, 0),
        Event::VerificationFailed { .. } => (RHA_HA_EV_VERIFICATION_FAILED, false, 0),
        Event::SyncFailed { .. } => (RHA_HA_EV_SYNC_FAILED, false, 0),
        Event::SpoolFull { scenario_stopped } => (RHA_HA_EV_SPOOL_FULL, *scenario_stopped, 0),
        Event::ReplicaDisconnected => (RHA_HA_EV_REPLICA_DISCONNECTED, false, 0),
        Event::ReplicaReconnected => (RHA_HA_EV_REPLICA_RECONNECTED, false, 0),
        Event::SyncBackImageReady { image } => {
            (RHA_HA_EV_SYNC_BACK_IMAGE_READY, false, u64::from(*image))
        }
        Event::FailbackCompleted { leftovers } => (
            RHA_HA_EV_FAILBACK_COMPLETED,
            leftovers.is_empty(),
            leftovers.len() as u64,
        ),
        Event::CleanupCompleted { leftovers } => (
            RHA_HA_EV_CLEANUP_COMPLETED,
            leftovers.is_empty(),
            leftovers.len() as u64,
        ),
        Event::UnexpectedReport { id } => (RHA_HA_EV_UNEXPECTED_REPORT, false, *id),
        Event::UnknownLink { link } => (RHA_HA_EV_UNKNOWN_LINK, false, *link as u64),
        Event::StepRetried { attempt, .. } => (RHA_HA_EV_STEP_RETRIED, false, u64::from(*attempt)),
        Event::StepTimedOut { attempts, .. } => {
            (RHA_HA_EV_STEP_TIMED_OUT, false, u64::from(*attempts))
        }
        Event::StepAbandoned { .. } => (RHA_HA_EV_STEP_ABANDONED, false, 0),
        Event::Restarted { reissued } => (RHA_HA_EV_RESTARTED, reissued.is_some(), 0),
        _ => (RHA_HA_EV_OTHER, false, 0),
    };
    out.kind = kind as u32;
    out.flag = flag;
    out.number = number;
    (out, serde_json::to_vec(e).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rha_core::ha::{RedirectStep, Side, State, Trigger, VmAddress};

    use super::*;

    #[test]
    fn every_action_kind_has_its_own_c_value() {
        let host = Side::Master;
        let kinds = vec![
            ActionKind::Verify,
            ActionKind::BeginSync {
                kind: SyncKind::Volume,
                flow: Flow::Reverse,
            },
            ActionKind::StopReplication,
            ActionKind::ResumeReplication,
            ActionKind::StartSpooling,
            ActionKind::DrainSpool,
            ActionKind::ClearSpool,
            ActionKind::HoldApplication,
            ActionKind::ReleaseApplication,
            ActionKind::DiscardTestChanges,
            ActionKind::StartServices { host, test: true },
            ActionKind::StopServices { host, fence: true },
            ActionKind::CheckAlive {
                link: 3,
                method: CheckMethod::DatabaseConnect,
                host,
            },
            ActionKind::Redirect {
                step: 4,
                direction: Direction::Undo,
                params: RedirectStep::SwitchName {
                    master_name: "a".into(),
                    replica_name: "b".into(),
                    suffix: "-RHA".into(),
                },
                env: vec![],
                half: Some(Side::Replica),
            },
            ActionKind::SetBookmark { name: "n".into() },
            ActionKind::PresentTestCopy { host: "qa".into() },
            ActionKind::MountOverlay,
            ActionKind::BeginSyncBack { image: 7 },
            ActionKind::RestoreFromImage { image: 7 },
            ActionKind::RemoveArtefact(Artefact::TestCopy { host: "qa".into() }),
            ActionKind::ReaddressVm(VmAddress {
                address: "10.1.1.1".parse().expect("literal"),
                prefix_len: 16,
                gateway: None,
            }),
            ActionKind::RevertVmAddress,
        ];
        let mut values = BTreeSet::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let (flat, text, json) = flatten(&Action {
                id: i as u64 + 1,
                kind,
                awaits_report: true,
            });
            assert!(values.insert(flat.kind), "kind {} used twice", flat.kind);
            assert_eq!(flat.id, i as u64 + 1);
            assert!(!json.is_empty());
            match flat.kind {
                13 => assert_eq!((flat.host, flat.number), (0, 3)),
                14 => assert!(flat.flag && flat.number == 4 && flat.host == 1),
                16 | 20 => assert_eq!(text, "qa"),
                21 => assert_eq!((text.as_str(), flat.number), ("10.1.1.1", 16)),
                _ => {}
            }
        }
        assert_eq!(values, (1..=22).collect());
    }

    #[test]
    fn events_flatten_with_their_states() {
        let e = Event::StateChanged {
            from: State::Replicating,
            to: State::SwitchingOver,
            trigger: Trigger::Switchover,
        };
        let (flat, json) = flatten_event(&e);
        assert_eq!((flat.kind, flat.from, flat.to), (1, 3, 7));
        assert!(String::from_utf8(json)
            .expect("JSON is UTF-8")
            .contains("\"switchover\""));
        let (flat, _) = flatten_event(&Event::SyncBackImageReady { image: 4 });
        assert_eq!((flat.kind, flat.number), (14, 4));
        let (flat, _) = flatten_event(&Event::StepTimedOut {
            operation: "switchover".into(),
            step: "x".into(),
            attempts: 2,
        });
        assert_eq!((flat.kind, flat.number), (20, 2));
        let (flat, json) = flatten_event(&Event::Restarted {
            reissued: Some("y".into()),
        });
        assert!(flat.kind == 22 && flat.flag && !json.is_empty());
    }
}
