//! The errors of the runner. Each one says what happened and what state the
//! database was left in, because the reader's first question is "did I lose
//! anything?".

use std::time::Duration;

/// Everything that can go wrong while reading or migrating a database.
///
/// Messages do not name the database file: callers that know it (the CLI)
/// put it in front.
///
/// The enum is `#[non_exhaustive]`: match the variants you handle and keep a
/// `_` arm. [`Error::code`] gives a stable name for each kind, and
/// [`Error::version`] the migration concerned, if any.
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
///     Migration::new(2, "Add email", ["ALTER TABLE users ADD COLUMN email TEXT"]),
///     Migration::new(3, "Index emails", ["CREATE INDEX idx_users_email ON users(emial)"]),
/// ];
/// let mut conn = Connection::open_in_memory()?;
/// let err = Migrator::new(&list).apply(&mut conn).unwrap_err();
///
/// match &err {
///     Error::MigrationFailed { version, description, statement, sql, transactional, .. } => {
///         assert_eq!(*version, 3);
///         assert_eq!(description, "Index emails");
///         assert_eq!(*statement, 1);
///         assert_eq!(sql, "CREATE INDEX idx_users_email ON users(emial)");
///         assert!(*transactional);
///     }
///     Error::Busy { timeout } => panic!("locked for more than {timeout:?}"),
///     other => panic!("unexpected error: {other}"),
/// }
/// assert_eq!(err.code(), "migration_failed");
/// assert_eq!(err.version(), Some(3));
/// assert_eq!(
///     err.to_string(),
///     "migration 3 (\"Index emails\") failed at statement 1 \
///      `CREATE INDEX idx_users_email ON users(emial)`: no such column: emial; \
///      the migration was rolled back and is not recorded",
/// );
///
/// // SQLite's own error is the source.
/// let source = std::error::Error::source(&err).unwrap();
/// assert!(source.to_string().contains("no such column: emial"));
///
/// // The migrations before the failing one stay applied.
/// assert_eq!(Migrator::new(&list).current_version(&conn)?, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another connection held the write lock longer than the busy timeout.
    #[error(
        "database is locked: another connection kept it busy for longer than the busy timeout \
         ({}); nothing was changed; try again, or raise the timeout",
        format_duration(*timeout)
    )]
    Busy {
        /// The busy timeout that ran out.
        timeout: Duration,
    },

    /// The file exists but is not an SQLite database.
    #[error("file is not an SQLite database (or is encrypted or damaged); nothing was changed")]
    NotADatabase,

    /// The database file cannot be opened or created.
    #[error("cannot open the database: {0}")]
    CannotOpen(String),

    /// The database file is read-only and something had to be written.
    #[error(
        "the database is read-only (check the file's and its directory's permissions); \
         nothing was changed"
    )]
    ReadOnly,

    /// `schema_migrations` exists but is not the table this tool (or the
    /// original Python tool) writes.
    #[error(
        "schema_migrations has an unexpected shape: {detail}; it was probably written by \
         another tool; expected (version INTEGER PRIMARY KEY, description TEXT, applied_at \
         TIMESTAMP); nothing was changed"
    )]
    UnexpectedTrackingTable {
        /// What exactly differs.
        detail: String,
    },

    /// The database records versions that this build does not have, or
    /// skipped versions that it does; applying would be guesswork.
    #[error("{}; nothing was changed", describe_problems(problems))]
    Inconsistent {
        /// What was found.
        problems: Vec<crate::Problem>,
    },

    /// A statement of a migration failed.
    #[error(
        "migration {version} ({description:?}) failed at statement {statement} `{sql}`: \
         {}; {}",
        sqlite_message(source),
        if *transactional {
            "the migration was rolled back and is not recorded"
        } else {
            "it runs without a transaction (transaction = false), so statements before this one \
             may have taken effect; it is not recorded"
        }
    )]
    MigrationFailed {
        /// Version of the failed migration.
        version: u32,
        /// Its description.
        description: String,
        /// 1-based number of the failing statement within the migration.
        statement: usize,
        /// The failing statement, shortened to one line.
        sql: String,
        /// Whether the migration ran in a transaction (and so left nothing behind).
        transactional: bool,
        /// 0-based index of the `sql` item holding the statement.
        item: usize,
        /// Byte offset of the statement's start within that item.
        offset: usize,
        /// Byte offset within the item where SQLite located the error, when it
        /// could (syntax errors, unknown names).
        error_offset: Option<usize>,
        /// SQLite's error, whose message the display quotes.
        #[source]
        source: Box<rusqlite::Error>,
    },

    /// A migration tried to end or start a transaction itself.
    #[error(
        "migration {version} ({description:?}) statement {statement} `{sql}` would end the \
         transaction the migration runs in: remove it (each migration already commits as a \
         whole), or set transaction = false to manage transactions yourself; the migration \
         was rolled back and is not recorded"
    )]
    TransactionControl {
        /// Version of the migration.
        version: u32,
        /// Its description.
        description: String,
        /// 1-based number of the statement.
        statement: usize,
        /// The statement, shortened to one line.
        sql: String,
        /// 0-based index of the `sql` item holding the statement.
        item: usize,
        /// Byte offset of the statement's start within that item.
        offset: usize,
    },

    /// A migration left rows that break a foreign key.
    #[error(
        "migration {version} ({description:?}) left {count} foreign-key violation(s), e.g. \
         {examples}; {}",
        if *transactional {
            "the migration was rolled back and is not recorded"
        } else {
            "it ran without a transaction, so its changes stay; it is not recorded"
        }
    )]
    ForeignKeyViolation {
        /// Version of the migration.
        version: u32,
        /// Its description.
        description: String,
        /// How many rows violate a foreign key.
        count: usize,
        /// The first few, as `table rowid N references parent`.
        examples: String,
        /// Whether the migration ran in a transaction.
        transactional: bool,
    },

    /// The backup file could not be created; nothing was migrated.
    #[error("cannot write the backup: {0}; nothing was changed")]
    BackupFailed(String),

    /// A file given as a backup to restore is not one.
    #[error("not a backup of a migrated database: {detail}; nothing was changed")]
    NotABackup {
        /// Why.
        detail: String,
    },

    /// A backup given to restore holds another history than this build's
    /// (another application's database, or one whose record or schema was
    /// changed): refused unless forced.
    #[error(
        "not a backup of this application's database: {detail}; pass --force to restore it \
         anyway; nothing was changed"
    )]
    ForeignBackup {
        /// The first disagreement found.
        detail: String,
    },

    /// `baseline` on a database that already records migrations.
    #[error(
        "the database already records migrations (up to version {version}); baseline is only \
         for a database that has never been migrated by this tool; nothing was changed"
    )]
    AlreadyTracked {
        /// The highest recorded version.
        version: i64,
    },

    /// A version asked for (`baseline N`) that this build does not have.
    #[error(
        "version {version} is not in this build, which has versions 1 to {latest}; nothing was \
         changed"
    )]
    NoSuchVersion {
        /// The version asked for.
        version: u32,
        /// This build's latest version.
        latest: u32,
    },

    /// `baseline` on a database whose schema is not the one of the version.
    #[error(
        "the database's schema is not the schema of version {version}: {differences}; \
         baseline would record migrations that do not match it (use --force if you are sure); \
         nothing was changed"
    )]
    BaselineMismatch {
        /// The version asked for.
        version: u32,
        /// What differs, in short.
        differences: String,
    },

    /// `--single-transaction` with a migration that cannot run in one.
    #[error(
        "migration {version} ({description:?}) runs outside a transaction (transaction = \
         false), so it cannot be part of a single-transaction batch; apply up to the version \
         before it with --to, then apply it on its own; nothing was changed"
    )]
    NotTransactional {
        /// Version of the migration.
        version: u32,
        /// Its description.
        description: String,
    },

    /// A migration's statements ran, but recording or committing it failed
    /// (a full disk, an I/O error): its transaction was rolled back.
    #[error(
        "migration {version} ({description:?}) ran but could not be committed: {}; the \
         migration was rolled back and is not recorded",
        sqlite_message(source)
    )]
    CommitFailed {
        /// The migration's version.
        version: u32,
        /// Its description.
        description: String,
        /// SQLite's error.
        #[source]
        source: Box<rusqlite::Error>,
    },

    /// A migration of a single-transaction batch failed: the whole batch was
    /// rolled back.
    #[error(
        "{source}; with --single-transaction every migration of this run was rolled back: the \
         database is as it was"
    )]
    BatchRolledBack {
        /// The failure.
        source: Box<Error>,
    },

    /// The connection is inside a transaction; migrations need their own.
    #[error("the connection is inside a transaction; apply migrations outside of one")]
    InTransaction,

    /// A pending migration calls a function that `migrations.toml` declares
    /// and that the connection does not have: nothing was run.
    #[error(
        "migration {version} ({description:?}) calls {function}(), which is not registered on \
         the connection: {}; nothing was changed",
        match extension {
            Some(path) => format!(
                "it comes from the extension {path:?}; load that before applying \
                 (migrate --load-extension PATH, or Migrator::load_extension)"
            ),
            None => format!(
                "the application must register it ({}) before applying, e.g. with rusqlite's \
                 create_scalar_function in Migrator::on_open or on its own connection",
                match args {
                    -1 => "taking any number of arguments".to_owned(),
                    1 => "taking 1 argument".to_owned(),
                    n => format!("taking {n} arguments"),
                }
            ),
        }
    )]
    FunctionNotRegistered {
        /// Version of the first pending migration that calls it.
        version: u32,
        /// Its description.
        description: String,
        /// The function, as `migrations.toml` names it.
        function: String,
        /// How many arguments it is declared with (-1: any number).
        args: i32,
        /// The `path` of the `[[extension]]` that provides it; `None` when
        /// the application registers it.
        extension: Option<String>,
    },

    /// An extension given to load cannot be loaded.
    #[error("cannot load the SQLite extension {}: {reason}; nothing was changed", path.display())]
    ExtensionLoadFailed {
        /// The path as given.
        path: std::path::PathBuf,
        /// Why, on one line (SQLite's or the system's message).
        reason: String,
    },

    /// Restoring a backup failed (a full disk, an I/O error); the copy into
    /// the database is one transaction, so it is as it was.
    #[error(
        "cannot restore: {reason}; the database is as it was{}",
        kept.as_ref().map(|p| format!(
            " (the copy of it made before restoring, {}, is kept)",
            p.display()
        )).unwrap_or_default()
    )]
    RestoreFailed {
        /// SQLite's or the system's message.
        reason: String,
        /// The copy of the database made before restoring, if it was made.
        kept: Option<std::path::PathBuf>,
    },

    /// SQLite failed while locking or reading, before the migration it
    /// would have run: that one and those after it did not run.
    #[error(
        "{}; {}",
        sqlite_message(source),
        match applied_up_to {
            None => "nothing was changed".to_owned(),
            Some(v) => format!(
                "the migrations up to version {v} stay applied, nothing after them was changed"
            ),
        }
    )]
    Interrupted {
        /// SQLite's error.
        #[source]
        source: Box<rusqlite::Error>,
        /// The last migration this run applied before the error, if any.
        applied_up_to: Option<u32>,
    },

    /// `down` would have to roll back versions that have no down: nothing
    /// was run.
    #[error(
        "cannot roll back to version {target}: {} no down SQL (add `down` to {} in \
         migrations.toml, or roll back to a later version); nothing was changed",
        describe_irreversible(versions),
        if versions.len() == 1 { "it" } else { "them" }
    )]
    Irreversible {
        /// The version `down` was asked to reach.
        target: u32,
        /// The versions on the way without a down, with their descriptions,
        /// newest first.
        versions: Vec<(u32, String)>,
    },

    /// The down of a version failed (a statement SQLite rejected, a
    /// foreign-key violation, a failed commit): that step was rolled back
    /// whole, the earlier steps stay, nothing after it ran.
    #[error(
        "the down of version {version} ({description:?}) failed{}; that step was rolled back \
         and version {version} stays applied{}",
        describe_down_failure(source),
        describe_reverted(reverted)
    )]
    DownFailed {
        /// The version whose down failed.
        version: u32,
        /// Its description.
        description: String,
        /// The versions this run rolled back before it, newest first.
        reverted: Vec<u32>,
        /// What failed, as applying the down's statements reported it
        /// ([`Error::MigrationFailed`] with the statement and SQLite's
        /// error, [`Error::ForeignKeyViolation`], [`Error::CommitFailed`],
        /// [`Error::TransactionControl`]).
        #[source]
        source: Box<Error>,
    },

    /// `down` to below the latest version of this build, on a database a
    /// newer build migrated further, when a version this build does not
    /// have was recorded without its down SQL (by a build from before
    /// downs were stored, or it has none): nothing was run.
    #[error(
        "cannot roll back to version {target}: {} not in this build (its latest is {latest}) and \
         the database stores no down SQL for {}; roll back with a build that has {}; nothing \
         was changed",
        describe_unstored(versions),
        if versions.len() == 1 { "it" } else { "them" },
        if versions.len() == 1 { "it" } else { "them" }
    )]
    StoredDownMissing {
        /// The version `down` was asked to reach.
        target: u32,
        /// This build's latest version.
        latest: u32,
        /// The versions on the way without a stored down, newest first,
        /// with their recorded descriptions.
        versions: Vec<(u32, Option<String>)>,
    },

    /// The down SQL stored in the database for a version this build does
    /// not have does not match the checksum stored with it (edited since it
    /// was recorded), or cannot be read: it is not run, nor anything else.
    #[error(
        "the down SQL stored in the database for version {version}{} {detail}, so it was \
         changed after it was recorded; it will not be run; roll back with a build that has \
         version {version}; nothing was changed",
        description.as_deref().map(|d| format!(" ({d:?})")).unwrap_or_default()
    )]
    StoredDownModified {
        /// The version whose stored down is refused.
        version: u32,
        /// Its recorded description.
        description: Option<String>,
        /// What is wrong with it, after "the down SQL stored ... for version N".
        detail: String,
    },

    /// Any other SQLite error.
    #[error("{}", sqlite_message(.0))]
    Sqlite(#[from] rusqlite::Error),
}

impl Error {
    /// A stable, machine-readable name for the kind of error (used by the
    /// CLI's JSON output): `busy`, `not_a_database`, `cannot_open`,
    /// `read_only`, `unexpected_tracking_table`, `inconsistent`,
    /// `migration_failed`, `transaction_control`, `foreign_key_violation`,
    /// `in_transaction`, `already_tracked`, `baseline_mismatch`, `no_such_version`,
    /// `backup_failed`, `not_a_backup`, `not_transactional`,
    /// `function_not_registered`, `extension_load_failed`, `irreversible`,
    /// `down_failed`, `stored_down_missing`, `stored_down_modified` or
    /// `sqlite`.
    /// A [`Error::BatchRolledBack`] has the code of the failure inside it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(Error::Busy { timeout: Duration::from_secs(30) }.code(), "busy");
    /// assert_eq!(Error::NotADatabase.code(), "not_a_database");
    ///
    /// let list = [Migration::new(1, "Ends the transaction", ["CREATE TABLE t (x); COMMIT"])];
    /// let mut conn = Connection::open_in_memory()?;
    /// let err = Migrator::new(&list).apply(&mut conn).unwrap_err();
    /// assert!(matches!(err, Error::TransactionControl { version: 1, statement: 2, .. }));
    /// assert_eq!(err.code(), "transaction_control");
    ///
    /// // Inside a transaction of the caller's, nothing runs.
    /// conn.execute_batch("BEGIN")?;
    /// let err = Migrator::new(&list).apply(&mut conn).unwrap_err();
    /// assert_eq!(err.code(), "in_transaction");
    /// # Ok(())
    /// # }
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::Busy { .. } => "busy",
            Error::NotADatabase => "not_a_database",
            Error::CannotOpen(_) => "cannot_open",
            Error::ReadOnly => "read_only",
            Error::UnexpectedTrackingTable { .. } => "unexpected_tracking_table",
            Error::Inconsistent { .. } => "inconsistent",
            Error::MigrationFailed { .. } | Error::CommitFailed { .. } => "migration_failed",
            Error::TransactionControl { .. } => "transaction_control",
            Error::ForeignKeyViolation { .. } => "foreign_key_violation",
            Error::InTransaction => "in_transaction",
            Error::AlreadyTracked { .. } => "already_tracked",
            Error::BaselineMismatch { .. } => "baseline_mismatch",
            Error::NoSuchVersion { .. } => "no_such_version",
            Error::BackupFailed(_) => "backup_failed",
            Error::NotABackup { .. } => "not_a_backup",
            Error::ForeignBackup { .. } => "foreign_backup",
            Error::RestoreFailed { .. } => "restore_failed",
            Error::Interrupted { .. } => "sqlite",
            Error::NotTransactional { .. } => "not_transactional",
            Error::FunctionNotRegistered { .. } => "function_not_registered",
            Error::ExtensionLoadFailed { .. } => "extension_load_failed",
            Error::BatchRolledBack { source } => source.code(),
            Error::Irreversible { .. } => "irreversible",
            Error::DownFailed { .. } => "down_failed",
            Error::StoredDownMissing { .. } => "stored_down_missing",
            Error::StoredDownModified { .. } => "stored_down_modified",
            Error::Sqlite(_) => "sqlite",
        }
    }

    /// SQLite's own error behind this one, if there is one (the error of a
    /// failed statement, or of opening, locking or reading).
    ///
    /// ```
    /// use migrate_core::{Migration, Migrator, rusqlite};
    ///
    /// let list = [Migration::new(1, "Typo", ["CREATE TABLEX t (x)"])];
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// let error = Migrator::new(&list).apply(&mut conn).unwrap_err();
    /// assert!(matches!(
    ///     error.sqlite_error(),
    ///     Some(rusqlite::Error::SqlInputError { .. })
    /// ));
    /// # Ok::<(), rusqlite::Error>(())
    /// ```
    pub fn sqlite_error(&self) -> Option<&rusqlite::Error> {
        match self {
            Error::MigrationFailed { source, .. }
            | Error::CommitFailed { source, .. }
            | Error::Interrupted { source, .. } => Some(source),
            Error::BatchRolledBack { source } | Error::DownFailed { source, .. } => {
                source.sqlite_error()
            }
            Error::Sqlite(e) => Some(e),
            _ => None,
        }
    }

    /// The version of the migration the error concerns, if one does.
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
    ///     Migration::new(1, "Create parents", ["CREATE TABLE parent (id INTEGER PRIMARY KEY)"]),
    ///     Migration::new(2, "Create orphans", [
    ///         "CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))",
    ///         "INSERT INTO child VALUES (42)",
    ///     ]),
    /// ];
    /// let mut conn = Connection::open_in_memory()?;
    /// let err = Migrator::new(&list).apply(&mut conn).unwrap_err();
    /// assert!(matches!(err, Error::ForeignKeyViolation { count: 1, .. }));
    /// assert_eq!(err.version(), Some(2));
    ///
    /// // Errors that concern no single migration.
    /// assert_eq!(Error::Busy { timeout: Duration::from_secs(1) }.version(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn version(&self) -> Option<u32> {
        match self {
            Error::MigrationFailed { version, .. }
            | Error::CommitFailed { version, .. }
            | Error::TransactionControl { version, .. }
            | Error::ForeignKeyViolation { version, .. }
            | Error::NotTransactional { version, .. }
            | Error::FunctionNotRegistered { version, .. }
            | Error::DownFailed { version, .. }
            | Error::StoredDownModified { version, .. } => Some(*version),
            Error::BatchRolledBack { source } => source.version(),
            _ => None,
        }
    }

    /// Turns an SQLite error met outside a migration's own statements (while
    /// opening, locking or reading) into the variant a user can act on;
    /// `timeout` is the busy timeout in force, for the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use migrate_core::rusqlite::{self, ffi};
    /// use migrate_core::Error;
    ///
    /// let busy = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_BUSY), None);
    /// let err = Error::from_sqlite(busy, Duration::from_secs(5));
    /// assert!(matches!(err, Error::Busy { timeout } if timeout == Duration::from_secs(5)));
    /// assert!(err.to_string().starts_with("database is locked"));
    ///
    /// let other = rusqlite::Error::QueryReturnedNoRows;
    /// assert!(matches!(Error::from_sqlite(other, Duration::ZERO), Error::Sqlite(_)));
    /// ```
    pub fn from_sqlite(error: rusqlite::Error, timeout: Duration) -> Error {
        use rusqlite::ErrorCode as C;
        match error.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => Error::Busy { timeout },
            Some(C::NotADatabase) => Error::NotADatabase,
            Some(C::ReadOnly) => Error::ReadOnly,
            Some(C::CannotOpen) => Error::CannotOpen(sqlite_message(&error)),
            _ => Error::Sqlite(error),
        }
    }
}

/// SQLite's own message, without rusqlite's decoration.
pub(crate) fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(msg)) if !msg.is_empty() => {
            let _ = e;
            msg.clone()
        }
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

/// `version 5 ("Add tags") has`, `versions 5 ("Add tags") and 3 ("…") have`.
fn describe_irreversible(versions: &[(u32, String)]) -> String {
    let named: Vec<String> = versions
        .iter()
        .map(|(v, d)| format!("{v} ({d:?})"))
        .collect();
    match named.as_slice() {
        [one] => format!("version {one} has"),
        [rest @ .., last] => format!("versions {} and {last} have", rest.join(", ")),
        [] => "no version has".to_owned(),
    }
}

/// `version 3 ("Add tags") is`, `versions 3 ("Add tags") and 2 are`.
fn describe_unstored(versions: &[(u32, Option<String>)]) -> String {
    let named: Vec<String> = versions
        .iter()
        .map(|(v, d)| match d {
            Some(d) => format!("{v} ({d:?})"),
            None => v.to_string(),
        })
        .collect();
    match named.as_slice() {
        [one] => format!("version {one} is"),
        [rest @ .., last] => format!("versions {} and {last} are", rest.join(", ")),
        [] => "no version is".to_owned(),
    }
}

/// The steps a failed down had done before, newest first.
fn describe_reverted(reverted: &[u32]) -> String {
    match reverted {
        [] => String::new(),
        [one] => format!("; version {one} was rolled back before it"),
        [first, .., last] => {
            format!("; versions {first} down to {last} were rolled back before it")
        }
    }
}

/// What failed in a down, after "the down of version N (…) failed".
fn describe_down_failure(error: &Error) -> String {
    match error {
        Error::MigrationFailed {
            statement,
            sql,
            source,
            ..
        } => format!(
            " at statement {statement} `{sql}`: {}",
            sqlite_message(source)
        ),
        Error::TransactionControl { statement, sql, .. } => format!(
            ": statement {statement} `{sql}` would end the transaction the down runs in \
             (remove it: each step already commits as a whole)"
        ),
        Error::ForeignKeyViolation {
            count, examples, ..
        } => format!(": it left {count} foreign-key violation(s), e.g. {examples}"),
        Error::CommitFailed { source, .. } => {
            format!(
                ": it ran but could not be committed: {}",
                sqlite_message(source)
            )
        }
        other => format!(": {other}"),
    }
}

fn describe_problems(problems: &[crate::Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}
