//! The proof: what runs at build time, on the bundled SQLite, before a list
//! may be embedded ([`verify`]), with the round trip of every down
//! ([`roundtrip`]) and the rows it compares ([`rows`]).

mod generate;
mod roundtrip;
mod rows;
pub mod verify;
