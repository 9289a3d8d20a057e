//! The migration list: `migrations.toml` parsed and validated
//! ([`manifest`]), the migrations it describes ([`model`]), their checksums
//! ([`checksum`]), the SQL text helpers the checks share ([`sql`]) and
//! what a fresh database at each version needs (`fresh`, filled by the
//! proof).
//! Nothing here touches a database; the proof and the engines build on it.

pub mod checksum;
pub(crate) mod fresh;
pub mod manifest;
pub mod model;
pub mod sql;
