//! The migration list: `migrations.toml` parsed and validated
//! ([`manifest`]), the migrations it describes ([`model`]), their checksums
//! ([`checksum`]) and the SQL text helpers the checks share ([`sql`]).
//! Nothing here touches a database; the proof and the engines build on it.

pub mod checksum;
pub mod manifest;
pub mod model;
pub mod sql;
