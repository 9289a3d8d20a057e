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

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Batch, Connection, TransactionBehavior};

use crate::compat;
use crate::fkscope::{Scope, Written};
use crate::functions::Calls;
use crate::sql::{first_statement, one_line, skip_trivia};
use crate::tracking::{self, AppliedMigration, Record, hex};
use crate::{Error, Migration};

/// How long to wait for another connection's write lock by default. Long
/// enough for other processes to finish ordinary migrations at start-up.
///
/// # Examples
///
/// ```
/// assert_eq!(migrate_core::DEFAULT_BUSY_TIMEOUT, std::time::Duration::from_secs(30));
/// ```
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest statement text quoted in messages.
const QUOTE_LEN: usize = 80;

/// Who applied a migration, when the caller does not say: this library.
const LIBRARY: &str = concat!("migrate-core ", env!("CARGO_PKG_VERSION"));

/// A disagreement between the database's record and this build's list.
///
/// Found by [`Migrator::status`] (in [`Status::problems`]); `apply` refuses
/// to run while there is any, with [`Error::Inconsistent`]. Displayed, each
/// says what to do about it.
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Migration, Migrator, Problem};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let users = Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]);
/// let tickets = Migration::new(2, "Create tickets table", ["CREATE TABLE tickets (id INTEGER)"]);
/// let mut conn = Connection::open_in_memory()?;
/// Migrator::new(&[users.clone(), tickets]).apply(&mut conn)?;
///
/// // An older build, which only has version 1.
/// let older = [users];
/// let problems = Migrator::new(&older).status(&conn)?.problems;
/// assert_eq!(problems, [Problem::UnknownVersion {
///     version: 2,
///     description: Some("Create tickets table".to_owned()),
/// }]);
/// assert!(problems[0].to_string().starts_with(
///     "the database records version 2 (\"Create tickets table\") which this build does not know"
/// ));
///
/// // A build whose version 1 was edited after it ran.
/// let edited = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT, name TEXT)"])];
/// let problems = Migrator::new(&edited).status(&conn)?.problems;
/// assert!(problems.contains(&Problem::Modified {
///     version: 1,
///     description: "Create users table".to_owned(),
/// }));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The database records a version this build does not have: it was
    /// migrated by a newer build (or another list).
    UnknownVersion {
        /// The recorded version.
        version: i64,
        /// The recorded description.
        description: Option<String>,
    },
    /// A version this build has was never applied, though a later one was.
    NeverApplied {
        /// The skipped version.
        version: u32,
        /// Its description in this build.
        description: String,
    },
    /// A migration's SQL changed after it was applied: the checksum recorded
    /// then differs from this build's.
    Modified {
        /// The edited version.
        version: u32,
        /// Its description in this build.
        description: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownVersion {
                version,
                description,
            } => write!(
                f,
                "the database records version {version}{} which this build does not know \
                 (migrated by a newer build?); use a build that has it",
                description
                    .as_deref()
                    .map(|d| format!(" ({d:?})"))
                    .unwrap_or_default()
            ),
            Problem::NeverApplied {
                version,
                description,
            } => write!(
                f,
                "version {version} ({description:?}) was never applied although later versions \
                 were; applying it now would run it out of order"
            ),
            Problem::Modified {
                version,
                description,
            } => write!(
                f,
                "version {version} ({description:?}) was modified after it was applied: its SQL \
                 in this build differs from what ran; restore it, or run `migrate repair` to \
                 accept the new SQL as what ran"
            ),
        }
    }
}

/// Where a database stands against a list of migrations: see
/// [`Migrator::status`].
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
/// let migrator = Migrator::new(&list);
/// let mut conn = Connection::open_in_memory()?;
/// migrator.clone().target(Some(1)).apply(&mut conn)?;
///
/// let status = migrator.status(&conn)?;
/// assert_eq!(status.current_version, 1);
/// assert_eq!(status.applied.len(), 1);
/// assert_eq!(status.applied[0].version, 1);
/// assert_eq!(status.pending, [2]);
/// assert!(status.problems.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The highest recorded version, 0 when none is.
    pub current_version: i64,
    /// The recorded rows, in version order.
    pub applied: Vec<AppliedMigration>,
    /// Versions of this build's migrations above `current_version`, in order.
    pub pending: Vec<u32>,
    /// Disagreements; `apply` refuses to run while there are any.
    pub problems: Vec<Problem>,
}

/// What `apply` did.
///
/// A database migrated by the original Python tool has rows without a
/// checksum; the first `apply` adopts them, recording this build's
/// checksums, and then applies what is pending.
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
/// // A database the Python tool brought to version 1.
/// let mut conn = Connection::open_in_memory()?;
/// conn.execute_batch(
///     "CREATE TABLE schema_migrations (
///          version INTEGER PRIMARY KEY,
///          description TEXT,
///          applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
///      );
///      CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT);
///      INSERT INTO schema_migrations (version, description) VALUES (1, 'Create users table');",
/// )?;
///
/// let report = Migrator::new(&list).apply(&mut conn)?;
/// assert_eq!(report.adopted, [1]);
/// assert_eq!(report.applied.len(), 1);
/// assert_eq!(report.applied[0].0, 2);
/// assert_eq!(report.version, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// The migrations this call applied, with how long each took.
    pub applied: Vec<(u32, Duration)>,
    /// The database's version afterwards.
    pub version: i64,
    /// Versions recorded without a checksum (by the original Python tool or
    /// an older build) that this call adopted, recording this build's.
    pub adopted: Vec<u32>,
}

/// Progress of `apply`, for callers that show it: see
/// [`Migrator::apply_with`].
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Migration, Migrator, Progress};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])];
/// let mut conn = Connection::open_in_memory()?;
/// let mut lines = Vec::new();
/// Migrator::new(&list).apply_with(&mut conn, |progress| match progress {
///     Progress::Started(m) => lines.push(format!("{} {}...", m.version(), m.description())),
///     Progress::Finished(m, _took) => lines.push(format!("{} done", m.version())),
/// })?;
/// assert_eq!(lines, ["1 Create users table...", "1 done"]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The migration is about to run.
    Started(&'a Migration),
    /// The migration committed, after this long.
    Finished(&'a Migration, Duration),
}

/// What a trial run (`apply --dry-run`) found for one pending migration:
/// see [`Migrator::trial`].
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Migration, Migrator, Trial};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [
///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
/// ];
/// let mut conn = Connection::open_in_memory()?;
/// for (version, trial) in Migrator::new(&list).trial(&mut conn)? {
///     match trial {
///         Trial::Succeeded(took) => println!("{version}: would succeed ({took:?})"),
///         Trial::Failed(_, error) => panic!("{version} would fail: {error}"),
///         Trial::NotTried(why) => println!("{version}: not tried, {why}"),
///     }
/// }
/// // Nothing was applied.
/// assert_eq!(Migrator::new(&list).current_version(&conn)?, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub enum Trial {
    /// It ran on the real data, in this long, and was rolled back.
    Succeeded(Duration),
    /// It failed on the real data after this long; it would fail the same
    /// way when applied.
    Failed(Duration, Box<Error>),
    /// It was not tried; the reason says why.
    NotTried(&'static str),
}

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
    /// Run once per apply that has work, under the write lock, before the
    /// first migration.
    before_changes: Option<BeforeChanges<'m>>,
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
            .field("on_open", &self.on_open.len());
        #[cfg(feature = "load_extension")]
        d.field("extensions", &self.extensions);
        d.finish_non_exhaustive()
    }
}

/// What a run knows after one of its transactions: see [`Migrator::lock`].
#[derive(Debug, Clone, Copy)]
struct Since {
    /// `PRAGMA data_version` during the transaction: it changes only when
    /// another connection commits.
    data_version: i64,
    /// The version the transaction left the database at.
    version: i64,
}

/// The database's position, as read under the lock.
struct State<'m> {
    version: i64,
    next: Option<&'m Migration>,
    /// Rows without a checksum wait to be adopted.
    adopt: bool,
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
            before_changes: None,
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
    fn before_first(&self, version: i64) -> Result<(), Error> {
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

    /// Loads the extensions of [`Self::load_extension`] on `conn`, then runs
    /// the hooks of [`Self::on_open`] on it: what [`Self::open`] and
    /// [`Self::apply_to_path`] do to the connection they open, for a
    /// connection you opened yourself. Run it once per connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::{Connection, functions::FunctionFlags};
    /// use migrate_core::{Function, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Seed", ["CREATE TABLE t (x)", "INSERT INTO t VALUES (twice(21))"])
    ///     .calling([Function::new("twice", 1)])];
    /// let migrator = Migrator::new(&list).on_open(|conn| {
    ///     conn.create_scalar_function("twice", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
    ///         Ok(2 * ctx.get::<i64>(0)?)
    ///     })
    /// });
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.prepare(&conn)?;
    /// migrator.apply(&mut conn)?;
    /// assert_eq!(conn.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0))?, 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn prepare(&self, conn: &Connection) -> Result<(), Error> {
        #[cfg(feature = "load_extension")]
        for path in &self.extensions {
            load_extension(conn, path)?;
        }
        for hook in &self.on_open {
            hook(conn).map_err(|e| self.classify(e))?;
        }
        Ok(())
    }

    /// Fails, before a database is opened, when an extension to load names
    /// a file that does not exist.
    fn check_extensions(&self) -> Result<(), Error> {
        #[cfg(feature = "load_extension")]
        for path in &self.extensions {
            check_extension_path(path)?;
        }
        Ok(())
    }

    /// Notes in `calls` every function the migrations' statements call (the
    /// build-time proof).
    pub(crate) fn noting_calls(mut self, calls: Calls) -> Self {
        self.calls = Some(calls);
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

    /// Where the database stands. Reads only, in one read transaction; a
    /// database without `schema_migrations` is at version 0.
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
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    ///
    /// let status = migrator.status(&conn)?;
    /// assert_eq!((status.current_version, status.pending), (0, vec![1, 2]));
    ///
    /// migrator.apply(&mut conn)?;
    /// let status = migrator.status(&conn)?;
    /// assert_eq!((status.current_version, status.pending), (2, vec![]));
    /// assert!(status.problems.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self, conn: &Connection) -> Result<Status, Error> {
        let rows = self.read_consistently(conn, tracking::read)?;
        Ok(self.assess(rows))
    }

    /// The rows of `schema_migrations`, oldest version first.
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
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// assert!(migrator.history(&conn)?.is_empty());
    ///
    /// migrator.apply(&mut conn)?;
    /// let history = migrator.history(&conn)?;
    /// assert_eq!(history.len(), 2);
    /// assert_eq!(history[1].version, 2);
    /// assert_eq!(history[1].description.as_deref(), Some("Index users by name"));
    /// assert!(history[1].applied_at.is_some());
    /// let hex: String = list[1].checksum().iter().map(|b| format!("{b:02x}")).collect();
    /// assert_eq!(history[1].checksum, Some(hex));
    /// # Ok(())
    /// # }
    /// ```
    pub fn history(&self, conn: &Connection) -> Result<Vec<AppliedMigration>, Error> {
        self.read_consistently(conn, tracking::read)
    }

    /// The database's version: the highest recorded, 0 when none is.
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
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// assert_eq!(migrator.current_version(&conn)?, 0);
    /// migrator.apply(&mut conn)?;
    /// assert_eq!(migrator.current_version(&conn)?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn current_version(&self, conn: &Connection) -> Result<i64, Error> {
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        // Three rows by key in the usual case; every row otherwise.
        if let Some(state) = self.keyed_state(conn) {
            return Ok(state.version);
        }
        Ok(self.read_consistently(conn, tracking::summary)?.max)
    }

    /// Runs `read` in a read transaction (a consistent snapshot), or in the
    /// caller's transaction if there is one.
    fn read_consistently<T>(
        &self,
        conn: &Connection,
        read: impl FnOnce(&Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        if !conn.is_autocommit() {
            return read(conn).map_err(|e| self.reclassify(e));
        }
        let tx = conn.unchecked_transaction().map_err(|e| self.classify(e))?;
        let value = read(&tx).map_err(|e| self.reclassify(e))?;
        tx.commit().map_err(|e| self.classify(e))?;
        Ok(value)
    }

    /// Applies every pending migration in version order; see [`Self::apply_with`].
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
    ///     Migration::new(2, "Index tickets", ["CREATE INDEX idx_tickets_user ON tickets(user)"]),
    /// ];
    /// let mut conn = Connection::open_in_memory()?;
    /// match Migrator::new(&list).apply(&mut conn) {
    ///     Err(Error::MigrationFailed { version, statement, source, .. }) => {
    ///         assert_eq!((version, statement), (2, 1));
    ///         assert!(source.to_string().contains("no such table: main.tickets"));
    ///     }
    ///     other => panic!("expected a failed migration, got {other:?}"),
    /// }
    /// // Version 1 stays applied; version 2 was rolled back.
    /// assert_eq!(Migrator::new(&list).current_version(&conn)?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply(&self, conn: &mut Connection) -> Result<ApplyReport, Error> {
        self.apply_with(conn, |_| {})
    }

    /// Applies every pending migration in version order (up to the target,
    /// if one is set), each in its own transaction together with its
    /// `schema_migrations` row, telling `progress` as each starts and
    /// finishes.
    ///
    /// Stops at the first failure: that migration is rolled back, earlier
    /// ones stay. Refuses to start, changing nothing, when the database
    /// records versions this build does not know, skipped one it does, or
    /// ran a migration whose SQL has since been edited.
    ///
    /// `conn` must not be inside a transaction ([`Error::InTransaction`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator, Progress};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// let mut conn = Connection::open_in_memory()?;
    /// let mut started = Vec::new();
    /// let mut finished = Vec::new();
    /// let report = Migrator::new(&list).apply_with(&mut conn, |progress| match progress {
    ///     Progress::Started(m) => started.push(m.version()),
    ///     Progress::Finished(m, took) => finished.push((m.version(), took)),
    /// })?;
    /// assert_eq!(started, [1, 2]);
    /// assert_eq!(finished, report.applied);
    /// assert_eq!(report.version, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply_with(
        &self,
        conn: &mut Connection,
        mut progress: impl FnMut(Progress<'_>),
    ) -> Result<ApplyReport, Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        // From the first statement on: a connection comes with rusqlite's
        // 5 s (or the caller's) wait, not this migrator's.
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        // Cheap look first, without the write lock: the common start-up case
        // (nothing pending, nothing edited) is one cached statement that
        // never writes and works on read-only files.
        if let Some(version) = self.up_to_date(conn) {
            return Ok(ApplyReport {
                version,
                ..ApplyReport::default()
            });
        }
        let state = self
            .read_consistently(conn, |c| self.locked_state(c))
            .map_err(|e| interrupted(e, None))?;
        if state.next.is_none() && !state.adopt {
            return Ok(ApplyReport {
                version: state.version,
                ..ApplyReport::default()
            });
        }
        self.check_functions_after(conn, state.version)?;
        refuse_read_only(conn)?;
        self.without_foreign_keys(conn, |conn, scope| {
            if self.single_transaction {
                self.apply_at_once(conn, scope, &mut progress)
            } else {
                self.apply_pending(conn, scope, &mut progress)
            }
        })
    }

    /// Runs `work` with foreign-key enforcement off, and puts it back as it
    /// was however `work` ends. PRAGMA foreign_keys is a no-op inside a
    /// transaction, so this must wrap the transactions, not run inside them.
    /// `work` also gets the authorizer's record of what each migration
    /// writes, to check only the foreign keys it could have broken.
    fn without_foreign_keys<T>(
        &self,
        conn: &mut Connection,
        work: impl FnOnce(&mut Connection, &Scope) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let enforced: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(|e| interrupted(self.classify(e), None))?;
        if enforced {
            conn.pragma_update(None, "foreign_keys", false)
                .map_err(|e| interrupted(self.classify(e), None))?;
        }
        let result = match Scope::install(conn, self.calls.clone()) {
            Ok(scope) => {
                let result = work(conn, &scope);
                Scope::remove(conn);
                result
            }
            Err(e) => Err(interrupted(self.classify(e), None)),
        };
        if enforced {
            let restored = conn.pragma_update(None, "foreign_keys", true);
            if let (Ok(_), Err(e)) = (&result, restored) {
                return Err(self.classify(e));
            }
        }
        result
    }

    /// Every pending migration in one `BEGIN IMMEDIATE` transaction.
    fn apply_at_once(
        &self,
        conn: &mut Connection,
        scope: &Scope,
        progress: &mut impl FnMut(Progress<'_>),
    ) -> Result<ApplyReport, Error> {
        let mut report = ApplyReport::default();
        let (tx, state, _) = self
            .lock(conn, &mut report, None, scope)
            .map_err(|e| interrupted(e, None))?;
        let pending: Vec<&Migration> = self.pending_after(state.version).collect();
        if let Some(m) = pending.iter().find(|m| !m.is_transactional()) {
            return Err(Error::NotTransactional {
                version: m.version(),
                description: m.description().to_owned(),
            });
        }
        if !pending.is_empty() {
            self.before_first(state.version)?;
        }
        let batch = |error: Error| Error::BatchRolledBack {
            source: Box::new(error),
        };
        let mut ran = Vec::with_capacity(pending.len());
        for m in pending {
            progress(Progress::Started(m));
            let started = Instant::now();
            run_checked(&tx, m, scope).map_err(batch)?;
            let took = started.elapsed();
            progress(Progress::Finished(m, took));
            report.applied.push((m.version(), took));
            report.version = i64::from(m.version());
            ran.push((m, took));
        }
        // The rows after all the statements, in the same transaction: one
        // INSERT prepared once, instead of prepared again after each
        // migration's schema change.
        for (m, took) in &ran {
            self.record(&tx, m, *took)
                .map_err(|e| batch(self.not_committed(m, e)))?;
        }
        if let Err(e) = tx.commit() {
            let last = ran.last().map(|(m, _)| *m);
            return Err(match last {
                Some(m) => batch(self.not_committed(m, Error::Sqlite(e))),
                None => self.classify(e),
            });
        }
        Ok(report)
    }

    /// Takes the write lock (`BEGIN IMMEDIATE`) and reads, under it, where
    /// the database stands: creates or completes the tracking table, and
    /// adopts rows without checksums (noted in `report`). Returns the
    /// database's `PRAGMA data_version` too, for the next call's `since`.
    ///
    /// After the first look of a run (`since`), the table's shape and the
    /// full count are known good: when no other connection has committed
    /// anything since this run's previous transaction (`PRAGMA
    /// data_version` is unchanged), the database stands where that
    /// transaction left it and nothing needs reading; otherwise one keyed
    /// read suffices unless it sees something unexpected.
    fn lock<'c>(
        &self,
        conn: &'c mut Connection,
        report: &mut ApplyReport,
        since: Option<Since>,
        scope: &Scope,
    ) -> Result<(rusqlite::Transaction<'c>, State<'m>, i64), Error> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.classify(e))?;
        let data_version: i64 = tx
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
            .map_err(|e| self.classify(e))?;
        if let Some(since) = since {
            let state = if since.data_version == data_version {
                Some(State {
                    version: since.version,
                    next: self.next_after(since.version),
                    adopt: false,
                })
            } else {
                // Another process changed the database, perhaps its schema.
                scope.forget();
                self.keyed_state(&tx)
            };
            if let Some(state) = state {
                report.version = state.version;
                return Ok((tx, state, data_version));
            }
        }
        tracking::ensure(&tx).map_err(|e| self.reclassify(e))?;
        let state = self.locked_state(&tx)?;
        report.version = state.version;
        if state.adopt {
            report.adopted = self.adopt(&tx)?;
        }
        Ok((tx, state, data_version))
    }

    /// The migrations after `version`, up to the target.
    fn pending_after(&self, version: i64) -> impl Iterator<Item = &'m Migration> + '_ {
        self.migrations
            .iter()
            .skip_while(move |m| i64::from(m.version()) <= version)
            .take_while(|m| self.target.is_none_or(|t| m.version() <= t))
    }

    fn apply_pending(
        &self,
        conn: &mut Connection,
        scope: &Scope,
        progress: &mut impl FnMut(Progress<'_>),
    ) -> Result<ApplyReport, Error> {
        let mut report = ApplyReport::default();
        let mut since = None;
        loop {
            // Decide what is pending only while holding the write lock.
            let (tx, state, data_version) = self
                .lock(conn, &mut report, since, scope)
                .map_err(|e| interrupted(e, report.applied.last().map(|&(v, _)| v)))?;
            let Some(migration) = state.next else {
                tx.commit().map_err(|e| self.classify(e))?;
                return Ok(report);
            };
            if since.is_none() {
                self.before_first(state.version)?;
            }

            progress(Progress::Started(migration));
            tracing::info!(
                version = migration.version(),
                "applying {:?}",
                migration.description()
            );
            let started = Instant::now();
            if migration.is_transactional() {
                run_checked(&tx, migration, scope)?;
                self.record(&tx, migration, started.elapsed())
                    .map_err(|e| self.not_committed(migration, e))?;
                tx.commit()
                    .map_err(|e| self.not_committed(migration, Error::Sqlite(e)))?;
            } else {
                // Keep the tracking table, release the lock, run bare.
                tx.commit().map_err(|e| self.classify(e))?;
                run_checked(conn, migration, scope)?;
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| self.classify(e))?;
                // Another process may have run and recorded it meanwhile.
                if !tracking::is_recorded(&tx, migration.version())? {
                    self.record(&tx, migration, started.elapsed())?;
                }
                tx.commit().map_err(|e| self.classify(e))?;
            }
            let took = started.elapsed();
            tracing::info!(
                version = migration.version(),
                elapsed_ms = millis(took),
                "applied {:?}",
                migration.description()
            );
            progress(Progress::Finished(migration, took));
            report.applied.push((migration.version(), took));
            report.version = i64::from(migration.version());
            since = Some(Since {
                data_version,
                version: report.version,
            });
        }
    }

    fn record(&self, conn: &Connection, m: &Migration, took: Duration) -> Result<(), Error> {
        tracking::record(
            conn,
            &Record {
                version: m.version(),
                description: m.description(),
                checksum: &m.checksum(),
                chain: &self.chain_at(m.version()),
                duration_ms: Some(took.as_secs_f64() * 1000.0),
                applied_by: self.applied_by,
            },
        )
        .map_err(|e| self.reclassify(e))
    }

    /// Records this build's checksums for rows that have none (written by the
    /// original Python tool or an older build), and the chain for every row.
    /// Only called when [`Self::locked_state`] found no problem, so every
    /// recorded checksum already equals this build's.
    fn adopt(&self, conn: &Connection) -> Result<Vec<u32>, Error> {
        let mut adopted = Vec::new();
        let mut chain = [0; 32];
        for row in tracking::read(conn)? {
            let Some(m) = u32::try_from(row.version).ok().and_then(|v| self.get(v)) else {
                continue;
            };
            chain = crate::checksum::chain(&chain, &m.checksum());
            if row.checksum.is_none() {
                adopted.push(m.version());
            }
            if row.checksum.is_none() || !row.chain.is_some_and(|c| tracking::is_hex_of(&c, &chain))
            {
                tracking::set_checksum(conn, m.version(), &m.checksum(), &chain)?;
            }
        }
        Ok(adopted)
    }

    /// Records this build's checksums for every applied version whose
    /// recorded checksum differs (`migrate repair`), after the user confirmed
    /// that the edited SQL is what should count as having run. Returns the
    /// versions whose checksum changed. Refuses while the database records
    /// versions this build does not know or skipped one.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator, Problem};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = Connection::open_in_memory()?;
    /// let original = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])];
    /// Migrator::new(&original).apply(&mut conn)?;
    ///
    /// // The SQL was edited afterwards (here, a comment added).
    /// let edited = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT) -- UUIDs"])];
    /// let migrator = Migrator::new(&edited);
    /// assert!(matches!(migrator.status(&conn)?.problems[..], [Problem::Modified { version: 1, .. }]));
    /// assert!(matches!(migrator.apply(&mut conn), Err(Error::Inconsistent { .. })));
    ///
    /// // Accept the edited SQL as what ran.
    /// assert_eq!(migrator.repair(&mut conn)?, [1]);
    /// assert!(migrator.status(&conn)?.problems.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn repair(&self, conn: &mut Connection) -> Result<Vec<u32>, Error> {
        // Its own wait for the lock, not the connection's (rusqlite's 5 s).
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.classify(e))?;
        let status = self.assess(tracking::read(&tx).map_err(|e| self.reclassify(e))?);
        let blocking: Vec<Problem> = status
            .problems
            .iter()
            .filter(|p| !matches!(p, Problem::Modified { .. }))
            .cloned()
            .collect();
        if !blocking.is_empty() {
            return Err(Error::Inconsistent { problems: blocking });
        }
        let repaired = status
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::Modified { version, .. } => Some(*version),
                _ => None,
            })
            .collect();
        tracking::ensure(&tx).map_err(|e| self.reclassify(e))?;
        let mut chain = [0; 32];
        for row in tracking::read(&tx)? {
            if let Some(m) = u32::try_from(row.version).ok().and_then(|v| self.get(v)) {
                chain = crate::checksum::chain(&chain, &m.checksum());
                tracking::set_checksum(&tx, m.version(), &m.checksum(), &chain)?;
            }
        }
        tx.commit().map_err(|e| self.classify(e))?;
        Ok(repaired)
    }

    /// Records versions 1..=`version` as applied without running them
    /// (`migrate baseline`), for a database whose schema was made before it
    /// used this tool. Refuses when anything is recorded already. The caller
    /// checks the schema first (see [`crate::Migrations::baseline`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"]),
    ///     Migration::new(2, "Index users by name", ["CREATE INDEX idx_users_name ON users(name)"]),
    /// ];
    /// // A database whose users table was made before it used migrations.
    /// let mut conn = Connection::open_in_memory()?;
    /// conn.execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)")?;
    ///
    /// let migrator = Migrator::new(&list);
    /// migrator.baseline(&mut conn, 1)?;
    /// assert_eq!(migrator.current_version(&conn)?, 1);
    /// assert_eq!(migrator.apply(&mut conn)?.applied.len(), 1);
    ///
    /// let err = migrator.baseline(&mut conn, 1).unwrap_err();
    /// assert!(matches!(err, Error::AlreadyTracked { version: 2 }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn baseline(&self, conn: &mut Connection, version: u32) -> Result<(), Error> {
        // Its own wait for the lock, not the connection's (rusqlite's 5 s).
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.classify(e))?;
        tracking::ensure(&tx).map_err(|e| self.reclassify(e))?;
        let summary = tracking::summary(&tx).map_err(|e| self.reclassify(e))?;
        if summary.count > 0 {
            return Err(Error::AlreadyTracked {
                version: summary.max,
            });
        }
        let by = format!("baseline by {}", self.applied_by);
        for m in self
            .migrations
            .iter()
            .take_while(|m| m.version() <= version)
        {
            tracking::record(
                &tx,
                &Record {
                    version: m.version(),
                    description: m.description(),
                    checksum: &m.checksum(),
                    chain: &self.chain_at(m.version()),
                    duration_ms: None,
                    applied_by: &by,
                },
            )
            .map_err(|e| self.reclassify(e))?;
        }
        tx.commit().map_err(|e| self.classify(e))?;
        Ok(())
    }

    /// Runs every pending migration (up to the target) against the real
    /// database inside one transaction that is then rolled back, and says
    /// what would succeed and what would fail on the real data
    /// (`apply --dry-run`). Nothing is changed: the file's bytes are the same
    /// afterwards. Each migration is tried on what the ones before it did.
    /// Migrations with `transaction = false` are not tried, nor any after
    /// one that was not tried or that failed (they may depend on it).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator, Trial};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT)"]),
    ///     Migration::new(2, "Emails are unique", ["CREATE UNIQUE INDEX idx_users_email ON users(email)"]),
    ///     Migration::new(3, "Add name to users", ["ALTER TABLE users ADD COLUMN name TEXT"]),
    /// ];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.clone().target(Some(1)).apply(&mut conn)?;
    /// conn.execute_batch(
    ///     "INSERT INTO users VALUES ('u1', 'ann@example.com'), ('u2', 'ann@example.com')",
    /// )?;
    ///
    /// // Version 2 would fail on this data, so version 3 is not tried.
    /// let trials = migrator.trial(&mut conn)?;
    /// assert!(matches!(&trials[0], (2, Trial::Failed(_, e)) if e.code() == "migration_failed"));
    /// assert!(matches!(trials[1], (3, Trial::NotTried(_))));
    ///
    /// // Nothing changed.
    /// assert_eq!(migrator.current_version(&conn)?, 1);
    /// assert!(conn.prepare("SELECT name FROM users").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn trial(&self, conn: &mut Connection) -> Result<Vec<(u32, Trial)>, Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        let state = self.read_consistently(conn, |c| self.locked_state(c))?;
        if state.next.is_none() {
            return Ok(Vec::new());
        }
        self.check_functions_after(conn, state.version)?;
        refuse_read_only(conn)?;
        self.without_foreign_keys(conn, |conn, scope| {
            // Whatever the lock's look writes (the tracking table, adopted
            // checksums) is rolled back with the trial.
            let (tx, state, _) = self.lock(conn, &mut ApplyReport::default(), None, scope)?;
            let mut outcomes = Vec::new();
            let mut failed = false;
            let mut skipped = false;
            for m in self.pending_after(state.version) {
                let outcome = if failed {
                    Trial::NotTried("an earlier migration would fail")
                } else if skipped {
                    Trial::NotTried("an earlier migration it may depend on was not tried")
                } else if !m.is_transactional() {
                    skipped = true;
                    Trial::NotTried("it runs outside a transaction (transaction = false)")
                } else {
                    // Each migration runs on what the previous ones did, as
                    // it will when applied: a success is kept (released into
                    // the outer transaction), a failure undone.
                    let started = Instant::now();
                    tx.execute_batch("SAVEPOINT trial")?;
                    // Its row too, as apply writes it: a trigger or a
                    // constraint on the tracking table fails here as well.
                    let result = run_checked(&tx, m, scope).and_then(|()| {
                        self.record(&tx, m, started.elapsed())
                            .map_err(|e| self.not_committed(m, e))
                    });
                    let took = started.elapsed();
                    match result {
                        Ok(()) => {
                            tx.execute_batch("RELEASE trial")?;
                            Trial::Succeeded(took)
                        }
                        Err(e) => {
                            tx.execute_batch("ROLLBACK TO trial; RELEASE trial")?;
                            scope.forget();
                            failed = true;
                            Trial::Failed(took, Box::new(e))
                        }
                    }
                };
                outcomes.push((m.version(), outcome));
            }
            tx.rollback().map_err(|e| self.classify(e))?;
            Ok(outcomes)
        })
    }

    /// Fails with [`Error::FunctionNotRegistered`] when a pending migration
    /// (up to the target) calls a function declared in `migrations.toml`
    /// that `conn` does not have: the check [`Self::apply`] and
    /// [`Self::trial`] make before they run anything, for a caller that
    /// wants to know before doing anything else (the CLI, before its
    /// backup). Reads only.
    ///
    /// A function counts as registered when SQLite's `pragma_function_list`
    /// lists its name with its number of arguments, or with any number.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::{Connection, functions::FunctionFlags};
    /// use migrate_core::{Function, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Seed", ["CREATE TABLE t (x)", "INSERT INTO t VALUES (twice(2))"])
    ///     .calling([Function::new("twice", 1)])];
    /// let migrator = Migrator::new(&list);
    /// let conn = Connection::open_in_memory()?;
    /// let err = migrator.check_functions(&conn).unwrap_err();
    /// assert_eq!(err.code(), "function_not_registered");
    ///
    /// conn.create_scalar_function("twice", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
    ///     Ok(2 * ctx.get::<i64>(0)?)
    /// })?;
    /// migrator.check_functions(&conn)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_functions(&self, conn: &Connection) -> Result<(), Error> {
        if self.migrations.iter().all(|m| m.functions().is_empty()) {
            return Ok(());
        }
        let version = self.current_version(conn)?;
        self.check_functions_after(conn, version)
    }

    /// Refuses, before anything runs, when a migration after `version` (up
    /// to the target) calls a declared function that `conn` does not have.
    fn check_functions_after(&self, conn: &Connection, version: i64) -> Result<(), Error> {
        let mut checked: Vec<&crate::Function> = Vec::new();
        for m in self.pending_after(version) {
            for f in m.functions() {
                if checked.contains(&f) {
                    continue;
                }
                if !crate::functions::is_registered(conn, f).map_err(|e| self.classify(e))? {
                    return Err(Error::FunctionNotRegistered {
                        version: m.version(),
                        description: m.description().to_owned(),
                        function: f.name().to_owned(),
                        args: f.args(),
                        extension: f.extension().map(str::to_owned),
                    });
                }
                checked.push(f);
            }
        }
        Ok(())
    }

    fn get(&self, version: u32) -> Option<&'m Migration> {
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
    fn chain_at(&self, version: u32) -> [u8; 32] {
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

    /// The database's version and the next migration to apply, or the
    /// problems that forbid applying. When the record is consistent, which
    /// is the normal case, this reads one aggregate row and the newest row's
    /// chain, which covers the checksums of the whole history; every row is
    /// read only to name the problems when it is not.
    fn locked_state(&self, conn: &Connection) -> Result<State<'m>, Error> {
        let summary = tracking::summary(conn).map_err(|e| self.reclassify(e))?;
        let latest = self.migrations.last().map_or(0, |m| i64::from(m.version()));
        let contiguous = summary.count == summary.max
            && (summary.count == 0 || summary.min == 1)
            && summary.max <= latest;
        let chained = summary.count == 0
            || u32::try_from(summary.max).is_ok_and(|v| {
                summary
                    .newest_chain
                    .as_deref()
                    .is_some_and(|c| tracking::is_hex_of(c, &self.chain_at(v)))
            });
        if contiguous && chained {
            return Ok(State {
                version: summary.max,
                next: self.next_after(summary.max),
                adopt: false,
            });
        }
        let rows = tracking::read(conn).map_err(|e| self.reclassify(e))?;
        let adopt = rows
            .iter()
            .any(|r| r.checksum.is_none() || r.chain.is_none());
        let status = self.assess(rows);
        if !status.problems.is_empty() {
            return Err(Error::Inconsistent {
                problems: status.problems,
            });
        }
        Ok(State {
            version: status.current_version,
            next: self.next_after(status.current_version),
            adopt,
        })
    }

    /// The database's version when one statement shows that nothing is to
    /// do; see [`Self::keyed_state`].
    fn up_to_date(&self, conn: &Connection) -> Option<i64> {
        self.keyed_state(conn)
            .filter(|state| state.next.is_none())
            .map(|state| state.version)
    }

    /// Where the database stands, when one statement can tell: the lowest
    /// version is 1 and the highest is one this build knows, and the newest
    /// row's chain equals this build's (its chain was computed over every
    /// version before it when it was written, so no applied migration was
    /// edited since). It reads three rows by key, whatever the length of the
    /// history. `None` sends the caller the long way, which reads every row
    /// and names what is wrong (also when the table is missing, empty, or
    /// has an older shape, which makes this statement fail to prepare). It
    /// cannot see a row deleted by hand from the middle of the history:
    /// `status`, `check`, and the first look of every `apply` that has work
    /// to do count the rows and name it.
    fn keyed_state(&self, conn: &Connection) -> Option<State<'m>> {
        let mut stmt = conn
            .prepare_cached(
                "SELECT (SELECT version FROM schema_migrations ORDER BY version LIMIT 1), \
                 version, chain FROM schema_migrations ORDER BY version DESC LIMIT 1",
            )
            .ok()?;
        let (min, max, chain): (i64, i64, Option<String>) = stmt
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ok()?;
        let version = u32::try_from(max).ok()?;
        let latest = self.migrations.last().map_or(0, Migration::version);
        let consistent = min == 1 && version <= latest;
        let chained = chain.is_some_and(|c| tracking::is_hex_of(&c, &self.chain_at(version)));
        (consistent && chained).then(|| State {
            version: max,
            next: self.next_after(max),
            adopt: false,
        })
    }

    /// The migration after `version`, unless the target stops before it.
    fn next_after(&self, version: i64) -> Option<&'m Migration> {
        let next = u32::try_from(version + 1).ok()?;
        if self.target.is_some_and(|t| next > t) {
            return None;
        }
        self.get(next)
    }

    /// Compares the recorded rows with this build's list.
    fn assess(&self, applied: Vec<AppliedMigration>) -> Status {
        let current_version = applied.iter().map(|a| a.version).max().unwrap_or(0);
        let mut problems = Vec::new();
        for a in &applied {
            match u32::try_from(a.version).ok().and_then(|v| self.get(v)) {
                None => problems.push(Problem::UnknownVersion {
                    version: a.version,
                    description: a.description.clone(),
                }),
                Some(m) => {
                    if a.checksum
                        .as_deref()
                        .is_some_and(|c| c != hex(&m.checksum()))
                    {
                        problems.push(Problem::Modified {
                            version: m.version(),
                            description: m.description().to_owned(),
                        });
                    }
                }
            }
        }
        let mut pending = Vec::new();
        for m in self.migrations {
            let v = i64::from(m.version());
            if v > current_version {
                pending.push(m.version());
            } else if applied.binary_search_by_key(&v, |a| a.version).is_err() {
                problems.push(Problem::NeverApplied {
                    version: m.version(),
                    description: m.description().to_owned(),
                });
            }
        }
        problems.sort_by_key(|p| match p {
            Problem::UnknownVersion { version, .. } => *version,
            Problem::NeverApplied { version, .. } | Problem::Modified { version, .. } => {
                i64::from(*version)
            }
        });
        Status {
            current_version,
            applied,
            pending,
            problems,
        }
    }

    /// An error recording or committing `m`, after its statements ran: a
    /// busy database stays busy; anything else from SQLite (a full disk)
    /// names the migration.
    fn not_committed(&self, m: &Migration, e: Error) -> Error {
        match self.reclassify(e) {
            Error::Sqlite(source) => Error::CommitFailed {
                version: m.version(),
                description: m.description().to_owned(),
                source: Box::new(source),
            },
            other => other,
        }
    }

    fn classify(&self, e: rusqlite::Error) -> Error {
        Error::from_sqlite(e, self.busy_timeout)
    }

    fn reclassify(&self, e: Error) -> Error {
        match e {
            Error::Sqlite(e) => self.classify(e),
            other => other,
        }
    }
}

/// An SQLite error met while locking or reading before a migration, as
/// [`Error::Interrupted`]: it says what stayed as it was. Other errors
/// already do.
fn interrupted(e: Error, applied_up_to: Option<u32>) -> Error {
    match e {
        Error::Sqlite(source) => Error::Interrupted {
            source: Box::new(source),
            applied_up_to,
        },
        other => other,
    }
}

/// [`Error::ReadOnly`] for a database this process cannot write: SQLite
/// opens a file it may not write read-only, and a directory it may not
/// write in keeps it from creating the journal; said before anything runs,
/// not as the first statement's "attempt to write a readonly database".
fn refuse_read_only(conn: &Connection) -> Result<(), Error> {
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(Error::ReadOnly);
    }
    match conn.path().filter(|p| !p.is_empty()) {
        Some(path) => crate::backup::check_writable(Path::new(path)),
        None => Ok(()),
    }
}

/// Runs a migration's statements, then checks the foreign keys they could
/// have broken, which `scope` saw them write.
fn run_checked(conn: &Connection, m: &Migration, scope: &Scope) -> Result<(), Error> {
    scope.begin(conn)?;
    let ran = run_statements(conn, m, scope);
    let written = scope.end();
    ran?;
    check_foreign_keys(conn, m, scope, &written)
}

/// Runs a migration's statements one at a time through SQLite's own parser,
/// so triggers (`BEGIN ...; ...; END`) and literals holding `;` or `--` work,
/// and a failure names the statement.
fn run_statements(conn: &Connection, m: &Migration, scope: &Scope) -> Result<(), Error> {
    let mut number = 0;
    for (item_index, item) in m.sql().enumerate() {
        let mut batch = Batch::new(conn, item);
        // Where the next statement starts in `item`, for pointing at it.
        let mut cursor = 0;
        // `base` is where the text SQLite was handed starts: its error
        // offsets count from there.
        let fail = |number: usize, start: usize, base: usize, sql: &str, source| {
            let error_offset = match &source {
                rusqlite::Error::SqlInputError { offset, .. } => usize::try_from(*offset)
                    .ok()
                    .map(|o| (base + o).min(item.len())),
                _ => None,
            };
            Error::MigrationFailed {
                version: m.version(),
                description: m.description().to_owned(),
                statement: number,
                sql: one_line(sql, QUOTE_LEN),
                transactional: m.is_transactional(),
                item: item_index,
                offset: start,
                error_offset,
                source: Box::new(source),
            }
        };
        loop {
            let rest = item.get(cursor..).unwrap_or("");
            let start = cursor + (rest.len() - skip_trivia(rest).len());
            let mut stmt = match compat::next_statement(&mut batch) {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                // SQLite could not prepare it, so never said where it ends.
                Err(e) => return Err(fail(number + 1, start, cursor, first_statement(rest), e)),
            };
            number += 1;
            let text = stmt.expanded_sql().unwrap_or_default();
            // SQLite's own reading, through the authorizer while it prepared
            // the statement: no spelling of ROLLBACK slips past.
            let controls_transaction = scope.prepared(&text);
            let base = cursor;
            if let Some(at) = rest.find(text.as_str()) {
                cursor += at + text.len();
            }
            if m.is_transactional() && controls_transaction {
                return Err(Error::TransactionControl {
                    version: m.version(),
                    description: m.description().to_owned(),
                    statement: number,
                    sql: one_line(&text, QUOTE_LEN),
                    item: item_index,
                    offset: start,
                });
            }
            // Step through any rows (PRAGMA journal_mode returns one).
            let started = Instant::now();
            let _logged = StatementLog {
                version: m.version(),
                number,
                text: &text,
                started,
            };
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(fail(number, start, base, &text, e)),
                }
            }
        }
    }
    Ok(())
}

/// Milliseconds, to the microsecond, for logs.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Logs a statement with how long it took (at `debug`, for `migrate -v`),
/// when dropped: after it ran, however it ended.
struct StatementLog<'a> {
    version: u32,
    number: usize,
    text: &'a str,
    started: Instant,
}

impl Drop for StatementLog<'_> {
    fn drop(&mut self) {
        tracing::debug!(
            version = self.version,
            statement = self.number,
            elapsed_ms = millis(self.started.elapsed()),
            "{}",
            one_line(self.text, 200)
        );
    }
}

/// Fails when any row breaks a foreign key, as sqlite.org's procedure asks,
/// looking only at the tables the migration could have affected (see
/// [`crate::fkscope`]).
fn check_foreign_keys(
    conn: &Connection,
    m: &Migration,
    scope: &Scope,
    written: &Written,
) -> Result<(), Error> {
    let describe = |row: &rusqlite::Row<'_>| {
        let table: String = row.get(0)?;
        let rowid: Option<i64> = row.get(1)?;
        let parent: String = row.get(2)?;
        Ok(match rowid {
            Some(id) => format!("{table} rowid {id} references a missing {parent} row"),
            None => format!("a {table} row references a missing {parent} row"),
        })
    };
    let mut violations = Vec::new();
    match scope.tables_to_check(conn, written)? {
        None => {
            let mut stmt = conn.prepare_cached("PRAGMA foreign_key_check")?;
            for v in stmt.query_map([], describe)? {
                violations.push(v?);
            }
        }
        Some(tables) => {
            let mut stmt = conn.prepare_cached("SELECT * FROM pragma_foreign_key_check(?1)")?;
            for table in tables {
                for v in stmt.query_map([table], describe)? {
                    violations.push(v?);
                }
            }
        }
    }
    if violations.is_empty() {
        return Ok(());
    }
    Err(Error::ForeignKeyViolation {
        version: m.version(),
        description: m.description().to_owned(),
        count: violations.len(),
        examples: violations
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        transactional: m.is_transactional(),
    })
}

/// Whether `path` names a file (it has a directory part) that exists, as
/// given or with the platform's suffix for shared libraries, which SQLite
/// adds when the name as given cannot be loaded. A bare name is left to the
/// system's search for libraries.
#[cfg(feature = "load_extension")]
fn check_extension_path(path: &Path) -> Result<(), Error> {
    let has_dir = path.parent().is_some_and(|p| !p.as_os_str().is_empty());
    if !has_dir || path.exists() {
        return Ok(());
    }
    let mut suffixed = path.as_os_str().to_owned();
    suffixed.push(std::env::consts::DLL_SUFFIX);
    if Path::new(&suffixed).exists() {
        return Ok(());
    }
    Err(Error::ExtensionLoadFailed {
        path: path.to_owned(),
        reason: "no such file".to_owned(),
    })
}

/// Loads the extension at `path` on `conn`; see [`Migrator::load_extension`].
#[cfg(feature = "load_extension")]
fn load_extension(conn: &Connection, path: &Path) -> Result<(), Error> {
    check_extension_path(path)?;
    let failed = |e: rusqlite::Error| {
        let mut reason = crate::error::sqlite_message(&e)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // SQLite tries the name with the platform's suffix added last, and
        // reports that try: for a file that exists, say what it is not.
        let mut suffixed = path.as_os_str().to_owned();
        suffixed.push(std::env::consts::DLL_SUFFIX);
        if path.is_file() && reason.contains(&*Path::new(&suffixed).to_string_lossy()) {
            reason = "the file is not a shared library this program can load (not an SQLite \
                      extension, or built for another platform)"
                .to_owned();
        }
        Error::ExtensionLoadFailed {
            path: path.to_owned(),
            reason,
        }
    };
    // SAFETY: the library is one the program named (see
    // `Migrator::load_extension`); extension loading is on only while the
    // guard lives, and no SQL runs meanwhile.
    unsafe {
        let _guard = rusqlite::LoadExtensionGuard::new(conn).map_err(failed)?;
        conn.load_extension(path, None::<&str>).map_err(failed)
    }
}
