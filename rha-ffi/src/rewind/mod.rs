//! `rha_replica`: applying journals to a replica directory with rewind on,
//! listing points and bookmarks, setting bookmarks, rewinding.

use std::ffi::{c_char, CStr, CString};
use std::path::PathBuf;

use rha_capture::apply::{ApplyError, ReplicaDir, ReplicaOptions};
use rha_core::journal::Record;
use rha_core::rewind::{BookmarkInfo, Plan, Point, RewindError};

use crate::error::{rha_error, rha_result};
use crate::record::rha_record;
use crate::sized::{declared_size, write_sized};

/// A replica directory opened for applying and rewinding.
///
/// Holds the replica's lock (`lock` in its state directory) until freed: a
/// second open of the same replica, from this or another process, fails
/// with `RHA_REPLICA_BUSY`. Ownership: made by `rha_replica_open_with`,
/// owned by the caller, released with `rha_replica_free`. Thread safety:
/// one thread at a time (it may move between threads).
#[derive(Debug)]
pub struct rha_replica {
    dir: ReplicaDir,
    points: Vec<Point>,
    bookmarks: Vec<(BookmarkInfo, CString)>,
}

/// What `rha_replica_apply_journal` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_apply_report {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// Records applied.
    pub applied: u64,
    /// Records skipped because the replica already had them.
    pub skipped: u64,
    /// Records of a transaction that does not commit in the journal: kept in
    /// the spool directory and applied when a later journal commits it.
    pub uncommitted: u64,
    /// Whether the journal ends with a torn tail (an incomplete last record,
    /// not applied).
    pub torn: bool,
    /// Where the torn tail starts, if `torn`.
    pub torn_at: u64,
    /// Whether the replica is at a point (`point` is meaningful).
    pub has_point: bool,
    /// The replica's point afterwards: the last record applied.
    pub point: u64,
}

/// The rewind state of a replica, from `rha_replica_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_rewind_info {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// Whether the replica has a rewind log.
    pub rewind: bool,
    /// Whether the replica is at a point (`current` is meaningful).
    pub has_point: bool,
    /// The current point.
    pub current: u64,
    /// Number of points (`rha_replica_point` indexes 0 to `points - 1`,
    /// oldest first).
    pub points: usize,
    /// Number of bookmarks (`rha_replica_bookmark` indexes them, oldest first).
    pub bookmarks: usize,
    /// Whether the replica is rewound and `rha_replica_undo_rewind` can go
    /// back.
    pub rewound: bool,
}

/// A rewind point.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_rewind_point {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// The last record applied at this point.
    pub seq: u64,
    /// Whether `timestamp_ns` is known (not for the oldest point).
    pub has_time: bool,
    /// When the point was reached, nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
}

/// A bookmark. `name` is borrowed from the replica handle: valid until the
/// next call on that replica.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rha_bookmark {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// The name, NUL-terminated UTF-8.
    pub name: *const c_char,
    /// The point it marks.
    pub seq: u64,
    /// When it was set.
    pub timestamp_ns: u64,
    /// Whether it is application-consistent.
    pub app_consistent: bool,
}

/// What a rewind did (or, for a dry run, would do).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_rewind_plan {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// The point before.
    pub from: u64,
    /// The point after.
    pub to: u64,
    /// Records undone.
    pub records: u64,
    /// Distinct paths (and volumes) changed.
    pub paths: u64,
    /// Payload bytes written back.
    pub bytes: u64,
}

sized_struct!(
    rha_apply_report,
    rha_rewind_info,
    rha_rewind_point,
    rha_bookmark,
    rha_rewind_plan
);

impl From<&Plan> for rha_rewind_plan {
    fn from(p: &Plan) -> Self {
        Self {
            struct_size: 0,
            from: p.from,
            to: p.to,
            records: p.records as u64,
            paths: p.changes.len() as u64,
            bytes: p.changes.values().map(|i| i.bytes).sum(),
        }
    }
}

impl From<RewindError> for rha_error {
    fn from(e: RewindError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let code = match &e {
                RewindError::UnknownBookmark { .. } => rha_result::RHA_REWIND_UNKNOWN_BOOKMARK,
                RewindError::PointRetired { .. } => rha_result::RHA_REWIND_POINT_RETIRED,
                RewindError::FuturePoint { .. }
                | RewindError::NoPointAtTime { .. }
                | RewindError::EmptyLog => rha_result::RHA_REWIND_NO_POINT,
                RewindError::NothingToUndo => rha_result::RHA_REWIND_NOTHING_TO_UNDO,
                RewindError::Disabled => rha_result::RHA_REWIND_DISABLED,
                RewindError::BookmarkName { .. } => rha_result::RHA_INVALID_ARGUMENT,
                RewindError::Invert { .. } | RewindError::Apply { .. } => {
                    rha_result::RHA_APPLY_FAILED
                }
                RewindError::Undo { .. } => rha_result::RHA_REWIND_INTERRUPTED,
                RewindError::Stale { .. } => rha_result::RHA_JOURNAL_SEQUENCE,
                RewindError::Log(rha_core::rewind::LogError::Io { .. }) | RewindError::Sync(_) => {
                    rha_result::RHA_IO
                }
                RewindError::Log(_) => rha_result::RHA_REWIND_LOG_CORRUPT,
                _ => rha_result::RHA_INVALID_STATE,
            };
            Self::new(code, e.to_string())
        };
        out.with_os_code(os)
    }
}

impl From<ApplyError> for rha_error {
    fn from(e: ApplyError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            match e {
                ApplyError::Rewind(r) => r.into(),
                ApplyError::Busy { .. } => Self::new(rha_result::RHA_REPLICA_BUSY, e.to_string()),
                ApplyError::NotAReplica { .. } => {
                    Self::new(rha_result::RHA_INVALID_ARGUMENT, e.to_string())
                }
                ApplyError::Gap { .. } | ApplyError::NewSequence { .. } => {
                    Self::new(rha_result::RHA_REPLICA_SEQUENCE_GAP, e.to_string())
                }
                ApplyError::Journal { .. } => {
                    Self::new(rha_result::RHA_JOURNAL_CORRUPT, e.to_string())
                }
                _ => Self::new(rha_result::RHA_IO, e.to_string()),
            }
        };
        out.with_os_code(os)
    }
}

/// A path argument as a `PathBuf`.
///
/// # Safety
///
/// `s` is a valid NUL-terminated string.
unsafe fn path_arg(s: *const c_char) -> PathBuf {
    // SAFETY: by this function's contract.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes))
}

/// A UTF-8 string argument of `len` bytes at `ptr`.
///
/// # Safety
///
/// `ptr` is NULL or readable for `len` bytes during the call.
unsafe fn utf8_arg<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a str, rha_error> {
    // SAFETY: by this function's contract.
    let bytes = unsafe { crate::buffer::arg_slice(ptr, len, what) }?;
    std::str::from_utf8(bytes)
        .map_err(|_| rha_error::invalid_argument(format!("argument `{what}` is not UTF-8")))
}

/// How `rha_replica_open_with` opens a replica: bits of its `flags`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_replica_flag {
    /// Create the root directory if it is missing (its last component
    /// only: a missing parent is an error). Without it a missing root fails
    /// with `RHA_IO` naming the path.
    RHA_REPLICA_CREATE = 1,
    /// Keep a rewind log (a replica that has one always keeps it).
    RHA_REPLICA_REWIND = 2,
}

closed_set!(flags rha_replica_flag {
    RHA_REPLICA_CREATE,
    RHA_REPLICA_REWIND,
});

/// Opens the replica whose root directory is `root`.
///
/// `state_dir` is the replica's state directory: its lock, its applied
/// point and its rewind log. NULL means `ROOT/.rha`, which is then part of
/// no replicated data: records that name `.rha` are refused and tree scans
/// of the root leave it out. A missing state directory is created (its last
/// component only). `flags` combines `rha_replica_flag` bits:
/// `RHA_REPLICA_CREATE` creates a missing root, `RHA_REPLICA_REWIND` keeps a
/// rewind log. Opening finishes whatever a crash interrupted (a rewind under
/// way, a batch, an uncommitted transaction). On success stores a new
/// handle in `*replica_out`, to be freed with `rha_replica_free`.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown flag
/// bit; `RHA_IO` (with the OS error) if `root` is missing and
/// `RHA_REPLICA_CREATE` is not given, naming the path; `RHA_REPLICA_BUSY`
/// if the replica's lock is held, the message saying whether by another
/// handle in this process or by another process; `RHA_IO`;
/// `RHA_REWIND_LOG_CORRUPT`.
///
/// # Safety
///
/// `root` and `state_dir` (if not NULL) are NUL-terminated strings;
/// `replica_out` is valid for writing a pointer; `error_out` is NULL or
/// valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_open_with(
    root: *const c_char,
    state_dir: *const c_char,
    flags: u32,
    replica_out: *mut *mut rha_replica,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(root, replica_out),
        handle_out(replica_out),
        {
            if flags & !rha_replica_flag::ALL_BITS != 0 {
                return Err(rha_error::invalid_argument(format!(
                    "unknown rha_replica_flag bits {:#x}",
                    flags & !rha_replica_flag::ALL_BITS
                )));
            }
            // SAFETY: non-NULL (checked) and NUL-terminated by this function's contract.
            let root = unsafe { path_arg(root) };
            // SAFETY: NUL-terminated when not NULL, by this function's contract.
            let state_dir = (!state_dir.is_null()).then(|| unsafe { path_arg(state_dir) });
            if !rha_replica_flag::RHA_REPLICA_CREATE.is_in(flags) {
                if let Err(e) = std::fs::symlink_metadata(&root) {
                    let os = e.raw_os_error();
                    let hint = if e.kind() == std::io::ErrorKind::NotFound {
                        " (RHA_REPLICA_CREATE creates a missing root)"
                    } else {
                        ""
                    };
                    return Err(rha_error::new(
                        rha_result::RHA_IO,
                        format!("replica root '{}': {e}{hint}", root.display()),
                    )
                    .with_os_code(os));
                }
            }
            let rewind = rha_replica_flag::RHA_REPLICA_REWIND.is_in(flags);
            let options = ReplicaOptions::default().spool(state_dir).rewind(rewind);
            let dir = ReplicaDir::open(root, options)?;
            let handle = crate::handle::new(rha_replica {
                dir,
                points: Vec::new(),
                bookmarks: Vec::new(),
            });
            // SAFETY: non-NULL (checked) and writable by this function's contract.
            unsafe { replica_out.write(handle) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Releases a replica (and its lock). NULL does nothing.
///
/// # Safety
///
/// `replica` is NULL or a handle from `rha_replica_open_with` not used again.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_free(replica: *mut rha_replica) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: by this function's contract.
        unsafe { crate::handle::free(replica) }
    })
}

/// Applies every record of the journal file at `journal_path`, skipping
/// records the replica already has, then makes the replica durable.
/// Committed transactions apply all or nothing. Fills `*report_out`.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_APPLY_FAILED` when a record cannot be
/// applied (for example a path that would leave the root through a symbolic
/// link: nothing is written for it; records before it stay applied, see the
/// replica's point); `RHA_JOURNAL_CORRUPT` when the journal does not read
/// (records before the damage are applied); `RHA_REPLICA_SEQUENCE_GAP` when
/// the journal does not continue the replica's sequence (a gap: the message
/// names the expected and the received sequence number; or a journal that
/// restarts numbering: resynchronise the replica); `RHA_IO`.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `journal_path` is NUL-terminated; `report_out` is valid for writing an
/// `rha_apply_report`; `error_out` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_apply_journal(
    replica: *mut rha_replica,
    journal_path: *const c_char,
    report_out: *mut rha_apply_report,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(replica, journal_path, report_out),
        {
            // SAFETY: non-NULL (checked) and holding its size field by this function's contract.
            let size = unsafe { declared_size(report_out) }?;
            // SAFETY: non-NULL (checked), live and unshared by this function's contract.
            let r = unsafe { &mut *replica };
            // SAFETY: non-NULL (checked) and NUL-terminated by this function's contract.
            let path = unsafe { path_arg(journal_path) };
            let rep = r.dir.apply_journal(path)?;
            // SAFETY: `size` from `declared_size`; writable by this function's contract.
            unsafe { write_sized(report_out, apply_report(&rep), size) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Applies one record (its `seq` must follow the replica's point). With
/// rewind on, the change may wait in the current batch until
/// `rha_replica_sync`; records between TX_BEGIN and TX_COMMIT are applied
/// when the commit arrives, all or nothing. An `RHA_OP_BOOKMARK` record adds
/// a bookmark (listed by `rha_replica_bookmark`) at its point.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` (bad record);
/// `RHA_JOURNAL_SEQUENCE` (not after the current point);
/// `RHA_REPLICA_SEQUENCE_GAP` (records missing before it, or another
/// scenario's epoch record); `RHA_APPLY_FAILED`; `RHA_IO`.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `record` is valid for reading, with the views its operation uses
/// readable for the call; `error_out` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_apply(
    replica: *mut rha_replica,
    record: *const rha_record,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica, record), {
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by this function's contract.
        let record = unsafe { crate::sized::read_sized(record) }?;
        // SAFETY: non-NULL (checked), live and unshared by this function's contract.
        let r = unsafe { &mut *replica };
        // SAFETY: the views are readable by this function's contract.
        let op = unsafe { record.owned_op() }?;
        r.dir.apply_next(Record {
            seq: record.seq,
            timestamp_ns: record.timestamp_ns,
            op,
        })?;
        Ok(rha_result::RHA_OK)
    })
}

/// Applies every pending record and makes the replica durable, then its
/// applied point (in the spool directory).
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_APPLY_FAILED`; `RHA_IO`.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `error_out` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_sync(
    replica: *mut rha_replica,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica), {
        // SAFETY: non-NULL (checked), live and unshared by this function's contract.
        let r = unsafe { &mut *replica };
        r.dir.sync()?;
        Ok(rha_result::RHA_OK)
    })
}

/// Fills `*info_out` with the replica's rewind state, and takes the snapshot
/// of points and bookmarks that `rha_replica_point` and
/// `rha_replica_bookmark` read.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_APPLY_FAILED`/`RHA_IO` if pending
/// records fail to apply.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `info_out` is valid for writing an `rha_rewind_info`; `error_out` is NULL
/// or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_info(
    replica: *mut rha_replica,
    info_out: *mut rha_rewind_info,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica, info_out), {
        // SAFETY: non-NULL (checked) and holding its size field by this function's contract.
        let size = unsafe { declared_size(info_out) }?;
        // SAFETY: non-NULL (checked), live and unshared by this function's contract.
        let r = unsafe { &mut *replica };
        let rep = r.dir.replica();
        rep.flush()?;
        let points = rep.points();
        let bookmarks: Vec<(BookmarkInfo, CString)> = rep
            .bookmarks()
            .into_iter()
            .map(|b| {
                let c = CString::new(b.name.clone()).unwrap_or_default();
                (b, c)
            })
            .collect();
        let info = rha_rewind_info {
            struct_size: 0,
            rewind: rep.log().is_some(),
            has_point: rep.current_point().is_some(),
            current: rep.current_point().unwrap_or(0),
            points: points.len(),
            bookmarks: bookmarks.len(),
            rewound: rep.is_rewound(),
        };
        r.points = points;
        r.bookmarks = bookmarks;
        // SAFETY: non-NULL (checked) and writable by this function's contract.
        unsafe { write_sized(info_out, info, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Point number `index` (0 = oldest) of the snapshot taken by the last
/// `rha_replica_info`.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `index` is out of
/// range.
///
/// # Safety
///
/// `replica` is a live handle; `point_out` is valid for writing an
/// `rha_rewind_point`; `error_out` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_point(
    replica: *const rha_replica,
    index: usize,
    point_out: *mut rha_rewind_point,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica, point_out), {
        // SAFETY: non-NULL (checked) and holding its size field by this function's contract.
        let size = unsafe { declared_size(point_out) }?;
        // SAFETY: non-NULL (checked) and live by this function's contract.
        let r = unsafe { &*replica };
        let p = r.points.get(index).ok_or_else(|| {
            rha_error::invalid_argument(format!(
                "point index {index} is out of range ({} points)",
                r.points.len()
            ))
        })?;
        let out = rha_rewind_point {
            struct_size: 0,
            seq: p.seq,
            has_time: p.timestamp_ns.is_some(),
            timestamp_ns: p.timestamp_ns.unwrap_or(0),
        };
        // SAFETY: non-NULL (checked) and writable by this function's contract.
        unsafe { write_sized(point_out, out, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Bookmark number `index` (0 = oldest) of the snapshot taken by the last
/// `rha_replica_info`. The name in `*bookmark_out` is owned by the replica
/// and valid until the next call on it.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `index` is out of
/// range.
///
/// # Safety
///
/// `replica` is a live handle; `bookmark_out` is valid for writing an
/// `rha_bookmark`; `error_out` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_bookmark(
    replica: *const rha_replica,
    index: usize,
    bookmark_out: *mut rha_bookmark,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica, bookmark_out), {
        // SAFETY: non-NULL (checked) and holding its size field by this function's contract.
        let size = unsafe { declared_size(bookmark_out) }?;
        // SAFETY: non-NULL (checked) and live by this function's contract.
        let r = unsafe { &*replica };
        let (b, name) = r.bookmarks.get(index).ok_or_else(|| {
            rha_error::invalid_argument(format!(
                "bookmark index {index} is out of range ({} bookmarks)",
                r.bookmarks.len()
            ))
        })?;
        let out = rha_bookmark {
            struct_size: 0,
            name: name.as_ptr(),
            seq: b.seq,
            timestamp_ns: b.timestamp_ns,
            app_consistent: b.app_consistent,
        };
        // SAFETY: non-NULL (checked) and writable by this function's contract.
        unsafe { write_sized(bookmark_out, out, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Adds a bookmark called `name` (UTF-8, `name_len` bytes, 1 to 255, read
/// during the call) at the current point, durably; `timestamp_ns` is its
/// wall time, `app_consistent` marks it application-consistent. Names need
/// not be unique (a rewind by name takes the newest). A rewound replica
/// first drops the undone records (no undo after this). Applying an
/// `RHA_OP_BOOKMARK` record sets a bookmark the same way.
///
/// Errors: `RHA_NULL_PARAMETER` (also for a NULL `name` with a non-zero
/// length); `RHA_INVALID_ARGUMENT` (a name that is empty, too long or not
/// UTF-8); `RHA_REWIND_DISABLED`; `RHA_IO`.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `name` is NULL or readable for `name_len` bytes; `error_out` is NULL or
/// valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_add_bookmark(
    replica: *mut rha_replica,
    name: *const u8,
    name_len: usize,
    timestamp_ns: u64,
    app_consistent: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica), {
        // SAFETY: non-NULL (checked), live and unshared by this function's contract.
        let r = unsafe { &mut *replica };
        // SAFETY: readable for `name_len` bytes by this function's contract.
        let name = unsafe { utf8_arg(name, name_len, "name") }?;
        if name.is_empty() || name.len() > rha_core::journal::MAX_BOOKMARK_NAME_LEN {
            return Err(rha_error::invalid_argument(format!(
                "bookmark name is {} bytes, it must be 1 to 255",
                name.len()
            )));
        }
        r.dir
            .replica()
            .set_bookmark(name, timestamp_ns, app_consistent)?;
        Ok(rha_result::RHA_OK)
    })
}

/// How `rha_replica_rewind` picks its point (its `by` parameter).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_rewind_by {
    /// `seq`: the point after record `seq`.
    RHA_REWIND_BY_SEQ = 0,
    /// `name`: the newest bookmark with that name.
    RHA_REWIND_BY_BOOKMARK = 1,
    /// `time_ns`: the newest point at or before that time.
    RHA_REWIND_BY_TIME = 2,
}

closed_set!(rha_rewind_by {
    RHA_REWIND_BY_SEQ,
    RHA_REWIND_BY_BOOKMARK,
    RHA_REWIND_BY_TIME,
});

/// Rewinds the replica to a point, a bookmark or a time (`by`, an
/// `rha_rewind_by` value, says which of `seq`, `name` and `time_ns` is used;
/// `name` is the bookmark's name, UTF-8, `name_len` bytes, and may be NULL
/// with 0 otherwise). With `dry_run` true nothing changes and `*plan_out`
/// says what would. A
/// rewind interrupted by a crash is finished by the next `rha_replica_open_with`;
/// `rha_replica_undo_rewind` goes back until a new record is applied.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `by` is not an
/// `rha_rewind_by` value; `RHA_REWIND_UNKNOWN_BOOKMARK`;
/// `RHA_REWIND_POINT_RETIRED`; `RHA_REWIND_NO_POINT`; `RHA_REWIND_DISABLED`;
/// `RHA_REWIND_INTERRUPTED` (reopen to resume); `RHA_IO`.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `name` is NULL or readable for `name_len` bytes; `plan_out` is valid for
/// writing an `rha_rewind_plan`; `error_out` is NULL or valid for writing a
/// pointer.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // one entry point for the three ways to pick a point
pub unsafe extern "C" fn rha_replica_rewind_to(
    replica: *mut rha_replica,
    by: u32,
    seq: u64,
    name: *const u8,
    name_len: usize,
    time_ns: u64,
    dry_run: bool,
    plan_out: *mut rha_rewind_plan,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica, plan_out), {
        // SAFETY: non-NULL (checked) and holding its size field by this function's contract.
        let size = unsafe { declared_size(plan_out) }?;
        // SAFETY: non-NULL (checked), live and unshared by this function's contract.
        let r = unsafe { &mut *replica };
        let rep = r.dir.replica();
        let by = rha_rewind_by::from_raw(by).ok_or_else(|| {
            rha_error::invalid_argument(format!("unknown rha_rewind_by value {by}"))
        })?;
        let point = match by {
            rha_rewind_by::RHA_REWIND_BY_SEQ => seq,
            rha_rewind_by::RHA_REWIND_BY_BOOKMARK => {
                if name.is_null() {
                    return Err(rha_error::null_parameter("name"));
                }
                // SAFETY: readable for `name_len` bytes by this function's contract.
                let name = unsafe { utf8_arg(name, name_len, "name") }?;
                rep.bookmark_point(name)?
            }
            rha_rewind_by::RHA_REWIND_BY_TIME => {
                rep.flush()?;
                rep.point_at_time(time_ns)?
            }
        };
        let plan = if dry_run {
            rep.plan(point)?
        } else {
            rep.rewind_to(point)?
        };
        // SAFETY: non-NULL (checked) and writable by this function's contract.
        unsafe { write_sized(plan_out, (&plan).into(), size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Undoes the rewinds made since the last applied record; stores the point
/// reached in `*point_out` (may be NULL).
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_REWIND_NOTHING_TO_UNDO`;
/// `RHA_REWIND_DISABLED`; `RHA_REWIND_INTERRUPTED`; `RHA_IO`.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `point_out` is NULL or valid for writing a `uint64_t`; `error_out` is
/// NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_undo_rewind(
    replica: *mut rha_replica,
    point_out: *mut u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica), {
        // SAFETY: non-NULL (checked), live and unshared by this function's contract.
        let r = unsafe { &mut *replica };
        let top = r.dir.replica().undo_rewind()?;
        if !point_out.is_null() {
            // SAFETY: non-NULL and writable by this function's contract.
            unsafe { point_out.write(top) };
        }
        Ok(rha_result::RHA_OK)
    })
}

/// The C report of a journal applied.
fn apply_report(rep: &rha_capture::apply::ApplyReport) -> rha_apply_report {
    rha_apply_report {
        struct_size: 0,
        applied: rep.applied,
        skipped: rep.skipped,
        uncommitted: rep.uncommitted,
        torn: rep.torn_at.is_some(),
        torn_at: rep.torn_at.unwrap_or(0),
        has_point: rep.point.is_some(),
        point: rep.point.unwrap_or(0),
    }
}

/// Applies every record of the journal held in `bytes[0..len]` (as a
/// capture source or `rha_journal_writer` encoded it, with or without the
/// stream header), exactly as `rha_replica_apply_journal` applies a journal
/// file, with the same guarantees: records the replica already has are
/// skipped, none is applied twice or half, committed transactions apply all
/// or nothing, and after damage what came before is applied and durable.
/// Fills `*report_out`.
///
/// Errors: as `rha_replica_apply_journal` (`RHA_JOURNAL_CORRUPT`,
/// `RHA_REPLICA_SEQUENCE_GAP`, `RHA_APPLY_FAILED`, `RHA_IO`), the journal
/// named `(journal bytes)` in messages; `RHA_NULL_PARAMETER` also for
/// `bytes` NULL with `len` > 0.
///
/// # Safety
///
/// `replica` is a live handle used by no other thread during the call;
/// `bytes` is NULL (only if `len` is 0) or readable for `len` bytes during
/// the call; `report_out` is valid for writing its `struct_size` bytes
/// (which the caller set); `error_out` is NULL or valid for writing a
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_apply_journal_bytes(
    replica: *mut rha_replica,
    bytes: *const u8,
    len: usize,
    report_out: *mut rha_apply_report,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(replica, report_out), {
        // SAFETY: non-NULL (checked) and holding its size field by this function's contract.
        let size = unsafe { declared_size(report_out) }?;
        // SAFETY: non-NULL (checked), live and unshared by this function's contract.
        let r = unsafe { &mut *replica };
        let view = crate::buffer::rha_bytes { ptr: bytes, len };
        // SAFETY: readable for `len` bytes during the call by this function's contract.
        let bytes = unsafe { view.as_slice("bytes") }?;
        let rep = r.dir.apply_journal_bytes(bytes)?;
        // SAFETY: `size` from `declared_size`; writable by this function's contract.
        unsafe { write_sized(report_out, apply_report(&rep), size) };
        Ok(rha_result::RHA_OK)
    })
}
