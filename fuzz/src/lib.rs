//! Fuzz targets for rha, as plain functions.
//!
//! Each target in `fuzz_targets/` is a one-line `fuzz_target!` wrapper around a
//! function here, so the same code runs under libFuzzer
//! (`cargo fuzz run journal_decode`, nightly or `RUSTC_BOOTSTRAP=1`) and in
//! ordinary tests: `cargo test -p rha-fuzz --lib` replays every file committed
//! under `corpus/<target>/` on stable, without instrumentation.
//!
//! The HA targets (`ha_sequence`, `ha_restore`) are safe Rust throughout:
//! run them without AddressSanitizer (`cargo fuzz run -s none ha_sequence`),
//! which is about four times faster (some 3,700 inputs a second for
//! `ha_sequence` on this project's 2-core machine, against about 800 with
//! the default sanitizer).
//!
//! | target | input | checks |
//! |---|---|---|
//! | [`journal_decode`] | 4 control bytes, then a journal | no panic; chunked and whole decoding agree; the outcome accounts for every byte; decoded records re-encode |
//! | [`spool_limits_decode`] | a spool limits file | no panic; errors name the file and an offset inside the input; what decodes re-encodes to the same bytes |
//! | [`spool_model`] | a segment size, then (operation, parameter) byte pairs | appends, reads, acks, reopens and crashes at a chosen sync agree with a reference model: durable records survive in order exactly once, nothing is invented |
//! | [`journal_roundtrip`] | `arbitrary` writer settings and operations | the writer refuses exactly the invalid records; the rest decode to themselves and the journal ends cleanly |
//! | [`dns_message_decode`] | a DNS message | no panic; errors point inside the input; decoded messages re-encode to themselves |
//! | [`tree_signature_parse`] | a chunk-size byte, then a tree signature | no panic; chunked and whole decoding agree; what decodes re-encodes to the same entries and compares equal to itself |
//! | [`ha_sequence`] | an `arbitrary` scenario configuration, then commands, observations, time and injected failures against two simulated hosts | no panic; refused commands change nothing; transitions in the table; never two actives; redirection undone; configuration locked; exact save/restore |
//! | [`ha_restore`] | saved scenario state bytes | no panic; whatever restores saves and restores to itself |
//! | [`rewind_model`] | operations, rewinds, undos, crashes | after every step the replica's tree is the model's state at the replica's point |
//! | [`signature_parse`] | a control byte, then a block signature (rha or rdiff) | no panic; chunked and whole loading agree; rha signatures re-encode exactly; a delta job on it accounts for every byte |
//! | [`delta_apply`] | a control byte, a basis length and basis, then a delta | no panic; output within the cap; chunked, whole and sparse patching agree; in-place patching agrees when it succeeds |
//! | [`fixed_delta`] | a chunk-size byte, three length-prefixed fields (replica signature, master signature, master), then the replica | no panic; the plan's ranges are ordered and inside the master; the fixed delta ends or fails only on a short master; patching the replica (new file and in place) gives the master exactly when the replica, the master and the kept blocks match the signatures; any other replica is refused untouched; the master itself is recognised as already patched |
//! | [`glob_match`] | a control byte, a pattern, a 0 byte, a path | no panic; parses and matches exactly as a reference reading of the documented rules; fast on a 16 KiB path |
//! | [`spool_open`] | a control byte (salvage), then files (kind, u16 length, bytes): state, dirty, segments | no panic; an error names a file and an offset inside it; what opens reads back in order, appends and reopens with the new record |
//! | [`rewind_open`] | files (kind, u16 length, bytes): state slots, redo file, segments | no panic; an error names a file and an offset inside it; what opens lists its points in order and a replica opens, rewinds and undoes on it or fails cleanly |
//! | [`redirect_text`] | a parser byte, then a DNS name, host name, base64 secret, or bytes to encode | no panic; DNS names print and parse back to themselves; accepted host names are short DNS names; base64 acceptance agrees with a reference decoder; encoded secrets are accepted |
//! | [`tsig_verify`] | a mode byte, then a signed DNS answer, key and skew settings with an unsigned answer, or TSIG record data | no panic; answers signed the server's way verify exactly within the fudge; any single changed byte but the ID fails; another key or request MAC fails; a signed request carries the reference HMAC |
//! | [`session_messages`] | a chunk-size byte, then a session stream from a peer | no panic; whole and chunked decoding agree; the decoder holds at most one message; decoded messages re-encode to their bytes; what is not decoded waits or is refused |
//! | [`session_peer`] | a control byte (role, chunk size), then steps: peer bytes, time, this side's requests | no panic; bounded output; nothing accepted or sent after a close but the close; a replica reports records in order and within its window; a master never sends beyond the window granted |
//! | [`netlink_ack`] | a mode byte, a sequence number, then a datagram from the kernel or messages to build one | no panic; the ack found is exactly a reference reading of netlink(7); a well-formed ack round-trips |
//!
//! The seed corpus is written by the ignored test `regenerate_seed_corpus`
//! (`cargo test -p rha-fuzz --lib -- --ignored regenerate_seed_corpus`):
//! descriptive names, each decode seed checked to end as its name says.
//! Files named by their SHA-1 were found by the fuzzer; `regression-*` files
//! once failed. To fuzz and keep only inputs that reach new code:
//!
//! ```text
//! cd fuzz
//! RUSTC_BOOTSTRAP=1 cargo fuzz run journal_decode /tmp/new corpus/journal_decode -- -max_total_time=600
//! RUSTC_BOOTSTRAP=1 cargo fuzz run journal_decode corpus/journal_decode /tmp/new -- -merge=1 -use_counters=0
//! ```

mod block;
mod decode;
mod dns;
mod fixed;
mod glob;
mod ha;
mod netlink;
mod ops;
mod redirect;
mod rewind_model;
mod rewind_open;
mod roundtrip;
#[cfg(test)]
mod seeds;
mod session;
mod spool_journal;
mod spool_limits;
mod spool_model;
mod spool_open;
mod tree;
mod tsig;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use block::{delta_apply, signature_parse};
pub use decode::journal_decode;
pub use dns::dns_message_decode;
pub use fixed::fixed_delta;
pub use glob::glob_match;
pub use ha::{ha_restore, ha_sequence};
pub use netlink::netlink_ack;
pub use ops::delta_ops;
pub use redirect::redirect_text;
pub use rewind_model::rewind_model;
pub use rewind_open::rewind_open;
pub use roundtrip::journal_roundtrip;
pub use session::{session_messages, session_peer};
pub use spool_journal::spool_append_journal;
pub use spool_limits::spool_limits_decode;
pub use spool_model::spool_model;
pub use spool_open::spool_open;
pub use tree::tree_signature_parse;
pub use tsig::tsig_verify;

/// The main program of a fuzz target built without libFuzzer: runs every
/// file named on the command line (every file inside a named directory,
/// in name order) through `target` and prints its name.
///
/// A failing input panics with the target's message, as under libFuzzer, so
/// `cargo run -p rha-fuzz --bin journal_decode -- crash-…` reproduces a crash
/// on stable. Returns failure if no file is named or one cannot be read.
pub fn run_files(target: fn(&[u8])) -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args.is_empty() {
        eprintln!("usage: TARGET FILE_OR_DIRECTORY...  (runs each input through the target)");
        return ExitCode::FAILURE;
    }
    for arg in &args {
        let files = match inputs(arg) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("{}: {e}", arg.display());
                return ExitCode::FAILURE;
            }
        };
        for file in files {
            match std::fs::read(&file) {
                Ok(data) => target(&data),
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
            }
            println!("ok {}", file.display());
        }
    }
    ExitCode::SUCCESS
}

/// `path` itself, or if it is a directory the files in it, sorted.
fn inputs(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::inputs;

    /// The committed corpus directory of `target`.
    pub(crate) fn corpus_dir(target: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target)
    }

    /// Runs every corpus file of `target` through `run`, naming each file
    /// that panics.
    fn replay(target: &str, run: fn(&[u8])) {
        let dir = corpus_dir(target);
        let files = inputs(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert!(!files.is_empty(), "{} holds no corpus", dir.display());
        let failed: Vec<String> = files
            .iter()
            .filter(|file| {
                let data = std::fs::read(file).expect("readable corpus file");
                std::panic::catch_unwind(|| run(&data)).is_err()
            })
            .map(|file| file.display().to_string())
            .collect();
        assert!(failed.is_empty(), "{target} fails on {failed:#?}");
    }

    #[test]
    fn replay_journal_decode_corpus() {
        replay("journal_decode", super::journal_decode);
    }

    #[test]
    fn replay_journal_roundtrip_corpus() {
        replay("journal_roundtrip", super::journal_roundtrip);
    }

    #[test]
    fn replay_dns_message_decode_corpus() {
        replay("dns_message_decode", super::dns_message_decode);
    }

    #[test]
    fn replay_tree_signature_parse_corpus() {
        replay("tree_signature_parse", super::tree_signature_parse);
    }

    #[test]
    fn replay_ha_sequence_corpus() {
        replay("ha_sequence", super::ha_sequence);
    }

    #[test]
    fn replay_ha_restore_corpus() {
        replay("ha_restore", super::ha_restore);
    }

    #[test]
    fn replay_spool_model_corpus() {
        replay("spool_model", super::spool_model);
    }

    #[test]
    fn replay_spool_limits_decode_corpus() {
        replay("spool_limits_decode", super::spool_limits_decode);
    }

    #[test]
    fn replay_rewind_model_corpus() {
        replay("rewind_model", super::rewind_model);
    }

    #[test]
    fn replay_signature_parse_corpus() {
        replay("signature_parse", super::signature_parse);
    }

    #[test]
    fn replay_delta_apply_corpus() {
        replay("delta_apply", super::delta_apply);
    }

    #[test]
    fn replay_delta_ops_corpus() {
        replay("delta_ops", super::delta_ops);
    }

    #[test]
    fn replay_fixed_delta_corpus() {
        replay("fixed_delta", super::fixed_delta);
    }

    #[test]
    fn replay_spool_open_corpus() {
        replay("spool_open", super::spool_open);
    }

    #[test]
    fn replay_spool_append_journal_corpus() {
        replay("spool_append_journal", super::spool_append_journal);
    }

    #[test]
    fn replay_rewind_open_corpus() {
        replay("rewind_open", super::rewind_open);
    }

    #[test]
    fn replay_redirect_text_corpus() {
        replay("redirect_text", super::redirect_text);
    }

    #[test]
    fn replay_glob_match_corpus() {
        replay("glob_match", super::glob_match);
    }

    #[test]
    fn replay_tsig_verify_corpus() {
        replay("tsig_verify", super::tsig_verify);
    }

    #[test]
    fn replay_session_messages_corpus() {
        replay("session_messages", super::session_messages);
    }

    #[test]
    fn replay_session_peer_corpus() {
        replay("session_peer", super::session_peer);
    }

    #[test]
    fn replay_netlink_ack_corpus() {
        replay("netlink_ack", super::netlink_ack);
    }

    /// Writes the descriptive seeds of the targets whose seeds live beside
    /// them (`seed-*` files); fuzzer finds and regressions are left alone.
    #[test]
    #[ignore = "writes the seed corpus into the source tree"]
    fn regenerate_module_seed_corpora() {
        let sets = [
            ("redirect_text", crate::redirect::seeds::seeds()),
            ("rewind_open", crate::rewind_open::seeds::seeds()),
            ("spool_open", crate::spool_open::seeds::seeds()),
            ("fixed_delta", crate::fixed::seeds::seeds()),
            ("glob_match", crate::glob::seeds::seeds()),
            ("tsig_verify", crate::tsig::seeds::seeds()),
            ("netlink_ack", crate::netlink::seeds::seeds()),
            ("session_messages", crate::session::seeds::seeds()),
            ("session_peer", crate::session::seeds::peer_seeds()),
        ];
        for (target, seeds) in sets {
            let dir = corpus_dir(target);
            std::fs::create_dir_all(&dir).expect("corpus dir");
            for (name, bytes) in seeds {
                std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
            }
        }
    }

    #[test]
    fn short_and_empty_inputs_are_fine() {
        for n in 0..8 {
            super::signature_parse(&[0xA5; 8][..n]);
            super::delta_apply(&[0xA5; 8][..n]);
            super::delta_ops(&[0xA5; 8][..n]);
            super::journal_decode(&[0xA5; 8][..n]);
            super::journal_roundtrip(&[0xA5; 8][..n]);
            super::tree_signature_parse(&[0xA5; 8][..n]);
            super::ha_sequence(&[0xA5; 8][..n]);
            super::ha_restore(&[0xA5; 8][..n]);
            super::spool_model(&[0xA5; 8][..n]);
            super::spool_limits_decode(&[0xA5; 8][..n]);
            super::rewind_model(&[0xA5; 8][..n]);
            super::fixed_delta(&[0xA5; 8][..n]);
            super::glob_match(&[0xA5; 8][..n]);
            super::spool_open(&[0xA5; 8][..n]);
            super::rewind_open(&[0xA5; 8][..n]);
            super::redirect_text(&[0xA5; 8][..n]);
            super::tsig_verify(&[0xA5; 8][..n]);
            super::netlink_ack(&[0xA5; 8][..n]);
            super::session_messages(&[0xA5; 8][..n]);
            super::session_peer(&[0xA5; 8][..n]);
        }
    }
}
