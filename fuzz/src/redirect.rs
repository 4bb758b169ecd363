//! The `redirect_text` target: the text parsers of rha-capture's redirect
//! methods (DNS names, host names, base64 TSIG secrets).

use rha_capture::redirect::dns_wire::Name;
use rha_capture::redirect::{check_host_name, TsigKey, MAX_HOST_NAME_LEN};

/// `redirect_text`: byte 0 picks the parser (0: DNS name, 1: host name,
/// 2: base64 secret, 3: bytes to encode as a base64 secret), the rest is
/// the text (UTF-8) or bytes.
///
/// Checks: no panic; a DNS name that parses prints and parses back to
/// itself; an accepted host name is at most [`MAX_HOST_NAME_LEN`] bytes and
/// a valid DNS name; a base64 secret is accepted exactly when the
/// reference decoder below accepts it with a non-empty result; the
/// standard encoding of any non-empty secret is accepted.
pub fn redirect_text(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    if control % 4 == 3 {
        let text = encode_base64(rest);
        let key = TsigKey::from_base64("key.example", &text);
        assert_eq!(key.is_ok(), !rest.is_empty(), "{text:?} refused");
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match control % 4 {
        0 => {
            if let Ok(name) = Name::parse(text) {
                let printed = name.to_string();
                assert_eq!(
                    Name::parse(&printed).as_ref(),
                    Ok(&name),
                    "{text:?} printed {printed:?}"
                );
            }
        }
        1 => {
            if check_host_name(text).is_ok() {
                assert!(text.len() <= MAX_HOST_NAME_LEN);
                assert!(
                    Name::parse(text).is_ok(),
                    "host name {text:?} is not a DNS name"
                );
            }
        }
        _ => {
            let key = TsigKey::from_base64("key.example", text);
            let want = decode_base64(text).is_some_and(|v| !v.is_empty());
            assert_eq!(key.is_ok(), want, "base64 {text:?}");
        }
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn encode_base64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let mut b = [0u8; 3];
        b[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reference: RFC 4648 §4 base64, whitespace ignored, padding optional but
/// if present then correct for the length, no data after it, unused bits
/// of a partial group zero.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let s: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let data_len = s.iter().position(|&c| c == b'=').unwrap_or(s.len());
    let (body, pad) = s.split_at(data_len);
    if pad.iter().any(|&c| c != b'=') || pad.len() > 2 {
        return None;
    }
    let vals: Vec<u8> = body
        .iter()
        .map(|&c| ALPHABET.iter().position(|&a| a == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for group in vals.chunks(4) {
        let mut n = 0u32;
        for (i, &v) in group.iter().enumerate() {
            n |= u32::from(v) << (18 - 6 * i);
        }
        let bytes = match group.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        // Unused low bits must be zero.
        if n & ((1u32 << (24 - 8 * bytes)) - 1) != 0 {
            return None;
        }
        out.extend((0..bytes).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod seeds {
    /// (name, input) pairs for each parser.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let cases: &[(&str, u8, &[u8])] = &[
            ("dns-name", 0, b"www.example.test."),
            ("dns-root", 0, b"."),
            ("dns-wildcard", 0, b"*.zone_1.example"),
            ("dns-empty-label", 0, b"a..b"),
            ("dns-long-label", 0, &[b'a'; 64]),
            ("host-name", 1, b"node-1.example"),
            ("host-bad-dash", 1, b"-node"),
            ("host-underscore", 1, b"a_b"),
            ("base64", 2, b"c2VjcmV0LWtleS1mb3ItcmhhIQ=="),
            ("base64-unpadded", 2, b"c2VjcmV0IQ"),
            ("base64-spaces", 2, b"c2Vj cmV0\nIQ=="),
            ("base64-data-after-padding", 2, b"c2V=jcmV0"),
            ("base64-nonzero-bits", 2, b"c2VjcmV0IR=="),
            ("base64-one-char", 2, b"c"),
            ("encode", 3, b"any secret bytes \x00\xff"),
        ];
        cases
            .iter()
            .map(|&(name, control, text)| {
                let mut v = vec![control];
                v.extend_from_slice(text);
                (name.to_owned(), v)
            })
            .collect()
    }
}
