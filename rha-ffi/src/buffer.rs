//! Byte views and the `{ptr, size, pos}` buffers of streaming calls.

use std::{ptr, slice};

use crate::error::{rha_error, rha_result};

/// Input for a streaming call (the zstd convention): the bytes
/// `src[pos..size]` have not been consumed yet.
///
/// The caller owns the memory; a call reads `src` only while it runs and
/// advances `pos` past the bytes it consumed (also when it fails). `src` may
/// be NULL only if `size` is 0. `pos > size` is `RHA_INVALID_ARGUMENT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_in_buffer {
    /// Start of the caller's input.
    pub src: *const u8,
    /// Bytes readable at `src`.
    pub size: usize,
    /// Bytes already consumed; the call advances it.
    pub pos: usize,
}

/// Output room for a streaming call (the zstd convention): a call writes at
/// `dst + pos`, at most `size - pos` bytes, and advances `pos` past what it
/// wrote.
///
/// The caller owns the memory; a call writes to it only while it runs. `dst`
/// may be NULL only if `size` is 0. `pos > size` is `RHA_INVALID_ARGUMENT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_out_buffer {
    /// Start of the caller's output room.
    pub dst: *mut u8,
    /// Bytes writable at `dst`.
    pub size: usize,
    /// Bytes already filled; the call advances it.
    pub pos: usize,
}

/// A borrowed run of bytes: `len` bytes at `ptr`. `ptr` may be NULL if and
/// only if `len` is 0.
///
/// In a record given to the library, the bytes belong to the caller and are
/// read only during the call. In a record the library hands out, they belong
/// to the library; the function that produced the record says how long they
/// stay valid. Empty views the library hands out always have a NULL `ptr`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rha_bytes {
    /// First byte, or NULL when `len` is 0.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl Default for rha_bytes {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl rha_bytes {
    /// No bytes.
    pub(crate) const EMPTY: Self = Self {
        ptr: ptr::null(),
        len: 0,
    };

    /// A view of `bytes`, valid as long as `bytes` is.
    pub(crate) fn borrow(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            Self::EMPTY
        } else {
            Self {
                ptr: bytes.as_ptr(),
                len: bytes.len(),
            }
        }
    }

    /// The bytes, or an error naming the record `field` if the view is
    /// malformed.
    ///
    /// # Safety
    ///
    /// Unless `ptr` is NULL or `len` is 0, `ptr` is valid for reading `len`
    /// bytes, unchanged for `'a`.
    pub(crate) unsafe fn as_slice<'a>(&self, field: &str) -> Result<&'a [u8], rha_error> {
        // SAFETY: forwarded from this function's contract.
        unsafe { slice_from(self.ptr, self.len, &format_args!("record field `{field}`")) }
    }
}

/// The `len` bytes at `ptr`, passed as the argument called `name` (with its
/// length argument `name_len`), or an error naming that argument.
///
/// # Safety
///
/// Unless `ptr` is NULL or `len` is 0, `ptr` is valid for reading `len`
/// bytes, unchanged for `'a`.
pub(crate) unsafe fn arg_slice<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], rha_error> {
    // SAFETY: forwarded from this function's contract.
    unsafe { slice_from(ptr, len, &format_args!("argument `{name}`")) }
}

impl rha_in_buffer {
    /// The unconsumed bytes `src[pos..size]`.
    ///
    /// # Safety
    ///
    /// Unless `src` is NULL or `size` is 0, `src` is valid for reading `size`
    /// bytes, unchanged for `'a`.
    pub(crate) unsafe fn remaining<'a>(&self) -> Result<&'a [u8], rha_error> {
        check_pos(self.pos, self.size, "rha_in_buffer")?;
        // SAFETY: forwarded from this function's contract.
        let all = unsafe { slice_from(self.src, self.size, &"rha_in_buffer `src`")? };
        Ok(all.get(self.pos..).unwrap_or_default())
    }
}

impl rha_out_buffer {
    /// Copies as much of `data` as fits at `dst + pos`, advances `pos`, and
    /// returns how many bytes it copied.
    ///
    /// # Safety
    ///
    /// Unless `dst` is NULL or `size` is 0, `dst` is valid for writing `size`
    /// bytes and does not overlap `data`.
    pub(crate) unsafe fn fill_from(&mut self, data: &[u8]) -> Result<usize, rha_error> {
        check_pos(self.pos, self.size, "rha_out_buffer")?;
        let room = self.size - self.pos;
        if room > 0 && self.dst.is_null() {
            return Err(rha_error::new(
                rha_result::RHA_NULL_PARAMETER,
                format!("rha_out_buffer `dst` is NULL but `size` is {}", self.size),
            ));
        }
        let n = room.min(data.len());
        if n > 0 {
            // SAFETY: `dst` is non-NULL and valid for `size` bytes by this
            // function's contract; `pos + n <= size`; no overlap with `data`.
            unsafe { ptr::copy_nonoverlapping(data.as_ptr(), self.dst.add(self.pos), n) };
            self.pos += n;
        }
        Ok(n)
    }
}

impl rha_out_buffer {
    /// The free room `dst[pos..size]`, for a call to write into directly.
    ///
    /// # Safety
    ///
    /// Unless `dst` is NULL or `size` is 0, `dst` is valid for writing `size`
    /// bytes, and nothing else accesses them for `'a`.
    pub(crate) unsafe fn room<'a>(&mut self) -> Result<&'a mut [u8], rha_error> {
        check_pos(self.pos, self.size, "rha_out_buffer")?;
        if self.size == self.pos {
            return Ok(&mut []);
        }
        if self.dst.is_null() {
            return Err(rha_error::new(
                rha_result::RHA_NULL_PARAMETER,
                format!("rha_out_buffer `dst` is NULL but `size` is {}", self.size),
            ));
        }
        if self.size > isize::MAX as usize {
            return Err(rha_error::invalid_argument(format!(
                "rha_out_buffer has an impossible size {}",
                self.size
            )));
        }
        // SAFETY: non-NULL, `pos < size <= isize::MAX`, writable and
        // unaliased for `'a` by this function's contract.
        Ok(unsafe { slice::from_raw_parts_mut(self.dst.add(self.pos), self.size - self.pos) })
    }
}

fn check_pos(pos: usize, size: usize, what: &str) -> Result<(), rha_error> {
    if pos > size {
        return Err(rha_error::invalid_argument(format!(
            "{what} `pos` ({pos}) is past its `size` ({size})"
        )));
    }
    Ok(())
}

/// `len` bytes at `ptr` as a slice; `what` names the view in errors.
///
/// # Safety
///
/// Unless `ptr` is NULL or `len` is 0, `ptr` is valid for reading `len`
/// bytes, unchanged for `'a`.
unsafe fn slice_from<'a>(
    ptr: *const u8,
    len: usize,
    what: &dyn std::fmt::Display,
) -> Result<&'a [u8], rha_error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(rha_error::new(
            rha_result::RHA_NULL_PARAMETER,
            format!("{what} is NULL but its length is {len}"),
        ));
    }
    if len > isize::MAX as usize {
        return Err(rha_error::invalid_argument(format!(
            "{what} has an impossible length {len}"
        )));
    }
    // SAFETY: non-NULL, `len` within `isize::MAX`, readable for `len` bytes
    // and unchanged for `'a` by this function's contract.
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_views_are_null() {
        assert_eq!(rha_bytes::borrow(&[]), rha_bytes::EMPTY);
        let data = [1u8, 2];
        let view = rha_bytes::borrow(&data);
        assert_eq!((view.ptr, view.len), (data.as_ptr(), 2));
    }

    #[test]
    fn malformed_views_are_errors() {
        let null = rha_bytes {
            ptr: ptr::null(),
            len: 3,
        };
        // SAFETY: a NULL view is never dereferenced.
        let e = unsafe { null.as_slice("data") }.expect_err("NULL with a length");
        assert_eq!(e.code(), rha_result::RHA_NULL_PARAMETER);
        assert!(e.message().contains("`data`"));

        let input = rha_in_buffer {
            src: ptr::null(),
            size: 0,
            pos: 1,
        };
        // SAFETY: `size` is 0, nothing is read.
        let e = unsafe { input.remaining() }.expect_err("pos past size");
        assert_eq!(e.code(), rha_result::RHA_INVALID_ARGUMENT);
    }

    #[test]
    fn in_buffer_yields_the_unconsumed_part() {
        let data = *b"abcdef";
        let input = rha_in_buffer {
            src: data.as_ptr(),
            size: data.len(),
            pos: 4,
        };
        // SAFETY: `src` points to `data`, which outlives the slice.
        assert_eq!(unsafe { input.remaining() }.ok(), Some(&b"ef"[..]));
    }

    #[test]
    fn out_buffer_fills_what_fits() {
        let mut room = [0u8; 4];
        let mut out = rha_out_buffer {
            dst: room.as_mut_ptr(),
            size: room.len(),
            pos: 1,
        };
        // SAFETY: `dst` points to `room`, which outlives the call.
        assert_eq!(unsafe { out.fill_from(b"xyzw") }.ok(), Some(3));
        assert_eq!(out.pos, 4);
        // SAFETY: as above.
        assert_eq!(unsafe { out.fill_from(b"more") }.ok(), Some(0));
        assert_eq!(&room, b"\0xyz");
    }
}
