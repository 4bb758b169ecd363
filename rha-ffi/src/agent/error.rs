//! How the agents', identities' and transport's errors become result codes
//! (900s), or the older families where the cause is theirs (the spool's
//! 500s, the replica's 600s, `RHA_IO`).

use rha_capture::agent::AgentError;
use rha_capture::transport::{FingerprintParseError, IdentityError, TransportError};

use crate::error::{os_code_of, rha_error, rha_result};

impl From<AgentError> for rha_error {
    fn from(e: AgentError) -> Self {
        let os = os_code_of(&e);
        let message = e.to_string();
        let out = match e {
            // The state directory's lock: another agent runs on it.
            AgentError::Io { source, .. } if source.kind() == std::io::ErrorKind::WouldBlock => {
                rha_error::new(rha_result::RHA_SPOOL_LOCKED, message)
            }
            AgentError::Io { .. } => rha_error::new(rha_result::RHA_IO, message),
            AgentError::State { .. } => {
                rha_error::new(rha_result::RHA_AGENT_STATE_CORRUPT, message)
            }
            AgentError::OtherScenario { .. } => {
                rha_error::new(rha_result::RHA_AGENT_OTHER_SCENARIO, message)
            }
            AgentError::Spool { source, .. } => {
                // The spool's code (locked, corrupt, ...), the agent's message
                // (which names the directory).
                let code = rha_error::from(source).code();
                rha_error::new(code, message)
            }
            AgentError::Apply(a) => {
                let code = rha_error::from(a).code();
                rha_error::new(code, message)
            }
            // SpoolFailed, Panicked, and any kind added later.
            _ => rha_error::new(rha_result::RHA_AGENT_FAILED, message),
        };
        out.with_os_code(os)
    }
}

impl From<IdentityError> for rha_error {
    fn from(e: IdentityError) -> Self {
        let os = os_code_of(&e);
        let code = match e {
            IdentityError::Missing { .. } => rha_result::RHA_IDENTITY_MISSING,
            IdentityError::Exists { .. } => rha_result::RHA_IDENTITY_EXISTS,
            IdentityError::Read { .. } | IdentityError::Write { .. } => rha_result::RHA_IO,
            // BadPem, KeyMismatch, Generate, and any kind added later.
            _ => rha_result::RHA_IDENTITY_INVALID,
        };
        rha_error::new(code, e.to_string()).with_os_code(os)
    }
}

impl From<FingerprintParseError> for rha_error {
    fn from(e: FingerprintParseError) -> Self {
        rha_error::new(rha_result::RHA_TRANSPORT_BAD_FINGERPRINT, e.to_string())
    }
}

impl From<TransportError> for rha_error {
    fn from(e: TransportError) -> Self {
        let os = os_code_of(&e);
        // The one transport call made synchronously is listening.
        rha_error::new(rha_result::RHA_TRANSPORT_LISTEN, e.to_string()).with_os_code(os)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn errors_map_to_their_families() {
        let state = AgentError::State {
            path: PathBuf::from("/s/state.json"),
            why: "bad".into(),
        };
        assert_eq!(
            rha_error::from(state).code(),
            rha_result::RHA_AGENT_STATE_CORRUPT
        );
        let other = AgentError::OtherScenario {
            path: PathBuf::from("/s"),
            found: "a".into(),
            wanted: "b".into(),
        };
        let e = rha_error::from(other);
        assert_eq!(e.code(), rha_result::RHA_AGENT_OTHER_SCENARIO);
        assert!(e.message().contains("serves scenario a"), "{}", e.message());
        assert_eq!(
            rha_error::from(AgentError::Panicked("x")).code(),
            rha_result::RHA_AGENT_FAILED
        );
        let missing = IdentityError::Missing {
            path: PathBuf::from("/id/key.pem"),
        };
        assert_eq!(
            rha_error::from(missing).code(),
            rha_result::RHA_IDENTITY_MISSING
        );
        let exists = IdentityError::Exists {
            path: PathBuf::from("/id/key.pem"),
        };
        assert_eq!(
            rha_error::from(exists).code(),
            rha_result::RHA_IDENTITY_EXISTS
        );
        let bad = "sha1:00"
            .parse::<rha_capture::transport::Fingerprint>()
            .expect_err("not a fingerprint");
        assert_eq!(
            rha_error::from(bad).code(),
            rha_result::RHA_TRANSPORT_BAD_FINGERPRINT
        );
    }
}
