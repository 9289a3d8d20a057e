//! The proof: what runs at build time, on the bundled SQLite, before a list
//! may be embedded ([`verify`]).

pub mod verify;
