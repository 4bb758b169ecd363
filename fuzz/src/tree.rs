//! The `tree_signature_parse` target: arbitrary bytes through the tree
//! signature decoder, then through compare.

use rha_core::signature::tree::{
    compare, CompareOptions, Entry, SignatureError, TreeDecoder, TreeWriter,
};

/// Decodes `data` fed in pieces of `chunk` bytes: the entries before the
/// end, and how it ended (`Ok(count)` or the error).
fn decode(data: &[u8], chunk: usize) -> (Vec<Entry>, Result<u64, SignatureError>) {
    let mut d = TreeDecoder::new();
    let mut entries = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        d.feed(piece);
        loop {
            match d.next_entry() {
                Ok(Some(e)) => entries.push(e),
                Ok(None) => break,
                Err(e) => return (entries, Err(e)),
            }
        }
    }
    let end = d.finish();
    (entries, end)
}

/// Byte 0 picks a chunk size; the rest is a tree signature.
///
/// Checks: no panic; whole and chunked decoding agree entry for entry and
/// end the same way; a signature that decodes re-encodes to one that
/// decodes to the same entries; comparing it with itself plans nothing, and
/// comparing it with an empty tree plans without error.
pub fn tree_signature_parse(data: &[u8]) {
    let Some((&control, sig)) = data.split_first() else {
        return;
    };
    let whole = decode(sig, sig.len().max(1));
    let chunked = decode(sig, usize::from(control % 64) + 1);
    assert_eq!(
        whole, chunked,
        "chunked decoding disagrees with whole decoding"
    );
    let (entries, end) = whole;
    let Ok(count) = end else {
        return;
    };
    assert_eq!(count, entries.len() as u64);
    let mut w = TreeWriter::new(Vec::new());
    for e in &entries {
        w.push(e).expect("a decoded entry re-encodes");
    }
    let again = w.finish().expect("Vec sink");
    let (back, end) = decode(&again, again.len());
    assert_eq!(end, Ok(count));
    assert_eq!(back, entries, "re-encoded signature decodes differently");

    let ok = |v: &Vec<Entry>| v.clone().into_iter().map(Ok).collect::<Vec<_>>();
    let same: Vec<_> = compare(ok(&entries), ok(&entries), CompareOptions::default())
        .collect::<Result<_, _>>()
        .expect("a decoded signature compares");
    assert!(same.is_empty(), "a signature differs from itself: {same:?}");
    let to_empty = compare(ok(&entries), Vec::new(), CompareOptions::default()).count();
    assert!(to_empty >= entries.len(), "the plan skips entries");
}

#[cfg(test)]
mod seeds {
    use bytes::Bytes;
    use rha_core::journal::RelPath;
    use rha_core::signature::tree::{
        Entry, EntryKind, HardLink, TreeWriter, BLOCK_HEADER_LEN, TREE_HEADER_LEN,
    };

    use crate::tests::corpus_dir;

    fn entry(p: &str, kind: EntryKind) -> Entry {
        let mut e = Entry::new(
            RelPath::new(Bytes::copy_from_slice(p.as_bytes())).expect("valid"),
            kind,
        );
        e.mode = 0o755;
        e.mtime_ns = 1_700_000_000_123_456_789;
        e
    }

    fn signature(n: usize) -> Vec<u8> {
        let mut entries = vec![entry("dir", EntryKind::Dir)];
        let mut f = entry("dir/file", EntryKind::File);
        (f.size, f.sparse) = (1 << 33, true);
        f.link = Some(HardLink { dev: 3, ino: 99 });
        entries.push(f);
        let mut s = entry("dir/link", EntryKind::Symlink);
        s.target = Bytes::from_static(b"../target");
        entries.push(s);
        entries.push(entry("fifo", EntryKind::Other));
        for i in 0..n {
            entries.push(entry(&format!("z{i:04}"), EntryKind::File));
        }
        let mut w = TreeWriter::new(Vec::new());
        for e in &entries {
            w.push(e).expect("valid seed");
        }
        w.finish().expect("Vec sink")
    }

    #[test]
    #[ignore = "writes the seed corpus"]
    fn regenerate_tree_seed_corpus() {
        let dir = corpus_dir("tree_signature_parse");
        std::fs::create_dir_all(&dir).expect("corpus dir");
        let small = signature(0);
        let many = signature(5000);
        let mut seeds: Vec<(&str, Vec<u8>)> = vec![
            ("empty-signature", signature(0)[..TREE_HEADER_LEN].to_vec()),
            ("small", small.clone()),
            ("many-blocks", many.clone()),
            ("truncated-in-block", small[..small.len() - 30].to_vec()),
            ("truncated-before-end", small[..small.len() - 24].to_vec()),
            ("trailing-bytes", [small.clone(), vec![0]].concat()),
        ];
        let mut flip = |name, at: usize| {
            let mut b = small.clone();
            b[at] ^= 0x20;
            seeds.push((name, b));
        };
        flip("bad-magic", 0);
        flip("bad-version", 8);
        flip("bad-block-header", TREE_HEADER_LEN + 1);
        flip("bad-block-body", TREE_HEADER_LEN + BLOCK_HEADER_LEN + 4);
        let mut empty = TreeWriter::new(Vec::new()).finish().expect("Vec sink");
        seeds.push(("no-entries", empty.clone()));
        empty.truncate(empty.len() - 1);
        seeds.push(("no-entries-cut", empty));
        for (name, data) in seeds {
            let chunkings: &[(u8, &str)] = if data.len() > 4096 {
                &[(6, "chunk7")]
            } else {
                &[(0, "whole"), (6, "chunk7")]
            };
            for &(chunking, suffix) in chunkings {
                let mut bytes = vec![chunking];
                bytes.extend_from_slice(&data);
                std::fs::write(dir.join(format!("{name}-{suffix}")), bytes).expect("write seed");
            }
        }
    }
}
