//! Applying migrations to a database, and reading where a database stands.
//!
//! Every migration runs the way sqlite.org's ALTER TABLE page prescribes for
//! schema changes: foreign-key enforcement switched off *before* the
//! transaction begins (so a table rebuild's `DROP TABLE` cannot cascade into
//! child rows), the migration's statements and its `schema_migrations` row in
//! one `BEGIN IMMEDIATE` transaction, `PRAGMA foreign_key_check` before the
//! commit, and enforcement restored afterwards.
//!
//! The write lock is taken before deciding what is pending, so several
//! processes applying at once each see what the others committed, and every
//! migration runs exactly once.

mod apply;
mod baseline;
mod connection;
mod data;
mod down;
mod execute;
mod fresh;
mod plan;
mod redo;
mod repair;
mod state;
mod testing;
mod trial;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::fkscope::Writes;
use crate::functions::Calls;
use crate::{Error, Migration};

pub use apply::{ApplyReport, Progress};
pub use data::{COMPARED_ROWS, ChangedValues, DataChange, TableChange};
pub use down::DownReport;
pub use fresh::ApplyPath;
pub use plan::{DownPlan, DownSource, DownStep};
pub use state::{Problem, Status};
pub use testing::TempDatabase;
pub use trial::Trial;

/// How long to wait for another connection's write lock by default. Long
/// enough for other processes to finish ordinary migrations at start-up.
///
/// # Examples
///
/// ```
/// assert_eq!(migrate_core::DEFAULT_BUSY_TIMEOUT, std::time::Duration::from_secs(30));
/// ```
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Who applied a migration, when the caller does not say: this library.
const LIBRARY: &str = concat!("migrate-core ", env!("CARGO_PKG_VERSION"));

/// Applies a list of migrations and reads a database's state against it.
///
/// [`Migrations::migrator`](crate::Migrations::migrator) gives one over an
/// embedded or parsed list; [`Migrator::new`] one over any slice of
/// [`Migration`]s. Options are set by chaining, and a migrator is cheap to
/// clone.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Migration, Migrator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [
///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
/// ];
/// let migrator = Migrator::new(&list)
///     .busy_timeout(Duration::from_secs(5))
///     .applied_by("chatbot 1.4.0");
/// let mut conn = Connection::open_in_memory()?;
/// assert_eq!(migrator.apply(&mut conn)?.version, 2);
/// assert_eq!(migrator.current_version(&conn)?, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Migrator<'m> {
    migrations: &'m [Migration],
    busy_timeout: Duration,
    target: Option<u32>,
    applied_by: &'m str,
    single_transaction: bool,
    /// Run, in order, on each connection the migrator opens.
    on_open: Vec<OnOpen<'m>>,
    /// Loaded, in order, on each connection the migrator opens, before
    /// `on_open`.
    #[cfg(feature = "load_extension")]
    extensions: Vec<std::path::PathBuf>,
    /// Where the build-time proof collects the functions the statements call.
    calls: Option<Calls>,
    /// Where the build-time proof collects the tables the statements write.
    writes: Option<Writes>,
    /// Run once per apply that has work, under the write lock, before the
    /// first migration.
    before_changes: Option<BeforeChanges<'m>>,
    /// What the build proved a fresh database at each version holds, for
    /// the fresh path (see `fresh.rs`); `None` for a bare list.
    image: Option<&'m crate::list::fresh::FreshImage>,
    /// Never take the fresh path.
    one_by_one: bool,
}

/// A hook given to [`Migrator::before_changes`].
type BeforeChanges<'m> = Arc<dyn Fn(i64) -> Result<(), Error> + Send + Sync + 'm>;

/// A hook given to [`Migrator::on_open`].
type OnOpen<'m> = Arc<dyn Fn(&Connection) -> rusqlite::Result<()> + Send + Sync + 'm>;

impl fmt::Debug for Migrator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Migrator");
        d.field("migrations", &self.migrations.len())
            .field("busy_timeout", &self.busy_timeout)
            .field("target", &self.target)
            .field("applied_by", &self.applied_by)
            .field("single_transaction", &self.single_transaction)
            .field("one_by_one", &self.one_by_one)
            .field("fresh_image", &self.image.is_some())
            .field("on_open", &self.on_open.len());
        #[cfg(feature = "load_extension")]
        d.field("extensions", &self.extensions);
        d.finish_non_exhaustive()
    }
}

impl<'m> Migrator<'m> {
    /// A migrator for this list, which must be numbered 1, 2, 3, … as
    /// `embed_migrations!` and [`crate::Migrations::from_toml`] guarantee.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// let mut conn = Connection::open_in_memory()?;
    /// let report = Migrator::new(&list).apply(&mut conn)?;
    /// assert_eq!(report.version, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(migrations: &'m [Migration]) -> Self {
        Migrator {
            migrations,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            target: None,
            applied_by: LIBRARY,
            single_transaction: false,
            on_open: Vec::new(),
            #[cfg(feature = "load_extension")]
            extensions: Vec::new(),
            calls: None,
            writes: None,
            before_changes: None,
            image: None,
            one_by_one: false,
        }
    }

    /// How long to wait for another connection's lock before giving up with
    /// [`Error::Busy`]; [`DEFAULT_BUSY_TIMEOUT`] unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// let mut conn = Connection::open(&path)?;
    ///
    /// // Another connection holds the write lock.
    /// let other = Connection::open(&path)?;
    /// other.execute_batch("BEGIN IMMEDIATE")?;
    ///
    /// let migrator = Migrator::new(&list).busy_timeout(Duration::from_millis(100));
    /// match migrator.apply(&mut conn) {
    ///     Err(Error::Busy { timeout }) => assert_eq!(timeout, Duration::from_millis(100)),
    ///     other => panic!("expected Error::Busy, got {other:?}"),
    /// }
    ///
    /// // Once it is released, applying goes ahead.
    /// other.execute_batch("ROLLBACK")?;
    /// assert_eq!(migrator.apply(&mut conn)?.version, 2);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Stops `apply` (and trial runs) after this version (`apply --to N`);
    /// `None`, the default, applies everything.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// let mut conn = Connection::open_in_memory()?;
    /// let report = Migrator::new(&list).target(Some(1)).apply(&mut conn)?;
    /// assert_eq!(report.version, 1);
    /// assert_eq!(Migrator::new(&list).status(&conn)?.pending, [2]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn target(mut self, version: Option<u32>) -> Self {
        self.target = version;
        self
    }

    /// Applies all pending migrations in one transaction (`apply
    /// --single-transaction`): all of them or none, and one commit (one
    /// fsync) for the batch. Refused when one of them has
    /// `transaction = false` ([`Error::NotTransactional`]).
    ///
    /// A failure rolls back every migration of the run
    /// ([`Error::BatchRolledBack`], wrapping the failure).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY)"]),
    ///     Migration::new(2, "Broken", ["CREATE INDEX idx ON no_such_table(x)"]),
    /// ];
    /// let mut conn = Connection::open_in_memory()?;
    /// let err = Migrator::new(&list).single_transaction(true).apply(&mut conn).unwrap_err();
    /// assert!(matches!(err, Error::BatchRolledBack { .. }));
    /// assert_eq!(err.version(), Some(2));
    /// assert_eq!(err.code(), "migration_failed");
    /// // Version 1 was rolled back too.
    /// assert_eq!(Migrator::new(&list).current_version(&conn)?, 0);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn single_transaction(mut self, yes: bool) -> Self {
        self.single_transaction = yes;
        self
    }

    /// Runs `hook` once per [`apply`](Self::apply), only in the process
    /// that holds the write lock and still has a migration to run, before
    /// the first one runs; it gets the version the database is at. This is
    /// where a backup belongs: several processes applying at once make one,
    /// a run with nothing to do makes none, and while the hook runs no other
    /// process can commit. The hook reads the database through a connection
    /// of its own (this one is inside its write transaction); that sees it
    /// as last committed. An error from the hook ends the apply with nothing
    /// run.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])];
    /// let seen = Mutex::new(Vec::new());
    /// let migrator = Migrator::new(&list).before_changes(|version| {
    ///     seen.lock().unwrap().push(version);
    ///     Ok(())
    /// });
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    /// migrator.apply(&mut conn)?; // nothing to do: not called
    /// assert_eq!(*seen.lock().unwrap(), [0]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn before_changes(
        mut self,
        hook: impl Fn(i64) -> Result<(), Error> + Send + Sync + 'm,
    ) -> Self {
        self.before_changes = Some(Arc::new(hook));
        self
    }

    /// Runs the [`before_changes`](Self::before_changes) hook, if any.
    pub(super) fn before_first(&self, version: i64) -> Result<(), Error> {
        match &self.before_changes {
            Some(hook) => hook(version),
            None => Ok(()),
        }
    }

    /// The build recorded as having applied each migration (`applied_by`),
    /// e.g. `"chatbot 1.4.0"`; the code `embed_migrations!` generates sets it
    /// to the embedding crate's name and version.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// let mut conn = Connection::open_in_memory()?;
    /// let migrator = Migrator::new(&list).applied_by("chatbot 1.4.0");
    /// migrator.apply(&mut conn)?;
    /// let history = migrator.history(&conn)?;
    /// assert!(history.iter().all(|row| row.applied_by.as_deref() == Some("chatbot 1.4.0")));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn applied_by(mut self, build: &'m str) -> Self {
        self.applied_by = build;
        self
    }

    /// Runs `hook` on each connection this migrator opens ([`Self::open`],
    /// [`Self::apply_to_path`]), before anything else: to register the
    /// functions `migrations.toml` declares (rusqlite's
    /// `create_scalar_function`), or set anything else the migrations need.
    /// Hooks run in the order given, after the extensions of
    /// [`Self::load_extension`]. A connection you pass to [`Self::apply`]
    /// is yours: register on it yourself, or call [`Self::prepare`] on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::functions::FunctionFlags;
    /// use migrate_core::{Error, Migrations};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let migrations = Migrations::from_toml(r#"
    ///     [[function]]
    ///     name = "slug"
    ///     args = 1
    ///     deterministic = true
    ///
    ///     [[migration]]
    ///     version = 1
    ///     description = "Create pages with slugs"
    ///     sql = ["CREATE TABLE pages (title TEXT, slug TEXT)",
    ///            "INSERT INTO pages VALUES ('About Us', slug('About Us'))"]
    /// "#, "migrations.toml")?;
    /// let dir = tempfile::tempdir()?;
    ///
    /// // Without the function, nothing is applied.
    /// let err = migrations.apply_to_path(dir.path().join("app.db")).unwrap_err();
    /// assert!(matches!(err, Error::FunctionNotRegistered { version: 1, .. }));
    ///
    /// let conn = migrations
    ///     .migrator()
    ///     .on_open(|conn| {
    ///         let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    ///         conn.create_scalar_function("slug", 1, flags, |ctx| {
    ///             let title: String = ctx.get(0)?;
    ///             Ok(title.to_lowercase().replace(' ', "-"))
    ///         })
    ///     })
    ///     .open(dir.path().join("app.db"))?;
    /// let slug: String = conn.query_row("SELECT slug FROM pages", [], |r| r.get(0))?;
    /// assert_eq!(slug, "about-us");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn on_open<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Connection) -> rusqlite::Result<()> + Send + Sync + 'm,
    {
        self.on_open.push(Arc::new(hook));
        self
    }

    /// Loads the SQLite extension at `path` (a shared library; as for
    /// SQLite's `load_extension()`, the platform's suffix may be left out,
    /// and a bare name is searched for where the system looks for shared
    /// libraries) on each connection this migrator opens ([`Self::open`],
    /// [`Self::apply_to_path`], [`Self::prepare`]), before anything else.
    /// Repeat it for several extensions. Feature `load_extension`.
    ///
    /// A path that does not exist, or a library SQLite cannot load, fails
    /// with [`Error::ExtensionLoadFailed`] before anything is read or
    /// written.
    ///
    /// Loading runs the library's code in this process, which is why
    /// rusqlite calls it `unsafe`: Rust cannot check what foreign code does.
    /// It is acceptable here because the program names the extension (its
    /// own code, or the person running `migrate --load-extension`), exactly
    /// as linking a library would: nothing read from the database or from
    /// a migration chooses what is loaded. Extension loading is switched on
    /// only while the library loads (rusqlite's `LoadExtensionGuard`), so
    /// SQL (`SELECT load_extension(…)`) can never load one; and the library
    /// must be a real SQLite extension, built for the SQLite this program
    /// uses, which the caller vouches for.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Create t", ["CREATE TABLE t (x)"])];
    /// let dir = tempfile::tempdir()?;
    /// let missing = dir.path().join("no-such-extension");
    /// let db = dir.path().join("app.db");
    ///
    /// let err = Migrator::new(&list).load_extension(&missing).apply_to_path(&db).unwrap_err();
    /// assert_eq!(err.code(), "extension_load_failed");
    /// assert_eq!(
    ///     err.to_string(),
    ///     format!(
    ///         "cannot load the SQLite extension {}: no such file; nothing was changed",
    ///         missing.display()
    ///     ),
    /// );
    /// assert!(!db.exists());
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "load_extension")]
    #[must_use]
    pub fn load_extension(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.extensions.push(path.into());
        self
    }

    /// Notes in `calls` every function the migrations' statements call (the
    /// build-time proof).
    pub(crate) fn noting_calls(mut self, calls: Calls) -> Self {
        self.calls = Some(calls);
        self
    }

    /// Notes in `writes` every table the migrations' statements write,
    /// create, alter or drop (the build-time proof, which follows the rows
    /// of the tables a migration and its down change).
    pub(crate) fn noting_writes(mut self, writes: Writes) -> Self {
        self.writes = Some(writes);
        self
    }

    /// Opens (creating if needed) the database at `path` and applies every
    /// pending migration: the equivalent of the original tool's `init_db()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use migrate_core::{Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// let migrator = Migrator::new(&list).busy_timeout(Duration::from_secs(5));
    ///
    /// let conn = migrator.open(&path)?;
    /// assert_eq!(migrator.current_version(&conn)?, 2);
    /// conn.execute("INSERT INTO users (id, name) VALUES ('u1', 'Ann')", [])?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Connection, Error> {
        self.check_extensions()?;
        let mut conn = Connection::open(path).map_err(|e| self.classify(e))?;
        self.prepare(&conn)?;
        self.apply(&mut conn)?;
        Ok(conn)
    }

    /// Opens (creating if needed) the database at `path`, applies what is
    /// pending with this migrator's options, and closes it: the entry point
    /// for applications whose own connections are not rusqlite's (sqlx,
    /// diesel, a pool). Call it before building the pool; SQLite keeps no
    /// state between connections, so the pool's connections see the
    /// migrated schema. It blocks: an async application runs it on a
    /// blocking task (`tokio::task::spawn_blocking`).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::{Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY)"])];
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    ///
    /// let report = Migrator::new(&list).apply_to_path(&path)?;
    /// assert_eq!((report.applied.len(), report.version), (1, 1));
    /// // Nothing pending the second time.
    /// assert!(Migrator::new(&list).apply_to_path(&path)?.applied.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply_to_path(&self, path: impl AsRef<Path>) -> Result<ApplyReport, Error> {
        self.check_extensions()?;
        let mut conn = Connection::open(path).map_err(|e| self.classify(e))?;
        self.prepare(&conn)?;
        let report = self.apply(&mut conn)?;
        conn.close().map_err(|(_, e)| self.classify(e))?;
        Ok(report)
    }

    pub(super) fn get(&self, version: u32) -> Option<&'m Migration> {
        // Versions are 1..=N in order; check rather than trust it.
        let index = usize::try_from(version).ok()?.checked_sub(1)?;
        match self.migrations.get(index) {
            Some(m) if m.version() == version => Some(m),
            // Past the end of a list numbered 1..=N: "what comes after the
            // latest?", asked at every start-up, answered without a scan.
            None if self
                .migrations
                .last()
                .is_some_and(|m| usize::try_from(m.version()) == Ok(self.migrations.len())) =>
            {
                None
            }
            _ => self.migrations.iter().find(|m| m.version() == version),
        }
    }

    /// The chain over this build's checksums of versions 1..=`version`.
    pub(super) fn chain_at(&self, version: u32) -> [u8; 32] {
        if let Some(chain) = self.get(version).and_then(Migration::chain) {
            return chain;
        }
        self.migrations
            .iter()
            .take_while(|m| m.version() <= version)
            .fold([0; 32], |chain, m| {
                crate::checksum::chain(&chain, &m.checksum())
            })
    }

    pub(super) fn classify(&self, e: rusqlite::Error) -> Error {
        Error::from_sqlite(e, self.busy_timeout)
    }

    pub(super) fn reclassify(&self, e: Error) -> Error {
        match e {
            Error::Sqlite(e) => self.classify(e),
            other => other,
        }
    }
}
