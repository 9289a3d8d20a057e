//! The proof: what runs at build time, on the bundled SQLite, before a list
//! may be embedded ([`verify`]), with the round trip of every down
//! ([`roundtrip`]) and the rows it compares ([`rows`]); then the data proof
//! ([`data`]), on generated rows ([`generate`]), with its copy of the
//! tables ([`tables`]), compared as [`crate::compare`] does.

mod data;
pub(crate) mod fresh;
mod generate;
mod roundtrip;
mod rows;
mod tables;
pub mod verify;
