//! `apply`: every pending migration, each in its own transaction with its
//! row, or all of them in one.

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::Migrator;
use super::execute::{interrupted, millis, refuse_read_only, run_checked};
use super::fresh::ApplyPath;
use super::state::Since;
use crate::fkscope::Scope;
use crate::tracking;
use crate::{Error, Migration};

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
    /// Which way it went: on an empty database, created from what the build
    /// proved in one transaction, or one by one, and why.
    pub path: ApplyPath,
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

impl<'m> Migrator<'m> {
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
            // On an empty database, from what the build proved (fresh.rs).
            self.with_fresh_path(conn, state.version, &mut progress, |conn, progress| {
                if self.single_transaction {
                    self.apply_at_once(conn, scope, progress)
                } else {
                    self.apply_pending(conn, scope, progress)
                }
            })
        })
    }

    /// Every pending migration in one `BEGIN IMMEDIATE` transaction.
    pub(super) fn apply_at_once(
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

    pub(super) fn apply_pending(
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
}
