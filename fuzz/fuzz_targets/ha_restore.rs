//! libFuzzer entry point; the body is [`rha_fuzz::ha_restore`].
//!
//! Built without `--cfg fuzzing` (plain `cargo build`, `cargo test
//! --all-targets`), this is an ordinary program that runs the files or
//! directories named on its command line through the target, to reproduce a
//! crash on stable: `cargo run -p rha-fuzz --bin ha_restore -- FILE`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rha_fuzz::ha_restore(data));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    rha_fuzz::run_files(rha_fuzz::ha_restore)
}
