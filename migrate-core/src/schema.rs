//! The schema a database has, read from `sqlite_master`, normalised so that
//! the same schema always reads the same, and fingerprinted.
//!
//! The build applies every migration to an in-memory database and embeds the
//! fingerprint after each version, so a live database can later be compared
//! with what its version should look like.

use std::fmt;

use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// One object of a schema: a table, index, view or trigger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaObject {
    /// `table`, `index`, `view` or `trigger`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The table it belongs to (its own name for a table).
    pub table: String,
    /// Its `CREATE` statement as SQLite stores it; `None` for objects SQLite
    /// creates implicitly.
    pub sql: Option<String>,
}

/// A database's schema: every object but SQLite's own and the tracking
/// table, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// The objects, sorted by kind then name.
    pub objects: Vec<SchemaObject>,
}

impl Schema {
    /// Reads the schema of the `main` database of `conn`.
    pub fn read(conn: &Connection) -> rusqlite::Result<Schema> {
        let mut stmt = conn.prepare_cached(
            "SELECT type, name, tbl_name, sql FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations'",
        )?;
        let mut objects = stmt
            .query_map([], |row| {
                Ok(SchemaObject {
                    kind: row.get(0)?,
                    name: row.get(1)?,
                    table: row.get(2)?,
                    sql: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        objects.sort();
        Ok(Schema { objects })
    }

    /// The fingerprint of this schema.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut hasher = Sha256::new();
        for o in &self.objects {
            for field in [&o.kind, &o.name, &o.table] {
                hasher.update(field.as_bytes());
                hasher.update([0]);
            }
            hasher.update(normalize_sql(o.sql.as_deref().unwrap_or("")).as_bytes());
            hasher.update([0xff]);
        }
        Fingerprint(hasher.finalize().into())
    }

    /// The schema as SQL a person can read: one `CREATE` statement per object,
    /// tables first.
    pub fn to_sql(&self) -> String {
        let rank = |kind: &str| match kind {
            "table" => 0,
            "index" => 1,
            "view" => 2,
            _ => 3,
        };
        let mut objects: Vec<&SchemaObject> = self.objects.iter().collect();
        objects.sort_by_key(|o| (rank(&o.kind), o.table.as_str(), o.name.as_str()));
        objects
            .iter()
            .filter_map(|o| o.sql.as_deref())
            .map(|sql| format!("{sql};\n"))
            .collect()
    }
}

/// SHA-256 of a normalised schema.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The statement with comments removed and runs of whitespace outside
/// quoted text collapsed to one space, so that layout and comments do not
/// change a fingerprint.
pub fn normalize_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        let comment = match (c, chars.peek()) {
            ('-', Some('-')) => Some("\n"),
            ('/', Some('*')) => Some("*/"),
            _ => None,
        };
        if let Some(end) = comment {
            chars.next();
            let mut last = '\0';
            for d in chars.by_ref() {
                if (end == "\n" && d == '\n') || (end == "*/" && last == '*' && d == '/') {
                    break;
                }
                last = d;
            }
            pending_space = true;
        } else if c.is_whitespace() {
            pending_space = true;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
            if let Some(close) = match c {
                '\'' | '"' | '`' => Some(c),
                '[' => Some(']'),
                _ => None,
            } {
                for d in chars.by_ref() {
                    out.push(d);
                    if d == close {
                        break;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_comments_outside_quotes_do_not_matter() {
        assert_eq!(
            normalize_sql("CREATE TABLE t (\n    a TEXT DEFAULT 'x  -- y',\r\n\tb INT -- note\n)"),
            "CREATE TABLE t ( a TEXT DEFAULT 'x  -- y', b INT )"
        );
        assert_eq!(
            normalize_sql("CREATE /* why */ TABLE \"a  b\" (x)"),
            "CREATE TABLE \"a  b\" (x)"
        );
    }

    #[test]
    fn fingerprint_follows_the_schema_not_its_layout() {
        let a = Connection::open_in_memory().unwrap();
        a.execute_batch("CREATE TABLE t (a INT,\n b TEXT); CREATE INDEX i ON t(a);")
            .unwrap();
        let b = Connection::open_in_memory().unwrap();
        b.execute_batch("CREATE TABLE t (a INT, b TEXT);\nCREATE INDEX i ON t(a);")
            .unwrap();
        let (sa, sb) = (Schema::read(&a).unwrap(), Schema::read(&b).unwrap());
        assert_eq!(sa.fingerprint(), sb.fingerprint());
        b.execute_batch("CREATE INDEX j ON t(b)").unwrap();
        assert_ne!(sa.fingerprint(), Schema::read(&b).unwrap().fingerprint());
        assert_eq!(
            sa.to_sql(),
            "CREATE TABLE t (a INT,\n b TEXT);\nCREATE INDEX i ON t(a);\n"
        );
    }
}
