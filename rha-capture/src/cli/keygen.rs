//! `rha keygen DIR [--force] [--json]`: make a node's identity (a private
//! key and a self-signed certificate) and print its fingerprint, the value
//! peers give to `--allow` / `--peer`.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rha_capture::transport::{Identity, IdentityError, CERT_FILE, KEY_FILE};
use serde_json::json;

use super::exit::Exit;

/// Arguments of `rha keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The identity directory (created if missing): DIR/key.pem (mode
    /// 0600) and DIR/cert.pem.
    dir: PathBuf,
    /// Replace an existing identity (its peers must then pin the new
    /// fingerprint).
    #[arg(long)]
    force: bool,
    /// Print {"fingerprint", "key", "cert"} as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `rha keygen`: prints the fingerprint alone on stdout, so
/// `FP=$(rha keygen DIR)` works.
pub(crate) fn run(args: &KeygenArgs) -> io::Result<ExitCode> {
    let identity = Identity::generate().map_err(io::Error::other)?;
    match identity.save(&args.dir, args.force) {
        Ok(()) => {}
        Err(e @ IdentityError::Exists { .. }) => {
            let existing = match Identity::load(&args.dir) {
                Ok(old) => format!("; it is {}", old.fingerprint()),
                Err(_) => String::new(),
            };
            eprintln!(
                "rha: error: {e}{existing} (--force replaces it: its peers must then pin the new fingerprint)"
            );
            return Ok(Exit::Io.into());
        }
        Err(e) => return Err(io::Error::other(e)),
    }
    let fingerprint = identity.fingerprint();
    if args.json {
        let doc = json!({
            "fingerprint": fingerprint.to_string(),
            "key": args.dir.join(KEY_FILE).display().to_string(),
            "cert": args.dir.join(CERT_FILE).display().to_string(),
        });
        outln!("{doc}");
    } else {
        outln!("{fingerprint}");
    }
    Ok(ExitCode::SUCCESS)
}
