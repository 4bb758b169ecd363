//! `rha_record`: one journal record as a flat C struct, and its conversions.

use bytes::Bytes;
use rha_core::journal::{Attrs, Op, OpRef, RecordRef, RelPath};

use crate::buffer::rha_bytes;
use crate::error::rha_error;

/// The operation a record carries; the values are the journal format's
/// operation codes and never change.
///
/// `rha_record.op` holds one of these values; which other fields of the
/// record the operation uses is listed with each field of `rha_record`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_op {
    /// A regular file was created (empty): `path`, `mode`.
    RHA_OP_CREATE = 0x01,
    /// Bytes were written into a file: `path`, `offset`, `data`.
    RHA_OP_WRITE = 0x02,
    /// A file's length was set: `path`, `length`.
    RHA_OP_SET_LEN = 0x03,
    /// A non-directory was removed: `path`.
    RHA_OP_DELETE = 0x04,
    /// An entry was renamed from `path` to `path2` (replacing `path2`).
    RHA_OP_RENAME = 0x05,
    /// A directory was created: `path`, `mode`.
    RHA_OP_MKDIR = 0x06,
    /// An empty directory was removed: `path`.
    RHA_OP_RMDIR = 0x07,
    /// A symbolic link `path` pointing to `data` was created.
    RHA_OP_SYMLINK = 0x08,
    /// A hard link `path2` to the existing file `path` was created.
    RHA_OP_HARD_LINK = 0x09,
    /// Attributes changed: `path`, `attr_mask` and the fields it selects
    /// (`mode`, `uid`, `gid`, `atime_ns`, `mtime_ns`).
    RHA_OP_SET_ATTR = 0x0A,
    /// An extended attribute was set: `path`, `name`, value in `data`.
    RHA_OP_SET_XATTR = 0x0B,
    /// An extended attribute was removed: `path`, `name`.
    RHA_OP_REMOVE_XATTR = 0x0C,
    /// A FIFO or device node was created: `path`, `mode` (its file type
    /// bits, FIFO, character or block device, and permission bits, as in
    /// `st_mode`), `rdev` (the device number, 0 for a FIFO).
    RHA_OP_MKNOD = 0x0D,
    /// Every extended attribute the applier manages was removed from
    /// `path` (`system.*` and the host's own `security.selinux` stay).
    RHA_OP_CLEAR_XATTRS = 0x0E,
    /// Bytes were written to a volume: `volume`, `offset`, `data`.
    RHA_OP_BLOCK_WRITE = 0x20,
    /// Bytes of a volume were discarded: `volume`, `offset`, `length`.
    RHA_OP_DISCARD = 0x21,
    /// A named point: `name` (UTF-8), `app_consistent`. Applied to a
    /// replica with a rewind log (`rha_replica_apply`,
    /// `rha_replica_apply_journal`), it adds a replica bookmark at that
    /// record, as `rha_replica_add_bookmark` does.
    RHA_OP_BOOKMARK = 0x40,
    /// A transaction began: `id` is the transaction id.
    RHA_OP_TX_BEGIN = 0x41,
    /// A transaction committed: `id` is the transaction id.
    RHA_OP_TX_COMMIT = 0x42,
    /// A synchronisation started: `id` is the sync id.
    RHA_OP_SYNC_START = 0x43,
    /// A synchronisation ended: `id` is the sync id.
    RHA_OP_SYNC_END = 0x44,
    /// The scenario (`id`) and `epoch` the following records belong to.
    RHA_OP_EPOCH = 0x45,
}

closed_set!(rha_op {
    RHA_OP_CREATE,
    RHA_OP_WRITE,
    RHA_OP_SET_LEN,
    RHA_OP_DELETE,
    RHA_OP_RENAME,
    RHA_OP_MKDIR,
    RHA_OP_RMDIR,
    RHA_OP_SYMLINK,
    RHA_OP_HARD_LINK,
    RHA_OP_SET_ATTR,
    RHA_OP_SET_XATTR,
    RHA_OP_REMOVE_XATTR,
    RHA_OP_MKNOD,
    RHA_OP_CLEAR_XATTRS,
    RHA_OP_BLOCK_WRITE,
    RHA_OP_DISCARD,
    RHA_OP_BOOKMARK,
    RHA_OP_TX_BEGIN,
    RHA_OP_TX_COMMIT,
    RHA_OP_SYNC_START,
    RHA_OP_SYNC_END,
    RHA_OP_EPOCH,
});

/// The bits of `rha_record.attr_mask`: which attributes a SET_ATTR record
/// sets.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_attr_flag {
    /// `mode` is set.
    RHA_ATTR_MODE = 1,
    /// `uid` is set.
    RHA_ATTR_UID = 2,
    /// `gid` is set.
    RHA_ATTR_GID = 4,
    /// `atime_ns` is set.
    RHA_ATTR_ATIME = 8,
    /// `mtime_ns` is set.
    RHA_ATTR_MTIME = 16,
}

closed_set!(flags rha_attr_flag {
    RHA_ATTR_MODE,
    RHA_ATTR_UID,
    RHA_ATTR_GID,
    RHA_ATTR_ATIME,
    RHA_ATTR_MTIME,
});

/// One journal record, flattened: `op` says which fields are meaningful.
///
/// Records the reader produces have every field the operation does not use
/// set to zero (empty views have a NULL `ptr`); the writer ignores those
/// fields, so a record zeroed with `rha_record_init` and then filled in is
/// all the writer needs. The views (`rha_bytes`) in a record given to the
/// writer are borrowed for the duration of the call only; the views in a
/// record the reader produces belong to the reader (see
/// `rha_journal_reader_next`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_record {
    /// `sizeof` this struct as the caller knows it: set by `rha_record_init`
    /// (or by the caller) before the record is passed in or filled (see the
    /// conventions on structs with a size field).
    pub struct_size: u32,
    /// Sequence number. Set by the reader; ignored by
    /// `rha_journal_writer_append`, which assigns it.
    pub seq: u64,
    /// Capture time, nanoseconds since the Unix epoch (as the capture source
    /// supplied it; rha never reads a clock).
    pub timestamp_ns: u64,
    /// An `rha_op` value.
    pub op: u32,
    /// SET_ATTR: which of `mode`, `uid`, `gid`, `atime_ns`, `mtime_ns` are
    /// set (a bitwise OR of `rha_attr_flag` values).
    pub attr_mask: u32,
    /// The path of every file operation; RENAME: the old name; HARD_LINK: the
    /// existing file. Relative, `/`-separated bytes: no leading `/`, no empty,
    /// `.` or `..` component, no NUL, at most 4096 bytes.
    pub path: rha_bytes,
    /// RENAME: the new name; HARD_LINK: the new link.
    pub path2: rha_bytes,
    /// WRITE, BLOCK_WRITE: the bytes written; SYMLINK: the link target;
    /// SET_XATTR: the attribute value.
    pub data: rha_bytes,
    /// SET_XATTR, REMOVE_XATTR: the attribute name; BOOKMARK: the bookmark
    /// name (UTF-8).
    pub name: rha_bytes,
    /// WRITE, BLOCK_WRITE, DISCARD: the byte offset.
    pub offset: u64,
    /// SET_LEN: the new length; DISCARD: the number of bytes discarded.
    pub length: u64,
    /// TX_BEGIN, TX_COMMIT: the transaction id; SYNC_START, SYNC_END: the sync
    /// id; EPOCH: the scenario id.
    pub id: u64,
    /// EPOCH: the epoch number.
    pub epoch: u64,
    /// SET_ATTR: access time, nanoseconds since the Unix epoch (negative
    /// before 1970).
    pub atime_ns: i64,
    /// SET_ATTR: modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// BLOCK_WRITE, DISCARD: the volume's index in the scenario.
    pub volume: u32,
    /// CREATE, MKDIR, MKNOD, and SET_ATTR with `RHA_ATTR_MODE`: permission
    /// (and file type) bits as in `st_mode`.
    pub mode: u32,
    /// SET_ATTR with `RHA_ATTR_UID`: owner user id.
    pub uid: u32,
    /// SET_ATTR with `RHA_ATTR_GID`: owner group id.
    pub gid: u32,
    /// BOOKMARK: 1 if the application declared its data consistent at this
    /// point, else 0 (the writer rejects other values).
    pub app_consistent: u8,
    /// MKNOD: the device number (`st_rdev`), 0 for a FIFO. Added after the
    /// first layout: a record whose `struct_size` ends before it reads as 0
    /// here.
    pub rdev: u64,
}

sized_struct!(rha_record, older: [std::mem::offset_of!(rha_record, rdev)]);

impl rha_record {
    /// The operation `self` describes, with copies of its bytes.
    ///
    /// # Safety
    ///
    /// Every view of a field that `self.op` uses is NULL with length 0 or
    /// valid for reading its length, for the duration of the call.
    pub(crate) unsafe fn owned_op(&self) -> Result<Op, rha_error> {
        // These two closures are called only for the fields `self.op` uses.
        let path = |field: &str, view: &rha_bytes| -> Result<RelPath, rha_error> {
            // SAFETY: the view of a used field is readable, by this function's contract.
            let bytes = unsafe { view.as_slice(field) }?;
            RelPath::new(Bytes::copy_from_slice(bytes))
                .map_err(|e| rha_error::invalid_path(field, e))
        };
        let bytes = |field: &str, view: &rha_bytes| -> Result<Bytes, rha_error> {
            // SAFETY: the view of a used field is readable, by this function's contract.
            Ok(Bytes::copy_from_slice(unsafe { view.as_slice(field) }?))
        };
        use rha_op::*;
        let Some(op) = rha_op::from_raw(self.op) else {
            return Err(rha_error::invalid_argument(format!(
                "record field `op`: unknown operation {:#04x}",
                self.op
            )));
        };
        let op = match op {
            RHA_OP_CREATE => Op::Create {
                path: path("path", &self.path)?,
                mode: self.mode,
            },
            RHA_OP_WRITE => Op::Write {
                path: path("path", &self.path)?,
                offset: self.offset,
                data: bytes("data", &self.data)?,
            },
            RHA_OP_SET_LEN => Op::SetLen {
                path: path("path", &self.path)?,
                len: self.length,
            },
            RHA_OP_DELETE => Op::Delete {
                path: path("path", &self.path)?,
            },
            RHA_OP_RENAME => Op::Rename {
                from: path("path", &self.path)?,
                to: path("path2", &self.path2)?,
            },
            RHA_OP_MKDIR => Op::Mkdir {
                path: path("path", &self.path)?,
                mode: self.mode,
            },
            RHA_OP_RMDIR => Op::Rmdir {
                path: path("path", &self.path)?,
            },
            RHA_OP_SYMLINK => Op::Symlink {
                path: path("path", &self.path)?,
                target: bytes("data", &self.data)?,
            },
            RHA_OP_HARD_LINK => Op::HardLink {
                existing: path("path", &self.path)?,
                link: path("path2", &self.path2)?,
            },
            RHA_OP_SET_ATTR => Op::SetAttr {
                path: path("path", &self.path)?,
                attrs: self.attrs()?,
            },
            RHA_OP_SET_XATTR => Op::SetXattr {
                path: path("path", &self.path)?,
                name: bytes("name", &self.name)?,
                value: bytes("data", &self.data)?,
            },
            RHA_OP_REMOVE_XATTR => Op::RemoveXattr {
                path: path("path", &self.path)?,
                name: bytes("name", &self.name)?,
            },
            RHA_OP_MKNOD => Op::Mknod {
                path: path("path", &self.path)?,
                mode: self.mode,
                rdev: self.rdev,
            },
            RHA_OP_CLEAR_XATTRS => Op::ClearXattrs {
                path: path("path", &self.path)?,
            },
            RHA_OP_BLOCK_WRITE => Op::BlockWrite {
                volume: self.volume,
                offset: self.offset,
                data: bytes("data", &self.data)?,
            },
            RHA_OP_DISCARD => Op::Discard {
                volume: self.volume,
                offset: self.offset,
                len: self.length,
            },
            RHA_OP_BOOKMARK => Op::Bookmark {
                name: String::from_utf8(bytes("name", &self.name)?.to_vec()).map_err(|e| {
                    rha_error::invalid_argument(format!(
                        "record field `name`: bookmark name is not UTF-8 (at byte {})",
                        e.utf8_error().valid_up_to()
                    ))
                })?,
                app_consistent: match self.app_consistent {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(rha_error::invalid_argument(format!(
                            "record field `app_consistent` is {other}, not 0 or 1"
                        )))
                    }
                },
            },
            RHA_OP_TX_BEGIN => Op::TxBegin { txid: self.id },
            RHA_OP_TX_COMMIT => Op::TxCommit { txid: self.id },
            RHA_OP_SYNC_START => Op::SyncStart { sync_id: self.id },
            RHA_OP_SYNC_END => Op::SyncEnd { sync_id: self.id },
            RHA_OP_EPOCH => Op::Epoch {
                scenario: self.id,
                epoch: self.epoch,
            },
        };
        Ok(op)
    }

    fn attrs(&self) -> Result<Attrs, rha_error> {
        let mask = self.attr_mask;
        if mask & !rha_attr_flag::ALL_BITS != 0 {
            return Err(rha_error::invalid_argument(format!(
                "record field `attr_mask` has unknown bits {:#x}",
                mask & !rha_attr_flag::ALL_BITS
            )));
        }
        let has = |flag: rha_attr_flag| flag.is_in(mask);
        Ok(Attrs {
            mode: has(rha_attr_flag::RHA_ATTR_MODE).then_some(self.mode),
            uid: has(rha_attr_flag::RHA_ATTR_UID).then_some(self.uid),
            gid: has(rha_attr_flag::RHA_ATTR_GID).then_some(self.gid),
            atime: has(rha_attr_flag::RHA_ATTR_ATIME).then_some(self.atime_ns),
            mtime: has(rha_attr_flag::RHA_ATTR_MTIME).then_some(self.mtime_ns),
        })
    }

    /// `record` as a flat struct whose views borrow from the decoder buffer
    /// `record` points into: valid until that decoder is next used.
    pub(crate) fn view(record: &RecordRef<'_>) -> Result<Self, rha_error> {
        let mut r = Self {
            seq: record.seq,
            timestamp_ns: record.timestamp_ns,
            op: u32::from(record.op.code() as u8),
            ..Self::default()
        };
        let b = rha_bytes::borrow;
        match record.op {
            OpRef::Create { path, mode } | OpRef::Mkdir { path, mode } => {
                r.path = b(path);
                r.mode = mode;
            }
            OpRef::Write { path, offset, data } => {
                r.path = b(path);
                r.offset = offset;
                r.data = b(data);
            }
            OpRef::SetLen { path, len } => {
                r.path = b(path);
                r.length = len;
            }
            OpRef::Delete { path } | OpRef::Rmdir { path } | OpRef::ClearXattrs { path } => {
                r.path = b(path)
            }
            OpRef::Mknod { path, mode, rdev } => {
                r.path = b(path);
                r.mode = mode;
                r.rdev = rdev;
            }
            OpRef::Rename { from, to } => {
                r.path = b(from);
                r.path2 = b(to);
            }
            OpRef::HardLink { existing, link } => {
                r.path = b(existing);
                r.path2 = b(link);
            }
            OpRef::Symlink { path, target } => {
                r.path = b(path);
                r.data = b(target);
            }
            OpRef::SetAttr { path, attrs } => {
                r.path = b(path);
                let mut set = |flag: rha_attr_flag, present: bool| {
                    if present {
                        r.attr_mask |= flag as u32;
                    }
                };
                set(rha_attr_flag::RHA_ATTR_MODE, attrs.mode.is_some());
                set(rha_attr_flag::RHA_ATTR_UID, attrs.uid.is_some());
                set(rha_attr_flag::RHA_ATTR_GID, attrs.gid.is_some());
                set(rha_attr_flag::RHA_ATTR_ATIME, attrs.atime.is_some());
                set(rha_attr_flag::RHA_ATTR_MTIME, attrs.mtime.is_some());
                r.mode = attrs.mode.unwrap_or(0);
                r.uid = attrs.uid.unwrap_or(0);
                r.gid = attrs.gid.unwrap_or(0);
                r.atime_ns = attrs.atime.unwrap_or(0);
                r.mtime_ns = attrs.mtime.unwrap_or(0);
            }
            OpRef::SetXattr { path, name, value } => {
                r.path = b(path);
                r.name = b(name);
                r.data = b(value);
            }
            OpRef::RemoveXattr { path, name } => {
                r.path = b(path);
                r.name = b(name);
            }
            OpRef::BlockWrite {
                volume,
                offset,
                data,
            } => {
                r.volume = volume;
                r.offset = offset;
                r.data = b(data);
            }
            OpRef::Discard {
                volume,
                offset,
                len,
            } => {
                r.volume = volume;
                r.offset = offset;
                r.length = len;
            }
            OpRef::Bookmark {
                name,
                app_consistent,
            } => {
                r.name = b(name.as_bytes());
                r.app_consistent = u8::from(app_consistent);
            }
            OpRef::TxBegin { txid } | OpRef::TxCommit { txid } => r.id = txid,
            OpRef::SyncStart { sync_id } | OpRef::SyncEnd { sync_id } => r.id = sync_id,
            OpRef::Epoch { scenario, epoch } => {
                r.id = scenario;
                r.epoch = epoch;
            }
            // `OpRef` is non-exhaustive: an operation added to rha-core but
            // not yet to this layer must not be handed out half-converted.
            other => {
                return Err(rha_error::new(
                    crate::error::rha_result::RHA_INVALID_STATE,
                    format!(
                        "record seq {}: operation {} has no C representation in this build",
                        record.seq,
                        other.code().name()
                    ),
                ))
            }
        }
        Ok(r)
    }
}

/// Zeroes a record (every number 0, every view empty with a NULL `ptr`)
/// and sets its `struct_size` to `sizeof(rha_record)`.
///
/// `record` may be NULL (nothing happens). Thread-safe as long as no other
/// thread uses `*record`.
///
/// # Safety
///
/// `record` is NULL or valid for writing one `rha_record`.
#[no_mangle]
pub unsafe extern "C" fn rha_record_init(record: *mut rha_record) {
    ffi_fn!(default(()), non_null(record), {
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe {
            record.write(rha_record {
                struct_size: std::mem::size_of::<rha_record>() as u32,
                ..rha_record::default()
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rha_core::journal::{Decoder, DecoderConfig, JournalWriter, OpCode, Record, WriterConfig};

    fn p(s: &str) -> RelPath {
        RelPath::new(s.to_owned()).expect("valid path")
    }

    /// One operation of every kind, with distinctive values.
    pub(crate) fn sample_ops() -> Vec<Op> {
        let ops = vec![
            Op::Create {
                path: p("a/new"),
                mode: 0o640,
            },
            Op::Write {
                path: p("a/file"),
                offset: 1 << 40,
                data: Bytes::from_static(b"payload\0with nul"),
            },
            Op::SetLen {
                path: p("a/file"),
                len: 12345,
            },
            Op::Delete { path: p("gone") },
            Op::Rename {
                from: p("old"),
                to: p("dir/new"),
            },
            Op::Mkdir {
                path: p("dir"),
                mode: 0o755,
            },
            Op::Rmdir { path: p("dir") },
            Op::Symlink {
                path: p("link"),
                target: Bytes::from_static(b"../outside/is/fine"),
            },
            Op::HardLink {
                existing: p("a/file"),
                link: p("b/file"),
            },
            Op::SetAttr {
                path: p("a/file"),
                attrs: Attrs {
                    mode: Some(0o100600),
                    uid: None,
                    gid: Some(42),
                    atime: Some(-5),
                    mtime: None,
                },
            },
            Op::SetXattr {
                path: p("a/file"),
                name: Bytes::from_static(b"user.tag"),
                value: Bytes::new(),
            },
            Op::RemoveXattr {
                path: p("a/file"),
                name: Bytes::from_static(b"user.tag"),
            },
            Op::Mknod {
                path: p("dev/sda"),
                mode: 0o060660,
                rdev: (8 << 8) | 1,
            },
            Op::ClearXattrs { path: p("a/file") },
            Op::BlockWrite {
                volume: 3,
                offset: 4096,
                data: Bytes::from(vec![0xAB; 512]),
            },
            Op::Discard {
                volume: 3,
                offset: 8192,
                len: 65536,
            },
            Op::Bookmark {
                name: "before upgrade ✓".into(),
                app_consistent: true,
            },
            Op::TxBegin { txid: 9 },
            Op::TxCommit { txid: 9 },
            Op::SyncStart { sync_id: u64::MAX },
            Op::SyncEnd { sync_id: u64::MAX },
            Op::Epoch {
                scenario: 77,
                epoch: 3,
            },
        ];
        let codes: Vec<OpCode> = ops.iter().map(Op::code).collect();
        assert_eq!(codes, OpCode::ALL, "one sample per operation, in order");
        ops
    }

    /// A decoder fed a journal holding just `record`.
    fn decoder_holding(record: &Record) -> Decoder {
        let config = WriterConfig::default().first_seq(record.seq);
        let mut w = JournalWriter::new(Vec::new(), config);
        w.append_record(record).expect("encodes");
        let mut d = Decoder::new(DecoderConfig::default());
        d.feed(&w.into_inner().expect("flushes"));
        d
    }

    #[test]
    fn every_op_round_trips_through_rha_record() {
        for (i, op) in sample_ops().into_iter().enumerate() {
            let record = Record {
                seq: 10 + i as u64,
                timestamp_ns: 1_700_000_000_000_000_000 + i as u64,
                op,
            };
            let mut decoder = decoder_holding(&record);
            let decoded = decoder
                .next_record_ref()
                .expect("decodes")
                .expect("a record");
            let flat = rha_record::view(&decoded).expect("every op has a C form");
            assert_eq!(flat.seq, record.seq);
            assert_eq!(flat.timestamp_ns, record.timestamp_ns);
            assert_eq!(flat.op, u32::from(record.op.code() as u8));
            // SAFETY: the views borrow from `decoder`, alive for the call.
            let back = unsafe { flat.owned_op() }.expect("a viewed record converts back");
            assert_eq!(back, record.op);
        }
    }

    #[test]
    fn op_values_are_the_format_codes() {
        let ours = [
            rha_op::RHA_OP_CREATE,
            rha_op::RHA_OP_WRITE,
            rha_op::RHA_OP_SET_LEN,
            rha_op::RHA_OP_DELETE,
            rha_op::RHA_OP_RENAME,
            rha_op::RHA_OP_MKDIR,
            rha_op::RHA_OP_RMDIR,
            rha_op::RHA_OP_SYMLINK,
            rha_op::RHA_OP_HARD_LINK,
            rha_op::RHA_OP_SET_ATTR,
            rha_op::RHA_OP_SET_XATTR,
            rha_op::RHA_OP_REMOVE_XATTR,
            rha_op::RHA_OP_MKNOD,
            rha_op::RHA_OP_CLEAR_XATTRS,
            rha_op::RHA_OP_BLOCK_WRITE,
            rha_op::RHA_OP_DISCARD,
            rha_op::RHA_OP_BOOKMARK,
            rha_op::RHA_OP_TX_BEGIN,
            rha_op::RHA_OP_TX_COMMIT,
            rha_op::RHA_OP_SYNC_START,
            rha_op::RHA_OP_SYNC_END,
            rha_op::RHA_OP_EPOCH,
        ];
        assert_eq!(ours.len(), OpCode::ALL.len());
        for (op, code) in ours.into_iter().zip(OpCode::ALL) {
            assert_eq!(op as u32, u32::from(code as u8), "{op:?}");
        }
    }

    #[test]
    fn the_device_number_starts_where_the_first_layout_ended() {
        // The first layout ended with `app_consistent` and its padding.
        let first = std::mem::offset_of!(rha_record, app_consistent) + 1;
        let first = first.next_multiple_of(std::mem::align_of::<u64>());
        assert_eq!(std::mem::offset_of!(rha_record, rdev), first);
        assert_eq!(std::mem::size_of::<rha_record>(), first + 8);
    }

    #[test]
    fn unused_fields_are_zero_in_views_and_ignored_by_owned_op() {
        let record = Record {
            seq: 1,
            timestamp_ns: 2,
            op: Op::TxBegin { txid: 5 },
        };
        let mut decoder = decoder_holding(&record);
        let decoded = decoder
            .next_record_ref()
            .expect("decodes")
            .expect("a record");
        let flat = rha_record::view(&decoded).expect("converts");
        let expected = rha_record {
            seq: 1,
            timestamp_ns: 2,
            op: rha_op::RHA_OP_TX_BEGIN as u32,
            id: 5,
            ..rha_record::default()
        };
        assert_eq!(flat, expected);

        // Garbage in fields TX_BEGIN does not use is never read.
        let garbage = rha_bytes {
            ptr: 8 as *const u8,
            len: usize::MAX,
        };
        let noisy = rha_record {
            path: garbage,
            data: garbage,
            mode: 7,
            ..expected
        };
        // SAFETY: TX_BEGIN uses no view, so the garbage ones are never read.
        let op = unsafe { noisy.owned_op() };
        assert_eq!(op.ok(), Some(Op::TxBegin { txid: 5 }));
    }

    #[test]
    fn invalid_records_are_invalid_arguments() {
        use crate::error::rha_result::{RHA_INVALID_ARGUMENT, RHA_NULL_PARAMETER};
        let cases: Vec<(rha_record, crate::error::rha_result, &str)> = vec![
            (
                rha_record {
                    op: 0x99,
                    ..Default::default()
                },
                RHA_INVALID_ARGUMENT,
                "unknown operation 0x99",
            ),
            (
                rha_record {
                    op: rha_op::RHA_OP_DELETE as u32,
                    path: rha_bytes::borrow(b"/etc/passwd"),
                    ..Default::default()
                },
                RHA_INVALID_ARGUMENT,
                "absolute",
            ),
            (
                rha_record {
                    op: rha_op::RHA_OP_RENAME as u32,
                    path: rha_bytes::borrow(b"a"),
                    path2: rha_bytes::borrow(b"a/../b"),
                    ..Default::default()
                },
                RHA_INVALID_ARGUMENT,
                "`path2`",
            ),
            (
                rha_record {
                    op: rha_op::RHA_OP_WRITE as u32,
                    path: rha_bytes::borrow(b"a"),
                    data: rha_bytes {
                        ptr: std::ptr::null(),
                        len: 4,
                    },
                    ..Default::default()
                },
                RHA_NULL_PARAMETER,
                "`data`",
            ),
            (
                rha_record {
                    op: rha_op::RHA_OP_SET_ATTR as u32,
                    path: rha_bytes::borrow(b"a"),
                    attr_mask: 32,
                    ..Default::default()
                },
                RHA_INVALID_ARGUMENT,
                "attr_mask",
            ),
            (
                rha_record {
                    op: rha_op::RHA_OP_BOOKMARK as u32,
                    name: rha_bytes::borrow(b"\xff"),
                    ..Default::default()
                },
                RHA_INVALID_ARGUMENT,
                "UTF-8",
            ),
            (
                rha_record {
                    op: rha_op::RHA_OP_BOOKMARK as u32,
                    name: rha_bytes::borrow(b"x"),
                    app_consistent: 2,
                    ..Default::default()
                },
                RHA_INVALID_ARGUMENT,
                "app_consistent",
            ),
        ];
        for (record, code, needle) in cases {
            // SAFETY: every view is NULL or borrows a static.
            let e = unsafe { record.owned_op() }.expect_err(needle);
            assert_eq!(e.code(), code, "{}", e.message());
            assert!(e.message().contains(needle), "{}", e.message());
        }
    }
}
