//! `rha keygen`, run as a user would.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use rha_capture::transport::{Fingerprint, Identity};

fn rha(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rha"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn keygen_writes_a_private_key_and_a_certificate_and_prints_the_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("id");
    let out = rha(&["keygen", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let fp: Fingerprint = printed.trim_end().parse().unwrap();
    assert_eq!(printed, format!("{fp}\n"));
    assert_eq!(Identity::load(&dir).unwrap().fingerprint(), fp);
    let key_mode = std::fs::metadata(dir.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    assert!(dir.join("cert.pem").is_file());
    let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0, "{dir_mode:o}");
}

#[test]
fn keygen_refuses_to_overwrite_without_force_and_leaves_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let first = rha(&["keygen", dir]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let key = std::fs::read(tmp.path().join("key.pem")).unwrap();
    let cert = std::fs::read(tmp.path().join("cert.pem")).unwrap();

    let again = rha(&["keygen", dir]);
    assert_eq!(again.status.code(), Some(1));
    assert!(again.stdout.is_empty());
    let err = text(&again.stderr);
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert!(err.contains("--force"), "{err}");
    // It names the identity that stays.
    assert!(err.contains(text(&first.stdout).trim_end()), "{err}");
    assert_eq!(std::fs::read(tmp.path().join("key.pem")).unwrap(), key);
    assert_eq!(std::fs::read(tmp.path().join("cert.pem")).unwrap(), cert);

    let forced = rha(&["keygen", dir, "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_ne!(forced.stdout, first.stdout);
    assert_ne!(std::fs::read(tmp.path().join("key.pem")).unwrap(), key);
    let fp: Fingerprint = text(&forced.stdout).trim_end().parse().unwrap();
    assert_eq!(Identity::load(tmp.path()).unwrap().fingerprint(), fp);
}

#[test]
fn keygen_json_names_the_fingerprint_and_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let out = rha(&["keygen", dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fp: Fingerprint = doc["fingerprint"].as_str().unwrap().parse().unwrap();
    assert_eq!(Identity::load(&dir).unwrap().fingerprint(), fp);
    assert_eq!(doc["key"], dir.join("key.pem").to_str().unwrap());
    assert_eq!(doc["cert"], dir.join("cert.pem").to_str().unwrap());
}

#[test]
fn keygen_into_an_unwritable_place_fails_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = rha(&["keygen", file.join("sub").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("a-file"), "{err}");
}
