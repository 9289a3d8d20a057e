//! `down`: roll the database back to an earlier version, newest version
//! first, each step run the way `apply` runs an up (foreign keys off around
//! the transaction, the down's statements and the deletion of its
//! `schema_migrations` row in one `BEGIN IMMEDIATE` transaction, the
//! foreign-key check before the commit).
//!
//! The down of a version this build has comes from the build. A database
//! that a newer build migrated further records versions this build does not
//! have; their downs come from the database, where `apply` stored each with
//! its row and its checksum, so that an older build can still take the
//! database back to a version it knows (rolling back a deployment).

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::Migrator;
use super::apply::Progress;
use super::data::Census;
use super::execute::{interrupted, millis, refuse_read_only, run_checked};
use super::plan::Planned;
use super::trial::Trial;
use crate::Error;
use crate::fkscope::Scope;
use crate::tracking;

/// What `down` did: see [`Migrator::down`].
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Migration, Migrator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])
///     .with_down(["DROP TABLE users"])];
/// let mut conn = Connection::open_in_memory()?;
/// Migrator::new(&list).apply(&mut conn)?;
/// let report = Migrator::new(&list).down(&mut conn, 0)?;
/// assert_eq!(report.reverted.iter().map(|&(v, _)| v).collect::<Vec<_>>(), [1]);
/// assert_eq!(report.version, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownReport {
    /// The versions this call rolled back, newest first, with how long each
    /// down took.
    pub reverted: Vec<(u32, Duration)>,
    /// The database's version afterwards.
    pub version: i64,
}

impl<'m> Migrator<'m> {
    /// Rolls the database back to version `to` (0: before the first
    /// migration) by running the down of every version above it, newest
    /// first; see [`Self::down_with`].
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
    ///     Migration::new(2, "Add email to users", ["ALTER TABLE users ADD COLUMN email TEXT"])
    ///         .with_down(["ALTER TABLE users DROP COLUMN email"]),
    /// ];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    ///
    /// let report = migrator.down(&mut conn, 1)?;
    /// assert_eq!(report.version, 1);
    /// assert_eq!(report.reverted.len(), 1);
    /// assert!(conn.prepare("SELECT email FROM users").is_err());
    ///
    /// // Version 1 has no down: refused, nothing changed.
    /// let err = migrator.down(&mut conn, 0).unwrap_err();
    /// assert!(matches!(err, Error::Irreversible { target: 0, .. }));
    /// assert_eq!(migrator.current_version(&conn)?, 1);
    ///
    /// // Applying again re-runs the up.
    /// assert_eq!(migrator.apply(&mut conn)?.version, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn down(&self, conn: &mut Connection, to: u32) -> Result<DownReport, Error> {
        self.down_with(conn, to, |_| {})
    }

    /// Rolls the database back to version `to`, telling `progress` as each
    /// step starts and finishes (the migration whose down runs).
    ///
    /// Refuses, changing nothing, when a version on the way has no down
    /// ([`Error::Irreversible`], listing them), and when the record has a
    /// problem `apply` would refuse too.
    ///
    /// A database that a newer build migrated past this build's latest
    /// version can still be rolled back by this build: the downs of the
    /// versions it does not have are the ones stored in `schema_migrations`
    /// when they were applied. Each is checked against the checksum stored
    /// with it, and the versions this build has against this build's
    /// checksums, before anything runs; a stored down that does not match
    /// is refused ([`Error::StoredDownModified`]), and so is a version
    /// recorded without one ([`Error::StoredDownMissing`]). Those steps
    /// then run exactly as the others. [`Self::down_plan`] shows what
    /// would run.
    ///
    /// Each step is its own transaction
    /// and is taken under the write lock after reading the version again,
    /// so several processes rolling back at once run each down exactly
    /// once. A failing step is rolled back whole ([`Error::DownFailed`]);
    /// the steps before it stay. The
    /// [`before_changes`](Self::before_changes) hook runs once, before the
    /// first step, when there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator, Progress};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT PRIMARY KEY)"])
    ///         .with_down(["DROP TABLE users"]),
    ///     Migration::new(2, "Index users", ["CREATE INDEX idx_users_id ON users(id)"])
    ///         .with_down(["DROP INDEX idx_users_id"]),
    /// ];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    /// let mut started = Vec::new();
    /// let report = migrator.down_with(&mut conn, 0, |p| {
    ///     if let Progress::Started(m) = p {
    ///         started.push(m.version());
    ///     }
    /// })?;
    /// assert_eq!(started, [2, 1]);
    /// assert_eq!(report.version, 0);
    /// let tables: i64 = conn.query_row(
    ///     "SELECT count(*) FROM sqlite_master WHERE name = 'users'", [], |r| r.get(0))?;
    /// assert_eq!(tables, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn down_with(
        &self,
        conn: &mut Connection,
        to: u32,
        mut progress: impl FnMut(Progress<'_>),
    ) -> Result<DownReport, Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        // Every refusal (a version without a down, a stored down edited)
        // before anything runs.
        let (version, steps) = self
            .read_consistently(conn, |c| self.plan_in(c, to))
            .map_err(|e| interrupted(e, None))?;
        if steps.is_empty() {
            return Ok(DownReport {
                version: i64::from(version),
                ..DownReport::default()
            });
        }
        refuse_read_only(conn)?;
        self.without_foreign_keys(conn, |conn, scope| {
            self.down_steps(conn, scope, to, &mut progress)
        })
    }

    /// Runs the downs [`Self::down`] to version `to` would run against the
    /// real database inside one transaction that is then rolled back, and
    /// says for each what it would do on the real data (`migrate down
    /// --dry-run`): the file's bytes are the same afterwards. Each step is
    /// tried on what the steps before it did, as in a real down; after one
    /// that would fail, the rest are not tried. A failure is the
    /// [`Error::DownFailed`] the real down would meet. What `down` refuses
    /// before running anything is refused here the same way. Each step that
    /// would succeed says what it did to the data, counted as
    /// [`Self::trial`] counts it (every table once, then the tables each
    /// step touched).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator, Trial};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT, email TEXT)"])
    ///         .with_down(["DROP TABLE users"]),
    ///     // Its down brings back a unique index the data no longer allows.
    ///     Migration::new(2, "Emails may repeat", ["DROP INDEX IF EXISTS idx_email"])
    ///         .with_down(["CREATE UNIQUE INDEX idx_email ON users(email)"]),
    /// ];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    /// conn.execute_batch("INSERT INTO users VALUES ('u1', 'a@example.com'), ('u2', 'a@example.com')")?;
    ///
    /// let trials = migrator.trial_down(&mut conn, 0)?;
    /// assert!(matches!(&trials[0], (2, Trial::Failed(_, e)) if e.code() == "down_failed"));
    /// assert!(matches!(trials[1], (1, Trial::NotTried(_))));
    /// // Nothing changed.
    /// assert_eq!(migrator.current_version(&conn)?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn trial_down(&self, conn: &mut Connection, to: u32) -> Result<Vec<(u32, Trial)>, Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let (_, steps) = self
            .read_consistently(conn, |c| self.plan_in(c, to))
            .map_err(|e| interrupted(e, None))?;
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        refuse_read_only(conn)?;
        self.without_foreign_keys(conn, |conn, scope| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| interrupted(self.classify(e), None))?;
            scope.forget();
            // Under the lock, as the real down decides.
            let (_, steps) = self.plan_in(&tx, to)?;
            let mut outcomes = Vec::with_capacity(steps.len());
            let mut reverted = Vec::new();
            let mut failed = false;
            let mut census = Census::read(&tx).map_err(|e| self.classify(e))?;
            for Planned { run: m, .. } in &steps {
                let outcome = if failed {
                    Trial::NotTried("an earlier step would fail")
                } else {
                    tx.execute_batch("SAVEPOINT trial_down")?;
                    let run = || {
                        let written = run_checked(&tx, m, scope)?;
                        tracking::forget(&tx, m.version()).map_err(|e| self.not_committed(m, e))?;
                        Ok(written)
                    };
                    let (took, result) = census
                        .measure(&tx, "trial_down", scope, run)
                        .map_err(|e| self.classify(e))?;
                    match result {
                        Ok((after, data)) => {
                            census = after;
                            tx.execute_batch("RELEASE trial_down")?;
                            reverted.push(m.version());
                            Trial::Succeeded(took, data)
                        }
                        Err(e) => {
                            tx.execute_batch("ROLLBACK TO trial_down; RELEASE trial_down")?;
                            scope.forget();
                            failed = true;
                            Trial::Failed(
                                took,
                                Box::new(Error::DownFailed {
                                    version: m.version(),
                                    description: m.description().to_owned(),
                                    reverted: reverted.clone(),
                                    source: Box::new(e),
                                }),
                            )
                        }
                    }
                };
                outcomes.push((m.version(), outcome));
            }
            tx.rollback().map_err(|e| self.classify(e))?;
            Ok(outcomes)
        })
    }

    pub(super) fn down_steps(
        &self,
        conn: &mut Connection,
        scope: &Scope,
        to: u32,
        progress: &mut impl FnMut(Progress<'_>),
    ) -> Result<DownReport, Error> {
        let mut report = DownReport::default();
        let reverted =
            |report: &DownReport| -> Vec<u32> { report.reverted.iter().map(|&(v, _)| v).collect() };
        loop {
            // Decide what to roll back only while holding the write lock:
            // another process may have rolled back (or applied) meanwhile.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| interrupted(self.classify(e), None))?;
            scope.forget();
            let (version, step) = self.next_in(&tx, to)?;
            report.version = i64::from(version);
            let Some(Planned { run: m, .. }) = step else {
                tx.commit().map_err(|e| self.classify(e))?;
                return Ok(report);
            };
            if report.reverted.is_empty() {
                self.before_first(report.version)?;
            }
            let m = &m;
            let failed = |e: Error, report: &DownReport| Error::DownFailed {
                version: m.version(),
                description: m.description().to_owned(),
                reverted: reverted(report),
                source: Box::new(e),
            };
            progress(Progress::Started(m));
            tracing::info!(version = m.version(), "rolling back {:?}", m.description());
            let started = Instant::now();
            run_checked(&tx, m, scope).map_err(|e| failed(e, &report))?;
            tracking::forget(&tx, m.version())
                .and_then(|()| tx.commit().map_err(Error::Sqlite))
                .map_err(|e| failed(self.not_committed(m, e), &report))?;
            let took = started.elapsed();
            tracing::info!(
                version = m.version(),
                elapsed_ms = millis(took),
                "rolled back {:?}",
                m.description()
            );
            progress(Progress::Finished(m, took));
            report.reverted.push((m.version(), took));
            report.version = i64::from(m.version()) - 1;
        }
    }
}
