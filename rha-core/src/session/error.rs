//! Errors of the session's message decoder.

/// Why received bytes are not a valid session stream. Every variant that
/// concerns a message names its offset in the stream (after the preface's
/// 8 bytes, counting from the stream's first byte).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The stream does not start with the session preface: the peer is not
    /// an rha session (or speaks TLS where plain bytes were expected).
    #[error("the peer's stream does not start with the rha session preface")]
    Preface,
    /// A header's flag or reserved bytes are not zero.
    #[error("message at byte {offset}: nonzero flags")]
    Flags {
        /// Where the message starts.
        offset: u64,
    },
    /// A message claims a body larger than accepted.
    #[error("message at byte {offset}: a {len}-byte body, more than the {max} bytes accepted")]
    TooLarge {
        /// Where the message starts.
        offset: u64,
        /// The length it claims.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message's checksum does not match: the bytes were damaged.
    #[error("message at byte {offset}: checksum mismatch")]
    Crc {
        /// Where the message starts.
        offset: u64,
    },
    /// A message type this version does not know.
    #[error("message at byte {offset}: unknown type {kind}")]
    UnknownType {
        /// Where the message starts.
        offset: u64,
        /// Its type code.
        kind: u8,
    },
    /// A known message whose body is wrong.
    #[error("{message} message at byte {offset}: {what}")]
    Malformed {
        /// Where the message starts.
        offset: u64,
        /// The message's name.
        message: &'static str,
        /// What was wrong.
        what: &'static str,
    },
    /// An earlier error ended the stream.
    #[error("the session stream already failed")]
    Failed,
}
