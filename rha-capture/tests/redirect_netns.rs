//! Move IP and switch name, for real, inside namespaces the tests create.
//!
//! Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW) and iproute2;
//! without them each test prints "SKIPPED" and passes.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{eventually, in_uts_namespace, namespaces_permitted, NetNs};
use rha_capture::redirect::{
    host_name, Executor, MoveIp, Outcome, RedirectError, Side, SwitchName,
};

const SERVICE: &str = "10.77.0.100";

/// Two namespaces joined by a veth pair: the master's `vm` and the
/// replica's `vr`, both in 10.77.0.0/24; the service address starts on the
/// master. The master accepts gratuitous ARP into its neighbour table so the
/// replica's announcement can be seen there.
struct Segment {
    master: NetNs,
    replica: NetNs,
}

impl Segment {
    fn new() -> Self {
        let master = NetNs::new("m");
        let replica = NetNs::new("r");
        master.ip(&[
            "link",
            "add",
            "vm",
            "type",
            "veth",
            "peer",
            "name",
            "vr",
            "netns",
            &replica.name,
        ]);
        master.ip(&["address", "add", "10.77.0.1/24", "dev", "vm"]);
        master.ip(&["address", "add", &format!("{SERVICE}/24"), "dev", "vm"]);
        replica.ip(&["address", "add", "10.77.0.2/24", "dev", "vr"]);
        master.ip(&["link", "set", "vm", "up"]);
        replica.ip(&["link", "set", "vr", "up"]);
        for key in [
            "net.ipv4.conf.all.arp_accept=1",
            "net.ipv4.conf.vm.arp_accept=1",
        ] {
            common::run(master.command("sysctl").args(["-qw", key]));
        }
        Self { master, replica }
    }

    fn step(&self, side: Side) -> MoveIp {
        MoveIp::new(side, SERVICE.parse().unwrap(), 24, "vm", "vr")
            .unwrap()
            .announcements(2, Duration::from_millis(50))
    }
}

fn has_address(ns: &NetNs, dev: &str) -> bool {
    ns.ip(&["-o", "address", "show", "dev", dev])
        .contains(&format!("inet {SERVICE}/24"))
}

fn mac(ns: &NetNs, dev: &str) -> String {
    let link = ns.ip(&["-o", "link", "show", "dev", dev]);
    let at = link.find("link/ether ").unwrap() + "link/ether ".len();
    link[at..at + 17].to_owned()
}

#[test]
fn move_ip_moves_the_address_and_announces_it() {
    if !namespaces_permitted("move_ip_moves_the_address_and_announces_it") {
        return;
    }
    let net = Segment::new();
    let mut on_master = net.step(Side::Master);
    let mut on_replica = net.step(Side::Replica);
    assert!(has_address(&net.master, "vm"));

    // Switchover: the master lets go, the replica takes over and announces.
    let r = net.master.enter(|| on_master.apply()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed, "{r}");
    assert!(!has_address(&net.master, "vm"));
    let r = net.replica.enter(|| on_replica.apply()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed, "{r}");
    assert!(r.detail.contains("gratuitous ARP"), "{r}");
    assert!(has_address(&net.replica, "vr"));

    // The master saw the announcement: its neighbour table maps the service
    // address to the replica's interface.
    let replica_mac = mac(&net.replica, "vr");
    let seen = eventually(Duration::from_secs(3), || {
        net.master
            .ip(&["neigh", "show", SERVICE, "dev", "vm"])
            .contains(&replica_mac)
    });
    assert!(
        seen,
        "no ARP entry {SERVICE} -> {replica_mac}: {}",
        net.master.ip(&["neigh"])
    );

    // Applying again changes nothing.
    assert_eq!(
        net.master.enter(|| on_master.apply()).unwrap().outcome,
        Outcome::AlreadyDone
    );
    assert_eq!(
        net.replica.enter(|| on_replica.apply()).unwrap().outcome,
        Outcome::AlreadyDone
    );

    // Switchback: the reverse, and undoing twice is safe.
    let r = net.replica.enter(|| on_replica.undo()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed, "{r}");
    assert!(!has_address(&net.replica, "vr"));
    let r = net.master.enter(|| on_master.undo()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed, "{r}");
    assert!(has_address(&net.master, "vm"));
    assert_eq!(
        net.replica.enter(|| on_replica.undo()).unwrap().outcome,
        Outcome::AlreadyDone
    );
    assert_eq!(
        net.master.enter(|| on_master.undo()).unwrap().outcome,
        Outcome::AlreadyDone
    );
}

#[test]
fn move_ip_moves_ipv6_addresses_and_advertises_them() {
    if !namespaces_permitted("move_ip_moves_ipv6_addresses_and_advertises_them") {
        return;
    }
    let net = Segment::new();
    // Neighbour advertisements leave from the link-local address, usable
    // once its duplicate address detection is over.
    let ready = eventually(Duration::from_secs(5), || {
        let ll = net
            .replica
            .ip(&["-6", "-o", "address", "show", "dev", "vr", "scope", "link"]);
        ll.contains("fe80") && !ll.contains("tentative")
    });
    assert!(ready, "no usable link-local address on vr");
    // The master has the address cached at an old hardware address: an
    // advertisement with the Override flag must replace it.
    net.master.ip(&[
        "-6",
        "neigh",
        "add",
        "fd00:77::100",
        "lladdr",
        "02:00:00:00:00:01",
        "dev",
        "vm",
        "nud",
        "stale",
    ]);

    let address: IpAddr = "fd00:77::100".parse().unwrap();
    let mut step = MoveIp::new(Side::Replica, address, 64, "vm", "vr")
        .unwrap()
        .announcements(2, Duration::from_millis(50));
    let r = net.replica.enter(|| step.apply()).unwrap();
    assert_eq!(r.outcome, Outcome::Changed);
    assert!(r.detail.contains("neighbour advertisement"), "{r}");
    assert!(net
        .replica
        .ip(&["-o", "address", "show", "dev", "vr"])
        .contains("fd00:77::100/64"));
    let replica_mac = mac(&net.replica, "vr");
    let seen = eventually(Duration::from_secs(3), || {
        net.master
            .ip(&["-6", "neigh", "show", "fd00:77::100", "dev", "vm"])
            .contains(&replica_mac)
    });
    assert!(
        seen,
        "no neighbour entry fd00:77::100 -> {replica_mac}: {}",
        net.master.ip(&["-6", "neigh"])
    );

    assert_eq!(
        net.replica.enter(|| step.undo()).unwrap().outcome,
        Outcome::Changed
    );
    assert!(!net
        .replica
        .ip(&["-o", "address", "show", "dev", "vr"])
        .contains("fd00:77::100"));
}

#[test]
fn move_ip_errors_name_the_interface() {
    if !namespaces_permitted("move_ip_errors_name_the_interface") {
        return;
    }
    let net = Segment::new();
    let mut step =
        MoveIp::new(Side::Replica, SERVICE.parse().unwrap(), 24, "vm", "nosuch0").unwrap();
    let err = net.replica.enter(|| step.apply()).unwrap_err();
    assert!(
        matches!(&err, RedirectError::NoSuchInterface { interface } if interface == "nosuch0"),
        "{err:?}"
    );
    assert!(err.to_string().contains("nosuch0"));

    // A refusal by the kernel: IPv6 is disabled on the interface.
    common::run(
        net.replica
            .command("sysctl")
            .args(["-qw", "net.ipv6.conf.vr.disable_ipv6=1"]),
    );
    let mut v6 = MoveIp::new(Side::Replica, "fd00:77::5".parse().unwrap(), 64, "vm", "vr").unwrap();
    let err = net.replica.enter(|| v6.apply()).unwrap_err();
    let RedirectError::Address {
        action, interface, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!((*action, interface.as_str()), ("add", "vr"));
    assert!(err.to_string().contains("fd00:77::5/64"), "{err}");

    assert!(matches!(
        MoveIp::new(Side::Master, SERVICE.parse().unwrap(), 33, "a", "b"),
        Err(RedirectError::InvalidAddress { prefix_len: 33, .. })
    ));
    assert!(MoveIp::new(Side::Master, "127.0.0.1".parse().unwrap(), 8, "a", "b").is_err());
}

#[test]
fn switch_name_renames_both_hosts_and_back() {
    if !namespaces_permitted("switch_name_renames_both_hosts_and_back") {
        return;
    }
    let outside = host_name().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let etc_hostname = dir.path().join("hostname");
    std::fs::write(&etc_hostname, "db1\n").unwrap();

    // The master's side, in a UTS namespace of its own.
    in_uts_namespace(|| {
        let mut step = SwitchName::new(Side::Master, "db1", "db2").persist_to(&etc_hostname);
        assert!(step.describe().contains("db1-RHA"));
        let _ = SwitchName::new(Side::Master, "db1", "db2").undo().unwrap(); // sets "db1"
        assert_eq!(host_name().unwrap(), "db1");
        let r = step.apply().unwrap();
        assert_eq!(r.outcome, Outcome::Changed, "{r}");
        assert_eq!(host_name().unwrap(), "db1-RHA");
        assert_eq!(std::fs::read_to_string(&etc_hostname).unwrap(), "db1-RHA\n");
        assert_eq!(step.apply().unwrap().outcome, Outcome::AlreadyDone);
        assert_eq!(step.undo().unwrap().outcome, Outcome::Changed);
        assert_eq!(host_name().unwrap(), "db1");
        assert_eq!(std::fs::read_to_string(&etc_hostname).unwrap(), "db1\n");
        assert_eq!(step.undo().unwrap().outcome, Outcome::AlreadyDone);
    });

    // The replica's side, with a custom suffix on the other end.
    in_uts_namespace(|| {
        let mut step = SwitchName::new(Side::Replica, "db1", "db2").suffix("-OLD");
        let _ = step.undo().unwrap(); // the replica starts as "db2"
        assert_eq!(host_name().unwrap(), "db2");
        assert_eq!(step.apply().unwrap().outcome, Outcome::Changed);
        assert_eq!(host_name().unwrap(), "db1");
        assert_eq!(step.undo().unwrap().outcome, Outcome::Changed);
        assert_eq!(host_name().unwrap(), "db2");
        assert_eq!(
            SwitchName::new(Side::Master, "db1", "x")
                .suffix("-OLD")
                .target(false),
            "db1-OLD"
        );
    });

    // Invalid names are refused before anything changes.
    in_uts_namespace(|| {
        let before = host_name().unwrap();
        let mut step = SwitchName::new(Side::Replica, "bad name", "db2");
        let err = step.apply().unwrap_err();
        assert!(
            matches!(err, RedirectError::InvalidParameters { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("bad name"), "{err}");
        let long = "a".repeat(62);
        let err = SwitchName::new(Side::Master, long, "db2")
            .apply()
            .unwrap_err();
        assert!(err.to_string().contains("longer than 64"), "{err}");
        assert_eq!(host_name().unwrap(), before);
    });

    // None of it leaked out of the namespaces.
    assert_eq!(host_name().unwrap(), outside);
}

/// Any sequence of applies and undos on either side leaves the addresses
/// where a two-flag model says, and reports `Changed` exactly when the
/// model changed.
#[test]
fn move_ip_matches_its_model_under_any_sequence() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    if !namespaces_permitted("move_ip_matches_its_model_under_any_sequence") {
        return;
    }
    let net = Segment::new();
    let config = Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    };
    let ops = prop::collection::vec((any::<bool>(), any::<bool>()), 1..10);
    TestRunner::new(config)
        .run(&ops, |ops| {
            let mut master = net.step(Side::Master).announcements(0, Duration::ZERO);
            let mut replica = net.step(Side::Replica).announcements(0, Duration::ZERO);
            // Start from the initial state: on the master only.
            let _ = net.master.enter(|| master.undo()).unwrap();
            let _ = net.replica.enter(|| replica.undo()).unwrap();
            let (mut on_master, mut on_replica) = (true, false);
            for (replica_side, apply) in ops {
                let (ns, step, flag, adds) = if replica_side {
                    (&net.replica, &mut replica, &mut on_replica, apply)
                } else {
                    (&net.master, &mut master, &mut on_master, !apply)
                };
                let report = ns
                    .enter(|| if apply { step.apply() } else { step.undo() })
                    .unwrap();
                let changes = *flag != adds;
                *flag = adds;
                prop_assert_eq!(report.outcome == Outcome::Changed, changes, "{}", report);
                prop_assert_eq!(has_address(&net.master, "vm"), on_master);
                prop_assert_eq!(has_address(&net.replica, "vr"), on_replica);
            }
            Ok(())
        })
        .unwrap();
}
