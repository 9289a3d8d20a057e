//! SQLite migrations written in one `migrations.toml`, checked and proved
//! against SQLite while your program compiles, and applied at run time
//! without losing data. This is the one crate an application depends on: it
//! re-exports the runner ([`migrate_core`]) and the embedding macro.
//!
//! ```
//! // Reads migrations.toml (next to Cargo.toml by default) at build time,
//! // fails the build if any migration is malformed or rejected by SQLite,
//! // and defines `static MIGRATIONS: migrate_toml::Migrations`.
//! # /*
//! migrate_toml::embed_migrations!();
//! # */
//! # migrate_toml::embed_migrations!("../migrations.toml");
//!
//! fn main() -> Result<(), migrate_toml::Error> {
//!     # let dir = tempfile::tempdir().unwrap();
//!     # let path = dir.path().join("chatbot.db");
//!     // Open (or create) the database and apply whatever is pending.
//!     let conn = MIGRATIONS.open(&path)?;
//!     conn.execute("INSERT INTO users (id) VALUES ('u1')", [])?;
//!     assert_eq!(MIGRATIONS.current_version(&conn)?, i64::from(MIGRATIONS.latest_version()));
//!     Ok(())
//! }
//! ```
//!
//! With the `cli` feature, your own binary can offer the same `migrate`
//! commands (`status`, `apply`, `check`, …) over its embedded migrations:
//!
//! ```no_run
//! # /*
//! migrate_toml::embed_migrations!();
//! # */
//! # migrate_toml::embed_migrations!("../migrations.toml");
//!
//! # #[cfg(feature = "cli")]
//! fn main() -> std::process::ExitCode {
//!     migrate_toml::run_cli(&MIGRATIONS)
//! }
//! # #[cfg(not(feature = "cli"))]
//! # fn main() {}
//! ```
//!
//! `run_cli_from` takes the arguments instead of reading the process's (the
//! first is the program name):
//!
//! ```
//! # migrate_toml::embed_migrations!("../migrations.toml");
//! # #[cfg(feature = "cli")]
//! # {
//! let code = migrate_toml::run_cli_from(["chatbot", "schema"], &MIGRATIONS);
//! assert_eq!(code, std::process::ExitCode::SUCCESS);
//! # }
//! ```
#![deny(missing_docs)]

pub use migrate_core::*;

/// Runs the `migrate` command line over `migrations` (feature `cli`);
/// `run_cli_with` and `run_cli_from_with` also take a hook that registers
/// the program's own SQL functions on the connection.
#[cfg(feature = "cli")]
pub use migrate_bin::{
    run as run_cli, run_from as run_cli_from, run_from_with as run_cli_from_with,
    run_with as run_cli_with,
};

#[doc(hidden)]
pub mod __private {
    pub use migrate_core;
    pub use migrate_macros::embed_migrations;
}

/// Embeds the migrations of a `migrations.toml` as
/// `pub static MIGRATIONS: migrate_toml::Migrations`, after validating the file
/// and applying every migration to an in-memory SQLite: a malformed list or
/// a statement SQLite rejects fails the build, naming `FILE:LINE:COL`.
///
/// `embed_migrations!()` reads `migrations.toml` in the crate's directory;
/// `embed_migrations!("path")` another file, relative to that directory.
/// Editing the file (or an `sql_file` it names) and rebuilding re-embeds it.
///
/// # Examples
///
/// ```
/// // This crate's tests use the repository's migrations.toml, one level up.
/// migrate_toml::embed_migrations!("../migrations.toml");
///
/// # fn main() -> Result<(), migrate_toml::Error> {
/// // What the build embedded and proved.
/// assert!(MIGRATIONS.latest_version() > 1);
/// assert_eq!(MIGRATIONS.get(1).unwrap().description(), "Create users table");
/// assert_eq!(MIGRATIONS.default_database(), Some("chatbot.db"));
/// assert!(MIGRATIONS.final_schema().starts_with("CREATE TABLE "));
/// assert!(MIGRATIONS.build().starts_with("migrate-toml "));
///
/// // Applying it on a connection you already have.
/// let mut conn = migrate_toml::rusqlite::Connection::open_in_memory()?;
/// let report = MIGRATIONS.apply(&mut conn)?;
/// assert_eq!(report.version, i64::from(MIGRATIONS.latest_version()));
/// assert!(MIGRATIONS.check(&conn)?.is_clean());
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! embed_migrations {
    () => {
        $crate::__private::embed_migrations!(@core $crate::__private::migrate_core);
    };
    ($path:literal $(,)?) => {
        $crate::__private::embed_migrations!(@core $crate::__private::migrate_core, $path);
    };
}
