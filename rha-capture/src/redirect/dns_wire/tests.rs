//! Tests of the DNS wire codec.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use proptest::prelude::*;

use super::*;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

#[test]
fn names_parse_and_print() {
    assert_eq!(name("WWW.Example.TEST.").to_string(), "www.example.test");
    assert_eq!(Name::parse(".").unwrap(), Name::root());
    assert_eq!(Name::root().to_string(), ".");
    assert_eq!(Name::parse(""), Err("empty name"));
    assert_eq!(Name::parse("a..b"), Err("empty label"));
    assert!(Name::parse(&"a".repeat(64)).is_err());
    assert!(Name::parse(&vec!["a".repeat(63); 4].join(".")).is_err());
    assert!(Name::parse(
        &[
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        ]
        .join(".")
    )
    .is_ok());
    assert!(Name::parse("a b.test").is_err());
    assert!(name("db.example.test").is_within(&name("example.test")));
    assert!(name("example.test").is_within(&name("example.test")));
    assert!(!name("example.test").is_within(&name("db.example.test")));
    assert!(!name("dbexample.test").is_within(&name("example.test")));
    let odd = Name::from_labels(vec![b"a.b".to_vec(), b"c".to_vec()]).unwrap();
    assert_eq!(odd.to_string(), "a\\046b.c");
}

#[test]
fn update_message_layout() {
    let m = Message::update(
        0x1234,
        name("example.test"),
        vec![Record {
            name: name("db.example.test"),
            rtype: RecordType::A,
            class: Class::NONE,
            ttl: 0,
            rdata: RData::Empty,
        }],
        vec![Record {
            name: name("db.example.test"),
            rtype: RecordType::A,
            class: Class::IN,
            ttl: 60,
            rdata: RData::A(Ipv4Addr::new(192, 0, 2, 1)),
        }],
    );
    let b = m.encode();
    // Header: id, opcode 5, counts 1/1/1/0.
    assert_eq!(&b[..12], &[0x12, 0x34, 0x28, 0, 0, 1, 0, 1, 0, 1, 0, 0]);
    // Zone: example.test SOA IN.
    assert_eq!(&b[12..26], b"\x07example\x04test\x00");
    assert_eq!(&b[26..30], &[0, 6, 0, 1]);
    // The prerequisite ends with class NONE, TTL 0, no data; the change
    // with its address.
    assert_eq!(
        &b[b.len() - 14..],
        &[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]
    );
    assert_eq!(Message::decode(&b).unwrap(), m);
}

#[test]
fn compressed_answers_decode() {
    // A response to "www.example.test CNAME?" with a compressed owner and a
    // compressed target: www.example.test CNAME db.example.test.
    let mut b = vec![0, 7, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0];
    b.extend_from_slice(b"\x03www\x07example\x04test\x00\x00\x05\x00\x01");
    b.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 5]);
    b.extend_from_slice(&[2, b'd', b'b', 0xc0, 16]);
    let m = Message::decode(&b).unwrap();
    assert!(m.response && m.authoritative);
    assert_eq!(m.answers[0].name, name("www.example.test"));
    assert_eq!(m.answers[0].ttl, 300);
    assert_eq!(m.answers[0].rdata, RData::Cname(name("db.example.test")));
}

#[test]
fn hostile_messages_are_rejected_with_offsets() {
    let header = |qd: u8, an: u8| vec![0, 1, 0x80, 0, 0, qd, 0, an, 0, 0, 0, 0];
    // A pointer to itself.
    let mut b = header(1, 0);
    b.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        WireError {
            offset: 12,
            kind: WireErrorKind::BadPointer
        }
    );
    // A pointer forward.
    let mut b = header(1, 0);
    b.extend_from_slice(&[0xc0, 20, 0, 1, 0, 1, 0, 0]);
    assert_eq!(
        Message::decode(&b).unwrap_err().kind,
        WireErrorKind::BadPointer
    );
    // Reserved label type.
    let mut b = header(1, 0);
    b.extend_from_slice(&[0x40, 0, 0, 1, 0, 1]);
    assert_eq!(
        Message::decode(&b).unwrap_err().kind,
        WireErrorKind::ReservedLabel
    );
    // Counts promising more than there is.
    assert_eq!(
        Message::decode(&header(0, 200)).unwrap_err(),
        WireError {
            offset: 12,
            kind: WireErrorKind::Truncated
        }
    );
    // An A record with 3 bytes of data.
    let mut b = header(0, 1);
    b.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    assert_eq!(
        Message::decode(&b).unwrap_err(),
        WireError {
            offset: 23,
            kind: WireErrorKind::BadRdata {
                rtype: RecordType::A,
                len: 3
            }
        }
    );
    // Trailing garbage.
    let mut b = header(0, 0);
    b.push(0);
    assert_eq!(
        Message::decode(&b).unwrap_err().kind,
        WireErrorKind::TrailingBytes
    );
    // A name over 255 bytes built from a chain of pointers to long labels.
    let mut b = header(5, 0);
    let mut starts = Vec::new();
    for i in 0..5u8 {
        starts.push(b.len());
        b.push(63);
        b.extend_from_slice(&[b'a' + i; 63]);
        if let Some(&prev) = starts.get(usize::from(i).wrapping_sub(1)) {
            b.extend_from_slice(&[0xc0, prev as u8]);
        } else {
            b.push(0);
        }
        b.extend_from_slice(&[0, 1, 0, 1]);
    }
    assert_eq!(
        Message::decode(&b).unwrap_err().kind,
        WireErrorKind::NameTooLong
    );
    assert_eq!(
        Message::decode(&[0; 5]).unwrap_err().kind,
        WireErrorKind::Truncated
    );
}

fn arb_name() -> impl Strategy<Value = Name> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..20), 0..6)
        .prop_map(|labels| Name::from_labels(labels).unwrap())
}

fn arb_rdata() -> impl Strategy<Value = (RecordType, RData)> {
    prop_oneof![
        Just((RecordType::A, RData::Empty)),
        any::<[u8; 4]>().prop_map(|a| (RecordType::A, RData::A(a.into()))),
        any::<[u8; 16]>().prop_map(|a| (RecordType::AAAA, RData::Aaaa(a.into()))),
        arb_name().prop_map(|n| (RecordType::CNAME, RData::Cname(n))),
        prop::collection::vec(any::<u8>(), 1..40).prop_map(|b| (RecordType(16), RData::Other(b))),
    ]
}

fn arb_record() -> impl Strategy<Value = Record> {
    (arb_name(), arb_rdata(), any::<u16>(), any::<u32>()).prop_map(
        |(name, (rtype, rdata), class, ttl)| Record {
            name,
            rtype,
            class: Class(class),
            ttl,
            rdata,
        },
    )
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        any::<u16>(),
        any::<[bool; 5]>(),
        0u8..16,
        0u8..16,
        prop::collection::vec((arb_name(), any::<u16>(), any::<u16>()), 0..3),
        prop::collection::vec(arb_record(), 0..4),
        prop::collection::vec(arb_record(), 0..4),
        prop::collection::vec(arb_record(), 0..2),
    )
        .prop_map(|(id, f, opcode, rcode, qs, an, ns, ar)| Message {
            id,
            response: f[0],
            opcode: Opcode(opcode),
            authoritative: f[1],
            truncated: f[2],
            recursion_desired: f[3],
            recursion_available: f[4],
            rcode: Rcode(rcode),
            questions: qs
                .into_iter()
                .map(|(name, t, c)| Question {
                    name,
                    rtype: RecordType(t),
                    class: Class(c),
                })
                .collect(),
            answers: an,
            authority: ns,
            additional: ar,
        })
}

proptest! {
    #[test]
    fn decode_inverts_encode(m in arb_message()) {
        prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Message::decode(&bytes) {
            // Whatever decodes re-encodes to something that decodes the same.
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn truncations_are_errors(m in arb_message(), cut in any::<prop::sample::Index>()) {
        let bytes = m.encode();
        let cut = cut.index(bytes.len());
        prop_assert!(Message::decode(&bytes[..cut]).is_err());
    }
}
