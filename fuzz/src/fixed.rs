//! The `fixed_delta` target: fixed-offset comparison of two untrusted
//! signatures, and the master's answer to the plan it gives.

use rha_core::signature::block::{
    compare_fixed, file_hash, FixedDeltaJob, InPlacePatch, PatchJob, PatchOptions, Signature,
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
/// signature and the master's signature (each a u16 LE length and the
/// bytes), then the master's contents.
///
/// Checks: [`compare_fixed`] does not panic; when it gives a plan, its
/// ranges are ascending, disjoint and within the master's length; a
/// [`FixedDeltaJob`] over the master makes progress and ends (or fails
/// cleanly when the master is shorter than its signature says). The basis
/// is the master with every needed range garbled, so the replica holds the
/// blocks the plan calls the same: [`PatchJob`] and [`InPlacePatch`] then
/// give the master exactly when the master matches its signature's length
/// and hash, and an error otherwise.
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
    /// Both patches rejected the delta (the master is not its signature).
    Rejected,
    /// Both patches gave the master.
    Patched,
}

fn run(data: &[u8]) -> Reached {
    let Some((&control, rest)) = data.split_first() else {
        return Reached::Refused;
    };
    let (replica, rest) = field(rest);
    let (master_sig, master) = field(rest);
    let (Ok(replica), Ok(master_sig)) = (
        Signature::from_bytes(replica),
        Signature::from_bytes(master_sig),
    ) else {
        return Reached::Refused;
    };
    let Ok(plan) = compare_fixed(&replica, &master_sig) else {
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
        delta.len() as u64 <= plan.needed_bytes() + 64 * (plan.ranges.len() as u64 + 2),
        "the delta is larger than the literals it carries"
    );

    // The replica: the master with every needed range garbled.
    let mut basis = master.to_vec();
    for &(start, len) in &plan.ranges {
        let (start, end) = (start as usize, (start + len) as usize);
        for b in basis.iter_mut().take(end).skip(start) {
            *b = !*b;
        }
    }
    let n = plan.target_len as usize;
    let expect = (master.len() as u64 >= plan.target_len
        && file_hash(&master[..n], plan.block_len) == plan.target_hash)
        .then(|| &master[..n]);

    let mut patch = PatchJob::new(&basis[..], PatchOptions::default().max_output(MAX_OUTPUT));
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
                    break Some(out);
                }
                assert!(p.consumed + p.produced > 0, "patch makes no progress");
            }
            Err(_) => break None,
        }
    };
    assert_eq!(patched.as_deref(), expect, "patching the fixed delta");

    let mut in_place = InPlacePatch::new(basis, MAX_OUTPUT);
    let in_place = match in_place.run(&delta, true) {
        Ok(p) if p.done => {
            assert_eq!(p.consumed, delta.len(), "in-place patch left bytes over");
            Some(in_place.into_target())
        }
        Ok(_) => panic!("in-place patch given the whole delta did not finish"),
        Err(_) => None,
    };
    assert_eq!(
        in_place.as_deref(),
        expect,
        "patching the fixed delta in place"
    );
    if expect.is_some() {
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

    fn input(control: u8, replica: &[u8], master_sig: &[u8], master: &[u8]) -> Vec<u8> {
        let mut v = vec![control];
        for s in [replica, master_sig] {
            v.extend_from_slice(&(s.len() as u16).to_le_bytes());
            v.extend_from_slice(s);
        }
        v.extend_from_slice(master);
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
            ),
        );
        add(
            "changed",
            input(
                7,
                &sig(&old, 256, None, b3),
                &sig(&new, 256, None, b3),
                &new,
            ),
        );
        add(
            "grown",
            input(
                63,
                &sig(&old, 128, None, b3),
                &sig(&grown, 128, None, b3),
                &grown,
            ),
        );
        add(
            "shrunk",
            input(
                1,
                &sig(&grown, 128, None, b3),
                &sig(&old[..1234], 128, None, b3),
                &old[..1234],
            ),
        );
        add(
            "from-empty",
            input(
                9,
                &sig(&[], 64, None, b3),
                &sig(&new[..500], 64, None, b3),
                &new[..500],
            ),
        );
        add(
            "to-empty",
            input(
                9,
                &sig(&old[..500], 64, None, b3),
                &sig(&[], 64, None, b3),
                &[],
            ),
        );
        add(
            "short-strong",
            input(
                5,
                &sig(&old, 256, Some(8), b3),
                &sig(&new, 256, None, b3),
                &new,
            ),
        );
        add(
            "block-lengths-differ",
            input(
                5,
                &sig(&old, 256, None, b3),
                &sig(&new, 128, None, b3),
                &new,
            ),
        );
        add(
            "master-not-its-signature",
            input(
                5,
                &sig(&old, 256, None, b3),
                &sig(&new, 256, None, b3),
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
            ),
        );
        add(
            "xxh3",
            input(
                5,
                &sig(&old, 256, None, StrongHash::Xxh3),
                &sig(&new, 256, None, StrongHash::Xxh3),
                &new,
            ),
        );
        out
    }
}
