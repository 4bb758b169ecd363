//! The library version, at compile time (header macros) and at run time.

use std::ffi::{c_char, CStr};

/// Major version of the library this header was generated for.
pub const RHA_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header was generated for.
pub const RHA_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header was generated for.
pub const RHA_VERSION_PATCH: u32 = 0;
/// The header's version as one number: major * 10000 + minor * 100 + patch.
/// Compare it with `rha_version_number()` to detect a header/library mismatch.
pub const RHA_VERSION_NUMBER: u32 =
    RHA_VERSION_MAJOR * 10000 + RHA_VERSION_MINOR * 100 + RHA_VERSION_PATCH;

/// Parses a decimal version component at compile time.
const fn parse(s: &str) -> u32 {
    let bytes = s.as_bytes();
    assert!(!bytes.is_empty(), "empty version component");
    let mut value = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        assert!(
            bytes[i].is_ascii_digit(),
            "version component is not a number"
        );
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// The crate's version as one number, from Cargo.
const CRATE_VERSION_NUMBER: u32 = parse(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
    + parse(env!("CARGO_PKG_VERSION_MINOR")) * 100
    + parse(env!("CARGO_PKG_VERSION_PATCH"));

// The header constants are literals (cbindgen cannot evaluate `env!`); a
// version bump that forgets them does not compile.
const _: () = assert!(
    RHA_VERSION_MAJOR == parse(env!("CARGO_PKG_VERSION_MAJOR"))
        && RHA_VERSION_MINOR == parse(env!("CARGO_PKG_VERSION_MINOR"))
        && RHA_VERSION_PATCH == parse(env!("CARGO_PKG_VERSION_PATCH")),
    "update RHA_VERSION_* in rha-ffi/src/version.rs to the crate version and regenerate include/rha.h"
);

/// The crate version as a NUL-terminated string.
const VERSION_STRING: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => panic!("the crate version contains a NUL byte"),
    };

/// The version of the library linked at run time, as one number:
/// major * 10000 + minor * 100 + patch (the formula of `RHA_VERSION_NUMBER`).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn rha_version_number() -> u32 {
    ffi_fn!(default(CRATE_VERSION_NUMBER), non_null(), {
        CRATE_VERSION_NUMBER
    })
}

/// The version of the library linked at run time as a string such as
/// `"0.1.0"`. The string is static: never NULL, never to be freed.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn rha_version_string() -> *const c_char {
    ffi_fn!(default(VERSION_STRING.as_ptr()), non_null(), {
        VERSION_STRING.as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_version_matches_the_header_constants_and_cargo() {
        assert_eq!(rha_version_number(), RHA_VERSION_NUMBER);
        // SAFETY: a static NUL-terminated string.
        let s = unsafe { CStr::from_ptr(rha_version_string()) };
        assert_eq!(s.to_str().ok(), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(
            s.to_str().ok(),
            Some(format!("{RHA_VERSION_MAJOR}.{RHA_VERSION_MINOR}.{RHA_VERSION_PATCH}").as_str())
        );
    }

    #[test]
    fn parse_reads_decimal() {
        assert_eq!(parse("0"), 0);
        assert_eq!(parse("42"), 42);
    }
}
