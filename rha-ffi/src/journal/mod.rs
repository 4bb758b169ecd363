//! The journal handles: a writer that encodes records into bytes the caller
//! drains, and a streaming reader fed with `{ptr, size, pos}` buffers.

pub(crate) mod reader;
pub(crate) mod writer;
