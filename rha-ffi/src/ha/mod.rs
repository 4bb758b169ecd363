//! The HA scenario state machine (`rha_ha_scenario`) from C.
//!
//! The machine is sans-IO: the caller feeds commands
//! (`rha_ha_scenario_command`), observations (`rha_ha_scenario_observe`)
//! and time (`rha_ha_scenario_handle_timeout`), then polls actions, events
//! and the next deadline. Actions and events come out as flat structs with
//! borrowed views (text and the full JSON) that stay valid until the next
//! poll of the same kind.

pub(crate) mod builder;
mod error;
pub(crate) mod output;
pub(crate) mod scenario;
pub(crate) mod types;
