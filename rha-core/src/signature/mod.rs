//! Signatures for synchronisation (SPEC.md §3): tree signatures and the sync plan.

pub mod tree;
