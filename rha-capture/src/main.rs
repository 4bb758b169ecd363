//! rha\nfn main() {}
