//! The logging callback, as a C caller registers it: events reach it with
//! their spans and fields, filtered by level, until it is cleared.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::Mutex;

use rha::{rha_log_level, rha_log_set_callback, rha_result};

static SEEN: Mutex<Vec<(u32, String, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn record(
    _: *mut c_void,
    level: u32,
    target: *const c_char,
    target_len: usize,
    message: *const c_char,
    message_len: usize,
) {
    // SAFETY: rha passes texts valid for their lengths (plus a NUL) during the call.
    let (t, m, nul) = unsafe {
        (
            std::slice::from_raw_parts(target.cast::<u8>(), target_len),
            std::slice::from_raw_parts(message.cast::<u8>(), message_len),
            *message.add(message_len),
        )
    };
    assert_eq!(nul, 0);
    SEEN.lock().unwrap_or_else(|e| e.into_inner()).push((
        level,
        String::from_utf8_lossy(t).into_owned(),
        String::from_utf8_lossy(m).into_owned(),
    ));
}

fn set(level: Option<rha_log_level>) -> rha_result {
    // SAFETY: `record` behaves as `rha_log_fn` documents; NULL clears.
    unsafe {
        rha_log_set_callback(
            level.map(|_| record as _),
            ptr::null_mut(),
            level.map_or(0, |l| l as u32),
            ptr::null_mut(),
        )
    }
}

fn marked(tag: &str) -> Vec<(u32, String, String)> {
    let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.iter()
        .filter(|(_, _, m)| m.contains(tag))
        .cloned()
        .collect()
}

#[test]
fn events_arrive_with_spans_and_fields_filtered_by_level_until_cleared() {
    assert_eq!(set(Some(rha_log_level::RHA_LOG_DEBUG)), rha_result::RHA_OK);
    {
        let _outer = tracing::info_span!("outer", root = "/x").entered();
        let _inner = tracing::debug_span!("inner").entered();
        tracing::debug!(target: "rha_core::test", seq = 5u64, path = "a/b", "one-9c1d {}", 3);
        tracing::trace!("two-9c1d");
    }
    let got = marked("9c1d");
    assert_eq!(
        got,
        [(
            rha_log_level::RHA_LOG_DEBUG as u32,
            "rha_core::test".to_owned(),
            "outer{root=/x}:inner: one-9c1d 3 seq=5 path=a/b".to_owned()
        )]
    );

    // At WARN, a debug event (and its spans) does not come; a warning does.
    assert_eq!(set(Some(rha_log_level::RHA_LOG_WARN)), rha_result::RHA_OK);
    {
        let _span = tracing::info_span!("hidden").entered();
        tracing::debug!("three-5e2b");
        tracing::warn!(bytes = 17u64, "four-5e2b");
    }
    let got = marked("5e2b");
    assert_eq!(
        got,
        [(
            rha_log_level::RHA_LOG_WARN as u32,
            "log".to_owned(),
            "four-5e2b bytes=17".to_owned()
        )]
    );

    // Cleared: nothing.
    assert_eq!(set(None), rha_result::RHA_OK);
    tracing::error!("five-77aa");
    assert!(marked("77aa").is_empty());

    // A level outside the set is refused.
    // SAFETY: as in `set`.
    let rc = unsafe { rha_log_set_callback(Some(record), ptr::null_mut(), 9, ptr::null_mut()) };
    assert_eq!(rc, rha_result::RHA_INVALID_ARGUMENT);
}
