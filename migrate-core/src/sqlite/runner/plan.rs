//! What a down to a version will run: the version the database is at (a
//! newer build's included), the steps newest first, each from this build
//! or from the downs stored in the database, checked before anything runs.

use rusqlite::Connection;

use super::Migrator;
use crate::tracking::{self, StoredDown};
use crate::{Error, Migration, Problem};

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
pub(super) struct Planned {
    pub(super) run: Migration,
    pub(super) source: DownSource,
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

/// The step a stored down runs, once checked against the checksum
/// stored with it; `None` when the row stores no down.
pub(super) fn stored_step(row: StoredDown) -> Result<Option<Planned>, Error> {
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

impl<'m> Migrator<'m> {
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

    /// This build's latest version, 0 without migrations.
    pub(super) fn latest(&self) -> u32 {
        self.migrations.last().map_or(0, Migration::version)
    }

    /// Where the database stands for a down: its version, and whether that
    /// is above this build's latest (migrated by a newer build). Refuses a
    /// record `apply` would refuse, except for versions above this build's
    /// latest when the rows are 1..=version without a gap and those this
    /// build has agree with it (checksums and chain).
    pub(super) fn down_position(&self, conn: &Connection) -> Result<(u32, bool), Error> {
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
    pub(super) fn plan_in(&self, conn: &Connection, to: u32) -> Result<(u32, Vec<Planned>), Error> {
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
    pub(super) fn next_in(
        &self,
        conn: &Connection,
        to: u32,
    ) -> Result<(u32, Option<Planned>), Error> {
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
}
