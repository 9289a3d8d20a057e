//! What a trial run's migrations did to the data: the rows of each table
//! before and after each one, the tables created and dropped, the columns
//! dropped and renamed, the values changed (`apply --dry-run`).
//!
//! The rows of every application table are counted once, before the first
//! migration tried; after each migration only the tables the authorizer saw
//! it write, create, alter or drop (trigger bodies included) are counted
//! again, and new tables counted: the others cannot have changed (foreign
//! keys are off while migrations run, so nothing cascades). A statement the
//! authorizer cannot name tables for (a PRAGMA, ATTACH) has every table
//! counted again.
//!
//! **Values.** A migration that wrote a table holding rows (at most
//! [`COMPARED_ROWS`] of them) is run twice: once to learn, from the
//! authorizer, which tables it writes; then, back at the savepoint before
//! it, those tables' rows are read and it runs again, and each one is
//! compared with what became of it as the build-time data proof compares
//! ([`crate::compare`]): rows matched by primary key (by value, as a
//! multiset per column, for a table without one), columns followed through
//! `RENAME COLUMN` and through a rebuild's copy that moves their values
//! into a column of another name. A migration that writes no table with
//! rows runs once. A table with more rows than that is not read (its
//! values would have to be held in memory twice): it is counted, and
//! reported as not compared ([`TableChange::values_unchecked`]). Nothing
//! is kept: the trial's transaction is rolled back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::compare::{Loss, column_renames, follow};
use crate::contents::{self, Table};
use crate::fkscope::{Scope, Written};
use crate::{Error, sql::Rename};

/// The most rows a table may hold, before or after a migration that
/// writes it, for a trial run to compare its values: a hundred thousand
/// rows of a dozen columns are some tens of megabytes, read twice.
pub const COMPARED_ROWS: u64 = 100_000;

/// What one migration did to the data, as a trial run measured it on the
/// real database: see [`Trial::Succeeded`](crate::Trial::Succeeded).
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::{Migration, Migrator, Trial};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = [
///     Migration::new(1, "Create sessions", ["CREATE TABLE sessions (id INTEGER PRIMARY KEY, expired INTEGER)"]),
///     Migration::new(2, "Purge expired sessions", ["DELETE FROM sessions WHERE expired"]),
/// ];
/// let migrator = Migrator::new(&list);
/// let mut conn = Connection::open_in_memory()?;
/// migrator.clone().target(Some(1)).apply(&mut conn)?;
/// conn.execute_batch("INSERT INTO sessions (expired) VALUES (1), (1), (0)")?;
///
/// let trials = migrator.trial(&mut conn)?;
/// let (2, Trial::Succeeded(_, data)) = &trials[0] else { panic!("{trials:?}") };
/// let changed: Vec<_> = data.changes().collect();
/// assert_eq!(changed.len(), 1);
/// assert_eq!(changed[0].table, "sessions");
/// assert_eq!((changed[0].rows_before, changed[0].rows_after), (Some(3), Some(1)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataChange {
    /// Every application table that existed before or after the migration
    /// (not `schema_migrations`, SQLite's own `sqlite_*` tables, virtual
    /// tables or their shadow tables), by name, whether it changed or not.
    pub tables: Vec<TableChange>,
}

impl DataChange {
    /// The tables the migration changed: created, dropped, renamed, with
    /// rows added or removed, or with columns dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::{DataChange, TableChange};
    ///
    /// let data = DataChange {
    ///     tables: vec![
    ///         TableChange { table: "users".into(), rows_before: Some(3), rows_after: Some(3), ..Default::default() },
    ///         TableChange { table: "tags".into(), rows_before: None, rows_after: Some(0), ..Default::default() },
    ///     ],
    /// };
    /// let names: Vec<&str> = data.changes().map(|t| t.table.as_str()).collect();
    /// assert_eq!(names, ["tags"]);
    /// ```
    pub fn changes(&self) -> impl Iterator<Item = &TableChange> {
        self.tables.iter().filter(|t| t.is_changed())
    }
}

/// One table in a [`DataChange`].
///
/// A table rebuilt the way SQLite's ALTER TABLE page prescribes (a new
/// table, the rows copied, the old one dropped and the new one renamed to
/// its name) is the same table, compared by name. A table renamed to a new
/// name is reported under it, with [`renamed_from`](Self::renamed_from),
/// when one table vanished by a rename and one appeared without being
/// created in the same migration. A renamed column is in
/// [`renamed_columns`](Self::renamed_columns), not dropped: renamed by
/// `ALTER TABLE … RENAME COLUMN`, or moved by a rebuild's copy into a
/// column of another name (its values, row for row).
///
/// # Examples
///
/// ```
/// use migrate_core::TableChange;
///
/// let gone = TableChange { table: "user_tags".into(), rows_before: Some(64), ..Default::default() };
/// assert!(gone.is_dropped() && gone.is_changed());
/// let new = TableChange { table: "tags".into(), rows_after: Some(0), ..Default::default() };
/// assert!(new.is_created());
/// let same = TableChange { table: "users".into(), rows_before: Some(9), rows_after: Some(9), ..Default::default() };
/// assert!(!same.is_changed());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableChange {
    /// The table's name (after the migration, when it was renamed).
    pub table: String,
    /// Its rows before the migration; `None` when it did not exist.
    pub rows_before: Option<u64>,
    /// Its rows after the migration; `None` when it no longer exists.
    pub rows_after: Option<u64>,
    /// Columns it had before and not after, as they were named before.
    pub dropped_columns: Vec<String>,
    /// The name it had before, when the migration renamed it.
    pub renamed_from: Option<String>,
    /// Columns renamed, as (name before, name after).
    pub renamed_columns: Vec<(String, String)>,
    /// Columns that remain whose values the migration changed (an UPDATE,
    /// a lossy `CAST` in a rebuild's copy), in the table's column order.
    pub changed_values: Vec<ChangedValues>,
    /// The migration wrote the table, but it held more than
    /// [`COMPARED_ROWS`] rows, so its values were not compared (and a column
    /// a rebuild's copy renamed shows as dropped).
    pub values_unchecked: bool,
}

/// Values of one column that a migration changed: see
/// [`TableChange::changed_values`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedValues {
    /// The column, as named before the migration.
    pub column: String,
    /// How many values changed.
    pub changed: u64,
    /// Of how many (the rows found before and after).
    pub of: u64,
    /// One of them, before and after, as SQL writes it (`'18-25'`, `18`).
    pub example: (String, String),
}

impl TableChange {
    /// Created by the migration: absent before, present after.
    pub fn is_created(&self) -> bool {
        self.rows_before.is_none() && self.rows_after.is_some()
    }

    /// Dropped by the migration: present before, absent after.
    pub fn is_dropped(&self) -> bool {
        self.rows_before.is_some() && self.rows_after.is_none()
    }

    /// Created, dropped, renamed, rows added or removed, columns dropped
    /// or renamed, values changed, or written but too big to compare.
    pub fn is_changed(&self) -> bool {
        self.rows_before != self.rows_after
            || !self.dropped_columns.is_empty()
            || self.renamed_from.is_some()
            || !self.renamed_columns.is_empty()
            || !self.changed_values.is_empty()
            || self.values_unchecked
    }
}

/// One table as counted.
#[derive(Debug, Clone)]
struct Counted {
    name: String,
    rows: u64,
    columns: Vec<String>,
}

/// What [`Census::measure`] found of one migration: the census after it and
/// what it changed, or the migration's error.
pub(super) type Measured = Result<(Census, DataChange), Error>;

/// The application tables of schema `main`, by lower-case name, with their
/// rows and columns.
#[derive(Debug, Clone, Default)]
pub(super) struct Census {
    tables: BTreeMap<String, Counted>,
}

impl Census {
    /// Counts every application table.
    pub(super) fn read(conn: &Connection) -> rusqlite::Result<Census> {
        let mut tables = BTreeMap::new();
        for name in table_names(conn)? {
            let counted = count(conn, &name)?;
            tables.insert(name.to_lowercase(), counted);
        }
        Ok(Census { tables })
    }

    /// Runs one migration (`run`: its statements and its row, inside the
    /// savepoint `savepoint`, just opened) and measures what it did to the
    /// data: the census after it and the change, or `run`'s error. When it
    /// wrote tables that held rows, it is run a second time from the
    /// savepoint, with those tables read first, to compare their values
    /// (see the module's documentation). The time is the first run's.
    pub(super) fn measure(
        &self,
        conn: &Connection,
        savepoint: &str,
        scope: &Scope,
        mut run: impl FnMut() -> Result<Written, Error>,
    ) -> rusqlite::Result<(Duration, Measured)> {
        let started = Instant::now();
        let first = run();
        let took = started.elapsed();
        let written = match first {
            Ok(written) => written,
            Err(e) => return Ok((took, Err(e))),
        };
        let wanted: Vec<&Counted> = touched(&written)
            .into_iter()
            .filter_map(|key| self.tables.get(key))
            .filter(|t| t.rows > 0 && t.rows <= COMPARED_ROWS)
            .collect();
        if wanted.is_empty() && !written.everything {
            return Ok((took, Ok(self.after(conn, &written, &HashMap::new())?)));
        }
        let wanted: Vec<&Counted> = if written.everything {
            self.tables
                .values()
                .filter(|t| t.rows > 0 && t.rows <= COMPARED_ROWS)
                .collect()
        } else {
            wanted
        };
        conn.execute_batch(&format!("ROLLBACK TO {savepoint}"))?;
        // The schema is what it was before the first run again.
        scope.forget();
        let mut before = HashMap::new();
        for t in wanted {
            before.insert(t.name.to_lowercase(), contents::read(conn, &t.name)?);
        }
        let written = match run() {
            Ok(written) => written,
            Err(e) => return Ok((took, Err(e))),
        };
        Ok((took, Ok(self.after(conn, &written, &before)?)))
    }

    /// The census after a migration that wrote `w`, and what changed since
    /// this one: only the tables `w` names (or every one, when it cannot
    /// say) and the new ones are counted; the values of the tables in
    /// `before` (their rows before it) are compared.
    pub(super) fn after(
        &self,
        conn: &Connection,
        w: &Written,
        before: &HashMap<String, Table>,
    ) -> rusqlite::Result<(Census, DataChange)> {
        let touched = touched(w);
        let mut now = BTreeMap::new();
        for name in table_names(conn)? {
            let key = name.to_lowercase();
            let counted = match self.tables.get(&key) {
                Some(before) if !w.everything && !touched.contains(&key) && before.name == name => {
                    before.clone()
                }
                _ => count(conn, &name)?,
            };
            now.insert(key, counted);
        }
        let after = Census { tables: now };
        let change = self.compare(conn, &after, w, before)?;
        Ok((after, change))
    }

    /// What changed from this census to `after`; `before` holds the rows
    /// of the tables whose values are compared.
    fn compare(
        &self,
        conn: &Connection,
        after: &Census,
        w: &Written,
        before: &HashMap<String, Table>,
    ) -> rusqlite::Result<DataChange> {
        // A rename: a table gone that the migration altered (not dropped),
        // and one there that it did not create, one of each.
        let gone: Vec<&String> = self
            .tables
            .keys()
            .filter(|k| !after.tables.contains_key(*k))
            .filter(|k| w.altered.contains(*k) && !w.dropped.contains(*k))
            .collect();
        let appeared: Vec<&String> = after
            .tables
            .keys()
            .filter(|k| !self.tables.contains_key(*k) && !w.created.contains(*k))
            .collect();
        let renamed = match (gone.as_slice(), appeared.as_slice()) {
            ([old], [new]) => Some(((*old).clone(), (*new).clone())),
            _ => None,
        };
        let mut tables = Vec::new();
        let keys: BTreeSet<&String> = self.tables.keys().chain(after.tables.keys()).collect();
        for key in keys {
            if renamed.as_ref().is_some_and(|(old, _)| old == key) {
                continue;
            }
            let old_key = match &renamed {
                Some((old, new)) if new == key => old,
                _ => key,
            };
            let was = self.tables.get(old_key);
            let is = after.tables.get(key);
            let renamed_from = match (&renamed, was) {
                (Some((_, new)), Some(was)) if new == key => Some(was.name.clone()),
                _ => None,
            };
            let table = is.or(was).map(|t| t.name.clone()).unwrap_or_default();
            let mut change = TableChange {
                table,
                rows_before: was.map(|t| t.rows),
                rows_after: is.map(|t| t.rows),
                renamed_from,
                ..TableChange::default()
            };
            if let (Some(was), Some(is)) = (was, is) {
                let aliases = BTreeSet::from([old_key.clone(), key.clone()]);
                let renames = column_renames(&was.columns, &aliases, &w.renames);
                let old = before.get(old_key);
                let compared = match old {
                    Some(old) if is.rows <= COMPARED_ROWS => {
                        Some((old, contents::read(conn, &is.name)?))
                    }
                    _ => None,
                };
                match compared {
                    Some((old, new)) => columns_compared(&mut change, old, &new, &renames),
                    None => {
                        columns_by_name(&mut change, was, is, &renames);
                        change.values_unchecked = was.rows > 0
                            && (w.everything || touched(w).contains(key) || old_key != key);
                    }
                }
            }
            tables.push(change);
        }
        Ok(DataChange { tables })
    }
}

/// Every table `w` says the migration wrote, created, altered or dropped.
fn touched(w: &Written) -> BTreeSet<&String> {
    [
        &w.child,
        &w.parent,
        &w.inserted,
        &w.reshaped,
        &w.dropped,
        &w.created,
        &w.altered,
    ]
    .into_iter()
    .flatten()
    .chain(w.renames.iter().filter_map(|r| match r {
        Rename::Table { to, .. } => Some(to),
        Rename::Column { .. } => None,
    }))
    .collect()
}

/// The columns of a table whose values were compared: which are gone,
/// which were renamed (by `renames`, or by a copy), which changed values.
fn columns_compared(
    change: &mut TableChange,
    old: &Table,
    new: &Table,
    renames: &HashMap<String, String>,
) {
    let followed = follow(old, new, renames);
    for (c, target) in followed.columns.iter().enumerate() {
        let name = &old.columns[c];
        match target {
            None => change.dropped_columns.push(name.clone()),
            Some(t) if !new.columns[*t].eq_ignore_ascii_case(name) => change
                .renamed_columns
                .push((name.clone(), new.columns[*t].clone())),
            Some(_) => {}
        }
    }
    for loss in followed.losses {
        if let Loss::Values {
            column,
            changed,
            of,
            example,
        } = loss
        {
            change.changed_values.push(ChangedValues {
                column: old.columns[column].clone(),
                changed: u64::try_from(changed).unwrap_or(u64::MAX),
                of: u64::try_from(of).unwrap_or(u64::MAX),
                example,
            });
        }
    }
}

/// The columns of a table whose values were not compared, by name: gone,
/// or renamed by `renames` to a column there is.
fn columns_by_name(
    change: &mut TableChange,
    was: &Counted,
    is: &Counted,
    renames: &HashMap<String, String>,
) {
    let column = |name: &str| is.columns.iter().find(|n| n.eq_ignore_ascii_case(name));
    for c in &was.columns {
        if column(c).is_some() {
            continue;
        }
        match renames.get(&c.to_lowercase()).and_then(|to| column(to)) {
            Some(to) => change.renamed_columns.push((c.clone(), to.clone())),
            None => change.dropped_columns.push(c.clone()),
        }
    }
}

/// The application tables of schema `main`, as named in the schema: not
/// views, virtual tables or their shadow tables, SQLite's own tables, nor
/// the tracking table.
fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND lower(name) <> 'schema_migrations' ORDER BY name",
    )?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// Counts `name`'s rows and reads its columns.
fn count(conn: &Connection, name: &str) -> rusqlite::Result<Counted> {
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM main.{quoted}"), [], |r| {
        r.get(0)
    })?;
    let mut stmt = conn.prepare_cached("SELECT name FROM pragma_table_info(?1, 'main')")?;
    let columns = stmt
        .query_map([name], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Counted {
        name: name.to_owned(),
        rows: u64::try_from(rows).unwrap_or(0),
        columns,
    })
}
