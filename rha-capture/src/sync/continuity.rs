//! A sync breaks the replica's journal sequence.
//!
//! A replica that `rha apply` fed keeps the point it reached
//! (`.rha/applied`: scenario/epoch and last record) and, between journals,
//! the first half of a transaction (`.rha/open-transaction`). After a sync
//! the replica holds the master's tree as it was during the sync, which is
//! no point of that sequence: applying the next journal of the old sequence
//! would replay changes over newer data, and the kept half-transaction
//! would be committed onto a tree it does not belong to. So a sync that
//! changes the replica forgets both (durably, after its data), and says so;
//! the next journal applied starts a new sequence, as after a resync the
//! master's does.

use std::io;

use rha_core::rewind::{AppliedPoint, APPLIED_FILE, APPLIED_TMP};
use rha_core::storage::{DirStorage, Storage};

use crate::apply::TXN_FILE;

/// What a replica's state directory remembered of its journal sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForgottenPoint {
    /// The applied point, if the file read (`None`: none, or unreadable).
    pub point: Option<AppliedPoint>,
    /// The applied-point file was there but did not read.
    pub unreadable: bool,
    /// A transaction's first half was kept, waiting for its commit.
    pub open_transaction: bool,
}

/// What `state` remembers, if anything.
pub(crate) fn remembered(state: &DirStorage) -> io::Result<Option<ForgottenPoint>> {
    let exists = |name: &str| match state.open(name) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    };
    let has_point = exists(APPLIED_FILE)?;
    let open_transaction = exists(TXN_FILE)?;
    if !has_point && !open_transaction {
        return Ok(None);
    }
    let (point, unreadable) = match AppliedPoint::load(state) {
        Ok(p) => (p, false),
        Err(_) => (None, has_point),
    };
    Ok(Some(ForgottenPoint {
        point,
        unreadable,
        open_transaction,
    }))
}

/// Removes the applied point and any kept half-transaction, durably.
pub(crate) fn forget(state: &DirStorage) -> io::Result<()> {
    for name in [TXN_FILE, APPLIED_TMP, APPLIED_FILE] {
        match state.remove(name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    state.sync_dir()
}
