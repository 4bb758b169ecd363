//! The secure transport between a master and a replica: TCP with TLS 1.3
//! (rustls, ring provider), both sides authenticated by pinned certificate
//! fingerprints, as Syncthing pins device IDs. There is no certificate
//! authority and no plaintext mode.
//!
//! | item | what it is |
//! |---|---|
//! | [`Identity`] | a node's Ed25519 key and self-signed certificate, in `DIR/key.pem` and `DIR/cert.pem` (`rha keygen DIR`) |
//! | [`Fingerprint`] | SHA-256 of a certificate's DER, written `sha256:` + 64 hex digits |
//! | [`connect`], [`Listener`] | blocking connections to and from allowed peers, with [`Timeouts`] |
//! | [`TlsStream`] | an established connection: `Read + Write`, the peer's fingerprint, read timeouts, clean shutdown |
//! | [`Backoff`] | delays between reconnection attempts: exponential, jittered, bounded |
//! | [`TransportError`] | why a connection failed, naming the address and the reason |
//!
//! A peer is accepted when the certificate it presents has one of the
//! allowed fingerprints, is within its validity period now, is properly
//! self-signed, and the peer proves in the handshake that it holds the
//! certificate's key. [`connect`] returns only once the server has
//! accepted the client's certificate too: the server's TLS 1.3 session
//! ticket, which it sends only after checking the client, is the signal
//! (tickets are never stored and sessions never resume).
//!
//! ```
//! use rha_capture::transport::{connect, Identity, Listener, Timeouts};
//! use std::io::{Read, Write};
//!
//! let (master, replica) = (Identity::generate()?, Identity::generate()?);
//! let listener = Listener::bind("127.0.0.1:0", &replica, &[master.fingerprint()], Timeouts::default())?;
//! let addr = listener.local_addr();
//! let server = std::thread::spawn(move || -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
//!     let mut stream = listener.accept()?;
//!     let mut got = Vec::new();
//!     stream.read_to_end(&mut got)?;
//!     Ok(got)
//! });
//! let mut stream = connect(addr, &master, &[replica.fingerprint()], &Timeouts::default())?;
//! assert_eq!(stream.peer_fingerprint(), replica.fingerprint());
//! stream.write_all(b"hello")?;
//! stream.shutdown()?;
//! assert_eq!(server.join().unwrap().unwrap(), b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backoff;
mod error;
mod fingerprint;
mod identity;
mod listener;
mod stream;
mod tls;
mod verify;
mod wait;

pub(crate) use wait::{wait_readable_or, wait_ready};

pub use backoff::Backoff;
pub use error::{Phase, TransportError};
pub use fingerprint::{Fingerprint, FingerprintParseError};
pub use identity::{Identity, IdentityError, CERT_FILE, KEY_FILE};
pub use listener::Listener;
pub use stream::{connect, is_timeout, Timeouts, TlsStream};
