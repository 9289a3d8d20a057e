//! The round trip of a down, part of the build-time proof: for a migration
//! k with a down, on the proof's database at version k-1, apply k, run its
//! down through the runner (`Migrator::down`, as `migrate down` runs it),
//! require version k-1's schema and rows again, then apply k again and
//! require version k's schema.
//!
//! A down that only runs is not enough: one that forgets a table or a
//! column, or deletes rows an earlier migration seeded, leaves a database
//! whose schema no longer matches its version, which every later `apply`
//! and `check` then trips on, in production. Comparing after the down
//! catches it while the program compiles.
//!
//! The schema is compared by fingerprint, as `check` does for drift, and
//! only on a mismatch is version k-1 rebuilt to name the differences with
//! the drift comparison itself. The rows are compared with the copy
//! [`Rows`] keeps, which only reads again what each step wrote; so the
//! round trip costs one down, one more up, and the reading of the tables
//! they touch.

use rusqlite::Connection;

use super::rows::{Before, RowDifference, Rows};
use super::verify::{Failure, Side, at_statement};
use crate::Error;
use crate::fkscope::{Writes, take_writes};
use crate::manifest::{Diagnostic, Location, Manifest};
use crate::schema::{Fingerprint, Fingerprinter, Schema};
use crate::sql::one_line;
use crate::{Change, Difference, Function, Migration, Migrator};

/// Most differences named in one message; the rest are counted.
const SHOWN: usize = 5;

/// Longest row quoted as an example.
const ROW_LEN: usize = 80;

/// What the round trip needs that is not in the database: read at version
/// k-1, before k is applied.
#[derive(Debug)]
pub(super) struct Start {
    /// `sqlite_sequence`, SQLite's counters of AUTOINCREMENT keys, if it
    /// exists: see [`Start::restore_sequence`].
    sequence: Option<Vec<(String, i64)>>,
}

impl Start {
    /// Reads what version k-1 has.
    pub fn read(conn: &Connection) -> rusqlite::Result<Start> {
        let sequence = match conn.prepare("SELECT name, seq FROM sqlite_sequence") {
            Ok(mut stmt) => Some(
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?,
            ),
            Err(e) if crate::error::sqlite_message(&e).starts_with("no such table") => None,
            Err(e) => return Err(e),
        };
        Ok(Start { sequence })
    }

    /// Puts SQLite's AUTOINCREMENT counters back as version k-1 had them.
    /// A down that deletes the rows an up inserted cannot lower them (and
    /// should not try: they are SQLite's bookkeeping, not the schema or the
    /// application's rows); left raised, applying k again would give its
    /// rows other keys than applying it once does, and the proof would go
    /// on from a database production never has.
    pub(super) fn restore_sequence(&self, conn: &Connection) -> rusqlite::Result<()> {
        let exists = conn.prepare("SELECT 1 FROM sqlite_sequence").is_ok();
        if !exists {
            return Ok(());
        }
        conn.execute("DELETE FROM sqlite_sequence", [])?;
        let mut insert = conn.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)")?;
        for (name, seq) in self.sequence.iter().flatten() {
            insert.execute((name, seq))?;
        }
        Ok(())
    }
}

/// How the database after a down, or after applying the migration again,
/// is not what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// After the down, the schema is not the previous version's: how it
    /// differs, as `check` says of drift (expected: the previous version).
    Schema(Vec<Difference>),
    /// After the down, tables hold other rows than at the previous version.
    Rows(Vec<RowDifference>),
    /// Applied again after its down, the migration gives another schema
    /// than its own (expected: the migration's version).
    SchemaAgain(Vec<Difference>),
}

/// The proof's state a round trip works on.
pub(super) struct Trip<'a> {
    /// The proof's database, at version k.
    pub conn: &'a mut Connection,
    /// The migrations up to k, k last.
    pub migrations: &'a [Migration],
    /// The declared functions, for rebuilding a version to compare with.
    pub functions: &'a [Function],
    /// The proof's fingerprinter.
    pub fingerprinter: &'a mut Fingerprinter,
    /// The fingerprint after each version up to k.
    pub fingerprints: &'a [Fingerprint],
    /// The rows of every table, as of version k.
    pub rows: &'a mut Rows,
    /// Where the runner notes the tables the down and the second up write.
    pub writes: &'a Writes,
}

impl Trip<'_> {
    /// Runs the down of the last migration, checks what it left, applies
    /// the migration again and checks that; `start` and `before` (what
    /// applying k changed) are what version k-1 had.
    pub fn run(self, start: &Start, mut before: Before) -> Result<(), Failure> {
        let reading = |e: rusqlite::Error| Failure::Down(Error::Sqlite(e));
        let Some((m, earlier)) = self.migrations.split_last() else {
            return Ok(());
        };
        let migrator = Migrator::new(self.migrations).noting_writes(Writes::clone(self.writes));
        migrator
            .down(self.conn, m.version().saturating_sub(1))
            .map_err(Failure::Down)?;
        let changed = self
            .rows
            .sync(self.conn, take_writes(self.writes))
            .map_err(reading)?;
        for (table, old) in changed {
            // What k-1 had is what applying k found, else what k left.
            before.entry(table).or_insert(old);
        }
        start.restore_sequence(self.conn).map_err(reading)?;

        let previous = match earlier.len() {
            0 => Schema::default().fingerprint(),
            n => self.fingerprints[n - 1],
        };
        if self.fingerprinter.fingerprint(self.conn).map_err(reading)? != previous {
            return Err(Failure::NotReversed(Mismatch::Schema(differences(
                self.conn,
                earlier,
                self.functions,
            )?)));
        }
        let rows = row_differences(self.rows, &before);
        if !rows.is_empty() {
            return Err(Failure::NotReversed(Mismatch::Rows(rows)));
        }

        migrator.apply(self.conn).map_err(Failure::UpAgain)?;
        self.rows
            .sync(self.conn, take_writes(self.writes))
            .map_err(reading)?;
        let again = self.fingerprinter.fingerprint(self.conn).map_err(reading)?;
        if self.fingerprints.last() != Some(&again) {
            return Err(Failure::NotReversed(Mismatch::SchemaAgain(differences(
                self.conn,
                self.migrations,
                self.functions,
            )?)));
        }
        Ok(())
    }
}

/// How the schema of `conn` differs from the one `migrations` make: the
/// drift check's comparison, with the version rebuilt apart.
fn differences(
    conn: &Connection,
    migrations: &[Migration],
    functions: &[Function],
) -> Result<Vec<Difference>, Failure> {
    let live = Schema::read(conn).map_err(|e| Failure::Down(Error::Sqlite(e)))?;
    crate::drift::differences_from(migrations, functions, conn, &live).map_err(Failure::Down)
}

/// The tables whose rows now differ from what they held before (`before`
/// names every table the round trip changed; the others cannot differ).
/// A table that exists on one side only is a difference of the schema,
/// told as such.
fn row_differences(rows: &Rows, before: &Before) -> Vec<RowDifference> {
    before
        .iter()
        .filter_map(|(key, old)| {
            let (old, now) = (old.as_ref()?, rows.get(key)?);
            super::rows::compare(rows.name(key), old, now)
        })
        .collect()
}

/// The diagnostic for a down that ran but did not take the database back,
/// or after which applying the migration again gave another schema: at the
/// migration's `down` (or in its `down_file`), saying what differs.
pub(super) fn diagnose(
    manifest: &Manifest,
    text: &str,
    version: u32,
    mismatch: &Mismatch,
) -> Diagnostic {
    let description = manifest
        .migrations
        .get(version)
        .map(|m| format!(" ({:?})", m.description()))
        .unwrap_or_default();
    let down = format!("down of version {version}{description}");
    let previous = previous(version);
    let message = match mismatch {
        Mismatch::Schema(differences) => {
            let clauses: Vec<String> = differences
                .iter()
                .map(|d| schema_clause(d, &previous))
                .collect();
            if clauses.is_empty() {
                format!("the schema after the {down} differs from {previous}'s")
            } else {
                format!(
                    "{down} {}",
                    join(&clauses, &format!("differences from {previous}'s schema"))
                )
            }
        }
        Mismatch::Rows(tables) => {
            let clauses: Vec<String> = tables.iter().map(|t| rows_clause(t, &previous)).collect();
            format!(
                "{down} {}",
                join(
                    &clauses,
                    &format!("tables whose rows differ from {previous}'s")
                )
            )
        }
        Mismatch::SchemaAgain(differences) => {
            let this = format!("version {version}");
            let clauses: Vec<String> = differences
                .iter()
                .map(|d| schema_clause(d, &this))
                .collect();
            format!(
                "applying version {version}{description} again after its down does not give \
                 {this}'s schema: it {}; the down must leave exactly what {previous} had, \
                 for the migration to apply as it did",
                join(&clauses, &format!("differences from {this}'s schema"))
            )
        }
    };
    let (file, location, span) = at_statement(manifest, text, Side::Down, version, 0, 0)
        .unwrap_or_else(|| {
            let entry = usize::try_from(version)
                .ok()
                .and_then(|v| manifest.locations.get(v.checked_sub(1)?))
                .copied()
                .unwrap_or(Location { line: 1, column: 1 });
            (None, entry, 0..0)
        });
    Diagnostic {
        span,
        location,
        message,
        file,
    }
}

/// "version 11", or what there is before version 1.
fn previous(version: u32) -> String {
    match version.saturating_sub(1) {
        0 => "the empty database before version 1".to_owned(),
        n => format!("version {n}"),
    }
}

/// The first [`SHOWN`] clauses, each after the first led by "it", and how
/// many `more` there are beyond them.
fn join(clauses: &[String], more: &str) -> String {
    let mut out = clauses
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; it ");
    if clauses.len() > SHOWN {
        out.push_str(&format!("; and {} more {more}", clauses.len() - SHOWN));
    }
    out
}

/// One schema difference, said of what the down left compared with `of`
/// (the version it should have given): the drift check's findings, from
/// the other side.
fn schema_clause(d: &Difference, of: &str) -> String {
    let Difference { kind, name, change } = d;
    match change {
        Change::Added => format!("leaves {kind} `{name}`, which {of} does not have"),
        Change::Missing => format!("does not restore {kind} `{name}` of {of}"),
        Change::Changed { expected, found } => {
            format!("leaves {kind} `{name}` as `{found}`, where {of} has `{expected}`")
        }
    }
}

/// One table's rows, said of what the down left compared with `of`.
fn rows_clause(t: &RowDifference, of: &str) -> String {
    let table = &t.table;
    let example = |row: &Option<String>| {
        row.as_deref()
            .map(|r| format!(", e.g. {}", one_line(r, ROW_LEN)))
            .unwrap_or_default()
    };
    let missing = match t.missing.0 {
        0 => None,
        _ if t.expected == 1 => Some(format!(
            "does not bring back the row of `{table}`{}",
            example(&t.missing.1)
        )),
        n if n == t.expected => Some(format!(
            "does not bring back any of the {n} rows of `{table}`{}",
            example(&t.missing.1)
        )),
        n => Some(format!(
            "does not bring back {n} of the {} rows of `{table}`{}",
            t.expected,
            example(&t.missing.1)
        )),
    };
    let extra = match t.extra.0 {
        0 => None,
        n => Some(format!(
            "leaves {n} row{} in `{table}` that {of} does not have{}",
            if n == 1 { "" } else { "s" },
            example(&t.extra.1)
        )),
    };
    match (missing, extra) {
        (Some(m), Some(e)) => format!("{m}, and {e}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => format!("changes the rows of `{table}`"),
    }
}
