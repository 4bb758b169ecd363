//! How the scenario machine's errors become result codes (7xx).

use rha_core::ha::{CommandError, ConfigError, RestoreError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use rha_core::ha::State;

    #[test]
    fn errors_map_to_ha_codes() {
        let e = CommandError::ConfirmationRequired {
            command: "failover",
            state: State::Replicating,
            what: "x",
            word: "FAILOVER",
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
