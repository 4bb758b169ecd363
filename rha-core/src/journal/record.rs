//! The record model: what one journal entry says.

use bytes::Bytes;

use super::path::RelPath;

/// The longest extended-attribute name, in bytes.
pub const MAX_XATTR_NAME_LEN: usize = 255;
/// The longest extended-attribute value, in bytes (Linux `XATTR_SIZE_MAX`).
pub const MAX_XATTR_VALUE_LEN: usize = 65536;
/// The longest symlink target, in bytes.
pub const MAX_SYMLINK_TARGET_LEN: usize = 4096;
/// The longest bookmark name, in bytes of UTF-8.
pub const MAX_BOOKMARK_NAME_LEN: usize = 255;

/// The file type bits of a mode (`S_IFMT`).
pub const MODE_TYPE_MASK: u32 = 0o170000;
/// File type bits of a FIFO (`S_IFIFO`).
pub const MODE_FIFO: u32 = 0o010000;
/// File type bits of a character device (`S_IFCHR`).
pub const MODE_CHAR_DEVICE: u32 = 0o020000;
/// File type bits of a block device (`S_IFBLK`).
pub const MODE_BLOCK_DEVICE: u32 = 0o060000;

/// Whether `mode` names a node [`Op::Mknod`] can make: its type bits are
/// those of a FIFO, a character device or a block device, and it has no
/// bits beyond the type and [`0o7777`](Attrs::mode).
pub fn is_mknod_mode(mode: u32) -> bool {
    matches!(
        mode & MODE_TYPE_MASK,
        MODE_FIFO | MODE_CHAR_DEVICE | MODE_BLOCK_DEVICE
    ) && mode & !(MODE_TYPE_MASK | 0o7777) == 0
}

/// One captured change, with its place in the journal.
///
/// `seq` is strictly increasing by one from record to record within a journal;
/// `timestamp_ns` is the capture time in nanoseconds since the Unix epoch, as the
/// capture source supplied it (the library never reads a clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: u64,
    /// Capture time, nanoseconds since 1970-01-01T00:00:00Z.
    pub timestamp_ns: u64,
    /// What changed.
    pub op: Op,
}

/// A point in time for file attributes: nanoseconds since the Unix epoch,
/// negative before 1970.
pub type FileTime = i64;

/// Attribute changes carried by [`Op::SetAttr`]; `None` leaves that attribute alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Permission bits and file type bits as in `st_mode`.
    pub mode: Option<u32>,
    /// Owner user id.
    pub uid: Option<u32>,
    /// Owner group id.
    pub gid: Option<u32>,
    /// Access time.
    pub atime: Option<FileTime>,
    /// Modification time.
    pub mtime: Option<FileTime>,
}

/// The operation a [`Record`] carries.
///
/// File operations name paths relative to the scenario root ([`RelPath`]);
/// volume operations name a volume by the index the scenario gave it.
/// Payloads are [`Bytes`], so decoded records share the decoder's buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// A regular file was created (empty) with `mode`.
    Create {
        /// The new file.
        path: RelPath,
        /// Permission bits.
        mode: u32,
    },
    /// `data` was written at `offset` of an existing file.
    Write {
        /// The file written.
        path: RelPath,
        /// Byte offset of the first byte written.
        offset: u64,
        /// The bytes written.
        data: Bytes,
    },
    /// The file's length was set (truncated or extended with zeros).
    SetLen {
        /// The file.
        path: RelPath,
        /// The new length in bytes.
        len: u64,
    },
    /// A file, symlink or other non-directory was removed.
    Delete {
        /// The removed entry.
        path: RelPath,
    },
    /// An entry was renamed, replacing `to` if it existed.
    Rename {
        /// The old name.
        from: RelPath,
        /// The new name.
        to: RelPath,
    },
    /// A directory was created with `mode`.
    Mkdir {
        /// The new directory.
        path: RelPath,
        /// Permission bits.
        mode: u32,
    },
    /// An empty directory was removed.
    Rmdir {
        /// The removed directory.
        path: RelPath,
    },
    /// A symbolic link was created.
    Symlink {
        /// The new link.
        path: RelPath,
        /// What the link points to, verbatim (may be absolute or contain `..`:
        /// a link's target is data, resolved only by whoever follows the link).
        /// Non-empty, no NUL, at most [`MAX_SYMLINK_TARGET_LEN`] bytes.
        target: Bytes,
    },
    /// A hard link `link` to the existing file `existing` was created.
    HardLink {
        /// The file linked to.
        existing: RelPath,
        /// The new name.
        link: RelPath,
    },
    /// Attributes changed.
    SetAttr {
        /// The entry changed.
        path: RelPath,
        /// The attributes that changed, with their new values.
        attrs: Attrs,
    },
    /// An extended attribute was set.
    SetXattr {
        /// The entry changed.
        path: RelPath,
        /// Attribute name: 1 to [`MAX_XATTR_NAME_LEN`] bytes, no NUL.
        name: Bytes,
        /// Attribute value, at most [`MAX_XATTR_VALUE_LEN`] bytes.
        value: Bytes,
    },
    /// An extended attribute was removed.
    RemoveXattr {
        /// The entry changed.
        path: RelPath,
        /// Attribute name: 1 to [`MAX_XATTR_NAME_LEN`] bytes, no NUL.
        name: Bytes,
    },
    /// A special file was created: a FIFO or a device node (sockets are
    /// made only by the program that listens on them, never by a journal).
    Mknod {
        /// The new node.
        path: RelPath,
        /// File type bits (FIFO, character or block device) and permission
        /// bits, as in `st_mode`; [`is_mknod_mode`] holds.
        mode: u32,
        /// The device number (`st_rdev`) of a device node; 0 for a FIFO.
        rdev: u64,
    },
    /// Every extended attribute of the entry was removed, as far as the
    /// applier manages them: a sync sends it before the master's attributes,
    /// to make the replica's set the master's exactly without knowing the
    /// replica's names. Names outside the applier's scope (`system.*`, a
    /// host's own `security.selinux` label) are kept.
    ClearXattrs {
        /// The entry changed.
        path: RelPath,
    },
    /// `data` was written at byte `offset` of a volume.
    BlockWrite {
        /// The volume's index in the scenario.
        volume: u32,
        /// Byte offset on the volume.
        offset: u64,
        /// The bytes written.
        data: Bytes,
    },
    /// `len` bytes at `offset` of a volume were discarded (trimmed).
    Discard {
        /// The volume's index in the scenario.
        volume: u32,
        /// Byte offset on the volume.
        offset: u64,
        /// Number of bytes discarded.
        len: u64,
    },
    /// A named point an operator or application marked; the record's timestamp
    /// is the bookmark's wall time.
    Bookmark {
        /// Name: 1 to [`MAX_BOOKMARK_NAME_LEN`] bytes of UTF-8, no NUL.
        name: String,
        /// Whether the application declared its data consistent at this point.
        app_consistent: bool,
    },
    /// The records up to the matching [`Op::TxCommit`] form one transaction.
    TxBegin {
        /// Transaction id, unique among open transactions.
        txid: u64,
    },
    /// The transaction `txid` committed: apply its records together.
    TxCommit {
        /// Transaction id.
        txid: u64,
    },
    /// A synchronisation started; records before it precede the sync.
    SyncStart {
        /// Identifies the sync run.
        sync_id: u64,
    },
    /// The synchronisation `sync_id` finished.
    SyncEnd {
        /// Identifies the sync run.
        sync_id: u64,
    },
    /// The scenario and epoch the following records belong to.
    Epoch {
        /// Scenario identifier.
        scenario: u64,
        /// Epoch number within the scenario (bumped on every restart or role swap).
        epoch: u64,
    },
}

/// A record as a view into the decoder's buffer, from
/// [`Decoder::next_record_ref`](super::Decoder::next_record_ref): nothing is
/// copied or reference-counted. Valid until the decoder is next used;
/// [`to_record`](Self::to_record) makes an owned [`Record`] that shares the
/// buffer instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Sequence number.
    pub seq: u64,
    /// Capture time, nanoseconds since 1970-01-01T00:00:00Z.
    pub timestamp_ns: u64,
    /// What changed.
    pub op: OpRef<'a>,
    /// The buffer every slice in `op` points into.
    pub(crate) backing: &'a Bytes,
}

impl RecordRef<'_> {
    /// An owned record whose payloads share the decoder's buffer (no copy).
    pub fn to_record(&self) -> Record {
        Record {
            seq: self.seq,
            timestamp_ns: self.timestamp_ns,
            op: self.op.to_op(self.backing),
        }
    }
}

/// [`Op`] as views: paths are validated [`RelPath`] bytes, payloads are
/// slices. Produced only by the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)] // every field is documented on the matching `Op` variant
pub enum OpRef<'a> {
    /// [`Op::Create`]
    Create { path: &'a [u8], mode: u32 },
    /// [`Op::Write`]
    Write {
        path: &'a [u8],
        offset: u64,
        data: &'a [u8],
    },
    /// [`Op::SetLen`]
    SetLen { path: &'a [u8], len: u64 },
    /// [`Op::Delete`]
    Delete { path: &'a [u8] },
    /// [`Op::Rename`]
    Rename { from: &'a [u8], to: &'a [u8] },
    /// [`Op::Mkdir`]
    Mkdir { path: &'a [u8], mode: u32 },
    /// [`Op::Rmdir`]
    Rmdir { path: &'a [u8] },
    /// [`Op::Symlink`]
    Symlink { path: &'a [u8], target: &'a [u8] },
    /// [`Op::HardLink`]
    HardLink { existing: &'a [u8], link: &'a [u8] },
    /// [`Op::SetAttr`]
    SetAttr { path: &'a [u8], attrs: Attrs },
    /// [`Op::SetXattr`]
    SetXattr {
        path: &'a [u8],
        name: &'a [u8],
        value: &'a [u8],
    },
    /// [`Op::RemoveXattr`]
    RemoveXattr { path: &'a [u8], name: &'a [u8] },
    /// [`Op::Mknod`]
    Mknod {
        path: &'a [u8],
        mode: u32,
        rdev: u64,
    },
    /// [`Op::ClearXattrs`]
    ClearXattrs { path: &'a [u8] },
    /// [`Op::BlockWrite`]
    BlockWrite {
        volume: u32,
        offset: u64,
        data: &'a [u8],
    },
    /// [`Op::Discard`]
    Discard { volume: u32, offset: u64, len: u64 },
    /// [`Op::Bookmark`]
    Bookmark { name: &'a str, app_consistent: bool },
    /// [`Op::TxBegin`]
    TxBegin { txid: u64 },
    /// [`Op::TxCommit`]
    TxCommit { txid: u64 },
    /// [`Op::SyncStart`]
    SyncStart { sync_id: u64 },
    /// [`Op::SyncEnd`]
    SyncEnd { sync_id: u64 },
    /// [`Op::Epoch`]
    Epoch { scenario: u64, epoch: u64 },
}

impl OpRef<'_> {
    /// The owned operation; `backing` holds every slice of `self`.
    fn to_op(self, backing: &Bytes) -> Op {
        let b = |s: &[u8]| backing.slice_ref(s);
        let p = |s: &[u8]| RelPath::from_validated(backing.slice_ref(s));
        match self {
            OpRef::Create { path, mode } => Op::Create {
                path: p(path),
                mode,
            },
            OpRef::Write { path, offset, data } => Op::Write {
                path: p(path),
                offset,
                data: b(data),
            },
            OpRef::SetLen { path, len } => Op::SetLen { path: p(path), len },
            OpRef::Delete { path } => Op::Delete { path: p(path) },
            OpRef::Rename { from, to } => Op::Rename {
                from: p(from),
                to: p(to),
            },
            OpRef::Mkdir { path, mode } => Op::Mkdir {
                path: p(path),
                mode,
            },
            OpRef::Rmdir { path } => Op::Rmdir { path: p(path) },
            OpRef::Symlink { path, target } => Op::Symlink {
                path: p(path),
                target: b(target),
            },
            OpRef::HardLink { existing, link } => Op::HardLink {
                existing: p(existing),
                link: p(link),
            },
            OpRef::SetAttr { path, attrs } => Op::SetAttr {
                path: p(path),
                attrs,
            },
            OpRef::SetXattr { path, name, value } => Op::SetXattr {
                path: p(path),
                name: b(name),
                value: b(value),
            },
            OpRef::RemoveXattr { path, name } => Op::RemoveXattr {
                path: p(path),
                name: b(name),
            },
            OpRef::Mknod { path, mode, rdev } => Op::Mknod {
                path: p(path),
                mode,
                rdev,
            },
            OpRef::ClearXattrs { path } => Op::ClearXattrs { path: p(path) },
            OpRef::BlockWrite {
                volume,
                offset,
                data,
            } => Op::BlockWrite {
                volume,
                offset,
                data: b(data),
            },
            OpRef::Discard {
                volume,
                offset,
                len,
            } => Op::Discard {
                volume,
                offset,
                len,
            },
            OpRef::Bookmark {
                name,
                app_consistent,
            } => Op::Bookmark {
                name: name.to_owned(),
                app_consistent,
            },
            OpRef::TxBegin { txid } => Op::TxBegin { txid },
            OpRef::TxCommit { txid } => Op::TxCommit { txid },
            OpRef::SyncStart { sync_id } => Op::SyncStart { sync_id },
            OpRef::SyncEnd { sync_id } => Op::SyncEnd { sync_id },
            OpRef::Epoch { scenario, epoch } => Op::Epoch { scenario, epoch },
        }
    }

    /// This operation's code.
    pub fn code(&self) -> OpCode {
        match self {
            OpRef::Create { .. } => OpCode::Create,
            OpRef::Write { .. } => OpCode::Write,
            OpRef::SetLen { .. } => OpCode::SetLen,
            OpRef::Delete { .. } => OpCode::Delete,
            OpRef::Rename { .. } => OpCode::Rename,
            OpRef::Mkdir { .. } => OpCode::Mkdir,
            OpRef::Rmdir { .. } => OpCode::Rmdir,
            OpRef::Symlink { .. } => OpCode::Symlink,
            OpRef::HardLink { .. } => OpCode::HardLink,
            OpRef::SetAttr { .. } => OpCode::SetAttr,
            OpRef::SetXattr { .. } => OpCode::SetXattr,
            OpRef::RemoveXattr { .. } => OpCode::RemoveXattr,
            OpRef::Mknod { .. } => OpCode::Mknod,
            OpRef::ClearXattrs { .. } => OpCode::ClearXattrs,
            OpRef::BlockWrite { .. } => OpCode::BlockWrite,
            OpRef::Discard { .. } => OpCode::Discard,
            OpRef::Bookmark { .. } => OpCode::Bookmark,
            OpRef::TxBegin { .. } => OpCode::TxBegin,
            OpRef::TxCommit { .. } => OpCode::TxCommit,
            OpRef::SyncStart { .. } => OpCode::SyncStart,
            OpRef::SyncEnd { .. } => OpCode::SyncEnd,
            OpRef::Epoch { .. } => OpCode::Epoch,
        }
    }
}

/// Numeric operation codes, as stored in a record frame (see `docs/journal-format.md`).
///
/// The values are part of the format and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum OpCode {
    /// [`Op::Create`]
    Create = 0x01,
    /// [`Op::Write`]
    Write = 0x02,
    /// [`Op::SetLen`]
    SetLen = 0x03,
    /// [`Op::Delete`]
    Delete = 0x04,
    /// [`Op::Rename`]
    Rename = 0x05,
    /// [`Op::Mkdir`]
    Mkdir = 0x06,
    /// [`Op::Rmdir`]
    Rmdir = 0x07,
    /// [`Op::Symlink`]
    Symlink = 0x08,
    /// [`Op::HardLink`]
    HardLink = 0x09,
    /// [`Op::SetAttr`]
    SetAttr = 0x0A,
    /// [`Op::SetXattr`]
    SetXattr = 0x0B,
    /// [`Op::RemoveXattr`]
    RemoveXattr = 0x0C,
    /// [`Op::Mknod`]
    Mknod = 0x0D,
    /// [`Op::ClearXattrs`]
    ClearXattrs = 0x0E,
    /// [`Op::BlockWrite`]
    BlockWrite = 0x20,
    /// [`Op::Discard`]
    Discard = 0x21,
    /// [`Op::Bookmark`]
    Bookmark = 0x40,
    /// [`Op::TxBegin`]
    TxBegin = 0x41,
    /// [`Op::TxCommit`]
    TxCommit = 0x42,
    /// [`Op::SyncStart`]
    SyncStart = 0x43,
    /// [`Op::SyncEnd`]
    SyncEnd = 0x44,
    /// [`Op::Epoch`]
    Epoch = 0x45,
}

impl OpCode {
    /// Every code, in numeric order.
    pub const ALL: [OpCode; 22] = [
        OpCode::Create,
        OpCode::Write,
        OpCode::SetLen,
        OpCode::Delete,
        OpCode::Rename,
        OpCode::Mkdir,
        OpCode::Rmdir,
        OpCode::Symlink,
        OpCode::HardLink,
        OpCode::SetAttr,
        OpCode::SetXattr,
        OpCode::RemoveXattr,
        OpCode::Mknod,
        OpCode::ClearXattrs,
        OpCode::BlockWrite,
        OpCode::Discard,
        OpCode::Bookmark,
        OpCode::TxBegin,
        OpCode::TxCommit,
        OpCode::SyncStart,
        OpCode::SyncEnd,
        OpCode::Epoch,
    ];

    /// The code for a stored byte, if it names an operation.
    pub fn from_u8(code: u8) -> Option<Self> {
        Some(match code {
            0x01 => OpCode::Create,
            0x02 => OpCode::Write,
            0x03 => OpCode::SetLen,
            0x04 => OpCode::Delete,
            0x05 => OpCode::Rename,
            0x06 => OpCode::Mkdir,
            0x07 => OpCode::Rmdir,
            0x08 => OpCode::Symlink,
            0x09 => OpCode::HardLink,
            0x0A => OpCode::SetAttr,
            0x0B => OpCode::SetXattr,
            0x0C => OpCode::RemoveXattr,
            0x0D => OpCode::Mknod,
            0x0E => OpCode::ClearXattrs,
            0x20 => OpCode::BlockWrite,
            0x21 => OpCode::Discard,
            0x40 => OpCode::Bookmark,
            0x41 => OpCode::TxBegin,
            0x42 => OpCode::TxCommit,
            0x43 => OpCode::SyncStart,
            0x44 => OpCode::SyncEnd,
            0x45 => OpCode::Epoch,
            _ => return None,
        })
    }

    /// A short lowercase name, as `rha journal dump` prints it.
    pub fn name(self) -> &'static str {
        match self {
            OpCode::Create => "create",
            OpCode::Write => "write",
            OpCode::SetLen => "set-len",
            OpCode::Delete => "delete",
            OpCode::Rename => "rename",
            OpCode::Mkdir => "mkdir",
            OpCode::Rmdir => "rmdir",
            OpCode::Symlink => "symlink",
            OpCode::HardLink => "hard-link",
            OpCode::SetAttr => "set-attr",
            OpCode::SetXattr => "set-xattr",
            OpCode::RemoveXattr => "remove-xattr",
            OpCode::Mknod => "mknod",
            OpCode::ClearXattrs => "clear-xattrs",
            OpCode::BlockWrite => "block-write",
            OpCode::Discard => "discard",
            OpCode::Bookmark => "bookmark",
            OpCode::TxBegin => "tx-begin",
            OpCode::TxCommit => "tx-commit",
            OpCode::SyncStart => "sync-start",
            OpCode::SyncEnd => "sync-end",
            OpCode::Epoch => "epoch",
        }
    }
}

impl Op {
    /// This operation's code.
    pub fn code(&self) -> OpCode {
        match self {
            Op::Create { .. } => OpCode::Create,
            Op::Write { .. } => OpCode::Write,
            Op::SetLen { .. } => OpCode::SetLen,
            Op::Delete { .. } => OpCode::Delete,
            Op::Rename { .. } => OpCode::Rename,
            Op::Mkdir { .. } => OpCode::Mkdir,
            Op::Rmdir { .. } => OpCode::Rmdir,
            Op::Symlink { .. } => OpCode::Symlink,
            Op::HardLink { .. } => OpCode::HardLink,
            Op::SetAttr { .. } => OpCode::SetAttr,
            Op::SetXattr { .. } => OpCode::SetXattr,
            Op::RemoveXattr { .. } => OpCode::RemoveXattr,
            Op::Mknod { .. } => OpCode::Mknod,
            Op::ClearXattrs { .. } => OpCode::ClearXattrs,
            Op::BlockWrite { .. } => OpCode::BlockWrite,
            Op::Discard { .. } => OpCode::Discard,
            Op::Bookmark { .. } => OpCode::Bookmark,
            Op::TxBegin { .. } => OpCode::TxBegin,
            Op::TxCommit { .. } => OpCode::TxCommit,
            Op::SyncStart { .. } => OpCode::SyncStart,
            Op::SyncEnd { .. } => OpCode::SyncEnd,
            Op::Epoch { .. } => OpCode::Epoch,
        }
    }

    /// The path the operation acts on first, for file operations.
    pub fn path(&self) -> Option<&RelPath> {
        match self {
            Op::Create { path, .. }
            | Op::Write { path, .. }
            | Op::SetLen { path, .. }
            | Op::Delete { path }
            | Op::Mkdir { path, .. }
            | Op::Rmdir { path }
            | Op::Symlink { path, .. }
            | Op::SetAttr { path, .. }
            | Op::SetXattr { path, .. }
            | Op::RemoveXattr { path, .. }
            | Op::Mknod { path, .. }
            | Op::ClearXattrs { path } => Some(path),
            Op::Rename { from, .. } => Some(from),
            Op::HardLink { existing, .. } => Some(existing),
            _ => None,
        }
    }
}
