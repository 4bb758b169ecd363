//! Spool errors as `rha_error` objects (codes 500 to 599).

use std::io;

use rha_core::spool::{AckError, AppendError, OpenError, ReadError, ResetError};

use crate::error::{rha_error, rha_result};

impl From<OpenError> for rha_error {
    fn from(e: OpenError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let message = e.to_string();
            match e {
                OpenError::Corrupt(c) => rha_error::new(rha_result::RHA_SPOOL_CORRUPT, message)
                    .at(c.offset, c.last_good_seq),
                OpenError::Io { source, .. } if source.kind() == io::ErrorKind::WouldBlock => {
                    rha_error::new(rha_result::RHA_SPOOL_LOCKED, message)
                }
                OpenError::Config(_) => rha_error::invalid_argument(message),
                // Io, and any kind added later.
                _ => rha_error::new(rha_result::RHA_IO, message),
            }
        };
        out.with_os_code(os)
    }
}

impl From<AppendError> for rha_error {
    fn from(e: AppendError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            match e {
                AppendError::Encode(e) => e.into(),
                AppendError::Journal(ref d) => {
                    // The decoder's code and position, the append's message
                    // (which says that nothing was appended).
                    let code = rha_error::from(d.clone()).code();
                    rha_error::new(code, e.to_string()).at(d.offset, d.last_good_seq)
                }
                AppendError::Full { .. } => {
                    rha_error::new(rha_result::RHA_SPOOL_FULL, e.to_string())
                }
                AppendError::Stopped { .. } => {
                    rha_error::new(rha_result::RHA_SPOOL_STOPPED, e.to_string())
                }
                AppendError::Io(_) => rha_error::new(rha_result::RHA_IO, e.to_string()),
                // Poisoned, and any kind added later.
                _ => rha_error::new(rha_result::RHA_SPOOL_FAILED, e.to_string()),
            }
        };
        out.with_os_code(os)
    }
}

impl From<AckError> for rha_error {
    fn from(e: AckError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let code = match e {
                AckError::NotDurable { .. } => rha_result::RHA_SPOOL_NOT_DURABLE,
                AckError::Io(_) => rha_result::RHA_IO,
                _ => rha_result::RHA_SPOOL_FAILED,
            };
            rha_error::new(code, e.to_string())
        };
        out.with_os_code(os)
    }
}

impl From<ReadError> for rha_error {
    fn from(e: ReadError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let message = e.to_string();
            match e {
                ReadError::Reclaimed { .. } => {
                    rha_error::new(rha_result::RHA_SPOOL_RECLAIMED, message)
                }
                ReadError::BeyondEnd { .. } => rha_error::invalid_argument(message),
                ReadError::Corrupt { error, .. } => {
                    rha_error::new(rha_result::RHA_SPOOL_CORRUPT, message)
                        .at(error.offset, error.last_good_seq)
                }
                _ => rha_error::new(rha_result::RHA_IO, message),
            }
        };
        out.with_os_code(os)
    }
}

impl From<ResetError> for rha_error {
    fn from(e: ResetError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let code = match e {
                ResetError::Backwards { .. } => rha_result::RHA_INVALID_ARGUMENT,
                ResetError::Io(_) => rha_result::RHA_IO,
                _ => rha_result::RHA_SPOOL_FAILED,
            };
            rha_error::new(code, e.to_string())
        };
        out.with_os_code(os)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rha_core::spool::{Corruption, FullReason};

    #[test]
    fn spool_errors_map_to_their_codes() {
        let e = rha_error::from(OpenError::Corrupt(Corruption {
            file: "seg-1".into(),
            offset: 99,
            last_good_seq: Some(4),
            reason: "checksum".into(),
        }));
        assert_eq!(e.code(), rha_result::RHA_SPOOL_CORRUPT);
        assert!(e.message().contains("seg-1"), "{}", e.message());
        let e = AppendError::Full {
            reason: FullReason::MaxSize,
            used: 1,
            capacity: 1,
        };
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_SPOOL_FULL);
        let e = AppendError::Stopped { at_seq: 3 };
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_SPOOL_STOPPED);
        let e = AppendError::Poisoned("x".into());
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_SPOOL_FAILED);
        let e = AckError::NotDurable { seq: 2, durable: 1 };
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_SPOOL_NOT_DURABLE);
        let e = ReadError::Reclaimed { seq: 1, oldest: 5 };
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_SPOOL_RECLAIMED);
        let e = OpenError::Io {
            doing: "opening",
            file: "d".into(),
            source: io::Error::new(io::ErrorKind::WouldBlock, "in use"),
        };
        assert_eq!(rha_error::from(e).code(), rha_result::RHA_SPOOL_LOCKED);
    }
}
