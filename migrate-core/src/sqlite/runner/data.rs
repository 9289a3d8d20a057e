//! What a trial run's migrations did to the data: the rows of each table
//! before and after each one, the tables created and dropped, the columns
//! dropped (`apply --dry-run`).
//!
//! The rows of every application table are counted once, before the first
//! migration tried; after each migration only the tables the authorizer saw
//! it write, create, alter or drop (trigger bodies included) are counted
//! again, and new tables counted: the others cannot have changed (foreign
//! keys are off while migrations run, so nothing cascades). A statement the
//! authorizer cannot name tables for (a PRAGMA, ATTACH) has every table
//! counted again.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use crate::fkscope::Written;

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
/// created in the same migration. A renamed column shows as dropped: its
/// values are there, under another name.
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

    /// Created, dropped, renamed, rows added or removed, or columns dropped.
    pub fn is_changed(&self) -> bool {
        self.rows_before != self.rows_after
            || !self.dropped_columns.is_empty()
            || self.renamed_from.is_some()
    }
}

/// One table as counted.
#[derive(Debug, Clone)]
struct Counted {
    name: String,
    rows: u64,
    columns: Vec<String>,
}

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

    /// The census after a migration that wrote `w`, and what changed since
    /// this one: only the tables `w` names (or every one, when it cannot
    /// say) and the new ones are counted.
    pub(super) fn after(
        &self,
        conn: &Connection,
        w: &Written,
    ) -> rusqlite::Result<(Census, DataChange)> {
        let touched: BTreeSet<&String> = [
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
        .collect();
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
        let change = self.compare(&after, w);
        Ok((after, change))
    }

    /// What changed from this census to `after`.
    fn compare(&self, after: &Census, w: &Written) -> DataChange {
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
            let was = match &renamed {
                Some((old, new)) if new == key => self.tables.get(old),
                _ => self.tables.get(key),
            };
            let is = after.tables.get(key);
            let dropped_columns = match (was, is) {
                (Some(was), Some(is)) => was
                    .columns
                    .iter()
                    .filter(|c| !is.columns.iter().any(|n| n.eq_ignore_ascii_case(c)))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            let renamed_from = match (&renamed, was) {
                (Some((_, new)), Some(was)) if new == key => Some(was.name.clone()),
                _ => None,
            };
            let table = is.or(was).map(|t| t.name.clone()).unwrap_or_default();
            tables.push(TableChange {
                table,
                rows_before: was.map(|t| t.rows),
                rows_after: is.map(|t| t.rows),
                dropped_columns,
                renamed_from,
            });
        }
        DataChange { tables }
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
