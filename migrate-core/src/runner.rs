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
use std::time::{Duration, Instant};

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection, TransactionBehavior};

use crate::sql::{controls_transaction, first_statement, one_line, skip_trivia};
use crate::tracking::{self, AppliedMigration};
use crate::{Error, Migration};

/// How long to wait for another connection's write lock by default. Long
/// enough for other processes to finish ordinary migrations at start-up.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest statement text quoted in messages.
const QUOTE_LEN: usize = 80;

/// A disagreement between the database's record and this build's list.
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
        }
    }
}

/// Where a database stands against a list of migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// The migrations this call applied, with how long each took.
    pub applied: Vec<(u32, Duration)>,
    /// The database's version afterwards.
    pub version: i64,
}

/// Progress of `apply`, for callers that show it.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The migration is about to run.
    Started(&'a Migration),
    /// The migration committed, after this long.
    Finished(&'a Migration, Duration),
}

/// Applies a list of migrations and reads a database's state against it.
#[derive(Debug, Clone, Copy)]
pub struct Migrator<'m> {
    migrations: &'m [Migration],
    busy_timeout: Duration,
}

impl<'m> Migrator<'m> {
    /// A migrator for this list, which must be numbered 1, 2, 3, … as
    /// `embed_migrations!` and [`crate::Migrations::from_toml`] guarantee.
    pub fn new(migrations: &'m [Migration]) -> Self {
        Migrator {
            migrations,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }

    /// How long to wait for another connection's lock before giving up with
    /// [`Error::Busy`]; [`DEFAULT_BUSY_TIMEOUT`] unless set.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Opens (creating if needed) the database at `path` and applies every
    /// pending migration: the equivalent of the original tool's `init_db()`.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Connection, Error> {
        let mut conn = Connection::open(path).map_err(|e| self.classify(e))?;
        self.apply(&mut conn)?;
        Ok(conn)
    }

    /// Where the database stands. Reads only, in one read transaction.
    pub fn status(&self, conn: &Connection) -> Result<Status, Error> {
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let applied = if conn.is_autocommit() {
            let tx = conn.unchecked_transaction().map_err(|e| self.classify(e))?;
            let rows = tracking::read(&tx).map_err(|e| self.reclassify(e))?;
            tx.commit().map_err(|e| self.classify(e))?;
            rows
        } else {
            tracking::read(conn).map_err(|e| self.reclassify(e))?
        };
        Ok(self.assess(applied))
    }

    /// The rows of `schema_migrations`, oldest version first.
    pub fn history(&self, conn: &Connection) -> Result<Vec<AppliedMigration>, Error> {
        Ok(self.status(conn)?.applied)
    }

    /// The database's version: the highest recorded, 0 when none is.
    pub fn current_version(&self, conn: &Connection) -> Result<i64, Error> {
        Ok(self.status(conn)?.current_version)
    }

    /// Applies every pending migration in version order; see [`Self::apply_with`].
    pub fn apply(&self, conn: &mut Connection) -> Result<ApplyReport, Error> {
        self.apply_with(conn, |_| {})
    }

    /// Applies every pending migration in version order, each in its own
    /// transaction together with its `schema_migrations` row, telling
    /// `progress` as each starts and finishes.
    ///
    /// Stops at the first failure: that migration is rolled back, earlier
    /// ones stay. Refuses to start, changing nothing, when the database
    /// records versions this build does not know or skipped one it does.
    pub fn apply_with(
        &self,
        conn: &mut Connection,
        mut progress: impl FnMut(Progress<'_>),
    ) -> Result<ApplyReport, Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        // Cheap look first, without the write lock: the common start-up case
        // (nothing pending) then never writes, and works on read-only files.
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let (version, next) = {
            let tx = conn.unchecked_transaction().map_err(|e| self.classify(e))?;
            let state = self.locked_state(&tx)?;
            tx.commit().map_err(|e| self.classify(e))?;
            state
        };
        if next.is_none() {
            return Ok(ApplyReport {
                applied: Vec::new(),
                version,
            });
        }

        // PRAGMA foreign_keys is a no-op inside a transaction: switch it off
        // before any begins, and put it back however the migrations end.
        let enforced: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(|e| self.classify(e))?;
        if enforced {
            conn.pragma_update(None, "foreign_keys", false)
                .map_err(|e| self.classify(e))?;
        }
        let result = self.apply_pending(conn, &mut progress);
        if enforced {
            let restored = conn.pragma_update(None, "foreign_keys", true);
            if let (Ok(_), Err(e)) = (&result, restored) {
                return Err(self.classify(e));
            }
        }
        result
    }

    fn apply_pending(
        &self,
        conn: &mut Connection,
        progress: &mut impl FnMut(Progress<'_>),
    ) -> Result<ApplyReport, Error> {
        let mut report = ApplyReport::default();
        loop {
            // Decide what is pending only while holding the write lock.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| self.classify(e))?;
            tracking::ensure(&tx).map_err(|e| self.reclassify(e))?;
            let (version, next) = self.locked_state(&tx)?;
            report.version = version;
            let Some(migration) = next else {
                tx.commit().map_err(|e| self.classify(e))?;
                return Ok(report);
            };

            progress(Progress::Started(migration));
            let started = Instant::now();
            if migration.is_transactional() {
                run_statements(&tx, migration)?;
                check_foreign_keys(&tx, migration)?;
                tracking::record(&tx, migration.version(), migration.description())
                    .map_err(|e| self.reclassify(e))?;
                tx.commit().map_err(|e| self.classify(e))?;
            } else {
                // Keep the tracking table, release the lock, run bare.
                tx.commit().map_err(|e| self.classify(e))?;
                run_statements(conn, migration)?;
                check_foreign_keys(conn, migration)?;
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| self.classify(e))?;
                // Another process may have run and recorded it meanwhile.
                if !tracking::is_recorded(&tx, migration.version())? {
                    tracking::record(&tx, migration.version(), migration.description())?;
                }
                tx.commit().map_err(|e| self.classify(e))?;
            }
            let took = started.elapsed();
            progress(Progress::Finished(migration, took));
            report.applied.push((migration.version(), took));
            report.version = i64::from(migration.version());
        }
    }

    fn get(&self, version: u32) -> Option<&'m Migration> {
        // Versions are 1..=N in order; check rather than trust it.
        let index = usize::try_from(version).ok()?.checked_sub(1)?;
        self.migrations
            .get(index)
            .filter(|m| m.version() == version)
            .or_else(|| self.migrations.iter().find(|m| m.version() == version))
    }

    /// The database's version and the next migration to apply, or the
    /// problems that forbid applying. Reads one aggregate row when the record
    /// is consistent, which is the normal case, and every row only to name
    /// the problems when it is not.
    fn locked_state(&self, conn: &Connection) -> Result<(i64, Option<&'m Migration>), Error> {
        let (count, min, max) = tracking::summary(conn).map_err(|e| self.reclassify(e))?;
        let latest = self.migrations.last().map_or(0, |m| i64::from(m.version()));
        if count == max && (count == 0 || min == 1) && max <= latest {
            let next = u32::try_from(max + 1).ok().and_then(|v| self.get(v));
            return Ok((max, next));
        }
        let status = self.assess(tracking::read(conn).map_err(|e| self.reclassify(e))?);
        if !status.problems.is_empty() {
            return Err(Error::Inconsistent {
                problems: status.problems,
            });
        }
        let next = status.pending.first().and_then(|&v| self.get(v));
        Ok((status.current_version, next))
    }

    /// Compares the recorded rows with this build's list.
    fn assess(&self, applied: Vec<AppliedMigration>) -> Status {
        let current_version = applied.iter().map(|a| a.version).max().unwrap_or(0);
        let mut problems: Vec<Problem> = applied
            .iter()
            .filter(|a| {
                u32::try_from(a.version)
                    .ok()
                    .and_then(|v| self.get(v))
                    .is_none()
            })
            .map(|a| Problem::UnknownVersion {
                version: a.version,
                description: a.description.clone(),
            })
            .collect();
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
        Status {
            current_version,
            applied,
            pending,
            problems,
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

/// Runs a migration's statements one at a time through SQLite's own parser,
/// so triggers (`BEGIN ...; ...; END`) and literals holding `;` or `--` work,
/// and a failure names the statement.
fn run_statements(conn: &Connection, m: &Migration) -> Result<(), Error> {
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
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                // SQLite could not prepare it, so never said where it ends.
                Err(e) => return Err(fail(number + 1, start, cursor, first_statement(rest), e)),
            };
            number += 1;
            let text = stmt.expanded_sql().unwrap_or_default();
            let base = cursor;
            if let Some(at) = rest.find(text.as_str()) {
                cursor += at + text.len();
            }
            if m.is_transactional() && controls_transaction(&text) {
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

/// Fails when any row breaks a foreign key, as sqlite.org's procedure asks.
fn check_foreign_keys(conn: &Connection, m: &Migration) -> Result<(), Error> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let violations = stmt
        .query_map([], |row| {
            let table: String = row.get(0)?;
            let rowid: Option<i64> = row.get(1)?;
            let parent: String = row.get(2)?;
            Ok(match rowid {
                Some(id) => format!("{table} rowid {id} references a missing {parent} row"),
                None => format!("a {table} row references a missing {parent} row"),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
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
