//! rha-ffi
