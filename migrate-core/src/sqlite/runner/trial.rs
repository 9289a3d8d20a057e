//! `apply --dry-run`: the pending migrations on the real data, rolled back.

use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::Migrator;
use super::apply::ApplyReport;
use super::data::{Census, DataChange};
use super::execute::{interrupted, refuse_read_only, run_checked};
use crate::{Error, Migration};

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
///         Trial::Succeeded(took, data) => {
///             println!("{version}: would succeed ({took:?})");
///             for table in data.changes() {
///                 println!("  {}: {:?} rows, then {:?}", table.table, table.rows_before, table.rows_after);
///             }
///         }
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
    /// It ran on the real data, in this long, and was rolled back; what it
    /// did to the data (rows of each table before and after, tables created
    /// and dropped, columns dropped).
    Succeeded(Duration, DataChange),
    /// It failed on the real data after this long; it would fail the same
    /// way when applied.
    Failed(Duration, Box<Error>),
    /// It was not tried; the reason says why.
    NotTried(&'static str),
}

impl<'m> Migrator<'m> {
    /// Runs every pending migration (up to the target) against the real
    /// database inside one transaction that is then rolled back, and says
    /// what would succeed and what would fail on the real data
    /// (`apply --dry-run`). Nothing is changed: the file's bytes are the same
    /// afterwards. Each migration is tried on what the ones before it did.
    /// Migrations with `transaction = false` are not tried, nor any after
    /// one that was not tried or that failed (they may depend on it).
    ///
    /// Each migration that would succeed comes with what it did to the data
    /// ([`DataChange`]): the rows of every application table before and
    /// after it, the tables it created and dropped, the columns it dropped.
    /// That costs time on a big database: every table's rows are counted
    /// (`SELECT count(*)`, a scan of its smallest index) once before the
    /// first migration, then after each migration only the tables SQLite's
    /// authorizer saw it write, create, alter or drop (all of them after a
    /// migration that runs a PRAGMA or ATTACH).
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
    ///
    /// // Without the duplicate, both would succeed; version 3 adds a
    /// // column, which changes no row.
    /// conn.execute_batch("DELETE FROM users WHERE id = 'u2'")?;
    /// let trials = migrator.trial(&mut conn)?;
    /// assert!(matches!(&trials[..], [(2, Trial::Succeeded(..)), (3, Trial::Succeeded(..))]));
    /// let (3, Trial::Succeeded(_, data)) = &trials[1] else { unreachable!() };
    /// assert_eq!(data.tables.len(), 1);
    /// assert_eq!((data.tables[0].rows_before, data.tables[0].rows_after), (Some(1), Some(1)));
    /// assert_eq!(data.changes().count(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn trial(&self, conn: &mut Connection) -> Result<Vec<(u32, Trial)>, Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        let state = self
            .read_consistently(conn, |c| self.locked_state(c))
            .map_err(|e| interrupted(e, None))?;
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
            let mut census = Census::read(&tx).map_err(|e| self.classify(e))?;
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
                    tx.execute_batch("SAVEPOINT trial")?;
                    // Its row too, as apply writes it: a trigger or a
                    // constraint on the tracking table fails here as well.
                    let run = || {
                        let started = Instant::now();
                        let written = run_checked(&tx, m, scope)?;
                        self.record(&tx, m, started.elapsed())
                            .map_err(|e| self.not_committed(m, e))?;
                        Ok(written)
                    };
                    let (took, result) = census
                        .measure(&tx, "trial", scope, run)
                        .map_err(|e| self.classify(e))?;
                    match result {
                        Ok((after, data)) => {
                            census = after;
                            tx.execute_batch("RELEASE trial")?;
                            Trial::Succeeded(took, data)
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
}

impl<'m> Migrator<'m> {
    /// The pending migrations (up to the target) that declare data they
    /// remove (`loses` in `migrations.toml`, [`Migration::losing`]), in
    /// version order: what `apply` shows, and asks about, before running
    /// them. Reads only. Refuses what `apply` would refuse before running
    /// anything, so that nothing is shown or asked about a run that cannot
    /// happen: a record that disagrees with this build
    /// ([`Error::Inconsistent`]) and, when a migration declares a loss, a
    /// database this process cannot write ([`Error::ReadOnly`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users", ["CREATE TABLE users (id TEXT, legacy_score INTEGER)"]),
    ///     Migration::new(2, "Drop legacy_score", ["ALTER TABLE users DROP COLUMN legacy_score"])
    ///         .losing(["users.legacy_score"]),
    ///     Migration::new(3, "Index users", ["CREATE INDEX idx_users_id ON users(id)"]),
    /// ];
    /// let conn = Connection::open_in_memory()?;
    /// let losses = Migrator::new(&list).pending_losses(&conn)?;
    /// assert_eq!(losses.len(), 1);
    /// assert_eq!(losses[0].version(), 2);
    /// assert_eq!(losses[0].loses().collect::<Vec<_>>(), ["users.legacy_score"]);
    ///
    /// // Not when the target stops before it.
    /// assert!(Migrator::new(&list).target(Some(1)).pending_losses(&conn)?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn pending_losses(&self, conn: &Connection) -> Result<Vec<&'m Migration>, Error> {
        // An SQLite error here says, as apply's would, that nothing changed.
        let state = self
            .read_consistently(conn, |c| self.locked_state(c))
            .map_err(|e| interrupted(e, None))?;
        let losses: Vec<&'m Migration> = self
            .pending_after(state.version)
            .filter(|m| m.loses().len() > 0)
            .collect();
        if !losses.is_empty() {
            refuse_read_only(conn)?;
        }
        Ok(losses)
    }
}
