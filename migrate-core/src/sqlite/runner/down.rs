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
use super::apply::{ApplyReport, Progress};
use super::data::Census;
use super::execute::{interrupted, millis, refuse_read_only, run_checked};
use super::trial::Trial;
use crate::fkscope::Scope;
use crate::tracking::{self, StoredDown};
use crate::{Error, Migration, Problem};

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

/// What [`Migrator::down`] would do, step by step, before it does it: see
/// [`Migrator::down_plan`]. A program that rolls back on a person's behalf
/// shows it and asks first, because a down usually drops data.
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{DownSource, Migration, Migrator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [
///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]),
///     Migration::new(2, "Add email", ["ALTER TABLE users ADD COLUMN email TEXT"])
///         .with_down(["ALTER TABLE users DROP COLUMN email"]),
/// ];
/// let mut conn = Connection::open_in_memory()?;
/// Migrator::new(&list).apply(&mut conn)?;
///
/// let plan = Migrator::new(&list).down_plan(&conn, 1)?;
/// assert_eq!((plan.from, plan.to), (2, 1));
/// assert_eq!(plan.steps.len(), 1);
/// assert_eq!(plan.steps[0].version, 2);
/// assert_eq!(plan.steps[0].description, "Add email");
/// assert_eq!(plan.steps[0].sql, ["ALTER TABLE users DROP COLUMN email"]);
/// assert_eq!(plan.steps[0].source, DownSource::Build);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownPlan {
    /// The database's version now.
    pub from: i64,
    /// The version asked for: where the database will be afterwards (or
    /// stays, when it is there or below already).
    pub to: u32,
    /// The downs that would run, newest version first; empty when there is
    /// nothing to roll back.
    pub steps: Vec<DownStep>,
}

/// One step of a [`DownPlan`]: the down of one version.
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{DownSource, Migration, Migrator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])
///     .with_down(["DROP TABLE users"])];
/// let mut conn = Connection::open_in_memory()?;
/// Migrator::new(&list).apply(&mut conn)?;
/// let step = &Migrator::new(&list).down_plan(&conn, 0)?.steps[0];
/// println!("{} {} ({:?}): {}", step.version, step.description, step.source, step.sql.join("; "));
/// assert_eq!(step.sql, ["DROP TABLE users"]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownStep {
    /// The version this step rolls back (the database is at `version - 1`
    /// after it).
    pub version: u32,
    /// Its description (the build's, or as recorded for a down from the
    /// database; empty when none was recorded).
    pub description: String,
    /// The down's SQL items, exactly as they will run.
    pub sql: Vec<String>,
    /// Where the down comes from.
    pub source: DownSource,
}

/// Where the SQL of a [`DownStep`] comes from.
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{DownSource, Migration, Migrator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let users = Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]);
/// let email = Migration::new(2, "Add email", ["ALTER TABLE users ADD COLUMN email TEXT"])
///     .with_down(["ALTER TABLE users DROP COLUMN email"]);
/// let mut conn = Connection::open_in_memory()?;
/// Migrator::new(&[users.clone(), email]).apply(&mut conn)?;
///
/// // An older build, without version 2, rolls it back with the down the
/// // database stored when version 2 was applied.
/// let older = [users];
/// let plan = Migrator::new(&older).down_plan(&conn, 1)?;
/// assert_eq!(plan.steps[0].source, DownSource::Database);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownSource {
    /// This build's `down` for the version.
    Build,
    /// The down stored in `schema_migrations` when the version was applied
    /// (by a newer build, which this one is not), checked against the
    /// checksum stored with it.
    Database,
}

/// One step as it runs: the down as a migration of its own.
struct Planned {
    run: Migration,
    source: DownSource,
}

impl Planned {
    fn public(&self) -> DownStep {
        DownStep {
            version: self.run.version(),
            description: self.run.description().to_owned(),
            sql: self.run.sql().map(str::to_owned).collect(),
            source: self.source,
        }
    }
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

    /// What [`Self::down`] to version `to` would run, newest version first,
    /// and where each down comes from, reading only: for showing it and
    /// asking before running it (`migrate down` does). Refuses exactly as
    /// `down` would ([`Error::Irreversible`], [`Error::StoredDownMissing`],
    /// [`Error::StoredDownModified`], [`Error::Inconsistent`]), so a plan
    /// that is returned is one that `down` will start on, unless another
    /// process changes the database meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{DownSource, Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]),
    ///     Migration::new(2, "Create tags table", ["CREATE TABLE tags (name TEXT)"])
    ///         .with_down(["DROP TABLE tags"]),
    ///     Migration::new(3, "Index tags", ["CREATE INDEX idx_tags ON tags(name)"])
    ///         .with_down(["DROP INDEX idx_tags"]),
    /// ];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    ///
    /// let plan = migrator.down_plan(&conn, 1)?;
    /// let steps: Vec<(u32, &str)> =
    ///     plan.steps.iter().map(|s| (s.version, s.sql[0].as_str())).collect();
    /// assert_eq!(steps, [(3, "DROP INDEX idx_tags"), (2, "DROP TABLE tags")]);
    /// assert!(plan.steps.iter().all(|s| s.source == DownSource::Build));
    ///
    /// // Nothing ran.
    /// assert_eq!(migrator.current_version(&conn)?, 3);
    /// // What down would refuse, the plan refuses.
    /// assert!(matches!(migrator.down_plan(&conn, 0), Err(Error::Irreversible { .. })));
    /// // At the version asked for already: nothing to do.
    /// assert!(migrator.down_plan(&conn, 3)?.steps.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn down_plan(&self, conn: &Connection, to: u32) -> Result<DownPlan, Error> {
        let (from, steps) = self.read_consistently(conn, |c| self.plan_in(c, to))?;
        Ok(DownPlan {
            from: i64::from(from),
            to,
            steps: steps.iter().map(Planned::public).collect(),
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
                    let started = Instant::now();
                    tx.execute_batch("SAVEPOINT trial_down")?;
                    let result = run_checked(&tx, m, scope).and_then(|written| {
                        tracking::forget(&tx, m.version()).map_err(|e| self.not_committed(m, e))?;
                        Ok(written)
                    });
                    let took = started.elapsed();
                    match result {
                        Ok(written) => {
                            let (after, data) =
                                census.after(&tx, &written).map_err(|e| self.classify(e))?;
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

    /// Rolls back the latest applied version and applies it again (`migrate
    /// redo`): for developing a migration and its down together, to see
    /// that the down undoes the up and the up runs again after it. Only
    /// that version is applied again, not what is pending after it. Refuses
    /// with [`Error::Irreversible`], changing nothing, when it has no down
    /// in this build, and with [`Error::Inconsistent`] when the database is
    /// at a version this build does not have (it could not apply it
    /// again). The [`before_changes`](Self::before_changes) hook runs once,
    /// before the down. If the up fails, the down stays committed: the
    /// database is at the version before, and the error says why.
    ///
    /// At version 0 there is nothing to redo: both reports are empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Error, Migration, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [
    ///     Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"]),
    ///     Migration::new(2, "Add email", ["ALTER TABLE users ADD COLUMN email TEXT"])
    ///         .with_down(["ALTER TABLE users DROP COLUMN email"]),
    /// ];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    ///
    /// let (down, up) = migrator.redo(&mut conn)?;
    /// assert_eq!((down.reverted[0].0, down.version), (2, 1));
    /// assert_eq!((up.applied[0].0, up.version), (2, 2));
    ///
    /// // Version 1 has no down.
    /// migrator.down(&mut conn, 1)?;
    /// let err = migrator.redo(&mut conn).unwrap_err();
    /// assert!(matches!(err, Error::Irreversible { target: 0, .. }));
    /// assert_eq!(migrator.current_version(&conn)?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn redo(&self, conn: &mut Connection) -> Result<(DownReport, ApplyReport), Error> {
        self.redo_with(conn, |_| {}, |_| {})
    }

    /// [`Self::redo`], telling `down_progress` as the down starts and
    /// finishes and `up_progress` as the up does.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{Migration, Migrator, Progress};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = [Migration::new(1, "Create users table", ["CREATE TABLE users (id TEXT)"])
    ///     .with_down(["DROP TABLE users"])];
    /// let migrator = Migrator::new(&list);
    /// let mut conn = Connection::open_in_memory()?;
    /// migrator.apply(&mut conn)?;
    /// let mut seen = Vec::new();
    /// let mut down_seen = Vec::new();
    /// migrator.redo_with(
    ///     &mut conn,
    ///     |p| if let Progress::Started(m) = p { down_seen.push(m.version()) },
    ///     |p| if let Progress::Started(m) = p { seen.push(m.version()) },
    /// )?;
    /// assert_eq!((down_seen, seen), (vec![1], vec![1]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn redo_with(
        &self,
        conn: &mut Connection,
        down_progress: impl FnMut(Progress<'_>),
        up_progress: impl FnMut(Progress<'_>),
    ) -> Result<(DownReport, ApplyReport), Error> {
        if !conn.is_autocommit() {
            return Err(Error::InTransaction);
        }
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| self.classify(e))?;
        let state = self
            .read_consistently(conn, |c| self.locked_state(c))
            .map_err(|e| interrupted(e, None))?;
        let Some(m) = u32::try_from(state.version)
            .ok()
            .filter(|&v| v > 0)
            .and_then(|v| self.get(v))
        else {
            return Ok((
                DownReport {
                    version: state.version,
                    ..DownReport::default()
                },
                ApplyReport {
                    version: state.version,
                    ..ApplyReport::default()
                },
            ));
        };
        let latest = m.version();
        if !m.is_reversible() {
            return Err(Error::Irreversible {
                target: latest - 1,
                versions: vec![(latest, m.description().to_owned())],
            });
        }
        let down = self.down_with(conn, latest - 1, down_progress)?;
        // One backup for the redo: the hook ran before the down.
        let mut up = self.clone().target(Some(latest));
        up.before_changes = None;
        let applied = up.apply_with(conn, up_progress)?;
        Ok((down, applied))
    }

    /// This build's latest version, 0 without migrations.
    fn latest(&self) -> u32 {
        self.migrations.last().map_or(0, Migration::version)
    }

    /// Where the database stands for a down: its version, and whether that
    /// is above this build's latest (migrated by a newer build). Refuses a
    /// record `apply` would refuse, except for versions above this build's
    /// latest when the rows are 1..=version without a gap and those this
    /// build has agree with it (checksums and chain).
    fn down_position(&self, conn: &Connection) -> Result<(u32, bool), Error> {
        let problems = match self.locked_state(conn) {
            // locked_state accepts only versions this build has.
            Ok(state) => return Ok((u32::try_from(state.version).unwrap_or(0), false)),
            Err(Error::Inconsistent { problems })
                if problems
                    .iter()
                    .any(|p| matches!(p, Problem::UnknownVersion { .. })) =>
            {
                problems
            }
            Err(e) => return Err(e),
        };
        let latest = self.latest();
        let rows = tracking::read(conn).map_err(|e| self.reclassify(e))?;
        let contiguous = rows
            .iter()
            .zip(1..)
            .all(|(row, expected): (_, i64)| row.version == expected);
        let version = rows.last().map_or(0, |r| r.version);
        let Some(version) = u32::try_from(version)
            .ok()
            .filter(|&v| contiguous && v > latest)
        else {
            return Err(Error::Inconsistent { problems });
        };
        let known: Vec<_> = rows
            .into_iter()
            .filter(|r| r.version <= i64::from(latest))
            .collect();
        // The chain of the newest row this build has covers the checksums
        // of every version before it as they were when it was written.
        let chain_differs = known.last().is_some_and(|row| {
            row.chain
                .as_deref()
                .is_some_and(|c| !tracking::is_hex_of(c, &self.chain_at(latest)))
        });
        let mut problems = self.assess(known).problems;
        if problems.is_empty()
            && chain_differs
            && let Some(m) = self.get(latest)
        {
            problems.push(Problem::Modified {
                version: latest,
                description: m.description().to_owned(),
            });
        }
        if problems.is_empty() {
            Ok((version, true))
        } else {
            Err(Error::Inconsistent { problems })
        }
    }

    /// The database's version and every step down to `to` would run, or
    /// the refusal, checking every stored down on the way before anything
    /// runs.
    fn plan_in(&self, conn: &Connection, to: u32) -> Result<(u32, Vec<Planned>), Error> {
        let (version, ahead) = self.down_position(conn)?;
        if version <= to {
            return Ok((version, Vec::new()));
        }
        let latest = self.latest();
        let mut steps = Vec::new();
        if ahead {
            let stored =
                tracking::stored_downs(conn, i64::from(latest.max(to)), i64::from(version))
                    .map_err(|e| self.reclassify(e))?;
            let mut missing = Vec::new();
            for row in stored {
                let (v, description) = (row.version, row.description.clone());
                match stored_step(row)? {
                    Some(step) => steps.push(step),
                    None => missing.push((u32::try_from(v).unwrap_or(0), description)),
                }
            }
            if !missing.is_empty() {
                return Err(Error::StoredDownMissing {
                    target: to,
                    latest,
                    versions: missing,
                });
            }
        }
        let version_here = i64::from(version.min(latest));
        self.check_reversible(version_here, to)?;
        for m in self.migrations.iter().rev() {
            if m.version() > to
                && i64::from(m.version()) <= version_here
                && let Some(run) = m.down_step()
            {
                steps.push(Planned {
                    run,
                    source: DownSource::Build,
                });
            }
        }
        Ok((version, steps))
    }

    /// The database's version and the step that rolls it back one version,
    /// unless it is at `to` or below; read under the write lock before each
    /// step, since another process may have rolled back (or applied)
    /// meanwhile.
    fn next_in(&self, conn: &Connection, to: u32) -> Result<(u32, Option<Planned>), Error> {
        let (version, ahead) = self.down_position(conn)?;
        if version <= to {
            return Ok((version, None));
        }
        if ahead {
            let stored = tracking::stored_downs(conn, i64::from(version) - 1, i64::from(version))
                .map_err(|e| self.reclassify(e))?;
            let latest = self.latest();
            let Some(row) = stored.into_iter().next() else {
                return Err(Error::StoredDownMissing {
                    target: to,
                    latest,
                    versions: vec![(version, None)],
                });
            };
            let description = row.description.clone();
            return match stored_step(row)? {
                Some(step) => Ok((version, Some(step))),
                None => Err(Error::StoredDownMissing {
                    target: to,
                    latest,
                    versions: vec![(version, description)],
                }),
            };
        }
        let Some(m) = self.get(version) else {
            // down_position accepts only versions this build has here.
            return Ok((version, None));
        };
        match m.down_step() {
            Some(run) => Ok((
                version,
                Some(Planned {
                    run,
                    source: DownSource::Build,
                }),
            )),
            // Another process applied a version above the plan's.
            None => Err(Error::Irreversible {
                target: to,
                versions: vec![(m.version(), m.description().to_owned())],
            }),
        }
    }

    /// Refuses, naming them, when a version of this build in
    /// `to + 1..=version` has no down.
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

/// The step a stored down runs, once checked against the checksum
/// stored with it; `None` when the row stores no down.
fn stored_step(row: StoredDown) -> Result<Option<Planned>, Error> {
    let version = u32::try_from(row.version).unwrap_or(0);
    let modified = |detail: &str| Error::StoredDownModified {
        version,
        description: row.description.clone(),
        detail: detail.to_owned(),
    };
    let (sql, checksum) = match (&row.sql, &row.checksum) {
        (None, None) => return Ok(None),
        (Some(sql), Some(checksum)) => (sql, checksum),
        (Some(_), None) => return Err(modified("has no checksum stored with it")),
        (None, Some(_)) => return Err(modified("is missing though its checksum is stored")),
    };
    let Some(items) = tracking::decode_items(sql) else {
        return Err(modified("is not a JSON array of SQL items"));
    };
    let sum = crate::checksum::checksum(items.iter().map(String::as_str));
    if !tracking::is_hex_of(checksum, &sum) {
        return Err(modified("does not match the checksum stored with it"));
    }
    Ok(Some(Planned {
        run: Migration::new(version, row.description.unwrap_or_default(), items),
        source: DownSource::Database,
    }))
}
