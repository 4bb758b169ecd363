//! Mirror-disk rules: scripted cases and a property over random sequences.

#![allow(clippy::unwrap_used)] // test code

use proptest::prelude::*;

use super::*;
use crate::testing::mirror::MirrorPair;

#[test]
fn mirror_break_and_return_copies_only_the_differences() {
    let mut m = MirrorPair::built();
    assert!(m.nodes.iter().all(|n| n.tracking_valid()));
    m.disconnect();
    let r = m.connect().unwrap().unwrap();
    assert_eq!(
        (r.kind, r.source.as_str(), r.target.as_str()),
        (ResyncKind::Differential, "a", "b")
    );
    assert_eq!(m.nodes[1].disk(), DiskState::Inconsistent);
    // The target refuses to become active mid-copy.
    m.nodes[0].demote();
    m.sync_roles();
    assert!(matches!(
        m.nodes[1].promote(false),
        Err(MirrorError::Stale { .. })
    ));
    m.resync_done();
    assert_eq!(
        m.nodes[0].generations().current,
        m.nodes[1].generations().current
    );
    assert_eq!(m.connect().unwrap(), None);
}

#[test]
fn mirror_failover_and_stale_return() {
    let mut m = MirrorPair::built();
    // a crashes; b may only become active once a is fenced (it is down).
    m.crash(0);
    assert!(matches!(
        m.nodes[1].promote(false),
        Err(MirrorError::PeerNotFenced { .. })
    ));
    m.nodes[1].promote(true).unwrap();
    m.check();
    // a returns: it is stale, becomes the target, and refuses to be active.
    m.boot(0);
    let r = m.connect().unwrap().unwrap();
    assert_eq!((r.kind, r.source.as_str()), (ResyncKind::Differential, "b"));
    m.sync_roles();
    let e = m.nodes[0].promote(false).unwrap_err();
    assert!(
        e.to_string().contains("its data is inconsistent")
            || e.to_string().contains("peer b is active"),
        "{e}"
    );
    m.resync_done();
    assert!(matches!(
        m.nodes[0].promote(false),
        Err(MirrorError::PeerActive { .. })
    ));
}

#[test]
fn mirror_full_copy_after_both_down_or_replacement() {
    // Both nodes went down: the tracking is not trusted.
    let mut m = MirrorPair::built();
    m.crash(1);
    m.crash(0);
    m.boot(0);
    m.boot(1);
    m.nodes[0].promote(true).unwrap();
    m.nodes[0].demote();
    let r = m.connect().unwrap().unwrap();
    assert_eq!(r.kind, ResyncKind::Full);
    m.resync_done();

    // A replaced disk gets a full copy.
    let mut m = MirrorPair::built();
    m.disconnect();
    m.nodes[1].replace_disk();
    let r = m.connect().unwrap().unwrap();
    assert_eq!((r.kind, r.target.as_str()), (ResyncKind::Full, "b"));
    m.resync_done();
    assert!(m.nodes[1].tracking_valid());
}

/// A split brain is over when the other side's disk is replaced: the node
/// that remembers it must agree to copy its data onto the empty disk, as
/// the empty side decides (found by `mirror_nodes_never_both_active`).
#[test]
fn a_split_brain_with_a_replaced_disk_ends_in_a_full_copy() {
    let mut m = MirrorPair::built();
    m.disconnect();
    m.crash(0);
    // a is down, so b may take over (a counts as fenced).
    m.nodes[1].promote(true).unwrap();
    m.boot(0);
    let (e0, e1) = m.connect().unwrap_err();
    assert!(matches!(e0, MirrorError::SplitBrain { .. }), "{e0}");
    assert!(matches!(e1, MirrorError::SplitBrain { .. }), "{e1}");
    assert_eq!(m.nodes[1].split_brain(), Some("a"));
    m.disconnect();
    m.nodes[0].replace_disk();
    let r = m.connect().unwrap().unwrap();
    assert_eq!(
        (r.kind, r.source.as_str(), r.target.as_str()),
        (ResyncKind::Full, "b", "a")
    );
    assert_eq!(m.nodes[1].split_brain(), None);
    m.resync_done();
    m.check();
}

#[test]
fn mirror_partition_ends_in_split_brain_and_an_operator_decision() {
    let mut m = MirrorPair::built();
    // a goes down; b takes over (a is fenced) and writes. Then b stops
    // serving and a comes back cut off from b; an operator forces a active
    // (b declared fenced) and it writes too: both changed data since the
    // same break.
    m.crash(0);
    m.nodes[1].promote(true).unwrap();
    m.boot(0);
    m.nodes[1].demote();
    m.nodes[0].promote(true).unwrap();
    m.nodes[0].demote();
    let (e0, e1) = m.connect().unwrap_err();
    assert!(matches!(e0, MirrorError::SplitBrain { .. }), "{e0}");
    assert!(matches!(e1, MirrorError::SplitBrain { .. }), "{e1}");
    assert_eq!(m.nodes[0].split_brain(), Some("b"));
    // Neither side may become active until resolved.
    assert!(m.nodes[0].promote(true).is_err() && m.nodes[1].promote(true).is_err());
    assert!(matches!(
        m.nodes[0].resolve_split_brain("c"),
        Err(MirrorError::UnknownNode { .. })
    ));
    // One side resolved is not enough.
    m.nodes[0].resolve_split_brain("b").unwrap();
    assert!(m.connect().is_err());
    m.nodes[0].resolve_split_brain("b").unwrap_or(());
    m.nodes[1].resolve_split_brain("b").unwrap();
    let r = m.connect().unwrap().unwrap();
    assert_eq!((r.source.as_str(), r.target.as_str()), ("b", "a"));
    m.resync_done();
    assert_eq!(m.nodes[0].split_brain(), None);
    assert_eq!(m.connect().unwrap(), None);
    m.nodes[1].promote(false).unwrap();
    m.check();
}

#[derive(Debug, Clone)]
enum MirrorInput {
    Connect,
    Disconnect,
    Crash(usize),
    Boot(usize),
    Promote(usize),
    Demote(usize),
    ResyncDone,
    ReplaceDisk(usize),
    Resolve(usize),
}

fn mirror_input() -> impl Strategy<Value = MirrorInput> {
    prop_oneof![
        Just(MirrorInput::Connect),
        Just(MirrorInput::Disconnect),
        (0..2usize).prop_map(MirrorInput::Crash),
        (0..2usize).prop_map(MirrorInput::Boot),
        (0..2usize).prop_map(MirrorInput::Promote),
        (0..2usize).prop_map(MirrorInput::Demote),
        Just(MirrorInput::ResyncDone),
        (0..2usize).prop_map(MirrorInput::ReplaceDisk),
        (0..2usize).prop_map(MirrorInput::Resolve),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Never two actives; a node never becomes active with data that is not
    /// up to date; both nodes always reach the same decision at handshake.
    #[test]
    fn mirror_nodes_never_both_active(inputs in proptest::collection::vec(mirror_input(), 1..40)) {
        let mut m = MirrorPair::built();
        for input in inputs {
            match input {
                MirrorInput::Connect => {
                    if m.up == [true, true] && !m.linked {
                        let _ = m.connect();
                        m.sync_roles();
                    }
                }
                MirrorInput::Disconnect => {
                    if m.linked {
                        m.disconnect();
                    }
                }
                MirrorInput::Crash(i) => {
                    if m.up[i] {
                        m.crash(i);
                    }
                }
                MirrorInput::Boot(i) => {
                    if !m.up[i] {
                        m.boot(i);
                    }
                }
                MirrorInput::Promote(i) => {
                    if m.up[i] {
                        // An honest embedder: the peer counts as fenced only when it is down.
                        let fenced = !m.up[1 - i];
                        if m.nodes[i].promote(fenced).is_ok() {
                            prop_assert_eq!(m.nodes[i].disk(), DiskState::UpToDate);
                        }
                        m.sync_roles();
                    }
                }
                MirrorInput::Demote(i) => {
                    m.nodes[i].demote();
                    m.sync_roles();
                }
                MirrorInput::ResyncDone => {
                    if m.linked && m.nodes[0].resync().is_some() {
                        m.resync_done();
                    }
                }
                MirrorInput::ReplaceDisk(i) => {
                    if !m.linked {
                        m.nodes[i].replace_disk();
                    }
                }
                MirrorInput::Resolve(i) => {
                    // The operator decides while the nodes are apart.
                    if m.linked {
                        m.disconnect();
                    }
                    let winner = m.nodes[i].name().to_string();
                    for n in &mut m.nodes {
                        let _ = n.resolve_split_brain(&winner);
                    }
                }
            }
            m.check();
        }
    }
}
