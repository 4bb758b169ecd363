//! rha-capture
