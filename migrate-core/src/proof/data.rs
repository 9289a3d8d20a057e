//! The data proof: the migrations keep the data, unless they say they lose
//! it.
//!
//! After the empty-database proof ([`super::verify`]) succeeded, the list
//! is applied again, migration by migration and through the same runner, to
//! a second in-memory database where, before each migration, every table
//! that holds no row is filled with generated rows ([`super::generate`],
//! deterministic: the seed is the version's). Each migration's effect is
//! compared, table by table, with the copy of the rows from before it
//! ([`super::tables`], [`crate::compare`]): rows lost, columns lost, values
//! changed in the columns that remain. A loss fails the build at the
//! migration, unless it is
//!
//! - declared: `loses = ["users.legacy_score", "sessions"]` (a `table`
//!   entry lets rows of the table go, or the table; a `table.column` entry
//!   lets the column's values change, or the column go);
//! - done on purpose by the migration's own statements, as SQLite's
//!   authorizer reports them while they are prepared: the columns an
//!   `UPDATE … SET` (or an upsert's `DO UPDATE SET`) assigns may change,
//!   the rows of a table a `DELETE FROM` deletes from may go. The triggers
//!   those statements fire count as theirs: a trigger does what the schema
//!   says on purpose.
//!
//! A declared loss that does not happen is an error too, at its entry: a
//! stale declaration tells reviewers of a loss there is not.
//!
//! **Renames.** A table is followed through the renames of the migration
//! (`ALTER TABLE x RENAME TO y`, read from the statement SQLite prepared,
//! whose authorizer reports only the table it alters): after the rebuild
//! pattern (create `users_new`, copy, drop `users`, rename), old `users` is
//! compared with new `users`; and a rename to a table that is dropped again
//! (`ALTER TABLE users RENAME TO users_old`, create, copy, drop) leaves the
//! table of the old name to compare with. Columns are followed through
//! `RENAME COLUMN`, and through a copy that renames them (see
//! [`crate::compare`]).
//!
//! **A migration that fails on the generated rows** but not on the empty
//! database (a UNIQUE index over a column whose generated values repeat) is
//! no build error: the real data decides, and `apply --dry-run` shows it.
//! It is a warning, and the proof goes on from a database rebuilt at that
//! version by applying the migrations up to it to an empty database (the
//! next migration's generated rows then fill it).
//!
//! **Downs.** For a migration with a down, on the data database at its
//! version, the down runs, then
//!
//! - what it removes of that version is compared as for a migration (its
//!   own UPDATE and DELETE exempt): a down of "add a column" loses that
//!   column's data, a down of "create a table" the table, by nature, and
//!   must say so in `down_loses`;
//! - up then down must bring back every row and value of the version
//!   before, in the tables either touched, unless `down_loses` declares it.
//!
//! The migration is then applied again and the proof goes on. The schema
//! the down leaves is the empty proof's business (its round trip).
//!
//! **What it costs.** The copy of the rows is read again only for the
//! tables the generator filled and the tables the runner's authorizer saw
//! a migration write, create, alter or drop; only those are compared.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::Connection;

use super::generate::{Filled, fill};
use super::tables::{Before, Tables};
use super::verify::{Side, at_statement};
use crate::compare::{Loss, column_renames, compare};
use crate::contents::Table;
use crate::error::sqlite_message;
use crate::fkscope::{Rename, Touched, Writes, take_writes};
use crate::manifest::{Diagnostic, Location, Manifest};
use crate::{Error, Function, Migration, Migrator};

/// The seed of the rows generated before `version` is applied.
pub(super) fn seed_for(version: u32) -> u64 {
    u64::from(version).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Which of a migration's sides a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The migration, against the version before.
    Up,
    /// Its down, against the migration's version, or up then down against
    /// the version before.
    Down,
}

/// One thing of one table a step did not keep.
#[derive(Debug, Clone)]
struct Item {
    /// The table as it was called before the step (as SQLite has it).
    table: String,
    /// Every name the table had during the step, lower-case.
    aliases: BTreeSet<String>,
    /// The column concerned, as called before the step (for column
    /// losses), with every name it had, lower-case.
    column: Option<(String, BTreeSet<String>)>,
    loss: Loss,
    /// Done on purpose by the step's statements (UPDATE, DELETE).
    exempt: bool,
    /// A value or row up then down did not bring back.
    restore: bool,
}

impl Item {
    /// The declaration that allows it: `table` or `table.column`.
    fn entry(&self) -> String {
        match &self.column {
            Some((column, _)) => format!("{}.{column}", self.table),
            None => self.table.clone(),
        }
    }

    /// Whether `entry` (lower-case) allows it.
    fn allowed_by(&self, entry: &Entry) -> bool {
        if !self.aliases.contains(&entry.table) {
            return false;
        }
        match (&entry.column, &self.column) {
            (None, None) => true,
            (Some(wanted), Some((_, names))) => names.contains(wanted),
            _ => false,
        }
    }

    fn clause(&self) -> String {
        let column = self
            .column
            .as_ref()
            .map_or_else(String::new, |(c, _)| format!("{}.{c}", self.table));
        let table = &self.table;
        match (&self.loss, self.restore) {
            (Loss::Table { rows: 0 }, _) => format!("loses table {table}"),
            (Loss::Table { rows }, _) => format!("loses table {table} and its {rows} rows"),
            (Loss::Column { .. }, _) => format!("loses column {column}"),
            (Loss::Rows { lost, of, example }, false) => {
                format!("loses {lost} of {of} rows of {table} (e.g. {example})")
            }
            (Loss::Rows { lost, of, example }, true) => {
                format!("does not bring back {lost} of {of} rows of {table} (e.g. {example})")
            }
            (
                Loss::Values {
                    changed,
                    of,
                    example: (a, b),
                    ..
                },
                false,
            ) => format!("changes {changed} of {of} values of {column} (e.g. {a} -> {b})"),
            (
                Loss::Values {
                    changed,
                    of,
                    example: (a, b),
                    ..
                },
                true,
            ) => format!(
                "does not bring back {changed} of {of} values of {column} (e.g. {a} -> {b})"
            ),
        }
    }
}

/// A table a step was compared for: what tells whether a declaration
/// about it could have been seen to happen.
#[derive(Debug, Clone)]
struct Seen {
    aliases: BTreeSet<String>,
    /// It held rows before the step: a change of values could be seen.
    had_rows: bool,
}

/// A `loses` or `down_loses` entry, lower-case.
#[derive(Debug, Clone)]
struct Entry {
    table: String,
    column: Option<String>,
}

impl Entry {
    fn parse(entry: &str) -> Entry {
        let lower = entry.to_lowercase();
        match lower.split_once('.') {
            Some((t, c)) => Entry {
                table: t.to_owned(),
                column: Some(c.to_owned()),
            },
            None => Entry {
                table: lower,
                column: None,
            },
        }
    }
}

/// What one side of one migration did to the data.
#[derive(Debug, Clone)]
struct Findings {
    version: u32,
    part: Part,
    items: Vec<Item>,
    seen: Vec<Seen>,
}

/// [`Findings`] against the declarations.
#[derive(Debug, Clone, Default)]
struct Verdict {
    /// The losses nothing allows.
    undeclared: Vec<Item>,
    /// The positions of the declarations that allow nothing that happened.
    stale: Vec<usize>,
}

impl Findings {
    fn judge(&self, declared: &[String]) -> Verdict {
        let entries: Vec<Entry> = declared.iter().map(|e| Entry::parse(e)).collect();
        let undeclared = self
            .items
            .iter()
            .filter(|i| !i.exempt && !entries.iter().any(|e| i.allowed_by(e)))
            .cloned()
            .collect();
        let stale = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                let happened = self.items.iter().any(|i| i.allowed_by(e));
                // A change of the values of a table that held no row (the
                // generator could not fill it) cannot be seen.
                let unseen = self
                    .seen
                    .iter()
                    .any(|s| s.aliases.contains(&e.table) && !s.had_rows);
                !happened && !unseen
            })
            .map(|(i, _)| i)
            .collect();
        Verdict { undeclared, stale }
    }
}

/// A migration (or its down, or its second up) SQLite refused on the
/// generated rows.
#[derive(Debug)]
struct Refusal {
    version: u32,
    part: Part,
    why: String,
}

/// Everything the data proof found, in the order it found it.
#[derive(Debug, Default)]
struct Report {
    findings: Vec<Findings>,
    refusals: Vec<Refusal>,
    unfilled: Vec<Unfillable>,
}

/// A table the generator could not give rows before a migration: its data
/// is not proven from there, which a reviewer must know.
#[derive(Debug)]
struct Unfillable {
    /// The migration about to run.
    version: u32,
    /// The table, as SQLite has it.
    table: String,
    /// Why, in one line; `None` for a virtual table, whatever the
    /// generator did with it.
    why: Option<String>,
}

/// The data database and what the proof keeps of it.
struct Run<'a> {
    migrations: &'a [Migration],
    functions: &'a [Function],
    conn: Connection,
    tables: Tables,
    writes: Writes,
    /// The tables to offer the generator before the next migration,
    /// lower-case: those the steps since the last fill created, wrote or
    /// renamed (the others keep the rows they had). `None`: every table, at
    /// the start and after a rebuild.
    fill_next: Option<BTreeSet<String>>,
    /// The tables the generator could not fill, by lower-case name: offered
    /// again only when a step touched them or a table they reference, the
    /// only changes that can make them fillable.
    unfilled: BTreeMap<String, Unfilled>,
    /// What each step cost, in order (see [`Work`]).
    work: Vec<Work>,
    /// The tables already reported unfillable, lower-case: each is
    /// reported once, where it first could not be filled.
    reported: BTreeSet<String>,
}

/// A table the generator could not fill.
#[derive(Debug, Clone)]
struct Unfilled {
    /// The lower-case names of the tables it references.
    parents: BTreeSet<String>,
}

/// How many tables one migration's data proof looked at: the ones offered
/// to the generator before it (`None`: every table), and the ones read
/// again after it. Kept so that a test can tell, without timing anything,
/// that the work of a step does not grow with the size of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Work {
    offered: Option<usize>,
    synced: usize,
}

/// What stops the data proof: an SQLite error reading or rebuilding its
/// own database (not a migration's), at the version it was at.
#[derive(Debug)]
struct Broken {
    version: u32,
    error: Error,
}

impl<'a> Run<'a> {
    fn new(migrations: &'a [Migration], functions: &'a [Function]) -> rusqlite::Result<Self> {
        let conn = Connection::open_in_memory()?;
        crate::functions::register_stand_ins(&conn, functions, None)?;
        Ok(Run {
            migrations,
            functions,
            conn,
            tables: Tables::default(),
            writes: Writes::default(),
            fill_next: None,
            unfilled: BTreeMap::new(),
            work: Vec::new(),
            reported: BTreeSet::new(),
        })
    }

    /// Applies every migration, collecting what happened; with `until`,
    /// stops after the first side whose findings `until` says fail.
    fn go(&mut self, until: &dyn Fn(&Findings) -> bool) -> Result<Report, Broken> {
        let mut report = Report::default();
        for n in 1..=self.migrations.len() {
            let m = &self.migrations[n - 1];
            let version = m.version();
            let broken = |error: rusqlite::Error| Broken {
                version,
                error: Error::Sqlite(error),
            };
            let offered = self.offered();
            self.work.push(Work {
                offered: offered.as_ref().map(BTreeSet::len),
                synced: 0,
            });
            match fill(&self.conn, seed_for(version), offered.as_ref()) {
                Ok((filled, unfillable)) => {
                    self.note_unfilled(&filled, &unfillable).map_err(broken)?;
                    let seen = filled
                        .iter()
                        .map(|f| (f.table.clone(), None))
                        .chain(unfillable.into_iter().map(|(t, why)| (t, Some(why))));
                    for (table, why) in seen {
                        let is_virtual = is_virtual(&self.conn, &table).map_err(broken)?;
                        if (is_virtual || why.is_some())
                            && self.reported.insert(table.to_lowercase())
                        {
                            let why = if is_virtual { None } else { why };
                            report.unfilled.push(Unfillable {
                                version,
                                table,
                                why,
                            });
                        }
                    }
                    self.tables
                        .refresh(&self.conn, filled.iter().map(|f| f.table.as_str()))
                        .map_err(broken)?;
                }
                Err(e) => {
                    report.refusals.push(Refusal {
                        version,
                        part: Part::Up,
                        why: format!("the rows before it cannot be generated: {e}"),
                    });
                    self.rebuild(n - 1)?;
                }
            }
            let up = match self.step(n, |migrator, conn| migrator.apply(conn).map(drop)) {
                Ok(step) => step,
                Err(refusal) => {
                    report.refusals.push(refused(version, Part::Up, &refusal));
                    self.rebuild(n)?;
                    continue;
                }
            };
            let (before, touched) = up.map_err(broken)?;
            let found = self.examine(version, Part::Up, &before, &touched);
            let stop = until(&found);
            report.findings.push(found);
            if stop {
                return Ok(report);
            }
            if !m.is_reversible() {
                continue;
            }
            // The version before, in the tables the up touched.
            let mut previous: BTreeMap<String, Table> = before
                .into_iter()
                .filter_map(|(key, table)| Some((key, table?)))
                .collect();
            // SQLite's AUTOINCREMENT counters go back as the empty proof's
            // round trip puts them back, so the migration applied again
            // gives its rows the keys it gave them.
            let start = super::roundtrip::Start::read(&self.conn).map_err(broken)?;
            let down = self.step(n, |migrator, conn| {
                migrator.down(conn, version.saturating_sub(1)).map(drop)?;
                start.restore_sequence(conn).map_err(Error::Sqlite)
            });
            let (before, touched) = match down {
                Ok(step) => step.map_err(broken)?,
                Err(refusal) => {
                    report.refusals.push(refused(version, Part::Down, &refusal));
                    self.rebuild(n)?;
                    continue;
                }
            };
            let mut found = self.examine(version, Part::Down, &before, &touched);
            for (key, table) in before {
                if let Some(table) = table {
                    previous.entry(key).or_insert(table);
                }
            }
            found.items.extend(self.restored(&previous, &touched));
            let stop = until(&found);
            report.findings.push(found);
            if stop {
                return Ok(report);
            }
            match self.step(n, |migrator, conn| migrator.apply(conn).map(drop)) {
                Ok(step) => drop(step.map_err(broken)?),
                Err(refusal) => {
                    report.refusals.push(refused(version, Part::Up, &refusal));
                    self.rebuild(n)?;
                }
            }
        }
        Ok(report)
    }

    /// Runs one step (`run`, with a migrator of the migrations up to the
    /// `n`th noting what it writes), then brings the copy of the rows up to
    /// date: the copies from before, and what the step touched; the outer
    /// error is the step's own.
    fn step(
        &mut self,
        n: usize,
        run: impl FnOnce(&Migrator<'_>, &mut Connection) -> Result<(), Error>,
    ) -> Result<rusqlite::Result<(Before, Touched)>, Error> {
        let migrations = self.migrations;
        let migrator = Migrator::new(&migrations[..n]).noting_writes(Writes::clone(&self.writes));
        let ran = run(&migrator, &mut self.conn);
        let touched = take_writes(&self.writes);
        ran?;
        let before = match self.tables.sync(&self.conn, &touched) {
            Ok(before) => before,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(next) = &mut self.fill_next {
            next.extend(before.keys().cloned());
            next.extend(touched.virtuals.iter().cloned());
        }
        if let Some(work) = self.work.last_mut() {
            work.synced += before.len();
        }
        Ok(Ok((before, touched)))
    }

    /// The tables to offer the generator now (see [`Run::fill_next`]), and
    /// an empty list to gather the next ones in.
    fn offered(&mut self) -> Option<BTreeSet<String>> {
        let mut next = self.fill_next.replace(BTreeSet::new())?;
        let retry: Vec<String> = self
            .unfilled
            .iter()
            .filter(|(key, u)| next.contains(*key) || !u.parents.is_disjoint(&next))
            .map(|(key, _)| key.clone())
            .collect();
        next.extend(retry);
        Some(next)
    }

    /// Keeps track of the tables a fill left empty.
    fn note_unfilled(
        &mut self,
        filled: &[Filled],
        unfillable: &[(String, String)],
    ) -> rusqlite::Result<()> {
        for f in filled {
            self.unfilled.remove(&f.table.to_lowercase());
        }
        for (name, _why) in unfillable {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT \"table\" FROM pragma_foreign_key_list(?1)")?;
            let parents = stmt
                .query_map([name], |r| r.get::<_, String>(0))?
                .map(|p| p.map(|p| p.to_lowercase()))
                .collect::<rusqlite::Result<_>>()?;
            self.unfilled
                .insert(name.to_lowercase(), Unfilled { parents });
        }
        Ok(())
    }

    /// Rebuilds the data database at the `n`th migration, from an empty
    /// one.
    fn rebuild(&mut self, n: usize) -> Result<(), Broken> {
        let version = self
            .migrations
            .get(n.saturating_sub(1))
            .map_or(0, Migration::version);
        let broken = |error: Error| Broken { version, error };
        let sqlite = |e: rusqlite::Error| Broken {
            version,
            error: Error::Sqlite(e),
        };
        let mut conn = Connection::open_in_memory().map_err(sqlite)?;
        crate::functions::register_stand_ins(&conn, self.functions, None).map_err(sqlite)?;
        Migrator::new(&self.migrations[..n])
            .apply(&mut conn)
            .map_err(broken)?;
        self.tables = Tables::read(&conn).map_err(sqlite)?;
        self.conn = conn;
        self.fill_next = None;
        self.unfilled.clear();
        Ok(())
    }

    /// Compares each table that existed before a step (`before`) with what
    /// became of it, following the step's renames.
    fn examine(&self, version: u32, part: Part, before: &Before, touched: &Touched) -> Findings {
        let mut items = Vec::new();
        let mut seen = Vec::new();
        for (key, old) in before {
            let Some(old) = old else { continue };
            let successor = successor(key, &touched.renames, |k| self.tables.get(k).is_some());
            let new = successor.as_deref().and_then(|s| self.tables.get(s));
            let mut aliases = aliases(key, &touched.renames);
            if let Some(s) = &successor {
                aliases.extend(self::aliases(s, &touched.renames));
            }
            let renamed = column_renames(&old.columns, &aliases, &touched.renames);
            let updated: BTreeSet<&str> = touched
                .updated
                .iter()
                .filter(|(t, _)| aliases.contains(t))
                .map(|(_, c)| c.as_str())
                .collect();
            let deleted = touched.deleted.iter().any(|t| aliases.contains(t));
            seen.push(Seen {
                aliases: aliases.clone(),
                had_rows: !old.rows.is_empty(),
            });
            for loss in compare(old, new, &renamed) {
                let column = match &loss {
                    Loss::Column { column } | Loss::Values { column, .. } => {
                        old.columns.get(*column).map(|c| {
                            let mut names = BTreeSet::from([c.to_lowercase()]);
                            if let Some(to) = renamed.get(&c.to_lowercase()) {
                                names.insert(to.clone());
                            }
                            (c.clone(), names)
                        })
                    }
                    Loss::Table { .. } | Loss::Rows { .. } => None,
                };
                let exempt = match (&loss, &column) {
                    (Loss::Values { .. }, Some((_, names))) => {
                        names.iter().any(|n| updated.contains(n.as_str()))
                    }
                    (Loss::Rows { .. }, _) => deleted,
                    _ => false,
                };
                items.push(Item {
                    table: old.name.clone(),
                    aliases: aliases.clone(),
                    column,
                    loss,
                    exempt,
                    restore: false,
                });
            }
        }
        Findings {
            version,
            part,
            items,
            seen,
        }
    }

    /// What up then down did not bring back of `previous` (the tables the
    /// version before had, that either touched): rows and values only, the
    /// schema being the empty proof's round trip's to compare. What the
    /// down's own statements (`touched`) change on purpose is exempt, as
    /// for a migration: a down that deletes what its up granted also
    /// deletes the grants written since, by design.
    fn restored(&self, previous: &BTreeMap<String, Table>, touched: &Touched) -> Vec<Item> {
        let mut items = Vec::new();
        for (key, old) in previous {
            let Some(now) = self.tables.get(key) else {
                continue;
            };
            let aliases = BTreeSet::from([key.clone()]);
            for loss in compare(old, Some(now), &HashMap::new()) {
                let column = match &loss {
                    Loss::Values { column, .. } => old
                        .columns
                        .get(*column)
                        .map(|c| (c.clone(), BTreeSet::from([c.to_lowercase()]))),
                    Loss::Rows { .. } => None,
                    Loss::Table { .. } | Loss::Column { .. } => continue,
                };
                let exempt = match &column {
                    Some((c, _)) => touched.updated.contains(&(key.clone(), c.to_lowercase())),
                    None => touched.deleted.contains(key),
                };
                items.push(Item {
                    table: old.name.clone(),
                    aliases: aliases.clone(),
                    column,
                    loss,
                    exempt,
                    restore: true,
                });
            }
        }
        items
    }
}

/// What a step SQLite refused is reported as.
fn refused(version: u32, part: Part, error: &Error) -> Refusal {
    let why = match error {
        Error::MigrationFailed {
            source,
            statement,
            sql,
            ..
        } => format!("{} (statement {statement} `{sql}`)", sqlite_message(source)),
        Error::DownFailed { source, .. } => match &**source {
            Error::MigrationFailed {
                source,
                statement,
                sql,
                ..
            } => format!("{} (statement {statement} `{sql}`)", sqlite_message(source)),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    Refusal { version, part, why }
}

/// The table `key` became: where the renames lead, if that is a table now;
/// else the table of its own name, if there is one (renamed away and
/// dropped in a rebuild, the table was made again under its name).
fn successor(key: &str, renames: &[Rename], exists: impl Fn(&str) -> bool) -> Option<String> {
    let mut current = key.to_owned();
    for rename in renames {
        if let Rename::Table { from, to } = rename
            && *from == current
        {
            current = to.clone();
        }
    }
    if exists(&current) {
        Some(current)
    } else if exists(key) {
        Some(key.to_owned())
    } else {
        None
    }
}

/// Every name linked to `key` by the renames (either way).
fn aliases(key: &str, renames: &[Rename]) -> BTreeSet<String> {
    let mut names = BTreeSet::from([key.to_owned()]);
    loop {
        let before = names.len();
        for rename in renames {
            if let Rename::Table { from, to } = rename
                && (names.contains(from) || names.contains(to))
            {
                names.insert(from.clone());
                names.insert(to.clone());
            }
        }
        if names.len() == before {
            return names;
        }
    }
}

/// The declarations of `m` for `part`.
fn declared(m: &Migration, part: Part) -> Vec<String> {
    match part {
        Part::Up => m.loses().map(str::to_owned).collect(),
        Part::Down => m.down_loses().map(str::to_owned).collect(),
    }
}

/// Runs the data proof of `manifest` (after the empty-database proof
/// succeeded): `Ok` with the warnings (migrations that fail on generated
/// rows), or the first migration that loses data it does not declare, or
/// that declares a loss that does not happen.
pub(super) fn prove(manifest: &Manifest, text: &str) -> Result<Vec<Diagnostic>, Diagnostic> {
    let migrations = &manifest.migrations;
    let functions = migrations.functions();
    let mut run =
        Run::new(migrations, functions).map_err(|e| broken(manifest, 0, &Error::Sqlite(e)))?;
    let fails = |f: &Findings| {
        migrations.get(f.version).is_some_and(|m| {
            let v = f.judge(&declared(m, f.part));
            !v.undeclared.is_empty() || !v.stale.is_empty()
        })
    };
    let report = run
        .go(&fails)
        .map_err(|b| broken(manifest, b.version, &b.error))?;
    for found in &report.findings {
        let Some(m) = migrations.get(found.version) else {
            continue;
        };
        let declared = declared(m, found.part);
        let verdict = found.judge(&declared);
        if let Some(d) = diagnose(manifest, text, m, found.part, &declared, &verdict) {
            return Err(d);
        }
    }
    let mut warnings: Vec<Diagnostic> = report
        .refusals
        .iter()
        .map(|r| warning(manifest, text, r))
        .collect();
    warnings.extend(report.unfilled.iter().map(|u| unfilled(manifest, u)));
    Ok(warnings)
}

/// What the data proof would need declared for one migration: see
/// [`needed_losses`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NeededLosses {
    /// The version.
    pub version: u32,
    /// The `loses` that makes the migration pass: the declarations it has
    /// that are needed, in their order, then the ones it lacks.
    pub loses: Vec<String>,
    /// Its declarations that allow nothing that happens (stale), to remove.
    pub stale_loses: Vec<String>,
    /// As `loses`, for `down_loses` (empty without a down).
    pub down_loses: Vec<String>,
    /// As `stale_loses`, for `down_loses`.
    pub stale_down_loses: Vec<String>,
}

/// For a history whose migrations do not declare what they lose, the
/// declarations the data proof needs (for a command that writes them into
/// `migrations.toml`): runs the data proof to the end, without stopping at
/// the first failure, and returns, for each version whose `loses` or
/// `down_loses` must change, the list that makes it pass and the stale
/// entries to remove. A migration that fails on the generated rows has no
/// findings (the proof warns about it instead). The entries name tables and
/// columns as the migration found them (before its renames). The
/// empty-database proof must have succeeded (it is run first; its
/// failure is returned as the error).
///
/// # Examples
///
/// ```
/// use migrate_core::manifest::parse;
/// use migrate_core::verify::{NeededLosses, needed_losses};
///
/// let text = r#"
/// [[migration]]
/// version = 1
/// description = "Create users"
/// sql = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, legacy TEXT)"
///
/// [[migration]]
/// version = 2
/// description = "Drop legacy"
/// sql = "ALTER TABLE users DROP COLUMN legacy"
/// loses = ["users.name"]
/// "#;
/// let needed = needed_losses(&parse(text).unwrap(), text).unwrap();
/// assert_eq!(
///     needed,
///     [NeededLosses {
///         version: 2,
///         loses: vec!["users.legacy".to_owned()],
///         stale_loses: vec!["users.name".to_owned()],
///         ..NeededLosses::default()
///     }]
/// );
/// ```
pub fn needed_losses(manifest: &Manifest, text: &str) -> Result<Vec<NeededLosses>, Diagnostic> {
    super::verify::prove_manifest_empty(manifest, text)?;
    let migrations = &manifest.migrations;
    let mut run = Run::new(migrations, migrations.functions())
        .map_err(|e| broken(manifest, 0, &Error::Sqlite(e)))?;
    let report = run
        .go(&|_| false)
        .map_err(|b| broken(manifest, b.version, &b.error))?;
    let mut out: Vec<NeededLosses> = Vec::new();
    for found in &report.findings {
        let Some(m) = migrations.get(found.version) else {
            continue;
        };
        let declared = declared(m, found.part);
        let verdict = found.judge(&declared);
        if verdict.undeclared.is_empty() && verdict.stale.is_empty() {
            continue;
        }
        let wanted = wanted(&declared, &verdict);
        let stale: Vec<String> = verdict.stale.iter().map(|&i| declared[i].clone()).collect();
        let at = match out.last_mut() {
            Some(last) if last.version == found.version => last,
            _ => {
                out.push(NeededLosses {
                    version: found.version,
                    loses: m.loses().map(str::to_owned).collect(),
                    down_loses: m.down_loses().map(str::to_owned).collect(),
                    ..NeededLosses::default()
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        match found.part {
            Part::Up => {
                at.loses = wanted;
                at.stale_loses = stale;
            }
            Part::Down => {
                at.down_loses = wanted;
                at.stale_down_loses = stale;
            }
        }
    }
    Ok(out)
}

/// The declarations that make a side pass: those it has that are needed,
/// in their order, then the entries it lacks.
fn wanted(declared: &[String], verdict: &Verdict) -> Vec<String> {
    let mut wanted: Vec<String> = declared
        .iter()
        .enumerate()
        .filter(|(i, _)| !verdict.stale.contains(i))
        .map(|(_, e)| e.clone())
        .collect();
    for item in &verdict.undeclared {
        let entry = item.entry();
        if !wanted.iter().any(|w| w.eq_ignore_ascii_case(&entry)) {
            wanted.push(entry);
        }
    }
    wanted
}

/// How a message names what ran.
fn subject(m: &Migration, part: Part) -> String {
    match part {
        Part::Up => format!("version {} ({:?})", m.version(), m.description()),
        Part::Down => format!("down of version {} ({:?})", m.version(), m.description()),
    }
}

fn key(part: Part) -> &'static str {
    match part {
        Part::Up => "loses",
        Part::Down => "down_loses",
    }
}

/// The diagnostic for a side whose verdict fails: every loss nothing
/// allows, in one message, with the declaration that would allow them; or,
/// when there is none, every stale declaration, at the first of them.
fn diagnose(
    manifest: &Manifest,
    text: &str,
    m: &Migration,
    part: Part,
    declared: &[String],
    verdict: &Verdict,
) -> Option<Diagnostic> {
    let subject = subject(m, part);
    let key = key(part);
    if !verdict.undeclared.is_empty() {
        let mut clauses: Vec<String> = Vec::new();
        for item in &verdict.undeclared {
            let clause = item.clause();
            if !clauses.contains(&clause) {
                clauses.push(clause);
            }
        }
        let wanted = wanted(declared, verdict);
        let list = wanted
            .iter()
            .map(|w| format!("{w:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let message = format!(
            "{subject} {}; if that is meant, declare it on the migration: {key} = [{list}]",
            clauses.join("; ")
        );
        let (file, location, span) = at_part(manifest, text, m, part);
        return Some(Diagnostic {
            span,
            location,
            message,
            file,
        });
    }
    let first = *verdict.stale.first()?;
    let clauses: Vec<String> = verdict
        .stale
        .iter()
        .map(|&i| {
            let entry = &declared[i];
            let what = match entry.split_once('.') {
                Some(_) => format!("every value of {entry}"),
                None => format!("every row of {entry}"),
            };
            format!("declares {key} {entry:?} but keeps {what}")
        })
        .collect();
    let message = format!(
        "{subject} {}: remove {} (a declared loss that does not happen misleads reviewers)",
        clauses.join("; "),
        if clauses.len() == 1 { "it" } else { "them" }
    );
    let index = usize::try_from(m.version()).ok()?.checked_sub(1)?;
    let locations = match part {
        Part::Up => &manifest.loses_locations,
        Part::Down => &manifest.down_loses_locations,
    };
    let location = locations
        .get(index)
        .and_then(|l| l.get(first))
        .copied()
        .unwrap_or_else(|| entry_location(manifest, m.version()));
    Some(Diagnostic {
        span: 0..0,
        location,
        message,
        file: None,
    })
}

/// Where a finding about `part` of `m` points: the migration's entry, or
/// its down.
fn at_part(
    manifest: &Manifest,
    text: &str,
    m: &Migration,
    part: Part,
) -> (Option<String>, Location, std::ops::Range<usize>) {
    let down = (part == Part::Down)
        .then(|| at_statement(manifest, text, Side::Down, m.version(), 0, 0))
        .flatten();
    down.unwrap_or_else(|| (None, entry_location(manifest, m.version()), 0..0))
}

fn entry_location(manifest: &Manifest, version: u32) -> Location {
    usize::try_from(version)
        .ok()
        .and_then(|v| manifest.locations.get(v.checked_sub(1)?))
        .copied()
        .unwrap_or(Location { line: 1, column: 1 })
}

/// The warning for a side SQLite refused on the generated rows.
fn warning(manifest: &Manifest, text: &str, refusal: &Refusal) -> Diagnostic {
    let Some(m) = manifest.migrations.get(refusal.version) else {
        return Diagnostic {
            span: 0..0,
            location: Location { line: 1, column: 1 },
            message: refusal.why.clone(),
            file: None,
        };
    };
    let message = format!(
        "{} fails on generated rows: {}; the real data decides (try apply --dry-run)",
        subject(m, refusal.part),
        refusal.why
    );
    let (file, location, span) = at_part(manifest, text, m, refusal.part);
    Diagnostic {
        span,
        location,
        message,
        file,
    }
}

/// The warning for a table the generator could not fill, or a virtual
/// table: at the migration it was first met before, what it is and why,
/// and that the proof says nothing of its data.
fn unfilled(manifest: &Manifest, u: &Unfillable) -> Diagnostic {
    let before = manifest
        .migrations
        .get(u.version)
        .map(|m| subject(m, Part::Up))
        .unwrap_or_else(|| format!("version {}", u.version));
    let message = match &u.why {
        Some(why) => format!(
            "table {} gets no generated rows before {before}: {why}; \
             the data proof does not check what the migrations do to its data",
            u.table
        ),
        None => format!(
            "virtual table {} (there before {before}): the data proof compares \
             ordinary tables' rows only, not what the migrations do to its contents",
            u.table
        ),
    };
    Diagnostic {
        span: 0..0,
        location: entry_location(manifest, u.version),
        message,
        file: None,
    }
}

/// Whether `table` is a virtual table (an FTS5 index, say): one whose rows
/// are its module's to store, which the data proof does not compare (an
/// external-content index reads another table's rows, a contentless one
/// reads back nothing).
fn is_virtual(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM pragma_table_list(?1) WHERE schema = 'main' AND type = 'virtual'",
    )?;
    stmt.exists([table])
}

/// The error for a data proof that could not run its own database.
fn broken(manifest: &Manifest, version: u32, error: &Error) -> Diagnostic {
    let what = manifest
        .migrations
        .get(version)
        .map(|m| format!("{} ", subject(m, Part::Up)))
        .unwrap_or_default();
    Diagnostic {
        span: 0..0,
        location: entry_location(manifest, version),
        message: format!("{what}cannot be checked on generated rows: {error}"),
        file: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    /// `n` tables, each created by its own migration, then one migration
    /// per table that updates it: a history whose every step touches one
    /// table, however many there are.
    fn independent_tables(n: usize) -> String {
        let mut text = String::new();
        for i in 1..=n {
            text.push_str(&format!(
                "[[migration]]\nversion = {i}\ndescription = \"Create t{i}\"\n\
                 sql = \"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)\"\n\n"
            ));
        }
        for i in 1..=n {
            text.push_str(&format!(
                "[[migration]]\nversion = {}\ndescription = \"Score t{i}\"\n\
                 sql = \"UPDATE t{i} SET score = 1\"\n\n",
                n + i
            ));
        }
        text
    }

    #[test]
    fn each_step_looks_at_the_tables_it_touched_not_at_every_table() {
        let n = 60;
        let text = independent_tables(n);
        let manifest = parse(&text).unwrap();
        let migrations = &manifest.migrations;
        let mut run = Run::new(migrations, migrations.functions()).unwrap();
        let report = run.go(&|_| false).unwrap();
        assert!(report.refusals.is_empty(), "{:?}", report.refusals);
        assert_eq!(run.work.len(), 2 * n);
        // Only the very first fill looks at every table (there is none).
        assert_eq!(run.work[0].offered, None);
        for (i, work) in run.work.iter().enumerate().skip(1) {
            // Before `Create t{i}` and `Score t{i}`: the table the step
            // before created or wrote; after it, the table it touched.
            assert!(
                work.offered.is_some_and(|o| o <= 1) && work.synced <= 1,
                "step {} looked at {work:?} with {} tables there",
                i + 1,
                n.min(i + 1)
            );
        }
        // And the tables were filled and compared all the same: every
        // update changes generated values, on purpose.
        let changed = report
            .findings
            .iter()
            .filter(|f| f.items.iter().any(|i| i.exempt))
            .count();
        assert_eq!(changed, n);
    }

    #[test]
    fn a_table_the_generator_cannot_fill_is_a_warning_naming_it_and_why() {
        let text = r#"
[[migration]]
version = 1
description = "Create a cycle"
sql = [
    "CREATE TABLE cyc_a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES cyc_b(id))",
    "CREATE TABLE cyc_b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES cyc_a(id))",
]

[[migration]]
version = 2
description = "Index cyc_a"
sql = "CREATE INDEX idx_cyc_a ON cyc_a(b_id)"

[[migration]]
version = 3
description = "Index cyc_b"
sql = "CREATE INDEX idx_cyc_b ON cyc_b(a_id)"
"#;
        let warnings = prove(&parse(text).unwrap(), text).unwrap();
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "table cyc_a gets no generated rows before version 2 (\"Index cyc_a\"): \
                 cycle of NOT NULL foreign keys: cyc_a -> cyc_b -> cyc_a; \
                 the data proof does not check what the migrations do to its data",
                "table cyc_b gets no generated rows before version 2 (\"Index cyc_a\"): \
                 cycle of NOT NULL foreign keys: cyc_b -> cyc_a -> cyc_b; \
                 the data proof does not check what the migrations do to its data",
            ],
            "once per table, where it first could not be filled"
        );
        assert_eq!(warnings[0].location.line, 10, "at version 2");
    }

    #[test]
    fn a_virtual_table_is_a_warning_that_its_contents_are_not_compared() {
        let text = r#"
[[migration]]
version = 1
description = "Create notes and their index"
sql = [
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
    "CREATE VIRTUAL TABLE notes_fts USING fts5(body)",
]

[[migration]]
version = 2
description = "Empty the index"
sql = "DELETE FROM notes_fts"
"#;
        let warnings = prove(&parse(text).unwrap(), text).unwrap();
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "virtual table notes_fts (there before version 2 (\"Empty the index\")): \
              the data proof compares ordinary tables' rows only, not what the migrations \
              do to its contents"
            ]
        );
    }
}
