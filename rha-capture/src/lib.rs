//! # rha-capture
//!
//! The operating-system side of rha, organised by mechanism:
//!
//! | module | what it does |
//! |---|---|
//! | [`journal_file`] | reads and checks journal files on real file systems |
//! | [`agent`] | the master and replica agents that replicate between two hosts over a session ([`agent::MasterAgent`], [`agent::ReplicaAgent`]) |
//! | [`apply`] | applies journals to real directories and volumes, path-safe, with the replica's rewind log ([`apply::ReplicaDir`]) |
//! | [`sync`] | file- and block-level synchronisation of real directories: tree scans ([`sync::scan`]), whole-file and block-delta transfers ([`sync::block`]) |
//! | [`transport`] | TLS 1.3 connections between pinned peers: identities ([`transport::Identity`]), fingerprints, [`transport::connect`] and [`transport::Listener`], reconnection [`transport::Backoff`] |
//! | [`redirect`] | the Linux executors of a switchover's redirection steps (move IP, DNS redirect, alias switch, host name, user scripts) and [`redirect::ha::Redirector`], which runs a scenario's redirection actions with them |
//!
//! The `rha` command-line tool is this crate's binary; its subcommands live
//! in the binary (`src/cli/`) and are not part of the library, so programs
//! that link the library (such as `librha`) carry no command-line code.
//!
//! With the `testing` feature, the `testing` module exposes the private
//! parsers of untrusted bytes (TSIG signing and verification, rtnetlink
//! acknowledgements) to the fuzz targets. It is not part of the stable API.
//!
//! ```no_run
//! use rha_capture::journal_file::{scan, Outcome};
//!
//! let scan = scan(std::path::Path::new("changes.rhaj"), Default::default(), |_record| {})?;
//! match scan.outcome {
//!     Outcome::Clean { .. } => println!("{} records, intact", scan.records),
//!     Outcome::TornTail { offset, .. } => println!("torn tail: truncate to {offset} bytes"),
//!     Outcome::Corrupt(e) => println!("corrupt: {e}"),
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod agent;
pub mod apply;
pub mod journal_file;
pub mod redirect;
pub mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transport;
