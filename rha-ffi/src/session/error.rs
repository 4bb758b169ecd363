//! How the session's refusals become result codes (8xx), and the one that
//! is a progress status instead.

use rha_core::session::SessionError;

use crate::error::{rha_error, rha_result};

/// The outcome of a request to the session: `RHA_OK`, `RHA_BLOCKED` when
/// the replica's window has no room for the frames (not a failure: the
/// master sends them after the next grant), or the error.
pub(crate) fn outcome(r: Result<(), SessionError>) -> Result<rha_result, rha_error> {
    match r {
        Ok(()) => Ok(rha_result::RHA_OK),
        Err(SessionError::Window { .. }) => Ok(rha_result::RHA_BLOCKED),
        Err(e) => Err(e.into()),
    }
}

impl From<SessionError> for rha_error {
    fn from(e: SessionError) -> Self {
        let code = match e {
            SessionError::NotConnected => rha_result::RHA_SESSION_NOT_CONNECTED,
            SessionError::WrongRole(_) => rha_result::RHA_SESSION_WRONG_ROLE,
            SessionError::OutOfOrder { .. } => rha_result::RHA_SESSION_OUT_OF_ORDER,
            SessionError::TooLarge { .. } => rha_result::RHA_SESSION_TOO_LARGE,
            SessionError::BadAck { .. } => rha_result::RHA_SESSION_BAD_ACK,
            SessionError::NoFrames => rha_result::RHA_INVALID_ARGUMENT,
            // `Window` is a status (`outcome`); here, and for any refusal a
            // later rha-core adds, the request is not valid now.
            _ => rha_result::RHA_INVALID_STATE,
        };
        rha_error::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rha_core::session::{Point, Role};

    #[test]
    fn refusals_map_to_session_codes_and_the_window_to_blocked() {
        let cases = [
            (
                SessionError::NotConnected,
                rha_result::RHA_SESSION_NOT_CONNECTED,
            ),
            (
                SessionError::WrongRole(Role::Master),
                rha_result::RHA_SESSION_WRONG_ROLE,
            ),
            (
                SessionError::OutOfOrder {
                    expected: 2,
                    first: 5,
                },
                rha_result::RHA_SESSION_OUT_OF_ORDER,
            ),
            (
                SessionError::TooLarge { needed: 9, max: 8 },
                rha_result::RHA_SESSION_TOO_LARGE,
            ),
            (
                SessionError::BadAck {
                    at: Point::default(),
                    why: "x",
                },
                rha_result::RHA_SESSION_BAD_ACK,
            ),
        ];
        for (e, code) in cases {
            let message = e.to_string();
            let got = outcome(Err(e)).expect_err("an error");
            assert_eq!(got.code(), code);
            assert_eq!(got.message(), message);
        }
        let window = SessionError::Window {
            available: 1,
            needed: 2,
        };
        assert_eq!(
            outcome(Err(window)).map_err(|e| e.code()),
            Ok(rha_result::RHA_BLOCKED)
        );
        assert_eq!(
            outcome(Ok(())).map_err(|e| e.code()),
            Ok(rha_result::RHA_OK)
        );
    }
}
