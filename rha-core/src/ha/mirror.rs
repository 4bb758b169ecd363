//! Mirror-disk rules (SPEC.md §6): one node of a two-node shared-nothing
//! cluster, with DRBD-style data generation identifiers.
//!
//! Each node keeps [`Generations`]: the *current* identifier of its data,
//! the *bitmap* identifier (the generation at which it started tracking
//! differences, 0 when it is not tracking) and two *history* identifiers.
//! An active (primary) node that loses its peer starts a new generation and
//! arms its difference tracking; when the peer returns, comparing the two
//! nodes' generations tells which side holds the latest data and whether
//! the differences suffice or a full copy is needed:
//!
//! | local vs peer | outcome |
//! |---|---|
//! | same current | in sync, nothing to copy |
//! | one side has no data | full copy from the other |
//! | both bitmaps equal and non-zero, currents differ | **split brain**: both changed since the same break; an operator names the winner |
//! | peer's current = local bitmap | local is newer: differential copy to the peer |
//! | peer's current in local history | local is newer: full copy to the peer |
//! | (and the mirror cases) | peer is newer |
//! | anything else | unrelated data: refused |
//!
//! A differential copy is only used when both sides' tracking is trusted:
//! it is armed by a completed full build and invalidated by a disk or server
//! replacement and when both nodes went down.
//!
//! The stale side refuses to become active, and a node never becomes active
//! while its peer is active or may be (an unreachable peer must be fenced
//! first): there are never two actives.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The heartbeat interval of a mirror-disk interconnect [3 s].
pub const MIRROR_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);
/// The interconnect timeout [10 heartbeats: 30 s].
pub const MIRROR_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(30);

/// A node's data generation identifiers (0 means none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Generations {
    /// The generation of the data on the disk now.
    pub current: u64,
    /// The generation at which difference tracking started (0: none).
    pub bitmap: u64,
    /// Older generations, newest first.
    pub history: [u64; 2],
}

/// A node's disk, as far as the node knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskState {
    /// No data yet (new node, replaced disk or server).
    Empty,
    /// Being written by a resync that has not finished: unusable.
    Inconsistent,
    /// The peer is known to hold newer data.
    Outdated,
    /// The latest data, as far as this node knows.
    UpToDate,
}

impl fmt::Display for DiskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiskState::Empty => "empty",
            DiskState::Inconsistent => "inconsistent",
            DiskState::Outdated => "outdated",
            DiskState::UpToDate => "up to date",
        })
    }
}

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Active: serves and writes.
    Primary,
    /// Standby: receives the mirror.
    Secondary,
}

/// What a node tells its peer when the interconnect comes up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    /// The sender's name.
    pub node: String,
    /// Its generations.
    pub generations: Generations,
    /// Its disk state.
    pub disk: DiskState,
    /// Its role.
    pub role: Role,
    /// Whether its difference tracking is trusted.
    pub tracking_valid: bool,
    /// Whether it went down since it was last in sync.
    pub restarted: bool,
    /// The split-brain winner an operator named to it, if any.
    pub resolution: Option<String>,
}

/// A full or differential copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResyncKind {
    /// Every block.
    Full,
    /// Only the blocks marked in the difference tracking.
    Differential,
}

/// A resync decided at handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resync {
    /// Full or differential.
    pub kind: ResyncKind,
    /// The node copying from.
    pub source: String,
    /// The node copied to.
    pub target: String,
    /// The source's generations at the handshake (adopted by the target
    /// when the copy completes).
    pub source_generations: Generations,
}

/// A refused mirror operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The node does not hold the latest data.
    #[error("node {node} refuses to become active: its data is {disk}")]
    Stale {
        /// This node.
        node: String,
        /// Its disk state.
        disk: DiskState,
    },
    /// The peer is active.
    #[error("node {node} refuses to become active: its peer {peer} is active")]
    PeerActive {
        /// This node.
        node: String,
        /// The peer.
        peer: String,
    },
    /// The peer is unreachable and might be active.
    #[error("node {node} refuses to become active: the peer is unreachable and not fenced")]
    PeerNotFenced {
        /// This node.
        node: String,
    },
    /// Both nodes changed their data since the same break.
    #[error("split brain between {node} and {peer}: both changed data since generation {base:#x}; an operator must name the winner")]
    SplitBrain {
        /// This node.
        node: String,
        /// The peer.
        peer: String,
        /// The generation both started from.
        base: u64,
    },
    /// The nodes hold unrelated data (or neither holds any).
    #[error("nodes {node} and {peer} hold unrelated data ({local:#x} vs {remote:#x}); an operator must name the winner")]
    Unrelated {
        /// This node.
        node: String,
        /// The peer.
        peer: String,
        /// This node's current generation.
        local: u64,
        /// The peer's.
        remote: u64,
    },
    /// A split-brain resolution named a node that is neither side.
    #[error("split-brain resolution names {winner}, which is neither {node} nor {peer}")]
    UnknownNode {
        /// The name given.
        winner: String,
        /// This node.
        node: String,
        /// The peer.
        peer: String,
    },
    /// A resolution was given while no split brain is pending.
    #[error("node {node} has no split brain to resolve")]
    NoSplitBrain {
        /// This node.
        node: String,
    },
    /// A resync report came while none runs.
    #[error("node {node} has no resync in progress")]
    NoResync {
        /// This node.
        node: String,
    },
    /// The operation needs the interconnect up (or down).
    #[error("node {node}: {reason}")]
    Invalid {
        /// This node.
        node: String,
        /// Why.
        reason: &'static str,
    },
}

/// One node of a two-node mirror-disk cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorNode {
    name: String,
    role: Role,
    disk: DiskState,
    gens: Generations,
    tracking_valid: bool,
    restarted: bool,
    /// The peer's handshake while the interconnect is up.
    peer: Option<Handshake>,
    resync: Option<Resync>,
    /// The peer's name while a split brain waits for an operator.
    split_brain: Option<String>,
    /// The winner an operator named.
    resolution: Option<String>,
    seed: u64,
    counter: u64,
}

impl MirrorNode {
    /// A node with an empty disk. `seed` makes its generation identifiers
    /// unique (pass randomness; tests pass constants).
    pub fn new(name: impl Into<String>, seed: u64) -> Self {
        Self {
            name: name.into(),
            role: Role::Secondary,
            disk: DiskState::Empty,
            gens: Generations::default(),
            tracking_valid: false,
            restarted: false,
            peer: None,
            resync: None,
            split_brain: None,
            resolution: None,
            seed,
            counter: 0,
        }
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Its disk state.
    pub fn disk(&self) -> DiskState {
        self.disk
    }
    /// Its generations.
    pub fn generations(&self) -> Generations {
        self.gens
    }
    /// Whether its difference tracking is trusted.
    pub fn tracking_valid(&self) -> bool {
        self.tracking_valid
    }
    /// The resync in progress, if any.
    pub fn resync(&self) -> Option<&Resync> {
        self.resync.as_ref()
    }
    /// The peer of a pending split brain, if one waits for an operator.
    pub fn split_brain(&self) -> Option<&str> {
        self.split_brain.as_deref()
    }
    /// Whether the interconnect is up (a handshake was received).
    pub fn connected(&self) -> bool {
        self.peer.is_some()
    }

    fn fresh_generation(&mut self) -> u64 {
        loop {
            self.counter = self.counter.wrapping_add(1);
            let mut z = self
                .seed
                .wrapping_add(self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            if z != 0 {
                return z;
            }
        }
    }

    /// Makes this node's data the first generation (the original data of a
    /// new cluster). Its tracking is not trusted until a full build to the
    /// peer completes.
    pub fn initialise(&mut self) -> Result<(), MirrorError> {
        if self.disk != DiskState::Empty {
            return Err(self.invalid("only an empty node can be initialised"));
        }
        self.gens = Generations {
            current: self.fresh_generation(),
            ..Generations::default()
        };
        self.disk = DiskState::UpToDate;
        Ok(())
    }

    fn invalid(&self, reason: &'static str) -> MirrorError {
        MirrorError::Invalid {
            node: self.name.clone(),
            reason,
        }
    }

    /// What to send to the peer when the interconnect comes up.
    pub fn handshake(&self) -> Handshake {
        Handshake {
            node: self.name.clone(),
            generations: self.gens,
            disk: self.disk,
            role: self.role,
            tracking_valid: self.tracking_valid,
            restarted: self.restarted,
            resolution: self.resolution.clone(),
        }
    }

    /// The peer's handshake arrived: decides whether and how to resync.
    ///
    /// Returns the resync (both nodes reach the same decision from each
    /// other's handshakes), `None` when in sync, or an error for a split
    /// brain or unrelated data; the node then waits for
    /// [`resolve_split_brain`](Self::resolve_split_brain).
    pub fn handle_connect(&mut self, peer: Handshake) -> Result<Option<Resync>, MirrorError> {
        if peer.node == self.name {
            return Err(self.invalid("the peer has this node's own name"));
        }
        let decision = self.decide(&peer);
        self.peer = Some(peer.clone());
        let resync = match decision {
            Err(e) => {
                if matches!(
                    e,
                    MirrorError::SplitBrain { .. } | MirrorError::Unrelated { .. }
                ) {
                    self.split_brain = Some(peer.node.clone());
                }
                return Err(e);
            }
            Ok(r) => r,
        };
        if peer.generations.current == 0 {
            // See `decide`: a split brain with a peer whose disk was
            // replaced is over.
            self.split_brain = None;
        }
        match &resync {
            None => {
                if matches!(self.disk, DiskState::Outdated) {
                    self.disk = DiskState::UpToDate;
                }
            }
            Some(r) if r.target == self.name => {
                if self.role == Role::Primary {
                    // Never serve older data than the peer's: step down.
                    self.role = Role::Secondary;
                }
                self.disk = DiskState::Inconsistent;
            }
            Some(_) => {}
        }
        self.resync = resync.clone();
        Ok(resync)
    }

    fn decide(&self, peer: &Handshake) -> Result<Option<Resync>, MirrorError> {
        let (l, p) = (self.gens, peer.generations);
        let me = &self.name;
        // A resolution counts once both sides were told the same winner.
        let resolved = match (&self.resolution, &peer.resolution) {
            (Some(a), Some(b)) if a == b => Some(a.clone()),
            (None, None) => None,
            _ => return Err(self.split(peer, l.bitmap)),
        };
        // A pending split brain needs an operator's resolution, unless the
        // peer's disk was replaced since: an empty disk has no diverging
        // data left to conflict with (it is simply resynchronised in full).
        if let (Some(pending), None, false) = (&self.split_brain, &resolved, p.current == 0) {
            return Err(MirrorError::SplitBrain {
                node: me.clone(),
                peer: pending.clone(),
                base: l.bitmap,
            });
        }
        let trusted =
            self.tracking_valid && peer.tracking_valid && !(self.restarted && peer.restarted);
        let make = |kind, local_is_source: bool| {
            let (source, target, sg) = if local_is_source {
                (me.clone(), peer.node.clone(), l)
            } else {
                (peer.node.clone(), me.clone(), p)
            };
            Some(Resync {
                kind,
                source,
                target,
                source_generations: sg,
            })
        };
        if let Some(winner) = resolved {
            let kind = if trusted {
                ResyncKind::Differential
            } else {
                ResyncKind::Full
            };
            if winner == *me {
                return Ok(make(kind, true));
            }
            if winner == peer.node {
                return Ok(make(kind, false));
            }
            return Err(MirrorError::UnknownNode {
                winner,
                node: me.clone(),
                peer: peer.node.clone(),
            });
        }
        if self.role == Role::Primary && peer.role == Role::Primary {
            return Err(self.split(peer, l.bitmap));
        }
        let diff = if trusted {
            ResyncKind::Differential
        } else {
            ResyncKind::Full
        };
        let usable = |d: DiskState| matches!(d, DiskState::UpToDate | DiskState::Outdated);
        if l.current == 0 && p.current == 0 {
            return Err(MirrorError::Unrelated {
                node: me.clone(),
                peer: peer.node.clone(),
                local: 0,
                remote: 0,
            });
        }
        if l.current == p.current {
            // Same generation: an interrupted resync finishes in full.
            return Ok(match (usable(self.disk), usable(peer.disk)) {
                (true, false) => make(ResyncKind::Full, true),
                (false, true) => make(ResyncKind::Full, false),
                _ => None,
            });
        }
        if l.current == 0 || !usable(self.disk) && usable(peer.disk) {
            return Ok(make(ResyncKind::Full, false));
        }
        if p.current == 0 || !usable(peer.disk) && usable(self.disk) {
            return Ok(make(ResyncKind::Full, true));
        }
        if l.bitmap != 0 && l.bitmap == p.bitmap {
            return Err(self.split(peer, l.bitmap));
        }
        if p.current == l.bitmap && l.bitmap != 0 {
            return Ok(make(diff, true));
        }
        if l.current == p.bitmap && p.bitmap != 0 {
            return Ok(make(diff, false));
        }
        if l.history.contains(&p.current) || l.bitmap == p.current {
            return Ok(make(ResyncKind::Full, true));
        }
        if p.history.contains(&l.current) || p.bitmap == l.current {
            return Ok(make(ResyncKind::Full, false));
        }
        Err(MirrorError::Unrelated {
            node: me.clone(),
            peer: peer.node.clone(),
            local: l.current,
            remote: p.current,
        })
    }

    fn split(&self, peer: &Handshake, base: u64) -> MirrorError {
        MirrorError::SplitBrain {
            node: self.name.clone(),
            peer: peer.node.clone(),
            base,
        }
    }

    /// The interconnect went down. An active node starts a new generation
    /// and tracks its changes from here.
    pub fn handle_disconnect(&mut self) {
        self.peer = None;
        // A copy stopped midway leaves the target's disk inconsistent
        // (unusable) until a later resync completes.
        self.resync = None;
        if self.role == Role::Primary {
            self.new_generation();
        }
    }

    fn new_generation(&mut self) {
        if self.gens.bitmap == 0 {
            self.gens.bitmap = self.gens.current;
        }
        self.gens.current = self.fresh_generation();
    }

    /// The resync decided at handshake completed on this node.
    pub fn handle_resync_done(&mut self) -> Result<(), MirrorError> {
        let Some(r) = self.resync.take() else {
            return Err(MirrorError::NoResync {
                node: self.name.clone(),
            });
        };
        if r.source == self.name {
            if self.gens.bitmap != 0 {
                self.gens.history = [self.gens.bitmap, self.gens.history[0]];
            }
            self.gens.bitmap = 0;
        } else {
            let old = self.gens.current;
            self.gens = Generations {
                current: r.source_generations.current,
                bitmap: 0,
                history: [old, r.source_generations.history[0]],
            };
            self.disk = DiskState::UpToDate;
        }
        if r.kind == ResyncKind::Full {
            self.tracking_valid = true;
        }
        self.restarted = false;
        self.split_brain = None;
        self.resolution = None;
        Ok(())
    }

    /// Makes this node active. Refused when its data is not the latest, when
    /// the peer is active, during a pending split brain, and when the peer is
    /// unreachable unless `peer_fenced` confirms it cannot be active.
    pub fn promote(&mut self, peer_fenced: bool) -> Result<(), MirrorError> {
        if let Some(peer) = &self.split_brain {
            return Err(MirrorError::SplitBrain {
                node: self.name.clone(),
                peer: peer.clone(),
                base: self.gens.bitmap,
            });
        }
        if self.disk != DiskState::UpToDate {
            return Err(MirrorError::Stale {
                node: self.name.clone(),
                disk: self.disk,
            });
        }
        if self.role == Role::Primary {
            return Ok(());
        }
        match &self.peer {
            Some(peer) if peer.role == Role::Primary => {
                return Err(MirrorError::PeerActive {
                    node: self.name.clone(),
                    peer: peer.node.clone(),
                })
            }
            Some(_) => {
                if self.resync.as_ref().is_some_and(|r| r.target == self.name) {
                    return Err(MirrorError::Stale {
                        node: self.name.clone(),
                        disk: DiskState::Inconsistent,
                    });
                }
            }
            None if !peer_fenced => {
                return Err(MirrorError::PeerNotFenced {
                    node: self.name.clone(),
                })
            }
            None => self.new_generation(),
        }
        self.role = Role::Primary;
        Ok(())
    }

    /// Makes this node standby.
    pub fn demote(&mut self) {
        self.role = Role::Secondary;
    }

    /// The peer changed its role (learnt over the interconnect).
    pub fn handle_peer_role(&mut self, role: Role) {
        if let Some(p) = self.peer.as_mut() {
            p.role = role;
        }
    }

    /// The node came back up after going down: it is standby, and its
    /// difference tracking is trusted only if the peer stayed up.
    pub fn handle_restart(&mut self) {
        self.role = Role::Secondary;
        self.peer = None;
        self.resync = None;
        self.restarted = true;
    }

    /// The disk (or the whole server) was replaced: no data, no tracking; a
    /// full copy follows.
    pub fn replace_disk(&mut self) {
        self.role = Role::Secondary;
        self.gens = Generations::default();
        self.disk = DiskState::Empty;
        self.tracking_valid = false;
        self.resync = None;
        self.split_brain = None;
        self.resolution = None;
    }

    /// An operator resolves a split brain by naming the winner; the loser's
    /// changes since the break are discarded by the resync that follows the
    /// next handshake. Both nodes must be told the same winner.
    pub fn resolve_split_brain(&mut self, winner: &str) -> Result<(), MirrorError> {
        let Some(peer) = self.split_brain.clone() else {
            return Err(MirrorError::NoSplitBrain {
                node: self.name.clone(),
            });
        };
        if winner != self.name && winner != peer {
            return Err(MirrorError::UnknownNode {
                winner: winner.to_string(),
                node: self.name.clone(),
                peer,
            });
        }
        if winner != self.name {
            self.role = Role::Secondary;
            self.disk = DiskState::Outdated;
        }
        self.resolution = Some(winner.to_string());
        self.peer = None;
        Ok(())
    }
}
