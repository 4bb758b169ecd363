//! DNS redirect and alias switch against a real Knot DNS server started by
//! the test in a network namespace of its own, checked with rha's own
//! queries and with Knot's `kdig`.
//!
//! Needs root and iproute2 (see `common`), and `knotd`, `kdig` and
//! `knsupdate` (Debian: knot, knot-dnsutils); a test without them prints
//! "SKIPPED" and passes, except under CI (`CI` set) where missing tools
//! fail it.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{eventually, namespaces_permitted, NetNs};
use rha_capture::redirect::dns_wire::{Name, RData, RecordType};
use rha_capture::redirect::{
    AliasSwitch, AliasTarget, DnsClient, DnsRedirect, Executor, Outcome, RedirectError, TsigKey,
};

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@    SOA   ns.example.test. admin.example.test. 1 3600 600 86400 300
@    NS    ns
ns   A     127.0.0.1
db   A     192.0.2.10
db6  AAAA  2001:db8::10
www  CNAME db1.example.test.
";

/// `knotd` serving example.test on 127.0.0.1:53 inside its own network
/// namespace, accepting updates from 127.0.0.1. Stopped (and the namespace
/// removed) when dropped.
struct Knot {
    child: Child,
    ns: NetNs,
    _dir: tempfile::TempDir,
}

/// The TSIG key the server of [`Knot::start_tsig`] requires.
const KEY_NAME: &str = "rha-key";
const KEY_SECRET: &str = "pJ8M1+zVOwC0Uu6Zla/ReNuAjYWc2VV6h+9hl6jgEqg=";

impl Knot {
    /// A server accepting updates from 127.0.0.1.
    fn start(test: &str) -> Option<Self> {
        Self::launch(test, "local_update")
    }

    /// A server accepting only updates signed with the `rha-key` TSIG key.
    fn start_tsig(test: &str) -> Option<Self> {
        Self::launch(test, "tsig_update")
    }

    fn launch(test: &str, acl: &str) -> Option<Self> {
        if !namespaces_permitted(test) {
            return None;
        }
        let missing: Vec<&str> = ["knotd", "kdig", "knsupdate"]
            .into_iter()
            .filter(|t| Command::new(t).arg("-V").output().is_err())
            .collect();
        if !missing.is_empty() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{missing:?} missing under CI: .ci/run installs knot and knot-dnsutils"
            );
            eprintln!("SKIPPED {test}: {missing:?} not installed (Debian: knot, knot-dnsutils)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
        let conf = format!(
            "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@53\n\
             log:\n  - target: stderr\n    any: notice\n\
             database:\n  storage: \"{d}\"\n\
             key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {KEY_SECRET}\n\
             acl:\n  - id: local_update\n    address: 127.0.0.1\n    action: update\n  \
             - id: tsig_update\n    key: {KEY_NAME}\n    action: update\n\
             template:\n  - id: default\n    storage: \"{d}\"\n\
             zone:\n  - domain: example.test\n    file: example.test.zone\n    acl: {acl}\n"
        );
        let conf_path = dir.path().join("knot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let ns = NetNs::new("dns");
        let log = std::fs::File::create(dir.path().join("knotd.log")).unwrap();
        let child = ns
            .command("knotd")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let knot = Self {
            child,
            ns,
            _dir: dir,
        };
        let client = knot.client();
        let soa = Name::parse("example.test").unwrap();
        let up = eventually(Duration::from_secs(10), || {
            knot.ns
                .enter(|| client.lookup(&soa, RecordType::SOA))
                .is_ok_and(|r| !r.is_empty())
        });
        assert!(up, "knotd did not start: {}", knot.log());
        Some(knot)
    }

    fn server() -> SocketAddr {
        "127.0.0.1:53".parse().unwrap()
    }

    fn client(&self) -> DnsClient {
        DnsClient::new(Self::server()).timeout(Duration::from_millis(300))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("knotd.log")).unwrap_or_default()
    }

    /// The record set as rha's own client reads it: (sorted data, TTL).
    fn lookup(&self, name: &str, rtype: RecordType) -> (Vec<String>, Option<u32>) {
        let client = self.client();
        let name = Name::parse(name).unwrap();
        let records = self.ns.enter(|| client.lookup(&name, rtype)).unwrap();
        let mut data: Vec<String> = records.iter().map(|r| r.rdata.to_string()).collect();
        data.sort();
        (data, records.first().map(|r| r.ttl))
    }

    /// The record set as `kdig` reads it.
    fn kdig(&self, name: &str, rtype: &str) -> Vec<String> {
        let out = common::run(
            self.ns
                .command("kdig")
                .args(["@127.0.0.1", name, rtype, "+short"]),
        );
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end_matches('.').to_owned())
            .collect();
        lines.sort();
        lines
    }

    /// An update made by someone else, with `knsupdate`.
    fn nsupdate(&self, commands: &str) {
        let mut child = self
            .ns
            .command("knsupdate")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let script = format!("server 127.0.0.1 53\nzone example.test.\n{commands}\nsend\nquit\n");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "knsupdate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.ns.enter(f)
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redirect(name: &str, master: &str, replica: &str) -> DnsRedirect {
    DnsRedirect::new(
        Knot::server(),
        "example.test",
        name,
        60,
        master.parse().unwrap(),
        replica.parse().unwrap(),
    )
    .unwrap()
    .timeout(Duration::from_secs(2))
}

#[test]
fn dns_redirect_rewrites_the_a_record_and_restores_it() {
    let Some(knot) = Knot::start("dns_redirect_rewrites_the_a_record_and_restores_it") else {
        return;
    };
    let mut step = redirect("db.example.test", "192.0.2.10", "192.0.2.20");
    assert!(
        step.describe().contains("db.example.test A"),
        "{}",
        step.describe()
    );

    let r = knot.run(|| step.apply()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed, "{r}");
    assert!(r.detail.contains("was 192.0.2.10"), "{r}");
    assert_eq!(
        knot.lookup("db.example.test", RecordType::A),
        (vec!["192.0.2.20".into()], Some(60))
    );
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.20"]);
    assert_eq!(
        knot.run(|| step.apply()).unwrap().outcome,
        Outcome::AlreadyDone
    );

    // Undo restores the previous record, TTL included.
    let r = knot.run(|| step.undo()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed, "{r}");
    assert_eq!(
        knot.lookup("db.example.test", RecordType::A),
        (vec!["192.0.2.10".into()], Some(300))
    );
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.10"]);
    assert_eq!(
        knot.run(|| step.undo()).unwrap().outcome,
        Outcome::AlreadyDone
    );

    // A fresh executor (an agent restarted) undoing a step never done.
    let mut fresh = redirect("db.example.test", "192.0.2.10", "192.0.2.20");
    assert_eq!(
        knot.run(|| fresh.undo()).unwrap().outcome,
        Outcome::AlreadyDone
    );
    // ... and undoing one done by an earlier executor: back to the master's
    // address with the configured TTL.
    let _ = knot.run(|| step.apply()).unwrap();
    assert_eq!(knot.run(|| fresh.undo()).unwrap().outcome, Outcome::Changed);
    assert_eq!(
        knot.lookup("db.example.test", RecordType::A),
        (vec!["192.0.2.10".into()], Some(60))
    );
}

#[test]
fn dns_redirect_of_several_addresses_ipv6_and_absent_records() {
    let Some(knot) = Knot::start("dns_redirect_of_several_addresses_ipv6_and_absent_records")
    else {
        return;
    };
    // A record set of two addresses is replaced whole and restored whole.
    knot.nsupdate("update add db.example.test. 300 A 192.0.2.11");
    let mut step = redirect("db.example.test", "192.0.2.10", "192.0.2.20");
    let _ = knot.run(|| step.apply()).unwrap();
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.20"]);
    let _ = knot.run(|| step.undo()).unwrap();
    assert_eq!(
        knot.kdig("db.example.test", "A"),
        ["192.0.2.10", "192.0.2.11"]
    );

    // IPv6 pairs rewrite the AAAA record.
    let mut v6 = redirect("db6.example.test", "2001:db8::10", "2001:db8::20");
    let _ = knot.run(|| v6.apply()).unwrap();
    assert_eq!(knot.kdig("db6.example.test", "AAAA"), ["2001:db8::20"]);
    let _ = knot.run(|| v6.undo()).unwrap();
    assert_eq!(knot.kdig("db6.example.test", "AAAA"), ["2001:db8::10"]);

    // A name without a record gets one, and loses it again on undo.
    let mut new = redirect("new.example.test", "192.0.2.10", "192.0.2.30");
    assert!(knot
        .run(|| new.apply())
        .unwrap()
        .detail
        .contains("was no record"));
    assert_eq!(knot.kdig("new.example.test", "A"), ["192.0.2.30"]);
    let _ = knot.run(|| new.undo()).unwrap();
    assert!(knot.kdig("new.example.test", "A").is_empty());
    assert!(knot.lookup("new.example.test", RecordType::A).0.is_empty());

    let mixed = DnsRedirect::new(
        Knot::server(),
        "example.test",
        "db.example.test",
        60,
        "192.0.2.1".parse::<IpAddr>().unwrap(),
        "2001:db8::1".parse::<IpAddr>().unwrap(),
    );
    assert!(matches!(
        mixed,
        Err(RedirectError::InvalidParameters { .. })
    ));
}

#[test]
fn concurrent_changes_and_refusals_are_reported() {
    let Some(knot) = Knot::start("concurrent_changes_and_refusals_are_reported") else {
        return;
    };
    let mut step = redirect("db.example.test", "192.0.2.10", "192.0.2.20");
    let _ = knot.run(|| step.apply()).unwrap();
    // Someone else re-points the record meanwhile: undo does not overwrite it.
    knot.nsupdate("update delete db.example.test. A\nupdate add db.example.test. 60 A 192.0.2.99");
    let err = knot.run(|| step.undo()).unwrap_err();
    assert!(matches!(err, RedirectError::DnsConflict { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("db.example.test A") && text.contains("192.0.2.20"),
        "{text}"
    );
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.99"]);

    // A zone the server does not serve.
    let mut other = DnsRedirect::new(
        Knot::server(),
        "other.test",
        "db.other.test",
        60,
        "192.0.2.1".parse().unwrap(),
        "192.0.2.2".parse().unwrap(),
    )
    .unwrap();
    let err = knot.run(|| other.apply()).unwrap_err();
    assert!(matches!(err, RedirectError::DnsRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("db.other.test"), "{err}");

    // No server listening: a transport error naming the server.
    let mut nowhere = DnsRedirect::new(
        "127.0.0.1:54".parse().unwrap(),
        "example.test",
        "db.example.test",
        60,
        "192.0.2.1".parse().unwrap(),
        "192.0.2.2".parse().unwrap(),
    )
    .unwrap()
    .timeout(Duration::from_millis(200));
    let err = knot.run(|| nowhere.apply()).unwrap_err();
    assert!(matches!(err, RedirectError::DnsTransport { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:54"), "{err}");

    // Names outside the zone are refused up front.
    let err = DnsRedirect::new(
        Knot::server(),
        "example.test",
        "db.elsewhere.test",
        60,
        "192.0.2.1".parse().unwrap(),
        "192.0.2.2".parse().unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, RedirectError::InvalidName { .. }), "{err:?}");
}

#[test]
fn alias_switch_repoints_the_cname() {
    let Some(knot) = Knot::start("alias_switch_repoints_the_cname") else {
        return;
    };
    let mut step = AliasSwitch::new(AliasTarget::Dns {
        server: Knot::server(),
        zone: "example.test".into(),
        alias: "www.example.test".into(),
        ttl: 30,
        master_target: "db1.example.test".into(),
        replica_target: "db2.example.test".into(),
    })
    .unwrap();
    let r = knot.run(|| step.apply()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed, "{r}");
    assert_eq!(knot.kdig("www.example.test", "CNAME"), ["db2.example.test"]);
    let (data, ttl) = knot.lookup("www.example.test", RecordType::CNAME);
    assert_eq!((data, ttl), (vec!["db2.example.test".to_owned()], Some(30)));
    assert_eq!(
        knot.run(|| step.apply()).unwrap().outcome,
        Outcome::AlreadyDone
    );
    let _ = knot.run(|| step.undo()).unwrap();
    assert_eq!(knot.kdig("www.example.test", "CNAME"), ["db1.example.test"]);
    assert_eq!(
        knot.run(|| step.undo()).unwrap().outcome,
        Outcome::AlreadyDone
    );
    assert!(step.describe().starts_with("alias switch"));

    let client = knot.client();
    let www = Name::parse("www.example.test").unwrap();
    let records = knot.run(|| client.lookup(&www, RecordType::CNAME)).unwrap();
    assert_eq!(
        records[0].rdata,
        RData::Cname(Name::parse("db1.example.test").unwrap())
    );

    assert!(matches!(
        AliasSwitch::new(AliasTarget::NetBios),
        Err(RedirectError::Unsupported { .. })
    ));
}

#[test]
fn tsig_signed_updates() {
    let Some(knot) = Knot::start_tsig("tsig_signed_updates") else {
        return;
    };
    let key = TsigKey::from_base64(KEY_NAME, KEY_SECRET).unwrap();
    assert!(!format!("{key:?}").contains(KEY_SECRET));

    // Unsigned updates are refused by this server.
    let mut unsigned = redirect("db.example.test", "192.0.2.10", "192.0.2.20");
    let err = knot.run(|| unsigned.apply()).unwrap_err();
    assert!(matches!(err, RedirectError::DnsRefused { .. }), "{err:?}");
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.10"]);

    // Signed with the right key: applied, and the signed answer verified.
    let mut step = redirect("db.example.test", "192.0.2.10", "192.0.2.20").tsig(key.clone());
    assert_eq!(knot.run(|| step.apply()).unwrap().outcome, Outcome::Changed);
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.20"]);
    assert_eq!(knot.run(|| step.undo()).unwrap().outcome, Outcome::Changed);
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.10"]);

    // The alias switch signs too.
    let mut alias = AliasSwitch::new(AliasTarget::Dns {
        server: Knot::server(),
        zone: "example.test".into(),
        alias: "www.example.test".into(),
        ttl: 30,
        master_target: "db1.example.test".into(),
        replica_target: "db2.example.test".into(),
    })
    .unwrap()
    .tsig(key);
    let _ = knot.run(|| alias.apply()).unwrap();
    assert_eq!(knot.kdig("www.example.test", "CNAME"), ["db2.example.test"]);
    let _ = knot.run(|| alias.undo()).unwrap();

    // A wrong secret: the server says BADSIG and nothing changes.
    let wrong = TsigKey::new(KEY_NAME, b"not the secret".to_vec()).unwrap();
    let mut bad = redirect("db.example.test", "192.0.2.10", "192.0.2.20").tsig(wrong);
    let err = knot.run(|| bad.apply()).unwrap_err();
    let RedirectError::DnsTsig { reason, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(reason.contains("BADSIG"), "{err}");
    // An unknown key: BADKEY.
    let unknown = TsigKey::from_base64("other-key", KEY_SECRET).unwrap();
    let mut bad = redirect("db.example.test", "192.0.2.10", "192.0.2.20").tsig(unknown);
    let err = knot.run(|| bad.apply()).unwrap_err();
    assert!(err.to_string().contains("BADKEY"), "{err}");
    assert!(err.to_string().contains("other-key"), "{err}");
    assert_eq!(knot.kdig("db.example.test", "A"), ["192.0.2.10"]);

    assert!(TsigKey::from_base64(KEY_NAME, "not base64!").is_err());
    assert!(TsigKey::new(KEY_NAME, Vec::new()).is_err());
}

/// Any sequence of applies and undos, by executors that may be replaced
/// midway (an agent restart), leaves the record where a one-flag model says
/// and reports `Changed` exactly when the model changed.
#[test]
fn dns_redirect_matches_its_model_under_any_sequence() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let Some(knot) = Knot::start("dns_redirect_matches_its_model_under_any_sequence") else {
        return;
    };
    let config = Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    };
    // (apply or undo, replace the executor first)
    let ops = prop::collection::vec((any::<bool>(), prop::bool::weighted(0.2)), 1..8);
    TestRunner::new(config)
        .run(&ops, |ops| {
            let mut step = redirect("db.example.test", "192.0.2.10", "192.0.2.20");
            let _ = knot.run(|| step.undo()).unwrap();
            let mut redirected = false;
            for (apply, restart) in ops {
                if restart {
                    step = redirect("db.example.test", "192.0.2.10", "192.0.2.20");
                }
                let report = knot
                    .run(|| if apply { step.apply() } else { step.undo() })
                    .unwrap();
                prop_assert_eq!(
                    report.outcome == Outcome::Changed,
                    redirected != apply,
                    "{}",
                    report
                );
                redirected = apply;
                let (data, _) = knot.lookup("db.example.test", RecordType::A);
                let want = if redirected {
                    "192.0.2.20"
                } else {
                    "192.0.2.10"
                };
                prop_assert_eq!(data, vec![want.to_owned()]);
            }
            Ok(())
        })
        .unwrap();
}
