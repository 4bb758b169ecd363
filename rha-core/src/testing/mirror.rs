//! Two mirror-disk nodes and their interconnect, checked after every step.
//!
//! [`MirrorPair`] holds two [`MirrorNode`]s, connects, disconnects, crashes
//! and boots them, and after every change checks that at most one node that
//! is up is primary.

#![allow(clippy::unwrap_used)] // harness code: a panic is the failure report

use crate::ha::{MirrorError, MirrorNode, Resync, ResyncKind, Role};

/// Two mirror-disk nodes and their interconnect.
#[derive(Debug)]
pub struct MirrorPair {
    /// The two nodes, `a` (seed 1) and `b` (seed 2).
    pub nodes: [MirrorNode; 2],
    /// Which nodes are powered on.
    pub up: [bool; 2],
    /// Whether the interconnect is up.
    pub linked: bool,
}

impl MirrorPair {
    /// A fresh cluster: node 0 holds the original data and is active, the
    /// full build to node 1 completed.
    pub fn built() -> Self {
        let mut p = Self {
            nodes: [MirrorNode::new("a", 1), MirrorNode::new("b", 2)],
            up: [true, true],
            linked: false,
        };
        p.nodes[0].initialise().unwrap();
        let r = p.connect().unwrap().expect("first build");
        assert_eq!(r.kind, ResyncKind::Full);
        p.resync_done();
        p.nodes[0].promote(false).unwrap();
        p.sync_roles();
        p.check();
        p
    }

    /// Brings the interconnect up; both nodes must decide alike (the
    /// resynchronisation, or both refusing).
    #[allow(clippy::result_large_err)] // harness code: both refusals are inspected
    pub fn connect(&mut self) -> Result<Option<Resync>, (MirrorError, MirrorError)> {
        assert!(self.up[0] && self.up[1]);
        let (h0, h1) = (self.nodes[0].handshake(), self.nodes[1].handshake());
        let r0 = self.nodes[0].handle_connect(h1);
        let r1 = self.nodes[1].handle_connect(h0);
        self.linked = true;
        self.check();
        match (r0, r1) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "the nodes decided differently");
                Ok(a)
            }
            (Err(a), Err(b)) => Err((a, b)),
            (a, b) => panic!("one side decided, the other refused: {a:?} / {b:?}"),
        }
    }

    /// Takes the interconnect down; each node that is up sees it.
    pub fn disconnect(&mut self) {
        self.linked = false;
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if self.up[i] {
                n.handle_disconnect();
            }
        }
        self.check();
    }

    /// Reports the end of the resynchronisation to both nodes.
    pub fn resync_done(&mut self) {
        for n in &mut self.nodes {
            n.handle_resync_done().unwrap();
        }
        self.check();
    }

    /// Tells each node the other's role, if the interconnect is up.
    pub fn sync_roles(&mut self) {
        if self.linked {
            let (r0, r1) = (self.nodes[0].role(), self.nodes[1].role());
            self.nodes[0].handle_peer_role(r1);
            self.nodes[1].handle_peer_role(r0);
        }
    }

    /// Powers node `i` off; the interconnect drops and the other node, if
    /// up, sees the disconnection.
    pub fn crash(&mut self, i: usize) {
        self.up[i] = false;
        self.linked = false;
        let other = 1 - i;
        if self.up[other] {
            self.nodes[other].handle_disconnect();
        }
        self.check();
    }

    /// Powers node `i` on again.
    pub fn boot(&mut self, i: usize) {
        self.up[i] = true;
        self.nodes[i].handle_restart();
        self.check();
    }

    /// Never two actives among the nodes that are up.
    pub fn check(&self) {
        let active = (0..2)
            .filter(|&i| self.up[i] && self.nodes[i].role() == Role::Primary)
            .count();
        assert!(active <= 1, "two active nodes");
    }
}
