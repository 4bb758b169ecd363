//! The `dns_message_decode` target: arbitrary bytes through the DNS message
//! decoder the redirection steps use to read server answers.

use rha_capture::redirect::dns_wire::{Message, MAX_MESSAGE_LEN};

/// Decodes `data` as a DNS message. Checks: no panic; an error's offset lies
/// within the input; a decoded message re-encodes to bytes that decode to
/// the same message.
pub fn dns_message_decode(data: &[u8]) {
    match Message::decode(data) {
        Ok(message) => {
            let again = Message::decode(&message.encode());
            assert_eq!(
                again.as_ref(),
                Ok(&message),
                "re-encoding changed the message"
            );
        }
        Err(e) => assert!(
            e.offset <= data.len().min(MAX_MESSAGE_LEN),
            "error offset {} past the input ({} bytes)",
            e.offset,
            data.len()
        ),
    }
}

#[cfg(test)]
mod seeds {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use rha_capture::redirect::dns_wire::{Class, Message, Name, RData, Rcode, Record, RecordType};

    use crate::tests::corpus_dir;

    fn name(s: &str) -> Name {
        Name::parse(s).expect("valid seed name")
    }

    fn record(owner: &str, rtype: RecordType, class: Class, ttl: u32, rdata: RData) -> Record {
        Record {
            name: name(owner),
            rtype,
            class,
            ttl,
            rdata,
        }
    }

    /// Well-formed messages of every shape the executors send or read, and
    /// broken ones reaching each decoding error.
    fn seeds() -> Vec<(&'static str, Vec<u8>)> {
        let query = Message::query(1, name("db.example.test"), RecordType::A).encode();
        let update = Message::update(
            2,
            name("example.test"),
            vec![
                record(
                    "db.example.test",
                    RecordType::A,
                    Class::IN,
                    0,
                    RData::A(Ipv4Addr::new(192, 0, 2, 10)),
                ),
                record(
                    "new.example.test",
                    RecordType::A,
                    Class::NONE,
                    0,
                    RData::Empty,
                ),
            ],
            vec![
                record(
                    "db.example.test",
                    RecordType::A,
                    Class::ANY,
                    0,
                    RData::Empty,
                ),
                record(
                    "db.example.test",
                    RecordType::A,
                    Class::IN,
                    60,
                    RData::A(Ipv4Addr::new(192, 0, 2, 20)),
                ),
                record(
                    "www.example.test",
                    RecordType::CNAME,
                    Class::IN,
                    30,
                    RData::Cname(name("db2.example.test")),
                ),
                record(
                    "db6.example.test",
                    RecordType::AAAA,
                    Class::IN,
                    60,
                    RData::Aaaa(Ipv6Addr::LOCALHOST),
                ),
                record(
                    "txt.example.test",
                    RecordType(16),
                    Class::IN,
                    60,
                    RData::Other(b"\x05hello".to_vec()),
                ),
            ],
        )
        .encode();
        let mut answer = Message::query(3, name("db.example.test"), RecordType::A);
        answer.response = true;
        answer.authoritative = true;
        answer.rcode = Rcode::NXRRSET;
        answer.answers.push(record(
            "db.example.test",
            RecordType::A,
            Class::IN,
            300,
            RData::A(Ipv4Addr::new(192, 0, 2, 10)),
        ));
        let answer = answer.encode();
        // A compressed answer: www.example.test CNAME db.example.test.
        let mut compressed = vec![0, 7, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0];
        compressed.extend_from_slice(b"\x03www\x07example\x04test\x00\x00\x05\x00\x01");
        compressed.extend_from_slice(&[
            0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 5, 2, b'd', b'b', 0xc0, 16,
        ]);
        let header = |qd: u8, an: u8| vec![0, 1, 0x80, 0, 0, qd, 0, an, 0, 0, 0, 0];
        let mut self_pointer = header(1, 0);
        self_pointer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        let mut reserved = header(1, 0);
        reserved.extend_from_slice(&[0x80, 0, 0, 1, 0, 1]);
        let mut short_a = header(0, 1);
        short_a.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
        let mut cname_overrun = header(0, 1);
        cname_overrun.extend_from_slice(&[0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 2, 3, b'a', b'b', b'c', 0]);
        let mut trailing = answer.clone();
        trailing.push(0);
        vec![
            ("query", query),
            ("update", update.clone()),
            ("update-truncated", update[..update.len() / 2].to_vec()),
            ("answer-nxrrset", answer),
            ("answer-compressed", compressed),
            ("pointer-to-itself", self_pointer),
            ("reserved-label", reserved),
            ("a-record-too-short", short_a),
            ("cname-overruns-rdata", cname_overrun),
            ("trailing-byte", trailing),
            ("counts-without-records", header(200, 200)),
            ("header-only-partial", vec![0, 1, 0x80]),
        ]
    }

    #[test]
    #[ignore = "writes the seed corpus; run after changing the DNS codec"]
    fn regenerate_dns_seed_corpus() {
        let dir = corpus_dir("dns_message_decode");
        std::fs::create_dir_all(&dir).expect("corpus directory");
        for (name, data) in seeds() {
            std::fs::write(dir.join(format!("seed-{name}")), data).expect("seed written");
        }
    }

    #[test]
    fn seeds_run() {
        for (_, data) in seeds() {
            super::dns_message_decode(&data);
        }
    }
}
