//! libFuzzer entry point; the body is [`rha_fuzz::spool_limits_decode`].
//!
//! Built without `--cfg fuzzing` (plain `cargo build`, `cargo test
//! --all-targets`), this is an ordinary program that runs the files or
//! directories named on its command line through the target, to reproduce a
//! crash on stable: `cargo run -p rha-fuzz --bin spool_limits_decode -- FILE`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rha_fuzz::spool_limits_decode(data));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    rha_fuzz::run_files(rha_fuzz::spool_limits_decode)
}
