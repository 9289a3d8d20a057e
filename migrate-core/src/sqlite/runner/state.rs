//! Where a database stands against the list: the lock every changing
//! operation takes first, the state read under it, and how the record is
//! compared with this build's migrations.

use std::fmt;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::Migrator;
use super::apply::ApplyReport;
use crate::fkscope::Scope;
use crate::tracking::{self, AppliedMigration, Record, hex};
use crate::{Error, Migration};

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

/// What a run knows after one of its transactions: see [`Migrator::lock`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Since {
    /// `PRAGMA data_version` during the transaction: it changes only when
    /// another connection commits.
    pub(super) data_version: i64,
    /// The version the transaction left the database at.
    pub(super) version: i64,
}

/// The database's position, as read under the lock.
pub(super) struct State<'m> {
    pub(super) version: i64,
    pub(super) next: Option<&'m Migration>,
    /// Rows without a checksum wait to be adopted.
    pub(super) adopt: bool,
}

impl<'m> Migrator<'m> {
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
    pub(super) fn read_consistently<T>(
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
    pub(super) fn lock<'c>(
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
    pub(super) fn pending_after(&self, version: i64) -> impl Iterator<Item = &'m Migration> + '_ {
        self.migrations
            .iter()
            .skip_while(move |m| i64::from(m.version()) <= version)
            .take_while(|m| self.target.is_none_or(|t| m.version() <= t))
    }

    pub(super) fn record(
        &self,
        conn: &Connection,
        m: &Migration,
        took: Duration,
    ) -> Result<(), Error> {
        tracking::record(
            conn,
            &Record {
                version: m.version(),
                description: m.description(),
                checksum: &m.checksum(),
                chain: &self.chain_at(m.version()),
                duration_ms: Some(took.as_secs_f64() * 1000.0),
                applied_by: self.applied_by,
                down: tracking::down_of(m),
            },
        )
        .map_err(|e| self.reclassify(e))
    }

    /// Records this build's checksums for rows that have none (written by the
    /// original Python tool or an older build), and the chain for every row.
    /// Only called when [`Self::locked_state`] found no problem, so every
    /// recorded checksum already equals this build's.
    pub(super) fn adopt(&self, conn: &Connection) -> Result<Vec<u32>, Error> {
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

    /// The database's version and the next migration to apply, or the
    /// problems that forbid applying. When the record is consistent, which
    /// is the normal case, this reads one aggregate row and the newest row's
    /// chain, which covers the checksums of the whole history; every row is
    /// read only to name the problems when it is not.
    pub(super) fn locked_state(&self, conn: &Connection) -> Result<State<'m>, Error> {
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
    pub(super) fn up_to_date(&self, conn: &Connection) -> Option<i64> {
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
    pub(super) fn keyed_state(&self, conn: &Connection) -> Option<State<'m>> {
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
    pub(super) fn next_after(&self, version: i64) -> Option<&'m Migration> {
        let next = u32::try_from(version + 1).ok()?;
        if self.target.is_some_and(|t| next > t) {
            return None;
        }
        self.get(next)
    }

    /// Compares the recorded rows with this build's list.
    pub(super) fn assess(&self, applied: Vec<AppliedMigration>) -> Status {
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
}
