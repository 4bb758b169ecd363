//! The `fixed_delta` target: fixed-offset comparison of two untrusted
//! signatures, and the master's answer to the plan it gives.

use rha_core::signature::block::{
    compare_fixed, file_hash, FixedDeltaJob, InPlacePatch, PatchError, PatchJob, PatchOptions,
    Signature,
};

/// The most output a patch may produce: bounds time and memory.
const MAX_OUTPUT: u64 = 1 << 20;

/// Splits a length-prefixed (u16 LE) field off the front of `data`; a
/// length past the end takes what is there.
fn field(data: &[u8]) -> (&[u8], &[u8]) {
    match data {
        [a, b, rest @ ..] => {
            rest.split_at(usize::from(u16::from_le_bytes([*a, *b])).min(rest.len()))
        }
        _ => (&[], &[]),
    }
}

/// `fixed_delta`: byte 0 picks the output chunk size, then the replica's
/// signature, the master's signature and the master's contents (each a u16
/// LE length and the bytes), then the replica's contents (the rest).
///
/// Checks: [`compare_fixed`] does not panic; when it gives a plan, its
/// ranges are ascending, disjoint and within the master's length; a
/// [`FixedDeltaJob`] over the master makes progress and ends (or fails
/// cleanly when the master is shorter than its signature says). Then the
/// delta is applied to the replica ([`PatchJob`] and [`InPlacePatch`]):
/// it gives the master exactly when the replica is the file its signature
/// describes (the delta names it), the master matches its signature, and
/// the blocks the plan keeps hold the master's bytes; any other replica is
/// refused before a byte is written. Applied in place to the master itself,
/// the delta is recognised as already applied and writes nothing.
pub fn fixed_delta(data: &[u8]) {
    run(data);
}

/// How far an input got, so seeds can be checked to mean what their names
/// say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reached {
    /// A signature did not load, or the comparison refused them.
    Refused,
    /// The master was shorter than the plan's ranges.
    MasterShort,
    /// The replica is not the file its signature describes: refused
    /// untouched.
    WrongBasis,
    /// Both patches rejected the delta (the master is not its signature).
    Rejected,
    /// Both patches gave the master.
    Patched,
}

fn run(data: &[u8]) -> Reached {
    let Some((&control, rest)) = data.split_first() else {
        return Reached::Refused;
    };
    let (replica_sig, rest) = field(rest);
    let (master_sig, rest) = field(rest);
    let (master, replica) = field(rest);
    let (Ok(replica_sig), Ok(master_sig)) = (
        Signature::from_bytes(replica_sig),
        Signature::from_bytes(master_sig),
    ) else {
        return Reached::Refused;
    };
    let Ok(plan) = compare_fixed(&replica_sig, &master_sig) else {
        return Reached::Refused;
    };
    let mut end = 0u64;
    for &(start, len) in &plan.ranges {
        assert!(len > 0, "an empty range in {:?}", plan.ranges);
        assert!(
            start >= end,
            "ranges overlap or go backwards: {:?}",
            plan.ranges
        );
        end = start.checked_add(len).expect("range end overflows");
        assert!(end <= plan.target_len, "range past the master's length");
    }
    assert_eq!(
        plan.target_len,
        master_sig.file_len().expect("rha signature")
    );
    assert_eq!(
        (plan.basis_len, Some(&plan.basis_hash)),
        (
            replica_sig.file_len().expect("rha signature"),
            replica_sig.file_hash()
        )
    );

    // The master's answer, produced through a small output buffer.
    let mut job = FixedDeltaJob::new(master, plan.clone());
    let mut buf = vec![0u8; usize::from(control % 64) + 1];
    let mut delta = Vec::new();
    let mut idle = 0;
    loop {
        let p = match job.run(&mut buf) {
            Ok(p) => p,
            Err(_) => {
                // Only a master shorter than the plan's ranges can fail.
                assert!(
                    plan.ranges
                        .last()
                        .is_some_and(|r| r.0 + r.1 > master.len() as u64),
                    "the delta job failed though the master holds every range"
                );
                return Reached::MasterShort;
            }
        };
        delta.extend_from_slice(&buf[..p.produced]);
        if p.done {
            break;
        }
        idle = if p.produced == 0 { idle + 1 } else { 0 };
        assert!(idle < 2, "the delta job makes no progress");
    }
    assert!(
        delta.len() as u64 <= plan.needed_bytes() + 128 * (plan.ranges.len() as u64 + 2),
        "the delta is larger than the literals it carries"
    );

    // What patching must give.
    let n = plan.target_len as usize;
    let master_ok = master.len() as u64 >= plan.target_len
        && file_hash(&master[..n], plan.block_len) == plan.target_hash;
    let basis_ok = replica.len() as u64 == plan.basis_len
        && file_hash(replica, plan.block_len) == plan.basis_hash;
    // The blocks the plan keeps must hold the master's bytes for the
    // result to be the master (a forged master signature can claim
    // otherwise; the final hash check then refuses the result).
    let mut kept_ok = master_ok;
    let mut at = 0u64;
    for &(start, len) in plan.ranges.iter().chain([(plan.target_len, 0)].iter()) {
        let (a, b) = (at as usize, start as usize);
        if kept_ok && a < b {
            kept_ok = replica.get(a..b) == master.get(a..b);
        }
        at = start + len;
    }
    let expect = (basis_ok && kept_ok).then(|| &master[..n]);

    let mut patch = PatchJob::new(replica, PatchOptions::default().max_output(MAX_OUTPUT));
    let mut out = Vec::new();
    let mut room = vec![0u8; 1 << 16];
    let mut fed = 0;
    let patched = loop {
        match patch.run(&delta[fed..], &mut room, true) {
            Ok(p) => {
                fed += p.consumed;
                out.extend_from_slice(&room[..p.produced]);
                if p.done {
                    assert_eq!(fed, delta.len(), "patch finished with bytes left over");
                    break Ok(out);
                }
                assert!(p.consumed + p.produced > 0, "patch makes no progress");
            }
            Err(e) => break Err(e),
        }
    };
    // What any success must give: a file with the length and whole-file
    // hash the master's signature declares (the master's bytes outside
    // the sent ranges are never read, so they need not match it).
    let declared = |out: &[u8]| {
        out.len() as u64 == plan.target_len && file_hash(out, plan.block_len) == plan.target_hash
    };
    match &patched {
        Ok(out) => {
            assert!(
                basis_ok,
                "a replica that is not its signature's file was patched"
            );
            assert!(
                declared(out),
                "a patched file without the declared length and hash"
            );
            if let Some(m) = expect {
                assert!(out == m, "patching the fixed delta did not give the master");
            }
        }
        Err(e) => {
            assert!(expect.is_none(), "patching failed where it should not: {e}");
            if !basis_ok {
                assert!(
                    matches!(e, PatchError::WrongBasis { .. }),
                    "a replica that is not its signature's file must be refused: {e}"
                );
            }
        }
    }

    // In place: a target already equal to the result is accepted as it is.
    let already = declared(replica);
    let mut in_place = InPlacePatch::new(replica.to_vec(), MAX_OUTPUT);
    let result = in_place.run(&delta, true);
    let written = in_place.written();
    match result {
        Ok(p) if p.done => {
            assert_eq!(p.consumed, delta.len(), "in-place patch left bytes over");
            assert!(
                basis_ok || already,
                "in-place patch succeeded on a wrong target"
            );
            let out = in_place.into_target();
            assert!(
                declared(&out),
                "patched in place without the declared length and hash"
            );
            if let Some(m) = expect {
                assert!(out == m, "patching the fixed delta in place");
            }
        }
        Ok(_) => panic!("in-place patch given the whole delta did not finish"),
        Err(e) => {
            assert!(
                expect.is_none(),
                "in-place patch failed where it should not: {e}"
            );
            if !basis_ok && !already {
                assert!(
                    matches!(e, PatchError::WrongBasis { .. }),
                    "expected a wrong-basis refusal, got {e}"
                );
                assert_eq!(written, 0, "a refused target was written");
                assert!(
                    in_place.into_target() == replica,
                    "a refused target changed"
                );
            }
        }
    }

    // Run again on the result: recognised, nothing written (unless the
    // result is the basis itself, which is then patched to itself).
    if master_ok {
        let mut again = InPlacePatch::new(master[..n].to_vec(), MAX_OUTPUT);
        let p = again
            .run(&delta, true)
            .expect("the result is accepted as it is");
        assert!(p.done);
        if (plan.basis_len, plan.basis_hash) != (plan.target_len, plan.target_hash) {
            assert!(again.already_patched() && again.written() == 0);
        }
        assert!(again.into_target() == master[..n], "the result changed");
    }

    if !basis_ok {
        Reached::WrongBasis
    } else if expect.is_some() {
        Reached::Patched
    } else {
        Reached::Rejected
    }
}

#[cfg(test)]
pub(crate) mod seeds {
    use super::{run, Reached};

    #[test]
    fn seeds_reach_what_their_names_say() {
        for (name, input) in seeds() {
            let want = match name.as_str() {
                "block-lengths-differ" => Reached::Refused,
                "master-too-short" => Reached::MasterShort,
                "master-not-its-signature" => Reached::Rejected,
                "replica-not-its-signature" | "replica-missing" => Reached::WrongBasis,
                "xxh3" => Reached::Refused,
                _ => Reached::Patched,
            };
            assert_eq!(run(&input), want, "seed {name}");
        }
    }

    use rha_core::signature::block::{signature_of, SignatureParams, StrongHash};

    fn sig(data: &[u8], block_len: u32, strong_len: Option<u8>, hash: StrongHash) -> Vec<u8> {
        let mut p = SignatureParams::new(data.len() as u64)
            .with_block_len(block_len)
            .expect("valid block length")
            .with_strong_hash(hash);
        if let Some(l) = strong_len {
            p = p.with_strong_len(l).expect("valid strong length");
        }
        signature_of(data, p).expect("signature")
    }

    fn input(
        control: u8,
        replica_sig: &[u8],
        master_sig: &[u8],
        master: &[u8],
        replica: &[u8],
    ) -> Vec<u8> {
        let mut v = vec![control];
        for s in [replica_sig, master_sig, master] {
            v.extend_from_slice(&(s.len() as u16).to_le_bytes());
            v.extend_from_slice(s);
        }
        v.extend_from_slice(replica);
        v
    }

    /// (name, input) pairs: identical, changed, grown, shrunk and empty
    /// files, a short strong hash on one side, mismatched block lengths, a
    /// master that does not match its signature, and xxh3 signatures.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let old: Vec<u8> = (0..3000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut new = old.clone();
        new[100..150].fill(7);
        new[2000] ^= 1;
        let mut grown = new.clone();
        grown.extend_from_slice(&[9; 700]);
        let b3 = StrongHash::Blake3;
        let mut out = Vec::new();
        let mut add = |name: &str, v: Vec<u8>| out.push((name.to_owned(), v));
        add(
            "same",
            input(
                3,
                &sig(&old, 256, None, b3),
                &sig(&old, 256, None, b3),
                &old,
                &old,
            ),
        );
        add(
            "changed",
            input(
                7,
                &sig(&old, 256, None, b3),
                &sig(&new, 256, None, b3),
                &new,
                &old,
            ),
        );
        add(
            "grown",
            input(
                63,
                &sig(&old, 128, None, b3),
                &sig(&grown, 128, None, b3),
                &grown,
                &old,
            ),
        );
        add(
            "shrunk",
            input(
                1,
                &sig(&grown, 128, None, b3),
                &sig(&old[..1234], 128, None, b3),
                &old[..1234],
                &grown,
            ),
        );
        add(
            "from-empty",
            input(
                9,
                &sig(&[], 64, None, b3),
                &sig(&new[..500], 64, None, b3),
                &new[..500],
                &[],
            ),
        );
        add(
            "to-empty",
            input(
                9,
                &sig(&old[..500], 64, None, b3),
                &sig(&[], 64, None, b3),
                &[],
                &old[..500],
            ),
        );
        add(
            "short-strong",
            input(
                5,
                &sig(&old, 256, Some(8), b3),
                &sig(&new, 256, None, b3),
                &new,
                &old,
            ),
        );
        add(
            "block-lengths-differ",
            input(
                5,
                &sig(&old, 256, None, b3),
                &sig(&new, 128, None, b3),
                &new,
                &old,
            ),
        );
        add(
            "master-not-its-signature",
            input(
                5,
                &sig(&old, 256, None, b3),
                &sig(&new, 256, None, b3),
                &old,
                &old,
            ),
        );
        add(
            "master-too-short",
            input(
                5,
                &sig(&old, 256, None, b3),
                &sig(&new, 256, None, b3),
                &new[..1900],
                &old,
            ),
        );
        add(
            "xxh3",
            input(
                5,
                &sig(&old, 256, None, StrongHash::Xxh3),
                &sig(&new, 256, None, StrongHash::Xxh3),
                &new,
                &old,
            ),
        );
        let mut other = old.clone();
        other[2500] ^= 1;
        add(
            "replica-not-its-signature",
            input(
                7,
                &sig(&old, 256, None, b3),
                &sig(&new, 256, None, b3),
                &new,
                &other,
            ),
        );
        add(
            "replica-missing",
            input(
                7,
                &sig(&old, 256, None, b3),
                &sig(&new, 256, None, b3),
                &new,
                &[],
            ),
        );
        out
    }
}
