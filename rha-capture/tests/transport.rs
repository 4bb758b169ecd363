//! The transport over loopback: pinned handshakes, refusals, peers that
//! speak garbage or nothing, timeouts. Every wait is bounded.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use rha_capture::transport::{
    connect, is_timeout, Fingerprint, Identity, IdentityError, Listener, Phase, Timeouts,
    TlsStream, TransportError, CERT_FILE, KEY_FILE,
};

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        handshake: Duration::from_secs(3),
        read: Some(Duration::from_secs(5)),
        write: Some(Duration::from_secs(5)),
    }
}

fn short() -> Timeouts {
    Timeouts {
        handshake: Duration::from_millis(300),
        ..quick()
    }
}

fn ids() -> (Identity, Identity) {
    (Identity::generate().unwrap(), Identity::generate().unwrap())
}

/// A listener as `server` allowing `allowed`, whose first accept runs in a
/// thread.
fn serve(
    server: &Identity,
    allowed: &[Fingerprint],
    timeouts: Timeouts,
    then: impl FnOnce(TlsStream) + Send + 'static,
) -> (
    std::net::SocketAddr,
    thread::JoinHandle<Result<(), TransportError>>,
) {
    let listener = Listener::bind("127.0.0.1:0", server, allowed, timeouts).unwrap();
    let addr = listener.local_addr();
    let handle = thread::spawn(move || listener.accept().map(then));
    (addr, handle)
}

#[test]
fn pinned_peers_exchange_data_both_ways_and_close_cleanly() {
    let (master, replica) = ids();
    let master_fp = master.fingerprint();
    let (addr, server) = serve(&replica, &[master_fp], quick(), move |mut s| {
        assert_eq!(s.peer_fingerprint(), master_fp);
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        s.write_all(b"world").unwrap();
        s.flush().unwrap();
        // The client's close_notify ends the stream cleanly.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"bye");
    });
    let mut c = connect(addr, &master, &[replica.fingerprint()], &quick()).unwrap();
    assert_eq!(c.peer_fingerprint(), replica.fingerprint());
    assert_eq!(c.peer_addr(), addr);
    c.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"world");
    c.write_all(b"bye").unwrap();
    c.shutdown().unwrap();
    server.join().unwrap().unwrap();
}

#[test]
fn a_megabyte_crosses_in_both_directions() {
    let (a, b) = ids();
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
    let expected = data.clone();
    let (addr, server) = serve(&b, &[a.fingerprint()], quick(), move |mut s| {
        let mut got = vec![0u8; expected.len()];
        s.read_exact(&mut got).unwrap();
        assert!(got == expected);
        s.write_all(&got).unwrap();
        s.flush().unwrap();
    });
    let mut c = connect(addr, &a, &[b.fingerprint()], &quick()).unwrap();
    let writer_data = data.clone();
    // Write and read at once: neither side's buffers hold a megabyte.
    c.write_all(&writer_data[..1 << 19]).unwrap();
    c.write_all(&writer_data[1 << 19..]).unwrap();
    c.flush().unwrap();
    let mut back = vec![0u8; data.len()];
    c.read_exact(&mut back).unwrap();
    assert!(back == data);
    server.join().unwrap().unwrap();
}

#[test]
fn a_client_pinning_another_fingerprint_refuses_the_server_and_names_it() {
    let (master, replica) = ids();
    let stranger = Identity::generate().unwrap();
    let (addr, server) = serve(&replica, &[master.fingerprint()], quick(), |_| {
        panic!("nothing may be delivered")
    });
    let err = connect(addr, &master, &[stranger.fingerprint()], &quick()).unwrap_err();
    match &err {
        TransportError::NotAllowed { presented, addr: a } => {
            assert_eq!(*presented, replica.fingerprint());
            assert_eq!(a, &addr.to_string());
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&replica.fingerprint().to_string()), "{text}");
    assert!(text.starts_with(&format!("{addr}: ")), "{text}");
    // The server learns it from our alert.
    let server_err = server.join().unwrap().unwrap_err();
    assert!(
        matches!(server_err, TransportError::Refused { ref alert, .. } if alert == "certificate unknown"),
        "{server_err:?}"
    );
}

#[test]
fn a_server_that_does_not_allow_the_client_refuses_it_before_connect_returns() {
    let (master, replica) = ids();
    let stranger = Identity::generate().unwrap();
    let (addr, server) = serve(&replica, &[stranger.fingerprint()], quick(), |_| {
        panic!("nothing may be delivered")
    });
    let err = connect(addr, &master, &[replica.fingerprint()], &quick()).unwrap_err();
    assert!(
        matches!(err, TransportError::Refused { ref alert, .. } if alert == "certificate unknown"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("does the peer allow our fingerprint"),
        "{err}"
    );
    let server_err = server.join().unwrap().unwrap_err();
    match server_err {
        TransportError::NotAllowed { presented, .. } => assert_eq!(presented, master.fingerprint()),
        other => panic!("{other:?}"),
    }
}

fn expired() -> Identity {
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    Identity::generate_valid(now - 30 * day, now - day).unwrap()
}

#[test]
fn an_expired_client_certificate_is_refused_as_expired() {
    let (old, replica) = (expired(), Identity::generate().unwrap());
    let (addr, server) = serve(&replica, &[old.fingerprint()], quick(), |_| {
        panic!("nothing may be delivered")
    });
    let err = connect(addr, &old, &[replica.fingerprint()], &quick()).unwrap_err();
    assert!(err.to_string().contains("certificate expired"), "{err}");
    let server_err = server.join().unwrap().unwrap_err();
    assert!(
        matches!(server_err, TransportError::BadCertificate { .. }),
        "{server_err:?}"
    );
    assert!(server_err.to_string().contains("expired"), "{server_err}");
}

#[test]
fn an_expired_server_certificate_is_refused_as_expired() {
    let (master, old) = (Identity::generate().unwrap(), expired());
    let (addr, server) = serve(&old, &[master.fingerprint()], quick(), |_| {
        panic!("nothing may be delivered")
    });
    let err = connect(addr, &master, &[old.fingerprint()], &quick()).unwrap_err();
    assert!(
        matches!(err, TransportError::BadCertificate { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("expired"), "{err}");
    let server_err = server.join().unwrap().unwrap_err();
    assert!(
        server_err.to_string().contains("certificate expired"),
        "{server_err}"
    );
}

#[test]
fn a_certificate_not_valid_yet_is_refused() {
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let early = Identity::generate_valid(now + day, now + 2 * day).unwrap();
    let master = Identity::generate().unwrap();
    let (addr, server) = serve(&early, &[master.fingerprint()], quick(), |_| {});
    let err = connect(addr, &master, &[early.fingerprint()], &quick()).unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err}");
    assert!(server.join().unwrap().is_err());
}

#[test]
fn a_client_speaking_http_is_not_tls_and_is_dropped_at_once() {
    let (_, replica) = ids();
    let allowed = [Identity::generate().unwrap().fingerprint()];
    let (addr, server) = serve(&replica, &allowed, quick(), |_| panic!("not TLS"));
    let started = Instant::now();
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        .unwrap();
    let err = server.join().unwrap().unwrap_err();
    assert!(matches!(err, TransportError::NotTls { .. }), "{err:?}");
    assert!(err.to_string().contains("does not speak TLS"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_client_sending_random_bytes_ends_in_an_error_without_hanging() {
    let (_, replica) = ids();
    let allowed = [Identity::generate().unwrap().fingerprint()];
    for seed in 0u64..4 {
        let (addr, server) = serve(&replica, &allowed, short(), |_| panic!("not TLS"));
        let started = Instant::now();
        let mut plain = TcpStream::connect(addr).unwrap();
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut bytes = vec![0u8; 4096];
        for b in &mut bytes {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        if seed == 0 {
            // A plausible handshake record header with nonsense after it.
            bytes[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
        }
        let _ = plain.write_all(&bytes);
        let err = server.join().unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                TransportError::NotTls { .. }
                    | TransportError::Handshake { .. }
                    | TransportError::Timeout { .. }
            ),
            "seed {seed}: {err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "seed {seed}");
    }
}

#[test]
fn a_server_speaking_http_is_not_tls() {
    let master = Identity::generate().unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = tcp.accept().unwrap();
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        thread::sleep(Duration::from_millis(200));
    });
    let err = connect(addr, &master, &[master.fingerprint()], &quick()).unwrap_err();
    assert!(matches!(err, TransportError::NotTls { .. }), "{err:?}");
    server.join().unwrap();
}

#[test]
fn a_client_that_never_speaks_times_out() {
    let (_, replica) = ids();
    let allowed = [Identity::generate().unwrap().fingerprint()];
    let (addr, server) = serve(&replica, &allowed, short(), |_| panic!("silent"));
    let started = Instant::now();
    let _silent = TcpStream::connect(addr).unwrap();
    let err = server.join().unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Timeout {
                phase: Phase::Handshake,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("timed out after 300ms in the TLS handshake"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_server_that_never_speaks_times_out() {
    let master = Identity::generate().unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let started = Instant::now();
    let err = connect(addr, &master, &[master.fingerprint()], &short()).unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Timeout {
                phase: Phase::Handshake,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(tcp);
}

#[test]
fn nothing_listening_is_a_connect_error_naming_the_address() {
    let master = Identity::generate().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = connect(port, &master, &[master.fingerprint()], &quick()).unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{port}: cannot connect")),
        "{err}"
    );
}

#[test]
fn an_empty_allowed_set_is_refused_up_front() {
    let master = Identity::generate().unwrap();
    let err = connect("127.0.0.1:1", &master, &[], &quick()).unwrap_err();
    assert!(matches!(err, TransportError::NoPeers), "{err:?}");
    let err = Listener::bind("127.0.0.1:0", &master, &[], quick()).unwrap_err();
    assert!(matches!(err, TransportError::NoPeers), "{err:?}");
}

#[test]
fn a_read_timeout_wakes_the_reader_and_the_stream_stays_usable() {
    let (a, b) = ids();
    let (addr, server) = serve(&b, &[a.fingerprint()], quick(), |mut s| {
        thread::sleep(Duration::from_millis(300));
        s.write_all(b"late").unwrap();
        s.flush().unwrap();
        let mut end = Vec::new();
        let _ = s.read_to_end(&mut end);
    });
    let mut c = connect(addr, &a, &[b.fingerprint()], &quick()).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 4];
    let e = c.read(&mut buf).unwrap_err();
    assert!(is_timeout(&e), "{e:?}");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"late");
    c.shutdown().unwrap();
    server.join().unwrap().unwrap();
}

#[test]
fn a_peer_that_vanishes_without_close_notify_is_a_truncation_error() {
    let (a, b) = ids();
    let (addr, server) = serve(&b, &[a.fingerprint()], quick(), |s| {
        drop(s);
    });
    let mut c = connect(addr, &a, &[b.fingerprint()], &quick()).unwrap();
    server.join().unwrap().unwrap();
    let mut buf = Vec::new();
    let e = c.read_to_end(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e:?}");
}

#[test]
fn accept_timeout_returns_none_when_nobody_connects_then_accepts() {
    let (a, b) = ids();
    let listener = Listener::bind("127.0.0.1:0", &b, &[a.fingerprint()], quick()).unwrap();
    let started = Instant::now();
    assert!(listener
        .accept_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    assert!(started.elapsed() >= Duration::from_millis(90));
    let addr = listener.local_addr();
    let b_fp = b.fingerprint();
    let client = thread::spawn(move || connect(addr, &a, &[b_fp], &quick()).map(|_| ()));
    let accepted = listener.accept_timeout(Duration::from_secs(5)).unwrap();
    assert!(accepted.is_some());
    client.join().unwrap().unwrap();
}

#[test]
fn an_identity_round_trips_through_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let id = Identity::generate().unwrap();
    id.save(dir.path(), false).unwrap();
    let mode = std::fs::metadata(dir.path().join(KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let back = Identity::load(dir.path()).unwrap();
    assert_eq!(back.fingerprint(), id.fingerprint());
    assert_eq!(back.certificate_der(), id.certificate_der());
    assert_eq!(Fingerprint::of(back.certificate_der()), back.fingerprint());
    // A loaded identity connects like a generated one.
    let (addr, server) = serve(&back, &[id.fingerprint()], quick(), |_| {});
    connect(addr, &id, &[id.fingerprint()], &quick()).unwrap();
    server.join().unwrap().unwrap();
}

#[test]
fn saving_over_an_identity_needs_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let first = Identity::generate().unwrap();
    first.save(dir.path(), false).unwrap();
    let key_before = std::fs::read(dir.path().join(KEY_FILE)).unwrap();
    let second = Identity::generate().unwrap();
    let err = second.save(dir.path(), false).unwrap_err();
    assert!(matches!(err, IdentityError::Exists { .. }), "{err:?}");
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(KEY_FILE)).unwrap(),
        key_before
    );
    second.save(dir.path(), true).unwrap();
    assert_eq!(
        Identity::load(dir.path()).unwrap().fingerprint(),
        second.fingerprint()
    );
    // No temporary file is left behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [CERT_FILE, KEY_FILE]);
}

#[test]
fn loading_names_the_file_and_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let err = Identity::load(p).unwrap_err();
    assert!(matches!(err, IdentityError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains(CERT_FILE), "{err}");

    let a = Identity::generate().unwrap();
    a.save(p, false).unwrap();
    std::fs::remove_file(p.join(KEY_FILE)).unwrap();
    let err = Identity::load(p).unwrap_err();
    assert!(
        err.to_string().contains(KEY_FILE) && err.to_string().contains("no such file"),
        "{err}"
    );

    // Unreadable: a directory where the key should be.
    std::fs::create_dir(p.join(KEY_FILE)).unwrap();
    let err = Identity::load(p).unwrap_err();
    assert!(matches!(err, IdentityError::Read { .. }), "{err:?}");
    std::fs::remove_dir(p.join(KEY_FILE)).unwrap();

    std::fs::write(p.join(KEY_FILE), "not pem at all").unwrap();
    let err = Identity::load(p).unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::BadPem {
                what: "private key",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(KEY_FILE), "{err}");

    std::fs::write(
        p.join(CERT_FILE),
        "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = Identity::load(p).unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::BadPem {
                what: "certificate",
                ..
            }
        ),
        "{err:?}"
    );

    // Another identity's key with this certificate.
    let other = tempfile::tempdir().unwrap();
    let b = Identity::generate().unwrap();
    b.save(other.path(), false).unwrap();
    a.save(p, true).unwrap();
    std::fs::copy(other.path().join(KEY_FILE), p.join(KEY_FILE)).unwrap();
    let err = Identity::load(p).unwrap_err();
    assert!(matches!(err, IdentityError::KeyMismatch { .. }), "{err:?}");
    assert!(
        err.to_string().contains("not the certificate's key"),
        "{err}"
    );
}

/// A server that presents `cert` (an allowed certificate) but signs the
/// handshake with another key: the client must check the signature.
#[test]
fn a_server_presenting_a_pinned_certificate_without_its_key_is_refused() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;

    let (master, victim) = ids();
    let thief = tempfile::tempdir().unwrap();
    Identity::generate()
        .unwrap()
        .save(thief.path(), false)
        .unwrap();
    let thief_key = PrivateKeyDer::from_pem_file(thief.path().join(KEY_FILE)).unwrap();
    #[allow(deprecated)] // the ring provider, as the transport uses
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signer = provider.key_provider.load_private_key(thief_key).unwrap();
    let stolen = CertificateDer::from(victim.certificate_der().to_vec());
    let certified = rustls::sign::CertifiedKey::new(vec![stolen], signer);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut sock, _) = tcp.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        // Runs until the client aborts.
        while conn.complete_io(&mut sock).is_ok() && conn.is_handshaking() {}
    });
    let err = connect(addr, &master, &[victim.fingerprint()], &quick()).unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::BadCertificate { .. } | TransportError::Handshake { .. }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().to_lowercase().contains("signature"),
        "{err}"
    );
    server.join().unwrap();
}
