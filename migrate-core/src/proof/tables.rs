//! The data proof's copy of the rows of every application table, with what
//! it needs to compare a table before and after a migration: the columns,
//! the primary key, the values (see [`super::compare`]).
//!
//! As for the round trip's [`super::rows`], reading every table around every
//! migration would cost the square of a long history: the copy is kept up
//! to date instead, reading again only the tables the generator filled and
//! the tables the runner's authorizer saw a step write, create, alter or
//! drop (and any that appeared under a new name). The copy of a table from
//! before a step is what the step is compared with.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension as _};

use crate::fkscope::{Rename, Touched};

/// Longest text or blob quoted whole in a message; longer ones are cut.
const QUOTED: usize = 40;

/// One table, as read.
#[derive(Debug, Clone)]
pub(super) struct Table {
    /// Its name as SQLite has it.
    pub name: String,
    /// Its columns (generated columns left out: they follow from the
    /// others), as SQLite names them.
    pub columns: Vec<String>,
    /// The positions in `columns` of its PRIMARY KEY, in key order (an
    /// INTEGER PRIMARY KEY included); empty when it declares none.
    pub key: Vec<usize>,
    /// Its rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// The position of the column named `name` (any case).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}

/// What a step changed: for each table it touched, by lower-case name, the
/// copy from before it (`None`: it did not exist).
pub(super) type Before = BTreeMap<String, Option<Table>>;

/// The copy of every application table of a database, by lower-case name.
#[derive(Debug, Default)]
pub(super) struct Tables {
    tables: HashMap<String, Table>,
}

/// The application's ordinary tables: neither SQLite's own nor the record,
/// nor virtual tables and their shadow tables, whose rows the data proof
/// does not follow (a full-text index's are SQLite's business).
const LIST: &str = "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations'";

impl Tables {
    /// Reads every table of `conn`.
    pub fn read(conn: &Connection) -> rusqlite::Result<Tables> {
        let mut tables = HashMap::new();
        for name in names(conn)? {
            let table = read(conn, &name)?;
            tables.insert(name.to_lowercase(), table);
        }
        Ok(Tables { tables })
    }

    /// The table whose lower-case name is `key`.
    pub fn get(&self, key: &str) -> Option<&Table> {
        self.tables.get(key)
    }

    /// Reads again the tables named (by their names as SQLite has them),
    /// e.g. those the generator just filled.
    pub fn refresh<'n>(
        &mut self,
        conn: &Connection,
        names: impl IntoIterator<Item = &'n str>,
    ) -> rusqlite::Result<()> {
        for name in names {
            let table = read(conn, name)?;
            self.tables.insert(name.to_lowercase(), table);
        }
        Ok(())
    }

    /// Reads again the tables a step `touched`, and any that appeared under
    /// a new name; returns the copies from before the step.
    ///
    /// Only those tables are looked up, one by one: listing every table of
    /// the schema after each step would make a long history's proof cost
    /// the number of tables times the number of migrations. A table that
    /// appeared without being created is the new name of one renamed away
    /// (`touched.renames`); only when a touched table is gone and neither
    /// dropped nor renamed away (a rename whose text was not followed) is
    /// every table listed to find the new name.
    pub fn sync(&mut self, conn: &Connection, touched: &Touched) -> rusqlite::Result<Before> {
        let mut before = Before::new();
        if touched.everything {
            let old = std::mem::take(&mut self.tables);
            *self = Tables::read(conn)?;
            for (key, table) in old {
                before.insert(key, Some(table));
            }
            for key in self.tables.keys() {
                before.entry(key.clone()).or_insert(None);
            }
            return Ok(before);
        }
        let renamed_away = |key: &str| {
            touched
                .renames
                .iter()
                .any(|r| matches!(r, Rename::Table { from, .. } if from == key))
        };
        let renamed_to = touched.renames.iter().filter_map(|r| match r {
            Rename::Table { to, .. } => Some(to),
            Rename::Column { .. } => None,
        });
        let keys: BTreeSet<&String> = touched.tables.iter().chain(renamed_to).collect();
        let mut unexplained = false;
        for key in keys {
            if !is_application(key) {
                continue;
            }
            let old = match lookup(conn, key)? {
                Some(name) => {
                    let table = read(conn, &name)?;
                    self.tables.insert(key.clone(), table)
                }
                None => {
                    unexplained |= !touched.dropped.contains(key) && !renamed_away(key);
                    self.tables.remove(key)
                }
            };
            if old.is_some() || self.tables.contains_key(key) {
                before.insert(key.clone(), old);
            }
        }
        if unexplained {
            for name in names(conn)? {
                let key = name.to_lowercase();
                if !self.tables.contains_key(&key) {
                    self.tables.insert(key.clone(), read(conn, &name)?);
                    before.entry(key).or_insert(None);
                }
            }
        }
        Ok(before)
    }
}

/// Whether `key` (lower-case) may name an application table: not one of
/// SQLite's own, nor the record.
fn is_application(key: &str) -> bool {
    !key.starts_with("sqlite_") && key != "schema_migrations"
}

/// The name as SQLite has it of the application table `key` (any case),
/// if there is one: neither a view nor a virtual or shadow table.
fn lookup(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name FROM pragma_table_list(?1) WHERE schema = 'main' AND type = 'table'",
    )?;
    stmt.query_row([key], |r| r.get(0)).optional()
}

fn names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(LIST)?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// Reads one table: its columns and key from `pragma_table_info`, then its
/// rows.
fn read(conn: &Connection, name: &str) -> rusqlite::Result<Table> {
    let mut info = conn.prepare_cached("SELECT name, pk FROM pragma_table_info(?1, 'main')")?;
    let described: Vec<(String, i64)> = info
        .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut key: Vec<(i64, usize)> = described
        .iter()
        .enumerate()
        .filter(|(_, (_, pk))| *pk > 0)
        .map(|(i, (_, pk))| (*pk, i))
        .collect();
    key.sort_unstable();
    let columns: Vec<String> = described.into_iter().map(|(c, _)| c).collect();
    let rows = if columns.is_empty() {
        Vec::new()
    } else {
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let mut stmt = conn.prepare(&format!("SELECT {} FROM {}", list.join(", "), quote(name)))?;
        stmt.query_map([], |r| {
            (0..columns.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<Value>>>()
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    Ok(Table {
        name: name.to_owned(),
        columns,
        key: key.into_iter().map(|(_, i)| i).collect(),
        rows,
    })
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` in a form where two values are equal when they hold the same
/// datum: an INTEGER and a REAL of the same number, or a number and the
/// text SQLite writes for it (`25` and `'25'`, as a column of another
/// affinity stores a copied value) are the same; `'18-25'` and `18`, or
/// `'025'` and `25`, are not.
pub(super) fn canonical(value: &Value) -> String {
    match value {
        Value::Null => "n".to_owned(),
        Value::Integer(i) => format!("i{i}"),
        Value::Real(f) => real(*f),
        Value::Text(t) => {
            if let Ok(i) = t.parse::<i64>()
                && i.to_string() == *t
            {
                return format!("i{i}");
            }
            if let Ok(f) = t.parse::<f64>()
                && f.is_finite()
                && (format!("{f:?}") == *t || f.to_string() == *t || is_sqlite_real_text(t))
            {
                return real(f);
            }
            format!("t{t}")
        }
        Value::Blob(b) => format!("b{}", hex::encode(b)),
    }
}

/// Whether `text` is written the way SQLite writes a REAL as TEXT (`%!.15g`:
/// `-1.0e+300`, `2.5e-05`, `0.5`): a decimal point or an exponent, digits
/// without a leading zero before another digit, no `+` in front. `'025'`
/// and `'1,5'` are not.
fn is_sqlite_real_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let mut chars = digits.chars();
    let leading_zero =
        matches!((chars.next(), chars.next()), (Some('0'), Some(c)) if c.is_ascii_digit());
    digits.starts_with(|c: char| c.is_ascii_digit())
        && !leading_zero
        && digits.contains(['.', 'e', 'E'])
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
}

/// A REAL's canonical form: as an INTEGER when it is a whole number an
/// INTEGER holds exactly.
fn real(f: f64) -> String {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() < EXACT {
        // Exact: a whole number below 2^53.
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        format!("i{i}")
    } else {
        format!("r{f:?}")
    }
}

/// `value` as SQL writes it, for messages: `'18-25'`, `18`, `NULL`,
/// `X'00FF'`, long text and blobs cut with `…`.
pub(super) fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(t) => {
            let cut: String = t.chars().take(QUOTED).collect();
            let more = if cut.len() < t.len() { "…" } else { "" };
            format!("'{}{more}'", cut.replace('\'', "''"))
        }
        Value::Blob(b) => {
            let shown = &b[..b.len().min(QUOTED / 2)];
            let more = if shown.len() < b.len() { "…" } else { "" };
            format!("X'{}{more}'", hex::encode_upper(shown))
        }
    }
}

/// A row as an SQL tuple, for messages: `('u1', 'red', NULL)`.
pub(super) fn tuple(row: &[Value]) -> String {
    let mut out = String::from("(");
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}", literal(v));
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_equal_as_data_are_equal() {
        let c = |v: Value| canonical(&v);
        assert_eq!(c(Value::Integer(25)), c(Value::Text("25".into())));
        assert_eq!(c(Value::Integer(3)), c(Value::Real(3.0)));
        assert_eq!(c(Value::Real(0.5)), c(Value::Text("0.5".into())));
        assert_ne!(c(Value::Integer(18)), c(Value::Text("18-25".into())));
        assert_ne!(c(Value::Integer(25)), c(Value::Text("025".into())));
        assert_ne!(c(Value::Null), c(Value::Text(String::new())));
        assert_ne!(c(Value::Blob(vec![0x41])), c(Value::Text("A".into())));
        // A REAL copied into a TEXT column, as SQLite writes it.
        assert_eq!(c(Value::Real(-1e300)), c(Value::Text("-1.0e+300".into())));
        assert_eq!(c(Value::Real(2.5e-5)), c(Value::Text("2.5e-05".into())));
        assert_ne!(c(Value::Real(0.5)), c(Value::Text("00.5".into())));
        assert_ne!(c(Value::Real(1.5)), c(Value::Text("+1.5".into())));
    }

    #[test]
    fn literals_quote_text_and_show_null_and_blobs() {
        assert_eq!(literal(&Value::Text("it's".into())), "'it''s'");
        assert_eq!(literal(&Value::Null), "NULL");
        assert_eq!(literal(&Value::Blob(vec![0, 255])), "X'00FF'");
        assert_eq!(tuple(&[Value::Integer(1), Value::Real(0.5)]), "(1, 0.5)");
    }

    #[test]
    fn a_rebuild_is_followed_by_the_name_it_ends_with() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, a); INSERT INTO users VALUES (1, 'x');",
        )
        .unwrap();
        let mut tables = Tables::read(&conn).unwrap();
        assert_eq!(tables.get("users").unwrap().key, [0]);
        conn.execute_batch(
            "CREATE TABLE users_new (id INTEGER PRIMARY KEY, b); INSERT INTO users_new SELECT * FROM users; \
             DROP TABLE users; ALTER TABLE users_new RENAME TO users;",
        )
        .unwrap();
        let touched = Touched {
            tables: ["users".to_owned(), "users_new".to_owned()].into(),
            dropped: ["users".to_owned()].into(),
            renames: vec![Rename::Table {
                from: "users_new".to_owned(),
                to: "users".to_owned(),
            }],
            ..Touched::default()
        };
        let before = tables.sync(&conn, &touched).unwrap();
        assert_eq!(before["users"].as_ref().unwrap().columns, ["id", "a"]);
        assert!(before.get("users_new").is_none_or(Option::is_none));
        assert_eq!(tables.get("users").unwrap().columns, ["id", "b"]);
        assert!(tables.get("users_new").is_none());
    }

    #[test]
    fn a_table_renamed_in_a_way_not_followed_is_found_under_its_new_name() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE a (x); INSERT INTO a VALUES (1);")
            .unwrap();
        let mut tables = Tables::read(&conn).unwrap();
        conn.execute_batch("ALTER TABLE a RENAME TO b").unwrap();
        // The authorizer saw `a` altered, and the rename's text was not read.
        let touched = Touched {
            tables: ["a".to_owned()].into(),
            ..Touched::default()
        };
        let before = tables.sync(&conn, &touched).unwrap();
        assert_eq!(before["a"].as_ref().unwrap().rows.len(), 1);
        assert!(before["b"].is_none());
        assert_eq!(tables.get("b").unwrap().rows.len(), 1);
        assert!(tables.get("a").is_none());
    }
}
