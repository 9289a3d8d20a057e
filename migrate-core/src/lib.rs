//! SQLite migrations written in one `migrations.toml`, validated and embedded
//! at build time by `migrate_macros::embed_migrations!`, and applied at run
//! time without losing data.
//!
//! # Applying migrations at start-up
//!
//! The equivalent of the original tool's `init_db()`: open the database and
//! bring it up to date before using it.
//!
//! ```
//! // Reads migrations.toml next to Cargo.toml at build time and generates
//! // `static MIGRATIONS: migrate_core::Migrations`.
//! # /*
//! migrate_macros::embed_migrations!();
//! # */
//! # migrate_macros::embed_migrations!("../migrations.toml");
//!
//! fn main() -> Result<(), migrate_core::Error> {
//!     # let dir = tempfile::tempdir().unwrap();
//!     # let path = dir.path().join("chatbot.db");
//!     // init_db(): create or open the file, apply whatever is pending.
//!     let conn = MIGRATIONS.open(&path)?;
//!
//!     // get_current_version()
//!     let version = MIGRATIONS.current_version(&conn)?;
//!     assert_eq!(version, i64::from(MIGRATIONS.latest_version()));
//!
//!     // The tables the migrations created are ready to use.
//!     conn.execute("INSERT INTO users (id, gender) VALUES ('u1', 'female')", [])
//!         .map_err(migrate_core::Error::from)?;
//!     Ok(())
//! }
//! ```
//!
//! # Applying on a connection you already have
//!
//! The equivalent of `apply_all_migrations()`; each migration commits on its
//! own with its `schema_migrations` row, and a failure rolls back only that
//! migration and stops.
//!
//! ```
//! # migrate_macros::embed_migrations!("../migrations.toml");
//! # fn main() -> Result<(), migrate_core::Error> {
//! let mut conn = rusqlite::Connection::open_in_memory()?;
//! let report = MIGRATIONS.apply(&mut conn)?;
//! println!("applied {} migration(s), now at version {}", report.applied.len(), report.version);
//! # assert_eq!(report.version, i64::from(MIGRATIONS.latest_version()));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod backup;
pub mod checksum;
mod drift;
mod error;
mod fkscope;
pub mod manifest;
mod model;
mod runner;
pub mod schema;
pub mod sql;
mod tracking;
pub mod verify;

use std::path::Path;

pub use drift::{Change, CheckReport, Difference};
pub use error::Error;
pub use manifest::{Manifest, ManifestError};
pub use model::{Migration, Migrations};
pub use runner::{ApplyReport, DEFAULT_BUSY_TIMEOUT, Migrator, Problem, Progress, Status, Trial};
pub use tracking::AppliedMigration;

/// Re-exported so applications use the same SQLite as the runner.
pub use rusqlite;

impl Migrations {
    /// A [`Migrator`] over these migrations, to set options such as the busy
    /// timeout.
    pub fn migrator(&self) -> Migrator<'_> {
        Migrator::new(self).applied_by(self.build())
    }

    /// Opens (creating if needed) the database at `path` and applies every
    /// pending migration; the original tool's `init_db()`.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<rusqlite::Connection, Error> {
        self.migrator().open(path)
    }

    /// Applies every pending migration; the original tool's
    /// `apply_all_migrations()`. See [`Migrator::apply_with`].
    pub fn apply(&self, conn: &mut rusqlite::Connection) -> Result<ApplyReport, Error> {
        self.migrator().apply(conn)
    }

    /// Where the database stands against these migrations; reads only.
    pub fn status(&self, conn: &rusqlite::Connection) -> Result<Status, Error> {
        self.migrator().status(conn)
    }

    /// The database's version, 0 when nothing is recorded; the original
    /// tool's `get_current_version()`.
    pub fn current_version(&self, conn: &rusqlite::Connection) -> Result<i64, Error> {
        self.migrator().current_version(conn)
    }
}
