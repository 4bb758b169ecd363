//! A minimal DNS client: queries over UDP (TCP when truncated), updates over
//! TCP.
//!
//! Updates go over TCP so that a lost reply is never followed by a
//! retransmission: a retried update would find its own change in place and
//! its prerequisites would report a conflict that is not one.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::dns_wire::{Message, Name, RData, Rcode, Record, RecordType};
use super::tsig::{self, TsigKey};
use super::RedirectError;

/// Talks to one DNS server.
#[derive(Debug, Clone)]
pub struct DnsClient {
    server: SocketAddr,
    timeout: Duration,
    attempts: u32,
    tsig: Option<TsigKey>,
}

impl DnsClient {
    /// A client for `server`, with a 2-second timeout per attempt and three
    /// UDP attempts per query.
    pub fn new(server: SocketAddr) -> Self {
        Self {
            server,
            timeout: Duration::from_secs(2),
            attempts: 3,
            tsig: None,
        }
    }

    /// Signs updates with this TSIG key (HMAC-SHA256) and requires the
    /// server's answers to them to carry a valid signature.
    #[must_use]
    pub fn tsig(mut self, key: TsigKey) -> Self {
        self.tsig = Some(key);
        self
    }

    /// Sets the time allowed for each attempt (at least one millisecond).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The server.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Asks the server for the `rtype` records of `name` and returns the
    /// matching answers (an empty list when the name or the type does not
    /// exist).
    ///
    /// # Errors
    ///
    /// [`RedirectError::DnsTransport`] when the server does not answer,
    /// [`RedirectError::DnsMalformed`] when the answer cannot be decoded,
    /// [`RedirectError::DnsRefused`] for an error response code other than
    /// NXDOMAIN.
    pub fn lookup(&self, name: &Name, rtype: RecordType) -> Result<Vec<Record>, RedirectError> {
        let record = format!("{name} {rtype}");
        let query = Message::query(next_id(), name.clone(), rtype);
        let reply = self.exchange_udp(&query, &record)?;
        let reply = if reply.truncated {
            self.exchange_tcp(&query, "query", &record, false)?
        } else {
            reply
        };
        if reply.rcode != Rcode::NOERROR && reply.rcode != Rcode::NXDOMAIN {
            return Err(RedirectError::DnsRefused {
                server: self.server,
                action: "query",
                record,
                rcode: reply.rcode,
            });
        }
        Ok(reply
            .answers
            .into_iter()
            .filter(|r| r.name == *name && r.rtype == rtype)
            .collect())
    }

    /// Sends an update and returns the server's response code (NOERROR when
    /// it was applied; NXRRSET, YXRRSET, NXDOMAIN or YXDOMAIN when a
    /// prerequisite failed).
    ///
    /// # Errors
    ///
    /// [`RedirectError::DnsTransport`] or [`RedirectError::DnsMalformed`];
    /// with a TSIG key, [`RedirectError::DnsTsig`] when the server rejects
    /// the signature or its answer's signature does not verify. `record`
    /// names the record in them.
    pub fn update(&self, update: &Message, record: &str) -> Result<Rcode, RedirectError> {
        Ok(self.exchange_tcp(update, "update", record, true)?.rcode)
    }

    fn transport(&self, action: &'static str, record: &str, source: io::Error) -> RedirectError {
        RedirectError::DnsTransport {
            server: self.server,
            action,
            record: record.to_owned(),
            source,
        }
    }

    fn exchange_udp(&self, query: &Message, record: &str) -> Result<Message, RedirectError> {
        let err = |e| self.transport("query", record, e);
        let local: SocketAddr = if self.server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(err)?;
        socket.connect(self.server).map_err(err)?;
        let bytes = query.encode();
        let mut buf = vec![0u8; super::dns_wire::MAX_MESSAGE_LEN];
        for _ in 0..self.attempts {
            socket.send(&bytes).map_err(err)?;
            let deadline = Instant::now() + self.timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                socket.set_read_timeout(Some(left)).map_err(err)?;
                let n = match socket.recv(&mut buf) {
                    Ok(n) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break
                    }
                    Err(e) => return Err(err(e)),
                };
                // Datagrams that are not the answer (stale replies to an
                // earlier attempt, strays) are skipped.
                if n < 2 || buf[..2] != query.id.to_be_bytes() {
                    continue;
                }
                return self.check_reply(&buf[..n], query, "query", record);
            }
        }
        Err(err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no answer after {} attempts of {:?}",
                self.attempts, self.timeout
            ),
        )))
    }

    fn exchange_tcp(
        &self,
        request: &Message,
        action: &'static str,
        record: &str,
        sign: bool,
    ) -> Result<Message, RedirectError> {
        let err = |e| self.transport(action, record, e);
        let mut stream = TcpStream::connect_timeout(&self.server, self.timeout).map_err(err)?;
        stream.set_read_timeout(Some(self.timeout)).map_err(err)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(err)?;
        let key = self.tsig.as_ref().filter(|_| sign);
        let (bytes, request_mac) = match key {
            Some(key) => key.sign(&request.encode(), tsig::now()),
            None => (request.encode(), Vec::new()),
        };
        let len = u16::try_from(bytes.len()).map_err(|_| {
            err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "message longer than 65535 bytes",
            ))
        })?;
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&bytes);
        stream.write_all(&framed).map_err(err)?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).map_err(err)?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).map_err(err)?;
        if let Some(key) = key {
            key.verify(&buf, &request_mac, tsig::now())
                .map_err(|reason| RedirectError::DnsTsig {
                    server: self.server,
                    key: key.name().to_string(),
                    record: record.to_owned(),
                    reason,
                })?;
        }
        self.check_reply(&buf, request, action, record)
    }

    fn check_reply(
        &self,
        bytes: &[u8],
        request: &Message,
        action: &'static str,
        record: &str,
    ) -> Result<Message, RedirectError> {
        let reply = Message::decode(bytes).map_err(|source| RedirectError::DnsMalformed {
            server: self.server,
            record: record.to_owned(),
            source,
        })?;
        if reply.id != request.id || !reply.response || reply.opcode != request.opcode {
            return Err(self.transport(
                action,
                record,
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the answer does not match the request (id, flags or opcode)",
                ),
            ));
        }
        Ok(reply)
    }
}

/// Message identifiers: a per-process counter started from the clock, so
/// concurrent processes rarely collide. (Identifiers are not a security
/// measure here; authenticate updates with TSIG or an address ACL.)
pub(crate) fn next_id() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (seed as u16) ^ n.wrapping_mul(40503) ^ (std::process::id() as u16)
}

/// The set of record data, order-insensitive, for comparing record sets.
pub(crate) fn rdata_set(records: &[Record]) -> Vec<RData> {
    let mut v: Vec<RData> = records.iter().map(|r| r.rdata.clone()).collect();
    v.sort_by_key(|d| d.to_string());
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::{TcpListener, UdpSocket};
    use std::thread;

    use super::*;
    use crate::redirect::dns_wire::Class;

    fn answer(query: &Message, truncated: bool, address: [u8; 4]) -> Vec<u8> {
        let mut m = query.clone();
        m.response = true;
        m.truncated = truncated;
        if !truncated {
            m.answers.push(Record {
                name: query.questions[0].name.clone(),
                rtype: RecordType::A,
                class: Class::IN,
                ttl: 42,
                rdata: RData::A(address.into()),
            });
        }
        m.encode()
    }

    /// Strays are skipped, a truncated answer is retried over TCP.
    #[test]
    fn stray_datagrams_are_skipped_and_truncation_falls_back_to_tcp() {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(server).unwrap();
        let fake = thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, from) = udp.recv_from(&mut buf).unwrap();
            let query = Message::decode(&buf[..n]).unwrap();
            let mut stray = query.clone();
            stray.id = stray.id.wrapping_add(1);
            udp.send_to(&answer(&stray, false, [9, 9, 9, 9]), from)
                .unwrap();
            udp.send_to(&answer(&query, true, [0; 4]), from).unwrap();
            let (mut stream, _) = tcp.accept().unwrap();
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).unwrap();
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut body).unwrap();
            let query = Message::decode(&body).unwrap();
            let reply = answer(&query, false, [192, 0, 2, 7]);
            stream
                .write_all(&(reply.len() as u16).to_be_bytes())
                .unwrap();
            stream.write_all(&reply).unwrap();
        });
        let client = DnsClient::new(server).timeout(Duration::from_secs(5));
        let name = Name::parse("db.example.test").unwrap();
        let records = client.lookup(&name, RecordType::A).unwrap();
        fake.join().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].rdata, RData::A([192, 0, 2, 7].into()));
        assert_eq!(records[0].ttl, 42);
    }

    #[test]
    fn a_silent_server_times_out_after_every_attempt() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = silent.local_addr().unwrap();
        let client = DnsClient::new(server).timeout(Duration::from_millis(50));
        let start = Instant::now();
        let err = client
            .lookup(&Name::parse("db.example.test").unwrap(), RecordType::A)
            .unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(150));
        let RedirectError::DnsTransport {
            source,
            action,
            record,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(source.kind(), io::ErrorKind::TimedOut);
        assert_eq!((*action, record.as_str()), ("query", "db.example.test A"));
        assert!(err.to_string().contains(&server.to_string()), "{err}");
    }

    #[test]
    fn malformed_and_mismatched_answers_are_errors() {
        for (reply, malformed) in [(&b"\x00"[..], true), (&[0u8; 12][..], false)] {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let server = udp.local_addr().unwrap();
            let reply = reply.to_vec();
            let fake = thread::spawn(move || {
                let mut buf = [0u8; 512];
                let (_, from) = udp.recv_from(&mut buf).unwrap();
                // Keep the query's id so the reply is not skipped as a stray.
                let mut bytes = buf[..2].to_vec();
                bytes.extend_from_slice(reply.get(2..).unwrap_or(&[]));
                udp.send_to(&bytes, from).unwrap();
            });
            let err = DnsClient::new(server)
                .timeout(Duration::from_secs(5))
                .lookup(&Name::parse("x.test").unwrap(), RecordType::A)
                .unwrap_err();
            fake.join().unwrap();
            // Two bytes: malformed; a zeroed header: not a response.
            if malformed {
                assert!(matches!(err, RedirectError::DnsMalformed { .. }), "{err:?}");
            } else {
                let RedirectError::DnsTransport { source, .. } = &err else {
                    panic!("{err:?}");
                };
                assert_eq!(source.kind(), io::ErrorKind::InvalidData);
            }
        }
    }
}
