//! # rha-capture
//!
//! The operating-system side of rha: reading and writing journal files on
//! real file systems, and the `rha` command-line tool built on them.
//!
//! [`redirect`] holds the Linux executors of the redirection steps of a
//! switchover (move IP, DNS redirect, alias switch, host name, user scripts).
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

pub mod apply;
pub mod block_cli;
pub mod block_file;
pub mod fixed_cli;
pub mod ha_redirect;
pub mod journal_file;
pub mod redirect;
pub mod spool_cli;
pub mod sync;
pub mod sync_cli;
pub mod tree_scan;
