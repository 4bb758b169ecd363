//! libFuzzer entry point; the body is [`rha_fuzz::session_peer`].
//!
//! Built without `--cfg fuzzing`, this is an ordinary program that runs
//! the files or directories named on its command line through the target:
//! `cargo run -p rha-fuzz --bin session_peer -- FILE`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rha_fuzz::session_peer(data));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    rha_fuzz::run_files(rha_fuzz::session_peer)
}
