//! The `signature_parse` and `delta_apply` targets: block signatures and
//! deltas from untrusted bytes.

use rha_core::journal::{Op, RelPath};
use rha_core::signature::block::{
    delta_to_ops, DeltaFormat, DeltaJob, InPlacePatch, PatchJob, PatchOptions, Signature,
    SignatureKind, SignatureLoader, SparsePatchJob, WriteAt, DEFAULT_MAX_BLOCKS,
};

/// The most output a fuzzed delta may produce: bounds time and memory.
const MAX_OUTPUT: u64 = 1 << 20;

/// `signature_parse`: byte 0 picks the chunk size, the rest is a signature
/// (rha or rdiff). Checks: no panic; chunked and whole loading agree; an rha
/// signature that loads re-encodes to exactly its bytes (when written in
/// its canonical version); a delta job built on
/// it runs over the input without panicking and accounts for every byte.
pub fn signature_parse(data: &[u8]) {
    let Some((&control, sig)) = data.split_first() else {
        return;
    };
    let whole = Signature::from_bytes(sig);
    let step = usize::from(control % 64) + 1;
    let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
    let chunked = sig
        .chunks(step)
        .try_for_each(|c| loader.feed(c))
        .and_then(|()| loader.finish());
    assert_eq!(whole, chunked, "chunked loading differs");
    let Ok(s) = whole else {
        return;
    };
    // Writers use version 1 for BLAKE3 signatures, so only those written
    // that way re-encode byte for byte.
    let canonical = match s.kind() {
        SignatureKind::Rha => sig.get(4) == Some(&1),
        SignatureKind::RhaXxh3 => true,
        _ => false,
    };
    if canonical {
        assert_eq!(s.to_bytes().as_deref(), Some(sig), "re-encoding differs");
    }
    let format = if control & 0x80 == 0 {
        DeltaFormat::Rha
    } else {
        DeltaFormat::Rdiff
    };
    let mut job = DeltaJob::new(s, format);
    let mut out = vec![0u8; 4096];
    let mut input = data;
    for _ in 0..1_000_000 {
        let p = job
            .run(input, &mut out, true)
            .expect("a delta job accepts any new file");
        input = &input[p.consumed..];
        if p.done {
            let st = job.stats();
            assert_eq!(st.literal_bytes + st.matched_bytes, data.len() as u64);
            return;
        }
    }
    panic!("delta job did not finish");
}

/// `delta_apply`: byte 0 picks the chunk size, bytes 1..3 the basis length
/// (u16 LE), then the basis, then a delta (rha or rdiff). Checks: no panic,
/// output within the cap; chunked and whole patching agree; in-place
/// patching and the journal conversion agree with it when they succeed.
pub fn delta_apply(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let step = usize::from(data[0] % 32) + 1;
    let basis_len = usize::from(u16::from_le_bytes([data[1], data[2]])).min(data.len() - 3);
    let (basis, delta) = data[3..].split_at(basis_len);
    let whole = patch(basis, delta, delta.len().max(1), 1 << 16);
    let chunked = patch(basis, delta, step, step * 3 + 1);
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "chunked patch differs"),
        (Err(_), Err(_)) => {}
        _ => panic!("chunked and whole patching disagree: {whole:?} / {chunked:?}"),
    }
    // The sparse patcher hands zero runs back as holes: with the holes
    // filled it must give the same file, and fail where the others fail.
    let sparse = sparse_patch(basis, delta, step);
    match (&whole, &sparse) {
        (Ok(a), Ok(b)) => assert!(a == b, "sparse patch differs"),
        (Err(_), Err(_)) => {}
        _ => panic!("sparse and plain patching disagree: {whole:?} / {sparse:?}"),
    }
    let mut in_place = InPlacePatch::new(basis.to_vec(), MAX_OUTPUT);
    if let Ok(p) = in_place.run(delta, true) {
        // A finished job has used every byte: anything after the end
        // marker is an error, never silently left over.
        assert!(
            !p.done || p.consumed == delta.len(),
            "in-place patch finished with bytes left over"
        );
        if p.done && in_place.already_patched() {
            // The delta named a basis and announced a result that the
            // target already is: nothing written, the target unchanged.
            assert_eq!(
                in_place.written(),
                0,
                "an already patched target was written"
            );
            assert_eq!(
                in_place.into_target(),
                basis,
                "an already patched target changed"
            );
        } else if p.done {
            let out = whole
                .as_ref()
                .expect("in place succeeded, so must a new-file patch");
            assert_eq!(&in_place.into_target(), out, "in-place patch differs");
        }
    }
    // The journal form: applied in place, it must give the same file.
    let path = RelPath::new("f").expect("valid path");
    let mut ops = Vec::new();
    let mut budget = MAX_OUTPUT as usize;
    let converted = delta_to_ops(delta, &path, &mut &basis[..], MAX_OUTPUT, |op| {
        if let Op::Write { data, .. } = &op {
            budget = budget.saturating_sub(data.len());
        }
        if budget > 0 {
            ops.push(op);
        }
    });
    if let (Ok(_), Ok(out), true) = (converted, &whole, budget > 0) {
        let mut file = basis.to_vec();
        for op in ops {
            match op {
                Op::Write { offset, data, .. } => file.write_at(offset, &data).expect("in memory"),
                Op::SetLen { len, .. } => WriteAt::set_len(&mut file, len).expect("in memory"),
                other => panic!("unexpected operation {other:?}"),
            }
        }
        assert_eq!(&file, out, "journal form differs");
    }
}

fn patch(basis: &[u8], delta: &[u8], step: usize, room: usize) -> Result<Vec<u8>, String> {
    let mut job = PatchJob::new(basis, PatchOptions::default().max_output(MAX_OUTPUT));
    let mut out = Vec::new();
    let mut buf = vec![0u8; room];
    let mut fed = 0;
    loop {
        let end = (fed + step).min(delta.len());
        let p = job
            .run(&delta[fed..end], &mut buf, end == delta.len())
            .map_err(|e| e.to_string())?;
        fed += p.consumed;
        out.extend_from_slice(&buf[..p.produced]);
        assert!(out.len() as u64 <= MAX_OUTPUT, "output passed the cap");
        if p.done {
            assert_eq!(fed, delta.len(), "patch finished with bytes left over");
            return Ok(out);
        }
        if end == delta.len() && p.consumed == 0 && p.produced == 0 {
            return Err("no progress at the end of input".into());
        }
    }
}

fn sparse_patch(basis: &[u8], delta: &[u8], step: usize) -> Result<Vec<u8>, String> {
    let mut job = SparsePatchJob::new(basis, PatchOptions::default().max_output(MAX_OUTPUT));
    let mut out = Vec::new();
    let mut buf = vec![0u8; step * 5 + 3];
    let mut fed = 0;
    loop {
        let end = (fed + step).min(delta.len());
        let p = job
            .run(&delta[fed..end], &mut buf, end == delta.len())
            .map_err(|e| e.to_string())?;
        fed += p.consumed;
        out.extend_from_slice(&buf[..p.produced]);
        let zeros = usize::try_from(p.zeros).map_err(|e| e.to_string())?;
        out.resize(out.len() + zeros, 0);
        assert!(
            out.len() as u64 <= MAX_OUTPUT,
            "sparse output passed the cap"
        );
        if p.done {
            assert_eq!(
                fed,
                delta.len(),
                "sparse patch finished with bytes left over"
            );
            return Ok(out);
        }
        if end == delta.len() && p.consumed == 0 && p.produced == 0 && p.zeros == 0 {
            return Err("no progress at the end of input".into());
        }
    }
}

/// Seed inputs for both targets: (name, bytes).
#[cfg(test)]
pub(crate) fn seeds() -> Vec<(String, Vec<u8>, bool)> {
    use rha_core::signature::block::{delta_of, signature_of, SignatureParams};
    let basis: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut new = basis.clone();
    new.splice(1000..1000, *b"inserted bytes");
    new[3000..3100].fill(0);
    new.extend_from_slice(&[0; 2000]);
    let sig_of = |data: &[u8], bl: u32| {
        signature_of(
            data,
            SignatureParams::new(data.len() as u64)
                .with_block_len(bl)
                .expect("valid"),
        )
        .expect("signature")
    };
    let mut out = Vec::new();
    // (name, bytes, is_signature)
    for (name, data, bl) in [
        ("small", &basis[..], 64u32),
        ("empty", &[][..], 1024),
        ("onebyte", &basis[..1], 16),
    ] {
        let mut v = vec![7u8];
        v.extend_from_slice(&sig_of(data, bl));
        out.push((format!("rha-{name}"), v, true));
    }
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    let mut v = vec![0x85u8];
    v.extend_from_slice(&sig_of(&big, 64));
    out.push(("rha-two-groups".into(), v, true));
    // rdiff signatures: RabinKarp and rollsum magics, 1-byte strong sums.
    for magic in [0x7273_0147u32, 0x7273_0137] {
        let mut v = vec![3u8];
        v.extend_from_slice(&magic.to_be_bytes());
        v.extend_from_slice(&64u32.to_be_bytes());
        v.extend_from_slice(&8u32.to_be_bytes());
        for i in 0..4u8 {
            v.extend_from_slice(&[i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        }
        out.push((format!("rdiff-{magic:08x}"), v, true));
    }
    let s = Signature::from_bytes(&sig_of(&basis, 64)).expect("valid");
    for (name, format) in [("rha", DeltaFormat::Rha), ("rdiff", DeltaFormat::Rdiff)] {
        let (d, _) = delta_of(s.clone(), &new, format).expect("delta");
        let mut v = vec![5u8];
        v.extend_from_slice(&(basis.len() as u16).to_le_bytes());
        v.extend_from_slice(&basis);
        v.extend_from_slice(&d);
        out.push((format!("delta-{name}"), v.clone(), false));
        let n = v.len();
        v.truncate(n - 3);
        out.push((format!("delta-{name}-truncated"), v, false));
    }
    let (d, _) = delta_of(
        Signature::from_bytes(&sig_of(&[], 64)).expect("valid"),
        &new[..300],
        DeltaFormat::Rha,
    )
    .expect("delta");
    let mut v = vec![0u8, 0, 0];
    v.extend_from_slice(&d);
    out.push(("delta-literal-only".into(), v, false));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    #[ignore = "rewrites the committed seed corpus; run by hand"]
    fn regenerate_block_seed_corpus() {
        for (name, bytes, is_sig) in super::seeds() {
            let dir = crate::tests::corpus_dir(if is_sig {
                "signature_parse"
            } else {
                "delta_apply"
            });
            std::fs::create_dir_all(&dir).expect("corpus dir");
            std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        }
    }
}
