//! The SQLite engine: applying migrations and reading a database's state
//! ([`runner`]), the `schema_migrations` table ([`tracking`]), schemas and
//! their fingerprints ([`schema`]), drift ([`drift`]), backups ([`backup`]),
//! the foreign-key scope of a migration ([`fkscope`]), declared functions
//! ([`functions`]), opening a file to read it ([`open`]), a table's rows as
//! data and how they compare before and after a migration ([`contents`],
//! [`compare`]), many databases at once ([`fleet`]) and what differs between
//! rusqlite releases ([`compat`]).

pub mod backup;
pub(crate) mod compare;
pub(crate) mod compat;
pub(crate) mod contents;
pub(crate) mod drift;
pub(crate) mod fkscope;
pub mod fleet;
pub(crate) mod functions;
pub(crate) mod open;
pub(crate) mod runner;
pub mod schema;
pub(crate) mod tracking;
