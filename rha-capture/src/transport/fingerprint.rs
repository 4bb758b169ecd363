//! The fingerprint that pins a peer: SHA-256 of its certificate's DER
//! encoding, written `sha256:` followed by 64 lowercase hexadecimal digits.
//!
//! The same digest as `openssl x509 -in cert.pem -outform DER | sha256sum`,
//! so an operator can check a fingerprint with standard tools.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The text before the digits.
const PREFIX: &str = "sha256:";

/// Bytes in a SHA-256 digest.
const LEN: usize = 32;

/// The SHA-256 digest of a certificate's DER encoding: the identity a peer
/// is pinned by.
///
/// Displayed as `sha256:` and 64 lowercase hexadecimal digits; parsed from
/// exactly that form, in any letter case. Anything else (another length,
/// another algorithm, separators, spaces) is refused.
///
/// ```
/// use rha_capture::transport::Fingerprint;
///
/// let text = "SHA256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
/// let fp: Fingerprint = text.parse()?;
/// assert_eq!(fp, Fingerprint::of(b""));
/// assert_eq!(fp.to_string(), text.to_lowercase());
/// # Ok::<(), rha_capture::transport::FingerprintParseError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; LEN]);

impl Fingerprint {
    /// The fingerprint of a certificate given in DER.
    pub fn of(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; LEN] {
        &self.0
    }
}

impl From<[u8; LEN]> for Fingerprint {
    /// A fingerprint from a SHA-256 digest computed elsewhere.
    fn from(digest: [u8; LEN]) -> Self {
        Self(digest)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why a text is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintParseError {
    /// The text does not start with `sha256:`.
    #[error("{text:?} is not a fingerprint: expected \"sha256:\" and 64 hexadecimal digits")]
    Prefix {
        /// The text, cut to 80 characters.
        text: String,
    },
    /// The digits are not exactly 64.
    #[error("{text:?} is not a fingerprint: {digits} characters after \"sha256:\", expected 64 hexadecimal digits")]
    Length {
        /// The text, cut to 80 characters.
        text: String,
        /// How many characters follow the prefix.
        digits: usize,
    },
    /// A character after the prefix is not a hexadecimal digit.
    #[error("{text:?} is not a fingerprint: {found:?} at position {position} is not a hexadecimal digit")]
    Digit {
        /// The text, cut to 80 characters.
        text: String,
        /// The character refused.
        found: char,
        /// Its position (in characters) in the text.
        position: usize,
    },
}

/// The text for an error message: at most 80 characters.
fn shown(s: &str) -> String {
    s.chars().take(80).collect()
}

impl FromStr for Fingerprint {
    type Err = FingerprintParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let prefixed = s
            .get(..PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX));
        if !prefixed {
            return Err(FingerprintParseError::Prefix { text: shown(s) });
        }
        let digits = &s[PREFIX.len()..];
        if let Some((i, c)) = digits
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(FingerprintParseError::Digit {
                text: shown(s),
                found: c,
                position: PREFIX.len() + i,
            });
        }
        // Only ASCII digits remain: bytes are characters.
        if digits.len() != 2 * LEN {
            return Err(FingerprintParseError::Length {
                text: shown(s),
                digits: digits.len(),
            });
        }
        let mut out = [0u8; LEN];
        for (byte, pair) in out.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
            *byte = (hex(pair[0]) << 4) | hex(pair[1]);
        }
        Ok(Self(out))
    }
}

/// The value of an ASCII hexadecimal digit (checked by the caller).
fn hex(c: u8) -> u8 {
    char::from(c).to_digit(16).map_or(0, |d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn display_is_prefixed_lowercase_hex_of_sha256() {
        assert_eq!(Fingerprint::of(b"").to_string(), EMPTY);
    }

    #[test]
    fn parse_accepts_any_letter_case() {
        let fp = Fingerprint::of(b"");
        assert_eq!(EMPTY.parse(), Ok(fp));
        assert_eq!(EMPTY.to_uppercase().parse(), Ok(fp));
        assert_eq!(format!("Sha256:{}", &EMPTY[7..]).parse(), Ok(fp));
    }

    #[test]
    fn parse_refuses_other_forms_with_the_reason() {
        let hex = &EMPTY[7..];
        let cases = [
            (hex.to_owned(), "expected \"sha256:\""),
            (format!("sha1:{hex}"), "expected \"sha256:\""),
            (String::new(), "expected \"sha256:\""),
            (format!("sha256:{}", &hex[2..]), "62 characters"),
            (format!("{EMPTY}00"), "66 characters"),
            (format!("sha256:{}", "zz".repeat(32)), "'z' at position 7"),
            (format!(" {EMPTY}"), "expected \"sha256:\""),
            (format!("{EMPTY} "), "' ' at position 71"),
            (format!("sha256:{}", hex.replacen("b0", "b:", 1)), "':'"),
            (
                format!("sha256:{}", hex.replacen('e', "é", 1)),
                "'é' at position 7",
            ),
        ];
        for (text, reason) in cases {
            let err = text.parse::<Fingerprint>().unwrap_err().to_string();
            assert!(err.contains(reason), "{text:?}: {err}");
            assert!(err.contains("is not a fingerprint"), "{err}");
        }
    }

    #[test]
    fn error_shows_at_most_80_characters() {
        let long = "x".repeat(10_000);
        let err = long.parse::<Fingerprint>().unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(bytes in any::<[u8; 32]>(), upper in any::<bool>()) {
            let fp = Fingerprint::from(bytes);
            prop_assert_eq!(fp.as_bytes(), &bytes);
            let mut text = fp.to_string();
            if upper {
                text = text.to_uppercase();
            }
            prop_assert_eq!(text.parse::<Fingerprint>(), Ok(fp));
        }

        #[test]
        fn parse_never_panics_and_accepts_only_the_canonical_form(text in ".{0,80}") {
            if let Ok(fp) = text.parse::<Fingerprint>() {
                prop_assert_eq!(fp.to_string(), text.to_lowercase());
            }
        }
    }
}
