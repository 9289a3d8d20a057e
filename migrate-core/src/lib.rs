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

// Three layers: the migration list (parse, validate, checksums), the proof
// (what runs at build time), and the engines (SQLite). The list imports
// neither of the others; the proof builds on the list and runs the engine.
mod error;
mod list;
mod proof;
mod sqlite;

pub use list::{checksum, manifest, sql};
pub use proof::verify;
pub use sqlite::{backup, fleet, schema};
// Crate-wide short paths for the modules each layer shares.
use list::model;
use sqlite::{compare, compat, contents, drift, fkscope, functions, runner, tracking};

use std::path::Path;

pub use drift::{Change, CheckReport, Difference};
pub use error::Error;
pub use manifest::{Manifest, ManifestError};
pub use model::{Function, Migration, Migrations};
pub use runner::{
    ApplyPath, ApplyReport, COMPARED_ROWS, ChangedValues, DEFAULT_BUSY_TIMEOUT, DataChange,
    DownPlan, DownReport, DownSource, DownStep, Migrator, Problem, Progress, Status, TableChange,
    TempDatabase, Trial,
};
pub use sqlite::open::{open_for_reading, snapshot};
pub use tracking::AppliedMigration;

/// Re-exported so applications use the same SQLite as the runner.
///
/// ```
/// use migrate_core::rusqlite::Connection;
///
/// let conn = Connection::open_in_memory().unwrap();
/// let version: String = conn.query_row("SELECT sqlite_version()", [], |r| r.get(0)).unwrap();
/// assert!(version.starts_with("3."));
/// ```
pub use rusqlite;

/// The crate-private SQL helpers, for the fuzzers in `fuzz/` only: not part
/// of the API, and may change in any release.
#[doc(hidden)]
pub mod __fuzz {
    /// [`crate::sql`]'s `skip_trivia`.
    pub fn skip_trivia(sql: &str) -> &str {
        crate::sql::skip_trivia(sql)
    }

    /// [`crate::sql`]'s `first_statement`.
    pub fn first_statement(sql: &str) -> &str {
        crate::sql::first_statement(sql)
    }
}

impl Migrations {
    /// A [`Migrator`] over these migrations, to set options such as the busy
    /// timeout, and that records [`Migrations::build`] as `applied_by`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    /// let report = migrations
    ///     .migrator()
    ///     .busy_timeout(Duration::from_secs(5))
    ///     .target(Some(1))
    ///     .apply(&mut conn)?;
    /// assert_eq!(report.version, 1);
    /// assert_eq!(migrations.status(&conn)?.pending, [2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn migrator(&self) -> Migrator<'_> {
        Migrator::new(self)
            .applied_by(self.build())
            .with_image(self.fresh_image())
    }

    /// A new in-memory database at the latest version, for a test, in
    /// microseconds: see [`Migrator::in_memory`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let migrations = migrate_core::Migrations::from_toml(
    ///     "[[migration]]\nversion = 1\ndescription = \"Create t\"\nsql = \"CREATE TABLE t (x)\"",
    ///     "migrations.toml",
    /// )?;
    /// let conn = migrations.in_memory()?;
    /// assert_eq!(migrations.current_version(&conn)?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn in_memory(&self) -> Result<rusqlite::Connection, Error> {
        self.migrator().in_memory()
    }

    /// A database file at the latest version in the temporary directory,
    /// for a test, removed when dropped: see [`Migrator::temp_file`].
    pub fn temp_file(&self) -> Result<TempDatabase, Error> {
        self.migrator().temp_file()
    }

    /// Opens (creating if needed) the database at `path` and applies every
    /// pending migration; the original tool's `init_db()`. Uses the default
    /// busy timeout ([`DEFAULT_BUSY_TIMEOUT`]); see [`Migrator::open`] for
    /// another.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("chatbot.db");
    ///
    /// let conn = migrations.open(&path)?;
    /// conn.execute("INSERT INTO users (id, name) VALUES ('u1', 'Ann')", [])?;
    /// assert_eq!(migrations.current_version(&conn)?, 2);
    /// drop(conn);
    ///
    /// // Opening again finds nothing pending and keeps the data.
    /// let conn = migrations.open(&path)?;
    /// let users: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
    /// assert_eq!(users, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<rusqlite::Connection, Error> {
        self.migrator().open(path)
    }

    /// Opens the database at `path`, applies every pending migration and
    /// closes it, for applications that use sqlx, diesel or a pool rather
    /// than a rusqlite connection: see [`Migrator::apply_to_path`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY)"
    /// # "#;
    /// # let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let dir = tempfile::tempdir()?;
    /// let report = migrations.apply_to_path(dir.path().join("app.db"))?;
    /// assert_eq!(report.version, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply_to_path(&self, path: impl AsRef<Path>) -> Result<ApplyReport, Error> {
        self.migrator().apply_to_path(path)
    }

    /// Applies every pending migration; the original tool's
    /// `apply_all_migrations()`. See [`Migrator::apply_with`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    ///
    /// let report = migrations.apply(&mut conn)?;
    /// let applied: Vec<u32> = report.applied.iter().map(|(version, _took)| *version).collect();
    /// assert_eq!(applied, [1, 2]);
    /// assert_eq!(report.version, 2);
    ///
    /// // Applying again does nothing.
    /// let report = migrations.apply(&mut conn)?;
    /// assert!(report.applied.is_empty());
    /// assert_eq!(report.version, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply(&self, conn: &mut rusqlite::Connection) -> Result<ApplyReport, Error> {
        self.migrator().apply(conn)
    }

    /// Where the database stands against these migrations; reads only.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    ///
    /// let status = migrations.status(&conn)?;
    /// assert_eq!(status.current_version, 0);
    /// assert_eq!(status.pending, [1, 2]);
    /// assert!(status.applied.is_empty() && status.problems.is_empty());
    ///
    /// migrations.apply(&mut conn)?;
    /// let status = migrations.status(&conn)?;
    /// assert_eq!(status.current_version, 2);
    /// assert!(status.pending.is_empty());
    /// assert_eq!(status.applied[0].description.as_deref(), Some("Create users table"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self, conn: &rusqlite::Connection) -> Result<Status, Error> {
        self.migrator().status(conn)
    }

    /// The database's version, 0 when nothing is recorded; the original
    /// tool's `get_current_version()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # const TEXT: &str = r#"
    /// # [[migration]]
    /// # version = 1
    /// # description = "Create users table"
    /// # sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
    /// #
    /// # [[migration]]
    /// # version = 2
    /// # description = "Index users by name"
    /// # sql = "CREATE INDEX idx_users_name ON users(name)"
    /// # "#;
    /// let migrations = migrate_core::Migrations::from_toml(TEXT, "migrations.toml")?;
    /// let mut conn = migrate_core::rusqlite::Connection::open_in_memory()?;
    /// assert_eq!(migrations.current_version(&conn)?, 0);
    /// migrations.apply(&mut conn)?;
    /// assert_eq!(migrations.current_version(&conn)?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn current_version(&self, conn: &rusqlite::Connection) -> Result<i64, Error> {
        self.migrator().current_version(conn)
    }
}
