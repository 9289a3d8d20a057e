//! The data proof's copy of the rows of every application table, with what
//! it needs to compare a table before and after a migration: the columns,
//! the primary key, the values (read by [`crate::contents`], compared by
//! [`crate::compare`]).
//!
//! As for the round trip's [`super::rows`], reading every table around every
//! migration would cost the square of a long history: the copy is kept up
//! to date instead, reading again only the tables the generator filled and
//! the tables the runner's authorizer saw a step write, create, alter or
//! drop (and any that appeared under a new name). The copy of a table from
//! before a step is what the step is compared with.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension as _};

use crate::contents::{Table, read};
use crate::fkscope::{Rename, Touched};

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

    /// Reads again the ordinary tables named (by their names as SQLite has
    /// them), e.g. those the generator just filled.
    pub fn refresh<'n>(
        &mut self,
        conn: &Connection,
        names: impl IntoIterator<Item = &'n str>,
    ) -> rusqlite::Result<()> {
        for name in names {
            // Not a virtual table: its rows are its module's (see `LIST`).
            if let Some(name) = lookup(conn, name)? {
                let table = read(conn, &name)?;
                self.tables.insert(name.to_lowercase(), table);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
