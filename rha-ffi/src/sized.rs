//! Structs with a size field: how rha reads and writes a struct the caller
//! allocated, whatever version of it the caller was compiled with.
//!
//! Such a struct starts with `uint32_t struct_size`, which the caller sets
//! to `sizeof` (of the struct as its header declares it) before passing it.
//! rha accepts every size a released version of the struct had (an older
//! caller passes a smaller one) and touches only that many bytes; any other
//! size is refused with `RHA_INVALID_ARGUMENT` before the call does anything.
//! New fields go at the end, so each older version is a prefix of the
//! current one (`docs/abi.md`).

use std::ptr;

use crate::error::rha_error;

/// A `repr(C)` struct whose first field is `struct_size: u32`.
///
/// # Safety
///
/// The implementor is `repr(C)`, its first field is a `u32` holding the
/// struct's size, and every value of [`SIZES`](Self::SIZES) is at most
/// `size_of::<Self>()` and ends at a field boundary of this layout, so that
/// the bytes below it are the fields of that older version.
pub(crate) unsafe trait SizedStruct: Copy {
    /// The C name, for messages.
    const NAME: &'static str;
    /// The size of every released version, oldest first; the last is
    /// `size_of::<Self>()`.
    const SIZES: &'static [usize];
    /// Stores `size` in the `struct_size` field.
    fn set_struct_size(&mut self, size: u32);
}

/// The `struct_size` a caller declared in `*p`, if rha knows that size.
///
/// # Safety
///
/// `p` is valid for reading a `u32` (the caller's struct has at least its
/// size field).
pub(crate) unsafe fn declared_size<T: SizedStruct>(p: *const T) -> Result<usize, rha_error> {
    // SAFETY: readable for a `u32` by this function's contract; the field
    // is first in a `repr(C)` struct, so at offset 0.
    let size = unsafe { p.cast::<u32>().read() };
    match usize::try_from(size) {
        Ok(size) if T::SIZES.contains(&size) => Ok(size),
        _ => Err(rha_error::invalid_argument(format!(
            "{}.struct_size is {size}, which is no size of that struct this library knows \
             ({}; set it to sizeof(struct {}))",
            T::NAME,
            T::SIZES
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(" or "),
            T::NAME,
        ))),
    }
}

/// Reads a struct the caller filled: its `struct_size` checked as
/// [`declared_size`] does, then that many bytes copied over
/// `T::default()`, so the fields an older (smaller) version lacks keep
/// their defaults.
///
/// # Safety
///
/// `src` is valid for reading its `u32` size field and, if that size is
/// known, that many bytes.
pub(crate) unsafe fn read_sized<T: SizedStruct + Default>(src: *const T) -> Result<T, rha_error> {
    // SAFETY: by this function's contract.
    let size = unsafe { declared_size(src) }?;
    let mut value = T::default();
    let size = size.min(std::mem::size_of::<T>());
    // SAFETY: `src` is readable for `size` bytes by this function's
    // contract (a known size); `value` is a whole `T`; no overlap. The
    // bytes are the caller's fields of a `T` prefix (the trait's contract:
    // every known size ends at a field boundary), so every field copied
    // holds a value of its type as the caller's header declares it.
    unsafe {
        ptr::copy_nonoverlapping(src.cast::<u8>(), (&mut value as *mut T).cast::<u8>(), size)
    };
    Ok(value)
}

/// Writes the first `size` bytes of `value` (with `struct_size` set to
/// `size`) to `dst`.
///
/// # Safety
///
/// `size` came from [`declared_size`] on `dst`, and `dst` is valid for
/// writing `size` bytes.
pub(crate) unsafe fn write_sized<T: SizedStruct>(dst: *mut T, mut value: T, size: usize) {
    value.set_struct_size(size as u32);
    let size = size.min(std::mem::size_of::<T>());
    // SAFETY: `value` is a whole `T`, so readable for `size` bytes (an
    // untyped copy, so padding bytes are fine); `dst` is writable for
    // `size` bytes by this function's contract; they cannot overlap.
    unsafe { ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), dst.cast::<u8>(), size) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A struct with two versions: 8 bytes (`struct_size`, `a`), then 16
    /// (`b` added).
    #[repr(C)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct Two {
        struct_size: u32,
        a: u32,
        b: u64,
    }

    // SAFETY: repr(C), `struct_size` first, 8 ends at `a`, 16 is the whole.
    unsafe impl SizedStruct for Two {
        const NAME: &'static str = "two";
        const SIZES: &'static [usize] = &[8, 16];
        fn set_struct_size(&mut self, size: u32) {
            self.struct_size = size;
        }
    }

    #[test]
    fn an_older_smaller_struct_gets_its_fields_only() {
        let mut old = [0xAAu8; 12];
        old[..4].copy_from_slice(&8u32.to_ne_bytes());
        let dst = old.as_mut_ptr().cast::<Two>();
        // SAFETY: `old` holds the size field; 8 bytes are writable.
        let size = unsafe { declared_size(dst) }.expect("8 is known");
        assert_eq!(size, 8);
        // SAFETY: as above.
        unsafe {
            write_sized(
                dst,
                Two {
                    struct_size: 0,
                    a: 7,
                    b: 9,
                },
                size,
            )
        };
        assert_eq!(&old[..4], &8u32.to_ne_bytes());
        assert_eq!(&old[4..8], &7u32.to_ne_bytes());
        assert_eq!(&old[8..], &[0xAA; 4], "nothing past the caller's struct");
    }

    #[test]
    fn the_current_size_gets_everything_and_unknown_sizes_are_refused() {
        let mut t = Two {
            struct_size: 16,
            ..Two::default()
        };
        // SAFETY: a whole `Two`.
        let size = unsafe { declared_size(&t) }.expect("16 is known");
        // SAFETY: a whole `Two`.
        unsafe {
            write_sized(
                &mut t,
                Two {
                    struct_size: 0,
                    a: 1,
                    b: 2,
                },
                size,
            )
        };
        assert_eq!(
            t,
            Two {
                struct_size: 16,
                a: 1,
                b: 2
            }
        );
        for bad in [0, 4, 12, 17, u32::MAX] {
            t.struct_size = bad;
            // SAFETY: a whole `Two`.
            let e = unsafe { declared_size(&t) }.expect_err("unknown size");
            assert_eq!(e.code(), crate::error::rha_result::RHA_INVALID_ARGUMENT);
            assert!(
                e.message().contains(&format!("two.struct_size is {bad}")),
                "{}",
                e.message()
            );
        }
    }

    #[test]
    fn an_older_input_keeps_the_defaults_of_the_fields_it_lacks() {
        let mut old = [0u8; 8];
        old[..4].copy_from_slice(&8u32.to_ne_bytes());
        old[4..8].copy_from_slice(&5u32.to_ne_bytes());
        // SAFETY: 8 readable bytes, the size field says 8.
        let t = unsafe { read_sized(old.as_ptr().cast::<Two>()) }.expect("8 is known");
        assert_eq!(
            t,
            Two {
                struct_size: 8,
                a: 5,
                b: 0
            }
        );
        old[..4].copy_from_slice(&7u32.to_ne_bytes());
        // SAFETY: as above; 7 is refused before more is read.
        let e = unsafe { read_sized(old.as_ptr().cast::<Two>()) }.expect_err("7 is unknown");
        assert_eq!(e.code(), crate::error::rha_result::RHA_INVALID_ARGUMENT);
    }
}
