//! The rows of the proof's database, followed from version to version, so
//! that the round trip of a down can tell which rows of the previous version
//! it did not bring back (see [`super::roundtrip`]).
//!
//! Reading every table after every step would make a long reversible
//! history cost the square of its length. The runner's authorizer already
//! sees, as each statement is prepared (trigger bodies included), which
//! tables it writes, creates, alters or drops; only those are read again.
//! A table can also appear under a name nobody wrote (`ALTER TABLE new
//! RENAME TO old`, the last step of a table rebuild): then the list of
//! tables no longer matches the tables known, and the new ones are read.
//! Anything the authorizer cannot name tables for (a PRAGMA) reads every
//! table again.

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::fkscope::Touched;

/// The rows of one table as text, one SQL tuple per row (`(1, 'dark',
/// NULL)`), sorted: equal lists mean the same rows, whatever their order.
pub(super) type TableRows = Vec<String>;

/// What a step changed: for each table whose rows (or existence) it
/// changed, by lower-case name, its rows before (`None`: it did not exist).
pub(super) type Before = BTreeMap<String, Option<TableRows>>;

/// The rows of every table of the database, by lower-case name.
#[derive(Debug, Default)]
pub(super) struct Rows {
    tables: HashMap<String, Table>,
}

#[derive(Debug)]
struct Table {
    /// The name as SQLite has it, for messages.
    name: String,
    rows: TableRows,
}

/// The application's tables: neither SQLite's own nor the record, nor
/// virtual tables, whose module may not be loaded and whose rows live in
/// their shadow tables, which are read as any other.
const TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations' \
     AND sql NOT LIKE 'CREATE VIRTUAL%'";

impl Rows {
    /// Reads every table of `conn`.
    pub fn read(conn: &Connection) -> rusqlite::Result<Rows> {
        let mut tables = HashMap::new();
        for name in table_names(conn)? {
            let rows = read_rows(conn, &name)?;
            tables.insert(name.to_lowercase(), Table { name, rows });
        }
        Ok(Rows { tables })
    }

    /// The rows of the table `key` (lower-case) now, if it exists.
    pub fn get(&self, key: &str) -> Option<&TableRows> {
        self.tables.get(key).map(|t| &t.rows)
    }

    /// The table's name as SQLite has it (`key` when unknown).
    pub fn name<'a>(&'a self, key: &'a str) -> &'a str {
        self.tables.get(key).map_or(key, |t| t.name.as_str())
    }

    /// Reads again the tables a step `touched`, and any that appeared under
    /// a new name; returns what they held before.
    pub fn sync(&mut self, conn: &Connection, touched: Touched) -> rusqlite::Result<Before> {
        if touched.everything {
            return self.reread(conn);
        }
        let mut before = Before::new();
        let mut gone = false;
        for key in touched.tables {
            if key == "schema_migrations" {
                continue;
            }
            match find(conn, &key)? {
                Found::Virtual => return self.reread(conn),
                Found::Table(name) => {
                    let rows = read_rows(conn, &name)?;
                    let old = self.tables.insert(key.clone(), Table { name, rows });
                    before.insert(key, old.map(|t| t.rows));
                }
                Found::Nothing => {
                    gone = true;
                    let old = self.tables.remove(&key);
                    before.insert(key, old.map(|t| t.rows));
                }
            }
        }
        // Every table the step did not touch is still there, so a new name
        // shows as a count the tables known do not reach.
        if gone || (!before.is_empty() && count_tables(conn)? != self.tables.len()) {
            for name in table_names(conn)? {
                let key = name.to_lowercase();
                if !self.tables.contains_key(&key) {
                    let rows = read_rows(conn, &name)?;
                    self.tables.insert(key.clone(), Table { name, rows });
                    before.entry(key).or_insert(None);
                }
            }
        }
        Ok(before)
    }

    /// Reads every table again; what each held before, for all of them.
    fn reread(&mut self, conn: &Connection) -> rusqlite::Result<Before> {
        let fresh = Rows::read(conn)?;
        let old = std::mem::replace(self, fresh);
        let mut before: Before = old
            .tables
            .into_iter()
            .map(|(key, t)| (key, Some(t.rows)))
            .collect();
        for key in self.tables.keys() {
            before.entry(key.clone()).or_insert(None);
        }
        Ok(before)
    }
}

enum Found {
    Table(String),
    Virtual,
    Nothing,
}

/// The table whose lower-case name is `key`. SQLite folds only ASCII
/// letters, the authorizer's names are folded entirely: a name with other
/// letters is looked for among all the tables.
fn find(conn: &Connection, key: &str) -> rusqlite::Result<Found> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, sql LIKE 'CREATE VIRTUAL%' FROM sqlite_master \
         WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
    )?;
    let found: Option<(String, bool)> = stmt
        .query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?
        .next()
        .transpose()?;
    let found = match found {
        None if !key.is_ascii() => {
            let mut all = conn.prepare_cached(
                "SELECT name, sql LIKE 'CREATE VIRTUAL%' FROM sqlite_master \
                 WHERE type = 'table'",
            )?;
            let rows: Vec<(String, bool)> = all
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .find(|(name, _)| name.to_lowercase() == key)
        }
        found => found,
    };
    Ok(match found {
        None => Found::Nothing,
        Some((_, true)) => Found::Virtual,
        Some((name, false)) => Found::Table(name),
    })
}

fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(TABLES)?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

fn count_tables(conn: &Connection) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations' \
         AND sql NOT LIKE 'CREATE VIRTUAL%'",
    )?;
    let n: i64 = stmt.query_row([], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Every row of `table`, each as an SQL tuple, sorted.
fn read_rows(conn: &Connection, table: &str) -> rusqlite::Result<TableRows> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{}\"", table.replace('"', "\"\"")))?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut tuple = String::from("(");
        for i in 0..columns {
            if i > 0 {
                tuple.push_str(", ");
            }
            literal(&mut tuple, row.get_ref(i)?);
        }
        tuple.push(')');
        out.push(tuple);
    }
    out.sort_unstable();
    Ok(out)
}

/// `value` as an SQL literal: exact (a REAL prints as the shortest text
/// that reads back the same, a BLOB in hexadecimal), so equal text means
/// equal values.
fn literal(out: &mut String, value: ValueRef<'_>) {
    use std::fmt::Write as _;
    match value {
        ValueRef::Null => out.push_str("NULL"),
        ValueRef::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        ValueRef::Real(f) => {
            let _ = write!(out, "{f:?}");
        }
        ValueRef::Text(t) => {
            out.push('\'');
            out.push_str(&String::from_utf8_lossy(t).replace('\'', "''"));
            out.push('\'');
        }
        ValueRef::Blob(b) => {
            out.push_str("X'");
            out.push_str(&hex::encode_upper(b));
            out.push('\'');
        }
    }
}

/// How the rows of one table after a down differ from the previous
/// version's: see [`compare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDifference {
    /// The table, as SQLite names it.
    pub table: String,
    /// How many rows it has at the previous version.
    pub expected: usize,
    /// How many of those are not there after the down, and one of them.
    pub missing: (usize, Option<String>),
    /// How many rows are there that the previous version does not have,
    /// and one of them.
    pub extra: (usize, Option<String>),
}

/// How `found` (the rows of `table` after a down) differs from `expected`
/// (the previous version's), both sorted; `None` when they are the same.
pub(super) fn compare(table: &str, expected: &[String], found: &[String]) -> Option<RowDifference> {
    if expected == found {
        return None;
    }
    let (mut i, mut j) = (0, 0);
    let mut missing = (0, None);
    let mut extra = (0, None);
    let note = |side: &mut (usize, Option<String>), row: &String| {
        side.0 += 1;
        if side.1.is_none() {
            side.1 = Some(row.clone());
        }
    };
    while i < expected.len() || j < found.len() {
        match (expected.get(i), found.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                note(&mut missing, a);
                i += 1;
            }
            (Some(_), Some(b)) | (None, Some(b)) => {
                note(&mut extra, b);
                j += 1;
            }
            (Some(a), None) => {
                note(&mut missing, a);
                i += 1;
            }
            (None, None) => break,
        }
    }
    Some(RowDifference {
        table: table.to_owned(),
        expected: expected.len(),
        missing,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touched(tables: &[&str]) -> Touched {
        Touched {
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
            ..Touched::default()
        }
    }

    #[test]
    fn rows_are_exact_literals_in_a_stable_order() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a, b); INSERT INTO t VALUES (2, 'it''s'), (1, X'00ff'), \
             (0.1, NULL);",
        )
        .unwrap();
        let rows = Rows::read(&conn).unwrap();
        assert_eq!(
            rows.get("t").unwrap(),
            &["(0.1, NULL)", "(1, X'00FF')", "(2, 'it''s')"]
        );
    }

    #[test]
    fn a_rename_is_followed_and_untouched_tables_are_not_read() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE users (id); INSERT INTO users VALUES (1);")
            .unwrap();
        let mut rows = Rows::read(&conn).unwrap();
        conn.execute_batch(
            "CREATE TABLE users_new (id, name); INSERT INTO users_new SELECT id, 'x' FROM users; \
             DROP TABLE users; ALTER TABLE users_new RENAME TO users;",
        )
        .unwrap();
        let before = rows.sync(&conn, touched(&["users", "users_new"])).unwrap();
        assert_eq!(before["users"].as_deref(), Some(&["(1)".to_owned()][..]));
        assert_eq!(before["users_new"], None);
        assert_eq!(rows.get("users").unwrap(), &["(1, 'x')"]);
        assert_eq!(rows.get("users_new"), None);

        // A write nobody reported is not seen: the authorizer is trusted.
        conn.execute_batch("INSERT INTO users VALUES (2, 'y')")
            .unwrap();
        assert!(rows.sync(&conn, touched(&[])).unwrap().is_empty());
        assert_eq!(rows.get("users").unwrap().len(), 1);
    }

    #[test]
    fn missing_and_extra_rows_are_counted_with_an_example() {
        let expected = ["(1)".to_owned(), "(2)".to_owned(), "(3)".to_owned()];
        let found = ["(2)".to_owned(), "(4)".to_owned()];
        let d = compare("t", &expected, &found).unwrap();
        assert_eq!(d.expected, 3);
        assert_eq!(d.missing, (2, Some("(1)".to_owned())));
        assert_eq!(d.extra, (1, Some("(4)".to_owned())));
        assert_eq!(compare("t", &expected, &expected), None);
    }
}
