//! `down`: roll the database back to an earlier version, newest version
//! first, each step run the way `apply` runs an up (foreign keys off around
//! the transaction, the down's statements and the deletion of its
//! `schema_migrations` row in one `BEGIN IMMEDIATE` transaction, the
//! foreign-key check before the commit).

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::Migrator;
use super::apply::Progress;
use super::execute::{interrupted, millis, refuse_read_only, run_checked};
use crate::Error;
use crate::fkscope::Scope;
use crate::tracking;

/// What `down` did: see [`Migrator::down`].
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
    /// problem `apply` would refuse too. Each step is its own transaction
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
        let version = self
            .read_consistently(conn, |c| self.locked_state(c))
            .map_err(|e| interrupted(e, None))?
            .version;
        if version <= i64::from(to) {
            return Ok(DownReport {
                version,
                ..DownReport::default()
            });
        }
        self.check_reversible(version, to)?;
        refuse_read_only(conn)?;
        self.without_foreign_keys(conn, |conn, scope| {
            self.down_steps(conn, scope, to, &mut progress)
        })
    }

    /// Refuses, naming them, when a version in `to + 1..=version` has no
    /// down.
    pub(super) fn check_reversible(&self, version: i64, to: u32) -> Result<(), Error> {
        let irreversible: Vec<(u32, String)> = self
            .migrations
            .iter()
            .rev()
            .filter(|m| m.version() > to && i64::from(m.version()) <= version)
            .filter(|m| !m.is_reversible())
            .map(|m| (m.version(), m.description().to_owned()))
            .collect();
        if irreversible.is_empty() {
            Ok(())
        } else {
            Err(Error::Irreversible {
                target: to,
                versions: irreversible,
            })
        }
    }

    fn down_steps(
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
            let state = self.locked_state(&tx)?;
            report.version = state.version;
            let current = u32::try_from(state.version).unwrap_or(0);
            if current <= to {
                tx.commit().map_err(|e| self.classify(e))?;
                return Ok(report);
            }
            let Some(m) = self.get(current) else {
                // locked_state refuses versions this build does not know.
                tx.commit().map_err(|e| self.classify(e))?;
                return Ok(report);
            };
            let Some(step) = m.down_step() else {
                // Another process applied a version above the check's.
                return Err(Error::Irreversible {
                    target: to,
                    versions: vec![(m.version(), m.description().to_owned())],
                });
            };
            if report.reverted.is_empty() {
                self.before_first(state.version)?;
            }
            let failed = |e: Error, report: &DownReport| Error::DownFailed {
                version: m.version(),
                description: m.description().to_owned(),
                reverted: reverted(report),
                source: Box::new(e),
            };
            progress(Progress::Started(m));
            tracing::info!(version = m.version(), "rolling back {:?}", m.description());
            let started = Instant::now();
            run_checked(&tx, &step, scope).map_err(|e| failed(e, &report))?;
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
