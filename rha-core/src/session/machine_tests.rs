#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::ha::{Generations, Instant};

const SCENARIO: ScenarioId = *b"the-scenario-id!";

fn at(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

fn gens(current: u64, history: [u64; 2]) -> Generations {
    Generations {
        current,
        bitmap: 0,
        history,
    }
}

fn master(stored: u64) -> SessionConfig {
    let mut c = SessionConfig::new(Role::Master, [1; 16], SCENARIO);
    c.generations = gens(0x20, [0x10, 0]);
    c.stored = Point {
        epoch: 7,
        seq: stored,
    };
    c.name = "master".into();
    c
}

fn replica(stored: u64, applied: u64) -> SessionConfig {
    let mut c = SessionConfig::new(Role::Replica, [2; 16], SCENARIO);
    c.generations = gens(0x20, [0x10, 0]);
    c.stored = Point {
        epoch: 7,
        seq: stored,
    };
    c.applied = Point {
        epoch: 7,
        seq: applied,
    };
    c.window = 1000;
    c.name = "replica".into();
    c
}

/// Moves bytes both ways until neither side has more to send.
fn pump(a: &mut Session, b: &mut Session, now: Instant) {
    loop {
        let (x, y) = (a.take_output(), b.take_output());
        if x.is_empty() && y.is_empty() {
            return;
        }
        b.receive(&x, now);
        a.receive(&y, now);
    }
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn connected(s: &mut Session) -> (Point, bool) {
    match events(s).as_slice() {
        [Event::Connected {
            resume_after,
            sync_needed,
            version,
            ..
        }] => {
            assert_eq!(*version, VERSION_MAX);
            (*resume_after, *sync_needed)
        }
        other => panic!("{other:?}"),
    }
}

fn closed(s: &mut Session) -> (Reason, String, bool) {
    let evs = events(s);
    match evs.last() {
        Some(Event::Closed {
            reason,
            text,
            by_peer,
        }) => (*reason, text.clone(), *by_peer),
        _ => panic!("not closed: {evs:?}"),
    }
}

#[test]
fn the_journal_resumes_after_the_replicas_stored_point() {
    let (mut m, mut r) = (
        Session::new(master(100), at(0)),
        Session::new(replica(40, 30), at(0)),
    );
    pump(&mut m, &mut r, at(1));
    let p = Point { epoch: 7, seq: 40 };
    assert_eq!(connected(&mut m), (p, false));
    assert_eq!(connected(&mut r), (p, false));
    assert_eq!(m.window(), 1000);
    // Records must continue at 41.
    assert_eq!(
        m.send_journal(40, 41, Bytes::from_static(b"x")),
        Err(SessionError::OutOfOrder {
            expected: 41,
            first: 40
        })
    );
    m.send_journal(41, 45, Bytes::from(vec![5u8; 600])).unwrap();
    assert_eq!(
        m.send_journal(46, 46, Bytes::from(vec![6u8; 401])),
        Err(SessionError::Window {
            available: 400,
            needed: 401
        })
    );
    pump(&mut m, &mut r, at(2));
    match events(&mut r).as_slice() {
        [Event::Journal {
            epoch: 7,
            first: 41,
            last: 45,
            frames,
        }] => assert_eq!(frames.len(), 600),
        other => panic!("{other:?}"),
    }
    // Stored, then applied; the master hears both and gets room back.
    r.ack(AckKind::Stored, Point { epoch: 7, seq: 45 }).unwrap();
    assert!(matches!(
        r.ack(AckKind::Applied, Point { epoch: 7, seq: 46 }),
        Err(SessionError::BadAck { .. })
    ));
    r.ack(AckKind::Applied, Point { epoch: 7, seq: 43 })
        .unwrap();
    assert!(matches!(
        r.ack(AckKind::Applied, Point { epoch: 7, seq: 42 }),
        Err(SessionError::BadAck { .. })
    ));
    r.grant(600).unwrap();
    pump(&mut m, &mut r, at(3));
    assert_eq!(
        events(&mut m),
        vec![
            Event::Acked {
                kind: AckKind::Stored,
                at: Point { epoch: 7, seq: 45 }
            },
            Event::Acked {
                kind: AckKind::Applied,
                at: Point { epoch: 7, seq: 43 }
            },
        ]
    );
    assert_eq!(m.window(), 1000);
    // Control requests reach the replica; roles are checked.
    m.control(Control::Pause).unwrap();
    assert_eq!(
        r.control(Control::Pause),
        Err(SessionError::WrongRole(Role::Master))
    );
    assert_eq!(m.grant(5), Err(SessionError::WrongRole(Role::Replica)));
    pump(&mut m, &mut r, at(4));
    assert_eq!(events(&mut r), vec![Event::Control(Control::Pause)]);
    // An orderly close.
    m.close(Reason::Done, "shutdown");
    pump(&mut m, &mut r, at(5));
    assert_eq!(closed(&mut r), (Reason::Done, "shutdown".into(), true));
    assert!(!closed(&mut m).2);
    assert!(m.is_closed() && r.is_closed());
    assert_eq!(
        m.send_journal(46, 46, Bytes::new()),
        Err(SessionError::NotConnected)
    );
}

#[test]
fn a_replica_of_another_epoch_or_an_older_generation_is_synced_first() {
    // Another epoch: the journal starts over, after a sync.
    let mut rc = replica(40, 40);
    rc.stored.epoch = 6;
    rc.applied.epoch = 6;
    let (mut m, mut r) = (Session::new(master(100), at(0)), Session::new(rc, at(0)));
    pump(&mut m, &mut r, at(1));
    let p = Point { epoch: 7, seq: 0 };
    assert_eq!(connected(&mut m), (p, true));
    assert_eq!(connected(&mut r), (p, true));
    // An empty replica, and one of the master's older generation.
    for g in [gens(0, [0, 0]), gens(0x10, [0, 0])] {
        let mut rc = replica(0, 0);
        rc.generations = g;
        let (mut m, mut r) = (Session::new(master(100), at(0)), Session::new(rc, at(0)));
        pump(&mut m, &mut r, at(1));
        assert!(connected(&mut m).1, "{g:?}");
        assert!(connected(&mut r).1, "{g:?}");
    }
}

#[test]
fn refusals_name_their_reason_on_both_sides() {
    let cases: Vec<(SessionConfig, SessionConfig, Reason, &str)> = vec![
        (
            master(10),
            {
                let mut r = replica(5, 5);
                r.scenario = *b"another-scenario";
                r
            },
            Reason::Scenario,
            "another scenario",
        ),
        (
            master(10),
            master(10),
            Reason::Role,
            "both sides are masters",
        ),
        (
            master(10),
            {
                let mut r = replica(5, 5);
                r.generations = gens(0x30, [0x20, 0x10]);
                r
            },
            Reason::Generations,
            "newer than the master's",
        ),
        (
            master(10),
            {
                let mut r = replica(5, 5);
                r.generations = gens(0x99, [0x10, 0]);
                r
            },
            Reason::Generations,
            "diverged",
        ),
        (
            {
                let mut m = master(10);
                m.generations = gens(0, [0, 0]);
                m
            },
            replica(5, 5),
            Reason::Generations,
            "master has no data",
        ),
        (
            master(10),
            replica(11, 5),
            Reason::Generations,
            "holds up to 10",
        ),
    ];
    for (mc, rc, reason, words) in cases {
        let (mut m, mut r) = (Session::new(mc, at(0)), Session::new(rc, at(0)));
        pump(&mut m, &mut r, at(1));
        let (mr, mt, _) = closed(&mut m);
        let (rr, rt, _) = closed(&mut r);
        assert_eq!((mr, rr), (reason, reason), "{mt} / {rt}");
        assert!(
            mt.contains(words) || rt.contains(words),
            "{words}: {mt} / {rt}"
        );
        // Nothing was connected on either side.
        assert!(!m.is_connected() && !r.is_connected());
    }
}

#[test]
fn a_peer_that_breaks_the_protocol_is_closed_with_the_reason() {
    let raw = |messages: &[Message]| {
        let mut out = PREFACE.to_vec();
        for m in messages {
            m.encode(&mut out);
        }
        out
    };
    let mut master_hello = Session::new(master(100), at(0)).take_output();
    // Journal before the handshake.
    let mut r = Session::new(replica(40, 40), at(0));
    r.receive(
        &raw(&[Message::Journal {
            epoch: 7,
            first: 41,
            last: 41,
            frames: Bytes::from_static(b"x"),
        }]),
        at(1),
    );
    let (reason, text, by_peer) = closed(&mut r);
    assert_eq!((reason, by_peer), (Reason::Protocol, false));
    assert!(text.contains("unexpected journal"), "{text}");
    // A gap, a repeat, and too much for the window, after a good welcome.
    let welcome = Message::Welcome {
        version: 1,
        resume_after: Point { epoch: 7, seq: 40 },
        sync: false,
    };
    let journal = |first, len| Message::Journal {
        epoch: 7,
        first,
        last: first,
        frames: Bytes::from(vec![0u8; len]),
    };
    for (bad, words) in [
        (journal(42, 1), "where 41 was next"),
        (journal(40, 1), "where 41 was next"),
        (journal(41, 1001), "exceed the window"),
        (
            Message::Window { bytes: 5 },
            "unexpected window message to a replica",
        ),
    ] {
        let mut r = Session::new(replica(40, 40), at(0));
        r.receive(&master_hello, at(1));
        let mut bytes = Vec::new();
        welcome.encode(&mut bytes);
        bad.encode(&mut bytes);
        r.receive(&bytes, at(1));
        let evs = events(&mut r);
        assert!(matches!(evs[0], Event::Connected { .. }), "{evs:?}");
        match evs.last() {
            Some(Event::Closed { reason, text, .. }) => {
                assert_eq!(*reason, Reason::Protocol);
                assert!(text.contains(words), "{words}: {text}");
            }
            other => panic!("{other:?}"),
        }
        // Nothing after the error is looked at.
        assert!(r.take_output().ends_with(&{
            let mut close = Vec::new();
            Message::Close {
                reason: Reason::Protocol,
                text: match evs.last() {
                    Some(Event::Closed { text, .. }) => text.clone(),
                    _ => String::new(),
                },
            }
            .encode(&mut close);
            close
        }));
    }
    // Garbage instead of a session.
    let mut m = Session::new(master(1), at(0));
    m.receive(b"GET / HTTP/1.1\r\n\r\n", at(1));
    let (reason, text, _) = closed(&mut m);
    assert_eq!(reason, Reason::Protocol);
    assert!(text.contains("preface"), "{text}");
    // An acknowledgement beyond what was sent.
    let mut m = Session::new(master(100), at(0));
    let mut r = Session::new(replica(40, 40), at(0));
    pump(&mut m, &mut r, at(1));
    events(&mut m);
    let mut bytes = Vec::new();
    Message::Ack {
        kind: AckKind::Stored,
        at: Point { epoch: 7, seq: 41 },
    }
    .encode(&mut bytes);
    m.receive(&bytes, at(2));
    let (reason, text, _) = closed(&mut m);
    assert_eq!(reason, Reason::Protocol);
    assert!(text.contains("beyond the last record sent"), "{text}");
    master_hello.clear();
}

#[test]
fn heartbeats_keep_a_session_alive_and_silence_ends_it() {
    let (mut m, mut r) = (
        Session::new(master(10), at(0)),
        Session::new(replica(10, 10), at(0)),
    );
    pump(&mut m, &mut r, at(0));
    events(&mut m);
    events(&mut r);
    // Ten minutes of heartbeats: both stay connected.
    let mut now = 0;
    while now < 600_000 {
        let next = m.poll_timeout().unwrap().min(r.poll_timeout().unwrap());
        now = next.as_nanos() / 1_000_000;
        m.handle_timeout(next);
        r.handle_timeout(next);
        pump(&mut m, &mut r, next);
    }
    assert!(m.is_connected() && r.is_connected());
    assert!(events(&mut m).is_empty());
    // The replica goes quiet: the master gives up after the timeout, not
    // before.
    let quiet = at(now);
    let deadline = m.poll_timeout().unwrap();
    assert!(deadline <= quiet.saturating_add(Duration::from_secs(3)));
    m.handle_timeout(quiet.saturating_add(Duration::from_secs(29)));
    assert!(m.is_connected());
    m.handle_timeout(quiet.saturating_add(Duration::from_secs(30)));
    let evs = events(&mut m);
    assert_eq!(evs[0], Event::Silent);
    assert!(matches!(
        evs[1],
        Event::Closed {
            reason: Reason::Timeout,
            by_peer: false,
            ..
        }
    ));
    assert_eq!(m.poll_timeout(), None);
    // A peer that never says hello: the handshake times out.
    let mut m = Session::new(master(10), at(0));
    m.handle_timeout(at(30_000));
    assert_eq!(closed(&mut m).0, Reason::Timeout);
}

/// A run of the master's records through sessions that the link cuts at
/// random points (losing what was in flight), each followed by a new
/// session that resumes after the replica's stored point.
fn run_with_cuts(records: u64, cuts: &[(usize, usize)], chunk: usize) -> Vec<u64> {
    let mut stored: Vec<u64> = Vec::new();
    let mut cuts = cuts.iter().copied();
    let mut now = 0u64;
    for _session in 0..(cuts.len() + 2) {
        now += 1;
        let last = stored.last().copied().unwrap_or(0);
        let mut rc = replica(last, last);
        rc.window = 64;
        let mut m = Session::new(master(records), at(now));
        let mut r = Session::new(rc, at(now));
        // The cut: after `steps` exchanges, drop `lose` bytes in flight.
        let (steps, lose) = cuts.next().unwrap_or((usize::MAX, 0));
        let mut step = 0;
        'session: loop {
            // The master sends what the window allows.
            while m.is_connected() && m.last_seq() < records {
                let seq = m.last_seq() + 1;
                if m.send_journal(seq, seq, Bytes::from(seq.to_le_bytes().to_vec()))
                    .is_err()
                {
                    break;
                }
            }
            while let Some(e) = r.poll_event() {
                if let Event::Journal { first, frames, .. } = e {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&frames);
                    assert_eq!(u64::from_le_bytes(b), first);
                    stored.push(first);
                    r.ack(
                        AckKind::Stored,
                        Point {
                            epoch: 7,
                            seq: first,
                        },
                    )
                    .unwrap();
                    r.grant(8).unwrap();
                }
            }
            while m.poll_event().is_some() {}
            let (x, y) = (m.take_output(), r.take_output());
            if x.is_empty() && y.is_empty() && (m.last_seq() >= records || !m.is_connected()) {
                break 'session;
            }
            step += 1;
            assert!(step < 100_000, "the session stalled");
            if step == steps {
                // The link drops: part of what was in flight arrives.
                let keep = x.len().saturating_sub(lose);
                for c in x[..keep].chunks(chunk) {
                    r.receive(c, at(now));
                }
                while let Some(e) = r.poll_event() {
                    if let Event::Journal { first, .. } = e {
                        stored.push(first);
                    }
                }
                break 'session;
            }
            for c in x.chunks(chunk) {
                r.receive(c, at(now));
            }
            for c in y.chunks(chunk) {
                m.receive(c, at(now));
            }
        }
    }
    stored
}

proptest! {
    /// Whatever the cuts and the chunking, the replica ends with every
    /// record exactly once, in order.
    #[test]
    fn link_cuts_never_skip_or_repeat_a_record(
        records in 1u64..60,
        cuts in proptest::collection::vec((1usize..40, 0usize..200), 0..6),
        chunk in 1usize..50,
    ) {
        let stored = run_with_cuts(records, &cuts, chunk);
        prop_assert_eq!(stored, (1..=records).collect::<Vec<_>>());
    }

    /// Any chunking of the two byte streams gives the same events.
    #[test]
    fn any_chunking_gives_the_same_events(a in 1usize..40, b in 1usize..40) {
        let run = |chunk_m: usize, chunk_r: usize| {
            let (mut m, mut r) = (
                Session::new(master(20), at(0)),
                Session::new(replica(5, 5), at(0)),
            );
            let mut log = Vec::new();
            for round in 0..8 {
                if m.is_connected() {
                    let seq = m.last_seq() + 1;
                    let _ = m.send_journal(seq, seq + 1, Bytes::from(vec![round as u8; 30]));
                }
                if r.is_connected() && r.last_seq() > 5 {
                    let _ = r.ack(AckKind::Stored, Point { epoch: 7, seq: r.last_seq() });
                    let _ = r.grant(30);
                }
                let (x, y) = (m.take_output(), r.take_output());
                for c in x.chunks(chunk_m) {
                    r.receive(c, at(round));
                }
                for c in y.chunks(chunk_r) {
                    m.receive(c, at(round));
                }
                log.extend(events(&mut m).into_iter().map(|e| format!("m {e:?}")));
                log.extend(events(&mut r).into_iter().map(|e| format!("r {e:?}")));
            }
            log
        };
        prop_assert_eq!(run(a, b), run(usize::MAX, usize::MAX));
    }
}

/// The golden transcript: a scripted session (handshake, journal frames
/// from the journal writer, acks, window, heartbeats, controls, close),
/// both directions as sent.
fn transcript() -> (Vec<u8>, Vec<u8>) {
    use crate::journal::{JournalWriter, Op, RelPath, WriterConfig};
    let (mut m, mut r) = (
        Session::new(master(3), at(0)),
        Session::new(replica(1, 1), at(0)),
    );
    let (mut to_replica, mut to_master) = (Vec::new(), Vec::new());
    let mut step = |m: &mut Session, r: &mut Session, now| {
        let (x, y) = (m.take_output(), r.take_output());
        r.receive(&x, at(now));
        m.receive(&y, at(now));
        to_replica.extend_from_slice(&x);
        to_master.extend_from_slice(&y);
    };
    step(&mut m, &mut r, 1);
    step(&mut m, &mut r, 1);
    // Records 2 and 3 of the journal, as the writer frames them.
    let mut w = JournalWriter::new(
        Vec::new(),
        WriterConfig::default().stream_header(false).first_seq(2),
    );
    let path = RelPath::new("data/file").unwrap();
    w.append(
        1_000,
        &Op::Write {
            path: path.clone(),
            offset: 0,
            data: Bytes::from_static(b"hello"),
        },
    )
    .unwrap();
    w.append(2_000, &Op::SetLen { path, len: 5 }).unwrap();
    let frames = w.into_inner().unwrap();
    m.send_journal(2, 3, Bytes::from(frames)).unwrap();
    step(&mut m, &mut r, 2);
    r.ack(AckKind::Stored, Point { epoch: 7, seq: 3 }).unwrap();
    r.ack(AckKind::Applied, Point { epoch: 7, seq: 2 }).unwrap();
    r.grant(4096).unwrap();
    m.control(Control::Pause).unwrap();
    m.control(Control::Bookmark {
        at: Point { epoch: 7, seq: 3 },
        name: "nightly".into(),
    })
    .unwrap();
    m.control(Control::Resume).unwrap();
    step(&mut m, &mut r, 3);
    m.handle_timeout(at(3_000));
    r.handle_timeout(at(3_000));
    step(&mut m, &mut r, 3_000);
    m.close(Reason::Done, "shutdown");
    step(&mut m, &mut r, 3_001);
    (to_replica, to_master)
}

/// Version 1 of the session's bytes stays what it is: the committed
/// transcripts decode, and today's code sends exactly them
/// (`RHA_BLESS=1` rewrites them after a deliberate change).
#[test]
fn version_1_transcripts_stay_the_same() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let (to_replica, to_master) = transcript();
    let mut d = MessageDecoder::new();
    d.feed(&to_replica);
    let names: Vec<_> = std::iter::from_fn(|| d.next_message().unwrap())
        .map(|m| m.name())
        .collect();
    assert_eq!(
        names,
        [
            "hello",
            "welcome",
            "journal",
            "control",
            "control",
            "control",
            "heartbeat",
            "close"
        ]
    );
    for (name, fresh) in [
        ("session-v1-master-to-replica.bin", &to_replica),
        ("session-v1-replica-to-master.bin", &to_master),
    ] {
        let file = dir.join(name);
        if std::env::var_os("RHA_BLESS").is_some() {
            std::fs::write(&file, fresh).unwrap();
        }
        let golden = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            golden == *fresh,
            "{name} changed: the session format is versioned"
        );
        let mut d = MessageDecoder::new();
        d.feed(&golden);
        let mut kinds = Vec::new();
        while let Some(m) = d.next_message().unwrap() {
            kinds.push(m.name());
        }
        assert_eq!(d.buffered(), 0);
        assert_eq!(kinds.first(), Some(&"hello"), "{kinds:?}");
        assert!(kinds.contains(&"heartbeat"), "{kinds:?}");
    }
}

/// A refusal is logged on both sides, with its reason.
#[test]
fn refusals_are_logged_on_both_sides() {
    let ((), logs) = crate::log_capture::capture(|| {
        let mut rc = replica(5, 5);
        rc.generations = gens(0x30, [0x20, 0x10]);
        let (mut m, mut r) = (Session::new(master(10), at(0)), Session::new(rc, at(0)));
        pump(&mut m, &mut r, at(1));
    });
    let closed: Vec<_> = logs
        .iter()
        .filter(|l| l.contains("session closed") && l.contains("Generations"))
        .collect();
    assert_eq!(closed.len(), 2, "{logs:#?}");
    assert!(
        closed.iter().any(|l| l.contains("newer than the master")),
        "{logs:#?}"
    );
}

#[test]
fn a_journal_message_fits_the_lower_of_both_body_limits_and_carries_frames() {
    let mut m = SessionConfig::new(Role::Master, [1; 16], [9; 16]);
    m.max_body = 1 << 20;
    m.generations.current = 5;
    let mut r = SessionConfig::new(Role::Replica, [2; 16], [9; 16]);
    r.max_body = 64 << 10;
    r.window = 1 << 20;
    let now = Instant::from_nanos(0);
    let (mut master, mut replica) = (Session::new(m, now), Session::new(r, now));
    for _ in 0..3 {
        let out = master.take_output();
        replica.receive(&out, now);
        let out = replica.take_output();
        master.receive(&out, now);
    }
    assert!(master.is_connected() && replica.is_connected());
    assert_eq!(master.max_journal_frames(), (64 << 10) - 24);
    assert_eq!(replica.max_journal_frames(), (64 << 10) - 24);
    let too_big = Bytes::from(vec![0u8; 64 << 10]);
    assert_eq!(
        master.send_journal(1, 1, too_big),
        Err(SessionError::TooLarge {
            needed: 64 << 10,
            max: (64 << 10) - 24
        })
    );
    assert_eq!(
        master.send_journal(1, 1, Bytes::new()),
        Err(SessionError::NoFrames)
    );
    // Error texts read as sentences, not debug output.
    let e = replica
        .send_journal(1, 1, Bytes::from_static(b"x"))
        .unwrap_err();
    assert_eq!(e.to_string(), "only a master may do this");
    let e = replica
        .ack(AckKind::Stored, Point { epoch: 77, seq: 3 })
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot acknowledge record 3 of epoch 77"),
        "{e}"
    );
}

fn connected_sync(s: &mut Session) -> (Point, bool, bool) {
    match events(s).as_slice() {
        [Event::Connected {
            resume_after,
            sync_needed,
            sync,
            ..
        }] => (*resume_after, *sync_needed, *sync),
        other => panic!("{other:?}"),
    }
}

fn syncing_master(stored: u64) -> SessionConfig {
    let mut c = master(stored);
    c.can_sync = true;
    c
}

#[test]
fn a_master_that_can_sync_syncs_an_empty_replica_and_the_journal_follows_its_point() {
    let mut rc = replica(0, 0);
    rc.generations = Generations::default();
    rc.stored.epoch = 0;
    rc.applied.epoch = 0;
    let (mut m, mut r) = (
        Session::new(syncing_master(50), at(0)),
        Session::new(rc, at(0)),
    );
    pump(&mut m, &mut r, at(1));
    let k = Point { epoch: 7, seq: 50 };
    assert_eq!(connected_sync(&mut m), (k, true, true));
    assert_eq!(connected_sync(&mut r), (k, true, true));
    // The journal continues after the master's point while the sync runs.
    m.send_journal(51, 51, Bytes::from_static(b"x")).unwrap();
    m.send_sync(SyncRequest::Begin {
        id: 1,
        mode: SyncMode::File,
        ignore_same: true,
        block_size: 64 << 10,
        scope: SyncScope::whole(),
    })
    .unwrap();
    pump(&mut m, &mut r, at(2));
    let got = events(&mut r);
    assert!(
        matches!(got[0], Event::Journal { first: 51, .. }),
        "{got:?}"
    );
    assert!(
        matches!(got[1], Event::Sync(SyncRequest::Begin { id: 1, .. })),
        "{got:?}"
    );
    r.send_sync_reply(SyncReply::Done { id: 1 }).unwrap();
    r.ack(AckKind::Stored, Point { epoch: 7, seq: 51 }).unwrap();
    pump(&mut m, &mut r, at(3));
    let got = events(&mut m);
    assert_eq!(got[0], Event::SyncReply(SyncReply::Done { id: 1 }));
}

#[test]
fn a_replica_behind_what_the_master_holds_or_a_forced_resync_gets_a_sync() {
    // Stored 10, the master reclaimed up to 19: records 11..=19 are gone.
    let mut mc = syncing_master(50);
    mc.first_held = 20;
    let (mut m, mut r) = (
        Session::new(mc, at(0)),
        Session::new(replica(10, 10), at(0)),
    );
    pump(&mut m, &mut r, at(1));
    assert_eq!(
        connected_sync(&mut m),
        (Point { epoch: 7, seq: 50 }, true, true)
    );
    // Just in reach: no sync.
    let mut mc = syncing_master(50);
    mc.first_held = 11;
    let (mut m, mut r) = (
        Session::new(mc, at(0)),
        Session::new(replica(10, 10), at(0)),
    );
    pump(&mut m, &mut r, at(1));
    assert_eq!(
        connected_sync(&mut m),
        (Point { epoch: 7, seq: 10 }, false, false)
    );
    assert_eq!(
        connected_sync(&mut r),
        (Point { epoch: 7, seq: 10 }, false, false)
    );
    // Forced.
    let mut mc = syncing_master(50);
    mc.resync = true;
    let (mut m, mut r) = (
        Session::new(mc, at(0)),
        Session::new(replica(10, 10), at(0)),
    );
    pump(&mut m, &mut r, at(1));
    assert_eq!(
        connected_sync(&mut r),
        (Point { epoch: 7, seq: 50 }, true, true)
    );
    // A master that cannot sync says a sync is needed, and resumes where
    // the replica stands (the agent refuses to go on).
    let mut mc = master(50);
    mc.first_held = 20;
    let (mut m, mut r) = (
        Session::new(mc, at(0)),
        Session::new(replica(10, 10), at(0)),
    );
    pump(&mut m, &mut r, at(1));
    assert_eq!(
        connected_sync(&mut m),
        (Point { epoch: 7, seq: 10 }, true, false)
    );
}

#[test]
fn sync_messages_go_one_way_each() {
    let (mut m, mut r) = (
        Session::new(syncing_master(5), at(0)),
        Session::new(replica(5, 5), at(0)),
    );
    pump(&mut m, &mut r, at(1));
    events(&mut m);
    events(&mut r);
    assert_eq!(
        r.send_sync(SyncRequest::End {
            id: 1,
            replay_to: 0,
            entries: 0,
            bytes: 0
        }),
        Err(SessionError::WrongRole(Role::Master))
    );
    assert_eq!(
        m.send_sync_reply(SyncReply::Done { id: 1 }),
        Err(SessionError::WrongRole(Role::Replica))
    );
    // A replica that sends a master's sync message breaks the protocol.
    let mut bytes = Vec::new();
    Message::Sync(SyncRequest::End {
        id: 1,
        replay_to: 0,
        entries: 0,
        bytes: 0,
    })
    .encode(&mut bytes);
    m.receive(&bytes, at(2));
    let (reason, text, _) = closed(&mut m);
    assert_eq!(reason, Reason::Protocol);
    assert!(
        text.contains("unexpected sync message to a master"),
        "{text}"
    );
}

#[test]
fn a_sync_message_larger_than_the_peer_accepts_is_not_sent() {
    let mut mc = syncing_master(5);
    mc.max_body = 1 << 20;
    let mut rc = replica(5, 5);
    rc.max_body = 8192;
    let (mut m, mut r) = (Session::new(mc, at(0)), Session::new(rc, at(0)));
    pump(&mut m, &mut r, at(1));
    let before = m.pending_output();
    let frames = Bytes::from(vec![1u8; 8192]);
    assert_eq!(
        m.send_sync(SyncRequest::Records { id: 1, frames }),
        Err(SessionError::TooLarge {
            needed: 8192 + SYNC_RECORDS_FIELDS,
            max: 8192
        })
    );
    assert_eq!(m.pending_output(), before, "nothing of it is queued");
    let frames = Bytes::from(vec![1u8; 8192 - SYNC_RECORDS_FIELDS]);
    m.send_sync(SyncRequest::Records { id: 1, frames }).unwrap();
}

/// A sync over the session, scripted: both directions as sent.
fn sync_transcript() -> (Vec<u8>, Vec<u8>) {
    let mut rc = replica(0, 0);
    rc.generations = Generations::default();
    let (mut m, mut r) = (
        Session::new(syncing_master(3), at(0)),
        Session::new(rc, at(0)),
    );
    let (mut to_replica, mut to_master) = (Vec::new(), Vec::new());
    let mut step = |m: &mut Session, r: &mut Session, now| {
        let (x, y) = (m.take_output(), r.take_output());
        r.receive(&x, at(now));
        m.receive(&y, at(now));
        to_replica.extend_from_slice(&x);
        to_master.extend_from_slice(&y);
    };
    step(&mut m, &mut r, 1);
    step(&mut m, &mut r, 1);
    let path = crate::journal::RelPath::new("dir/big.img").unwrap();
    m.send_sync(SyncRequest::Begin {
        id: 1,
        mode: SyncMode::Block,
        ignore_same: false,
        block_size: 64 << 10,
        scope: SyncScope::whole(),
    })
    .unwrap();
    step(&mut m, &mut r, 2);
    r.send_sync_reply(SyncReply::Tree {
        id: 1,
        last: true,
        chunk: Bytes::from_static(b"the replica's tree signature"),
    })
    .unwrap();
    step(&mut m, &mut r, 3);
    m.send_sync(SyncRequest::Blocks {
        id: 1,
        file: 1,
        path: path.clone(),
    })
    .unwrap();
    step(&mut m, &mut r, 4);
    r.send_sync_reply(SyncReply::Blocks {
        id: 1,
        file: 1,
        last: true,
        hashes: Bytes::from(vec![0x5a; 2 * BLOCK_HASH_LEN]),
    })
    .unwrap();
    step(&mut m, &mut r, 5);
    m.send_sync(SyncRequest::Records {
        id: 1,
        frames: Bytes::from_static(b"the changed blocks as journal frames"),
    })
    .unwrap();
    m.send_sync(SyncRequest::Check {
        id: 1,
        path: path.clone(),
        len: 131_072,
        by_blocks: true,
        hash: [0x42; FILE_HASH_LEN],
    })
    .unwrap();
    step(&mut m, &mut r, 6);
    r.send_sync_reply(SyncReply::Mismatch {
        id: 1,
        path: path.clone(),
    })
    .unwrap();
    r.send_sync_reply(SyncReply::Progress {
        id: 1,
        records: 2,
        bytes: 65_536,
    })
    .unwrap();
    step(&mut m, &mut r, 7);
    m.send_sync(SyncRequest::End {
        id: 1,
        replay_to: 3,
        entries: 1,
        bytes: 196_608,
    })
    .unwrap();
    step(&mut m, &mut r, 8);
    r.send_sync_reply(SyncReply::Done { id: 1 }).unwrap();
    step(&mut m, &mut r, 9);
    m.close(Reason::Done, "synced");
    step(&mut m, &mut r, 10);
    (to_replica, to_master)
}

/// The sync's bytes stay what they are (`RHA_BLESS=1` rewrites them).
#[test]
fn version_1_sync_transcripts_stay_the_same() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let (to_replica, to_master) = sync_transcript();
    for (name, fresh, first_sync) in [
        (
            "session-v1-sync-master-to-replica.bin",
            &to_replica,
            "welcome",
        ),
        ("session-v1-sync-replica-to-master.bin", &to_master, "hello"),
    ] {
        let file = dir.join(name);
        if std::env::var_os("RHA_BLESS").is_some() {
            std::fs::write(&file, fresh).unwrap();
        }
        let golden = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            golden == *fresh,
            "{name} changed: the session format is versioned"
        );
        let mut d = MessageDecoder::new();
        d.feed(&golden);
        let mut kinds = Vec::new();
        while let Some(m) = d.next_message().unwrap() {
            kinds.push(m.name());
        }
        assert_eq!(d.buffered(), 0);
        assert!(kinds.contains(&first_sync), "{kinds:?}");
        let syncs = kinds.iter().filter(|k| k.starts_with("sync")).count();
        assert!(syncs >= 4, "{kinds:?}");
    }
}
