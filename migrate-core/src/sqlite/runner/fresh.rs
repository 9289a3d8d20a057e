//! The fresh path: an empty database is created at the latest version (or
//! the target) in one transaction from what the build proved, instead of
//! running every migration one by one.
//!
//! `embed_migrations!` already runs every migration on an empty database;
//! its proof also records what a database at each version holds (the
//! `FreshImage` of `list::fresh`: schema objects as SQLite stores them, the
//! rows migrations wrote, `sqlite_sequence`, `sqlite_stat1`, the settings)
//! and which versions that record cannot stand for (time or randomness,
//! functions the application registers, extensions, settings it cannot
//! reproduce, virtual tables). On an empty database (no schema object, no
//! tracking table) `apply` then, under the write lock and in one
//! transaction: sets `auto_vacuum` (it must precede the first table),
//! creates `schema_migrations` (first, as the one-by-one path does), the
//! tables, their rows, then the indexes, views and triggers (after the
//! rows, so that no trigger fires), writes `sqlite_sequence` and
//! `sqlite_stat1`, the `schema_migrations` rows exactly as the one-by-one
//! path writes them (the time of the whole transaction shared between
//! them), `user_version` and `application_id`, and commits; the journal
//! mode a migration asked for is set after the commit, as SQLite requires.
//!
//! A history that is not reproducible to the end is created fresh up to
//! the version before the first one that is not, and the rest runs one by
//! one. Emptiness is checked again once the lock is held: a process that
//! finds the database created by another carries on one by one, which
//! finds nothing pending. Anything that fails while building rolls the
//! transaction back and the migrations run one by one, so the fresh path
//! can only make `apply` faster, never make it fail.

use std::fmt;
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};

use super::Migrator;
use super::apply::{ApplyReport, Progress};
use crate::list::fresh::{FreshImage, FreshTarget};
use crate::{Error, tracking};

/// Which way `apply` went, and why, in [`ApplyReport::path`].
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{ApplyPath, Migrations};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let migrations = Migrations::from_toml(r#"
///     [[migration]]
///     version = 1
///     description = "Create users table"
///     sql = "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)"
///
///     [[migration]]
///     version = 2
///     description = "Create sessions with a random token"
///     sql = ["CREATE TABLE sessions (token BLOB)", "INSERT INTO sessions VALUES (randomblob(16))"]
/// "#, "migrations.toml")?;
///
/// let mut conn = Connection::open_in_memory()?;
/// let report = migrations.migrator().target(Some(1)).apply(&mut conn)?;
/// assert_eq!(report.path, ApplyPath::Fresh { version: 1, then: None });
/// assert_eq!(report.path.to_string(), "fresh path: created version 1 in one transaction");
///
/// let mut conn = Connection::open_in_memory()?;
/// let report = migrations.apply(&mut conn)?;
/// assert_eq!(report.version, 2);
/// assert_eq!(
///     report.path.to_string(),
///     "fresh path: created version 1 in one transaction, then one by one: version 2 calls randomblob()",
/// );
///
/// let mut conn = Connection::open_in_memory()?;
/// let report = migrations.migrator().one_by_one(true).apply(&mut conn)?;
/// assert_eq!(report.path.to_string(), "one by one: asked for");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ApplyPath {
    /// One migration at a time (or all in one transaction, with
    /// `single_transaction`), on a database that was not empty, or with
    /// nothing to do.
    #[default]
    OneByOne,
    /// The database was empty: it was created at `version` from what the
    /// build proved, in one transaction; `then` says why the versions after
    /// it (up to the target) ran one by one, if any did.
    Fresh {
        /// The version created.
        version: u32,
        /// Why the rest ran one by one.
        then: Option<String>,
    },
    /// The database was empty, and the migrations ran one by one anyway,
    /// for this reason.
    Declined {
        /// e.g. "version 7 calls random()".
        why: String,
    },
}

impl fmt::Display for ApplyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyPath::OneByOne => f.write_str("one by one"),
            ApplyPath::Fresh {
                version,
                then: None,
            } => write!(
                f,
                "fresh path: created version {version} in one transaction"
            ),
            ApplyPath::Fresh {
                version,
                then: Some(why),
            } => write!(
                f,
                "fresh path: created version {version} in one transaction, then one by one: {why}"
            ),
            ApplyPath::Declined { why } => write!(f, "one by one: {why}"),
        }
    }
}

/// What the fresh path can do for an apply from version 0.
enum Plan<'i> {
    /// Create `version` from `image`; `then` says why the rest, if any,
    /// runs one by one.
    Go {
        image: &'i FreshImage,
        version: u32,
        then: Option<String>,
    },
    /// Run everything one by one, for this reason.
    Decline(String),
}

/// What the fresh transaction found or did.
enum Outcome {
    Created(ApplyReport),
    /// Another connection created the database first.
    NotEmpty,
    /// Building failed and was rolled back: one by one instead.
    Failed(String),
}

impl<'m> Migrator<'m> {
    /// Forces `apply` to run every migration one at a time even on an
    /// empty database (`apply --one-by-one`), instead of creating it from
    /// what the build proved (see [`ApplyPath`]). Off by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::{ApplyPath, Migrations};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let migrations = Migrations::from_toml(
    ///     "[[migration]]\nversion = 1\ndescription = \"Create t\"\nsql = \"CREATE TABLE t (x)\"",
    ///     "migrations.toml",
    /// )?;
    /// let mut conn = Connection::open_in_memory()?;
    /// let report = migrations.migrator().one_by_one(true).apply(&mut conn)?;
    /// assert_eq!(report.path, ApplyPath::Declined { why: "asked for".to_owned() });
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn one_by_one(mut self, yes: bool) -> Self {
        self.one_by_one = yes;
        self
    }

    /// The image the fresh path builds from (set by
    /// [`crate::Migrations::migrator`]).
    pub(crate) fn with_image(mut self, image: Option<&'m FreshImage>) -> Self {
        self.image = image;
        self
    }

    /// Runs `one_by_one` (the usual path), after creating the database
    /// from the image first when it is at version 0 and the image allows,
    /// and says in the report which path ran.
    pub(super) fn with_fresh_path<P: FnMut(Progress<'_>)>(
        &self,
        conn: &mut Connection,
        version: i64,
        progress: &mut P,
        one_by_one: impl FnOnce(&mut Connection, &mut P) -> Result<ApplyReport, Error>,
    ) -> Result<ApplyReport, Error> {
        if version != 0 {
            return one_by_one(conn, progress);
        }
        let (path, created) = match self.plan() {
            Plan::Decline(why) => (ApplyPath::Declined { why }, None),
            Plan::Go {
                image,
                version,
                then,
            } => match self.create(conn, image, version, progress)? {
                Outcome::Created(report) => {
                    let path = ApplyPath::Fresh { version, then };
                    (path, Some(report))
                }
                Outcome::NotEmpty => (ApplyPath::OneByOne, None),
                Outcome::Failed(why) => (ApplyPath::Declined { why }, None),
            },
        };
        if path != ApplyPath::OneByOne {
            tracing::info!("{path}");
        }
        let mut report = match created {
            Some(created) if matches!(path, ApplyPath::Fresh { then: None, .. }) => created,
            Some(created) => {
                let rest = one_by_one(conn, progress)?;
                ApplyReport {
                    applied: created.applied.into_iter().chain(rest.applied).collect(),
                    version: rest.version.max(created.version),
                    ..rest
                }
            }
            None => one_by_one(conn, progress)?,
        };
        report.path = path;
        Ok(report)
    }

    /// Whether, and up to which version, an empty database can be created
    /// from the image.
    fn plan(&self) -> Plan<'m> {
        if self.one_by_one {
            return Plan::Decline("asked for".to_owned());
        }
        let Some(image) = self.image else {
            return Plan::Decline("no record of the build's proof for this list".to_owned());
        };
        let latest = self.migrations.last().map_or(0, |m| m.version());
        let target = self.target.map_or(latest, |t| t.min(latest));
        if target == 0 {
            return Plan::Decline("nothing to apply".to_owned());
        }
        if image.steps.len() != self.migrations.len() {
            return Plan::Decline("the build's record does not match the list".to_owned());
        }
        match image.blocker(target) {
            None => Plan::Go {
                image,
                version: target,
                then: None,
            },
            Some((1, why)) => Plan::Decline(why.to_owned()),
            // All or nothing is one transaction: no fresh start before it.
            Some((_, why)) if self.single_transaction => Plan::Decline(why.to_owned()),
            Some((blocked, why)) => Plan::Go {
                image,
                version: blocked - 1,
                then: Some(why.to_owned()),
            },
        }
    }

    /// The fresh transaction: takes the write lock, checks again that the
    /// database is empty, builds version `version` and records it.
    fn create(
        &self,
        conn: &mut Connection,
        image: &FreshImage,
        version: u32,
        progress: &mut impl FnMut(Progress<'_>),
    ) -> Result<Outcome, Error> {
        let Some(target) = image.at(version) else {
            return Ok(Outcome::Failed(
                "the build's record does not reach the target".to_owned(),
            ));
        };
        let started = Instant::now();
        // An empty database takes the journal mode at once and keeps it
        // (still without a schema object, so still empty): set before the
        // transaction, a crash between its commit and setting the mode
        // afterwards cannot leave the complete database in another mode,
        // which no later apply would notice. Another process holding the
        // database makes this fail; the mode is then set after the commit.
        if is_empty(conn).unwrap_or(false) {
            let _ = after_commit(conn, &target);
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| super::execute::interrupted(self.classify(e), None))?;
        let objects: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| super::execute::interrupted(self.classify(e), None))?;
        if objects != 0 {
            return Ok(Outcome::NotEmpty);
        }
        let versions: Vec<&crate::Migration> = self
            .migrations
            .iter()
            .take_while(|m| m.version() <= version)
            .collect();
        if let Err(e) = build(&tx, &target) {
            drop(tx);
            let why = format!("the fresh path failed ({e}), so nothing of it was kept");
            tracing::warn!("{why}");
            return Ok(Outcome::Failed(why));
        }
        let count = u32::try_from(versions.len()).unwrap_or(u32::MAX).max(1);
        let share = started.elapsed() / count;
        for m in &versions {
            self.record(&tx, m, share)?;
        }
        for (name, value) in &target.settings {
            if name == "user_version" || name == "application_id" {
                let value: i64 = value.parse().unwrap_or(0);
                tx.pragma_update(None, name, value)
                    .map_err(|e| self.classify(e))?;
            }
        }
        // A backup, if any, is taken under the lock before the first
        // change is committed.
        self.before_first(0)?;
        let last = versions.last().copied();
        if let Err(e) = tx.commit() {
            return Err(match last {
                Some(m) => self.not_committed(m, Error::Sqlite(e)),
                None => self.classify(e),
            });
        }
        after_commit(conn, &target).map_err(|e| self.classify(e))?;
        let took = started.elapsed();
        let share = took / count;
        let mut report = ApplyReport {
            version: i64::from(version),
            ..ApplyReport::default()
        };
        for m in versions {
            progress(Progress::Started(m));
            progress(Progress::Finished(m, share));
            report.applied.push((m.version(), share));
        }
        Ok(Outcome::Created(report))
    }
}

/// Builds `target` on an empty database, inside the caller's transaction:
/// everything but the tracking rows and the settings set with them.
fn build(conn: &Connection, target: &FreshTarget) -> Result<(), Error> {
    for (name, value) in &target.settings {
        if name == "auto_vacuum" {
            conn.execute_batch(&format!("PRAGMA auto_vacuum = {}", number(value)))?;
        }
    }
    tracking::ensure(conn)?;
    let of_kind = |kind: &'static str| target.objects.iter().filter(move |o| o.kind == kind);
    for table in of_kind("table") {
        conn.execute_batch(&table.sql)?;
    }
    let special = |t: &&crate::list::fresh::TableRows| t.table.starts_with("sqlite_");
    for rows in target.rows.iter().filter(|t| !special(t)) {
        for insert in &rows.inserts {
            conn.execute_batch(insert)?;
        }
    }
    for kind in ["index", "view", "trigger"] {
        for object in of_kind(kind) {
            conn.execute_batch(&object.sql)?;
        }
    }
    for rows in target.rows.iter().filter(special) {
        if rows.table.starts_with("sqlite_stat") && !crate::compat::table_exists(conn, &rows.table)?
        {
            // ANALYZE of the schema table creates the statistics tables
            // (sqlite_stat4 only where SQLite was built with it; elsewhere
            // the insert fails and the migrations run one by one) and
            // writes nothing else that stays: their rows are replaced.
            conn.execute_batch("ANALYZE sqlite_master")?;
        }
        conn.execute_batch(&format!("DELETE FROM {}", rows.table))?;
        for insert in &rows.inserts {
            conn.execute_batch(insert)?;
        }
    }
    Ok(())
}

/// The settings SQLite only takes outside a transaction: the journal mode.
pub(super) fn after_commit(conn: &Connection, target: &FreshTarget) -> rusqlite::Result<()> {
    for (name, value) in &target.settings {
        if name == "journal_mode" && value.chars().all(|c| c.is_ascii_alphabetic()) {
            let _mode: String =
                conn.query_row(&format!("PRAGMA journal_mode = {value}"), [], |r| r.get(0))?;
        }
    }
    Ok(())
}

/// Whether the database holds no schema object.
fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT count(*) = 0 FROM sqlite_master", [], |r| r.get(0))
}

/// A recorded numeric setting, as an integer (0 if unreadable).
fn number(value: &str) -> i64 {
    value.parse().unwrap_or(0)
}
