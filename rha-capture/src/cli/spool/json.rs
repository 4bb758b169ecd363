//! `rha spool inspect --json`: the same report as the text form, as one
//! JSON object on stdout, for monitoring scripts.
//!
//! ```text
//! {"dir": "...",
//!  "mode": "normal" | "stopped" | "degraded", "overflow_seq": N | null,
//!  "records": {"first_seq": N, "last_seq": N} | null,
//!  "resume_seq": N, "next_seq": N,
//!  "limits": {"source": "stored" | "defaults", "overridden": ["max_bytes", ...],
//!             "max_bytes": N | null, "min_free_bytes": N, "warn_percent": [N, ...],
//!             "overflow": "stop" | "degrade", "segment_bytes": N,
//!             "max_record_size": N, "dirty_granularity": N},
//!  "used_bytes": N, "free_bytes": N | null, "capacity_bytes": N | null,
//!  "capacity_set_by": "max_bytes" | "min_free_bytes" | null,
//!  "used_percent": X | null, "thresholds_crossed": [N, ...],
//!  "segments": [{"name": "...", "first_seq": N, "last_seq": N, "bytes": N}, ...],
//!  "dirty": {"granularity": N, "range_count": N,
//!            "files": [{"path": "...", "ranges": [[start, end | null], ...]}, ...],
//!            "volumes": [{"volume": N, "ranges": [...]}, ...]},
//!  "torn_tail": {"file": "...", "offset": N, "bytes": N} | null}
//! ```
//!
//! Paths are shown with bytes outside printable ASCII escaped (`\xNN`), as
//! in the text form; a range end of null reaches the end of the target.
//! Every dirty target is listed. Corruption prints
//! `{"corrupt": {"file", "offset", "reason", "last_good_seq"}}` (exit 4).

use std::io;

use rha_core::spool::{
    Corruption, FullReason, Inspection, OverflowPolicy, RegionTarget, SpoolLimits, SpoolMode,
    TO_END,
};
use serde_json::{json, Value};

fn ranges(list: &[(u64, u64)]) -> Value {
    list.iter()
        .map(|&(s, e)| json!([s, (e != TO_END).then_some(e)]))
        .collect()
}

/// The report as JSON.
pub(super) fn inspection(
    dir: &str,
    i: &Inspection,
    limits: &SpoolLimits,
    overridden: &[&str],
    free: &io::Result<u64>,
) -> Value {
    let (mode, overflow_seq) = match i.mode {
        SpoolMode::Normal => ("normal", None),
        SpoolMode::Stopped { at_seq } => ("stopped", Some(at_seq)),
        SpoolMode::Degraded { at_seq } => ("degraded", Some(at_seq)),
    };
    let records = match (i.segments.first(), i.segments.last()) {
        (Some(a), Some(b)) => json!({"first_seq": a.first_seq, "last_seq": b.last_seq}),
        _ => Value::Null,
    };
    let free = free.as_ref().ok().copied();
    let capacity = free.map(|f| limits.capacity(i.used_bytes, f));
    let used_percent = capacity.map(|(c, _)| i.used_bytes as f64 * 100.0 / c.max(1) as f64);
    let crossed: Vec<u8> = used_percent.map_or_else(Vec::new, |u| {
        limits
            .warn_percent
            .iter()
            .copied()
            .filter(|&p| u >= f64::from(p))
            .collect()
    });
    let (mut files, mut volumes) = (Vec::new(), Vec::new());
    for (target, r) in i.dirty.iter() {
        match target {
            RegionTarget::File(p) => files.push(json!({
                "path": p.escape_ascii().to_string(),
                "ranges": ranges(&r),
            })),
            RegionTarget::Volume(v) => volumes.push(json!({"volume": v, "ranges": ranges(&r)})),
        }
    }
    json!({
        "dir": dir,
        "mode": mode,
        "overflow_seq": overflow_seq,
        "records": records,
        "resume_seq": i.resume_seq,
        "next_seq": i.next_seq,
        "limits": {
            "source": if i.limits.is_some() { "stored" } else { "defaults" },
            "overridden": overridden,
            "max_bytes": limits.max_bytes,
            "min_free_bytes": limits.min_free_bytes,
            "warn_percent": limits.warn_percent,
            "overflow": match limits.overflow {
                OverflowPolicy::Stop => "stop",
                OverflowPolicy::DegradeToDirtyRegions => "degrade",
            },
            "segment_bytes": limits.segment_bytes,
            "max_record_size": limits.max_record_size,
            "dirty_granularity": limits.dirty_granularity,
        },
        "used_bytes": i.used_bytes,
        "free_bytes": free,
        "capacity_bytes": capacity.map(|(c, _)| c),
        "capacity_set_by": capacity.map(|(_, by)| match by {
            FullReason::MaxSize => "max_bytes",
            _ => "min_free_bytes",
        }),
        "used_percent": used_percent,
        "thresholds_crossed": crossed,
        "segments": i.segments.iter().map(|s| json!({
            "name": s.name,
            "first_seq": s.first_seq,
            "last_seq": s.last_seq,
            "bytes": s.bytes,
        })).collect::<Vec<_>>(),
        "dirty": {
            "granularity": i.dirty.granularity(),
            "range_count": i.dirty.range_count(),
            "files": files,
            "volumes": volumes,
        },
        "torn_tail": i.recovery.torn_tail.as_ref().map(|t| json!({
            "file": t.file,
            "offset": t.offset,
            "bytes": t.discarded_bytes,
        })),
    })
}

/// A corruption as JSON.
pub(super) fn corruption(c: &Corruption) -> Value {
    json!({"corrupt": {
        "file": c.file,
        "offset": c.offset,
        "reason": c.reason,
        "last_good_seq": c.last_good_seq,
    }})
}
