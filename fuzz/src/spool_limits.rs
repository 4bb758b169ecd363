//! The spool's limits file decoder.

use rha_core::spool::{SpoolLimits, LIMITS_FILE};

/// Decodes `data` as a spool limits file. No panic; an error names the
/// limits file and an offset inside the input; what decodes re-encodes to
/// exactly the same bytes (every field is checked, so the encoding is
/// canonical).
pub fn spool_limits_decode(data: &[u8]) {
    match SpoolLimits::decode(data) {
        Ok(limits) => {
            let again = limits.encode().expect("decoded limits encode");
            assert!(again == data, "decode/encode is not exact");
        }
        Err(e) => {
            assert_eq!(e.file, LIMITS_FILE, "the error names the limits file");
            assert!(
                e.offset <= data.len() as u64,
                "offset {} beyond the input",
                e.offset
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use rha_core::spool::{OverflowPolicy, SpoolConfig, SpoolLimits};

    /// Writes the seed corpus of `spool_limits_decode`: valid files of
    /// several shapes, and damaged copies.
    #[test]
    #[ignore = "writes the seed corpus into the source tree"]
    fn regenerate_spool_limits_corpus() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/spool_limits_decode");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let configs = [
            ("default", SpoolConfig::default()),
            (
                "degrade-max",
                SpoolConfig::default()
                    .max_bytes(Some(1 << 40))
                    .overflow(OverflowPolicy::DegradeToDirtyRegions),
            ),
            (
                "no-thresholds",
                SpoolConfig::default().warn_percent(Vec::new()),
            ),
            (
                "many-thresholds",
                SpoolConfig::default().warn_percent((1..=100).collect()),
            ),
            (
                "small",
                SpoolConfig::default()
                    .segment_bytes(1)
                    .max_record_size(1)
                    .dirty_granularity(1)
                    .min_free_bytes(0),
            ),
        ];
        for (name, config) in configs {
            let b = SpoolLimits::of(&config).encode().expect("encodes");
            std::fs::write(dir.join(format!("valid-{name}")), &b).expect("write");
            let mut flipped = b.clone();
            flipped[20] ^= 0x10;
            std::fs::write(dir.join(format!("bad-checksum-{name}")), &flipped).expect("write");
            std::fs::write(dir.join(format!("truncated-{name}")), &b[..b.len() - 1])
                .expect("write");
        }
        let mut bad_magic = SpoolLimits::of(&SpoolConfig::default())
            .encode()
            .expect("encodes");
        bad_magic[1] = b'X';
        std::fs::write(dir.join("bad-magic"), &bad_magic).expect("write");
        std::fs::write(dir.join("empty"), b"").expect("write");
    }
}
