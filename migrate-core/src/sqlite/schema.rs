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
///
/// # Examples
///
/// ```
/// use migrate_core::rusqlite::Connection;
/// use migrate_core::schema::{Schema, SchemaObject};
///
/// # fn main() -> Result<(), migrate_core::rusqlite::Error> {
/// let conn = Connection::open_in_memory()?;
/// conn.execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY); CREATE INDEX i ON users(id)")?;
/// let schema = Schema::read(&conn)?;
/// let names: Vec<(&str, &str)> =
///     schema.objects.iter().map(|o| (o.kind.as_str(), o.name.as_str())).collect();
/// // SQLite's own objects (the primary key's `sqlite_autoindex_users_1`) are left out.
/// assert_eq!(names, [("index", "i"), ("table", "users")]);
/// assert_eq!(schema.objects[0].table, "users");
/// assert_eq!(schema.objects[0].sql.as_deref(), Some("CREATE INDEX i ON users(id)"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// The objects, sorted by kind then name.
    pub objects: Vec<SchemaObject>,
}

impl Schema {
    /// Reads the schema of the `main` database of `conn`. `schema_migrations`
    /// is left out: it is the record, not the application's schema.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::schema::Schema;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = Connection::open_in_memory()?;
    /// assert_eq!(Schema::read(&conn)?, Schema::default());
    ///
    /// let list = [migrate_core::Migration::new(1, "Create t", ["CREATE TABLE t (x)"])];
    /// migrate_core::Migrator::new(&list).apply(&mut conn)?;
    /// let schema = Schema::read(&conn)?;
    /// assert_eq!(schema.objects.len(), 1);
    /// assert_eq!(schema.objects[0].name, "t");
    /// assert_eq!(schema.objects[0].sql.as_deref(), Some("CREATE TABLE t (x)"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn read(conn: &Connection) -> rusqlite::Result<Schema> {
        let mut stmt = conn.prepare_cached(OBJECTS)?;
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

    /// The fingerprint of this schema: SHA-256 over the sorted digests of
    /// its objects, so it depends on neither their order nor their layout.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::schema::Schema;
    ///
    /// # fn main() -> Result<(), migrate_core::rusqlite::Error> {
    /// let a = Connection::open_in_memory()?;
    /// a.execute_batch("CREATE TABLE t (x INT, y TEXT); CREATE TABLE u (z);")?;
    /// let b = Connection::open_in_memory()?;
    /// b.execute_batch("CREATE TABLE u (z);\nCREATE TABLE t (x INT,  -- the key\n    y TEXT);")?;
    ///
    /// // Other whitespace and comments, created in another order: same fingerprint.
    /// assert_eq!(Schema::read(&a)?.fingerprint(), Schema::read(&b)?.fingerprint());
    ///
    /// b.execute_batch("CREATE INDEX j ON t(y)")?;
    /// assert_ne!(Schema::read(&a)?.fingerprint(), Schema::read(&b)?.fingerprint());
    ///
    /// // Displayed as 64 hexadecimal digits.
    /// assert_eq!(Schema::read(&a)?.fingerprint().to_string().len(), 64);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fingerprint(&self) -> Fingerprint {
        let digests = self
            .objects
            .iter()
            .map(|o| object_digest(&o.kind, &o.name, &o.table, o.sql.as_deref()))
            .collect();
        combine(digests)
    }

    /// The schema as SQL a person can read: one `CREATE` statement per object,
    /// tables first, each as SQLite stores it.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::schema::Schema;
    ///
    /// # fn main() -> Result<(), migrate_core::rusqlite::Error> {
    /// let conn = Connection::open_in_memory()?;
    /// conn.execute_batch(
    ///     "CREATE TABLE users (id TEXT PRIMARY KEY);
    ///      CREATE INDEX idx_users_id ON users(id);
    ///      CREATE VIEW ids AS SELECT id FROM users;
    ///      ALTER TABLE users ADD COLUMN name TEXT;",
    /// )?;
    /// assert_eq!(
    ///     Schema::read(&conn)?.to_sql(),
    ///     "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT);\n\
    ///      CREATE INDEX idx_users_id ON users(id);\n\
    ///      CREATE VIEW ids AS SELECT id FROM users;\n",
    /// );
    /// # Ok(())
    /// # }
    /// ```
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

/// The digest of one object, from its normalised definition.
fn object_digest(kind: &str, name: &str, table: &str, sql: Option<&str>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for field in [kind, name, table] {
        hasher.update(field.as_bytes());
        hasher.update([0]);
    }
    hasher.update(normalize_sql(sql.unwrap_or("")).as_bytes());
    hasher.finalize().into()
}

fn combine(mut digests: Vec<[u8; 32]>) -> Fingerprint {
    digests.sort_unstable();
    let mut hasher = Sha256::new();
    for d in &digests {
        hasher.update(d);
    }
    Fingerprint(hasher.finalize().into())
}

/// Fingerprints the successive schemas of one connection cheaply, for the
/// build's proof, which needs one after every migration: a schema that did
/// not change (`PRAGMA schema_version`) is not read again, and objects whose
/// definition did not change are not normalised and hashed again.
#[derive(Debug, Default)]
pub struct Fingerprinter {
    /// Digest by definition text, with the kind and name it was computed for.
    memo: std::collections::HashMap<String, (String, String, [u8; 32])>,
    last: Option<(i64, Fingerprint)>,
}

impl Fingerprinter {
    /// The fingerprint of `conn`'s schema now; equal to
    /// `Schema::read(conn)?.fingerprint()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::rusqlite::Connection;
    /// use migrate_core::schema::{Fingerprinter, Schema};
    ///
    /// # fn main() -> Result<(), migrate_core::rusqlite::Error> {
    /// let conn = Connection::open_in_memory()?;
    /// let mut fingerprinter = Fingerprinter::default();
    /// for sql in ["CREATE TABLE t (x)", "INSERT INTO t VALUES (1)", "CREATE INDEX i ON t(x)"] {
    ///     conn.execute_batch(sql)?;
    ///     assert_eq!(fingerprinter.fingerprint(&conn)?, Schema::read(&conn)?.fingerprint());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn fingerprint(&mut self, conn: &Connection) -> rusqlite::Result<Fingerprint> {
        let cookie: i64 = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
        if let Some((seen, fingerprint)) = self.last
            && seen == cookie
        {
            return Ok(fingerprint);
        }
        let mut stmt = conn.prepare_cached(OBJECTS)?;
        let mut rows = stmt.query([])?;
        let mut digests = Vec::new();
        while let Some(row) = rows.next()? {
            let kind = row.get_ref(0)?.as_str()?;
            let name = row.get_ref(1)?.as_str()?;
            let table = row.get_ref(2)?.as_str()?;
            let sql = row.get_ref(3)?.as_str_or_null()?;
            let digest = match sql.map(|s| (s, self.memo.get(s))) {
                Some((_, Some((k, n, d)))) if k == kind && n == name => *d,
                Some((s, _)) => {
                    let d = object_digest(kind, name, table, sql);
                    self.memo
                        .insert(s.to_owned(), (kind.to_owned(), name.to_owned(), d));
                    d
                }
                None => object_digest(kind, name, table, None),
            };
            digests.push(digest);
        }
        let fingerprint = combine(digests);
        self.last = Some((cookie, fingerprint));
        Ok(fingerprint)
    }
}

/// Every object but SQLite's own and the tracking table.
const OBJECTS: &str = "SELECT type, name, tbl_name, sql FROM sqlite_master \
     WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations'";

/// SHA-256 of a normalised schema; displayed as 64 lower-case hexadecimal
/// digits.
///
/// # Examples
///
/// ```
/// use migrate_core::schema::Schema;
///
/// let empty = Schema::default().fingerprint();
/// assert_eq!(
///     empty.to_string(),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // SHA-256 of nothing
/// );
/// assert_eq!(format!("{empty:?}"), format!("Fingerprint({empty})"));
/// ```
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

/// The statement with comments removed, runs of whitespace outside quoted
/// text collapsed to one space, and no space next to `(`, `)` or `,`, so
/// that layout and comments do not change a fingerprint (a table made by
/// hand as `t(x INT,y INT)` is the same as `t ( x INT, y INT )`).
///
/// A name that needs no quotes loses them: SQLite writes the new name of a
/// renamed table quoted (`ALTER TABLE users_new RENAME TO users` stores
/// `CREATE TABLE "users" (…)`, and rewrites the indexes, triggers and views
/// that name it the same way), so a table rebuilt by a migration and
/// rebuilt back by its down is the same table as the one first created.
///
/// # Examples
///
/// ```
/// use migrate_core::schema::normalize_sql;
///
/// assert_eq!(
///     normalize_sql("CREATE TABLE t (\r\n    a TEXT DEFAULT 'x  -- y', -- note\n\tb /* why */ INT\n)"),
///     "CREATE TABLE t(a TEXT DEFAULT 'x  -- y',b INT)",
/// );
/// // Quoted names keep their spaces.
/// assert_eq!(normalize_sql("CREATE  TABLE \"a  b\"  (x)"), "CREATE TABLE \"a  b\"(x)");
/// // Spacing around parentheses and commas does not count; words do.
/// assert_eq!(normalize_sql("CREATE TABLE t (x)"), normalize_sql("CREATE TABLE t( x )"));
/// assert_ne!(normalize_sql("CREATE TABLE t (x)"), normalize_sql("CREATE TABLE t (x INT)"));
/// // A name quoted without need is the same name.
/// assert_eq!(normalize_sql("CREATE TABLE \"users\" (id)"), "CREATE TABLE users(id)");
/// assert_eq!(normalize_sql("CREATE INDEX i ON `users`([id])"), "CREATE INDEX i ON users(id)");
/// assert_eq!(normalize_sql("CREATE TABLE \"a\"\"b\" (x)"), "CREATE TABLE \"a\"\"b\"(x)");
/// ```
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
            let tight = |c: char| matches!(c, '(' | ')' | ',');
            if pending_space && !out.ends_with(tight) && !tight(c) && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            match match c {
                '\'' | '"' | '`' => Some(c),
                '[' => Some(']'),
                _ => None,
            } {
                Some(close) => quoted(&mut out, c, close, &mut chars),
                None => out.push(c),
            }
        }
    }
    out
}

/// Copies the quoted text that `open` starts, up to its `close` (a doubled
/// quote inside is the quote itself), to `out`: without the quotes when it
/// is a name that needs none (letters, digits and `_`, not starting with a
/// digit), as is otherwise; a string literal (`'…'`) always as is.
fn quoted(
    out: &mut String,
    open: char,
    close: char,
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) {
    let mut body = String::new();
    let mut closed = false;
    while let Some(d) = chars.next() {
        if d == close {
            if close != ']' && chars.peek() == Some(&close) {
                chars.next();
                body.push(d);
                body.push(d);
                continue;
            }
            closed = true;
            break;
        }
        body.push(d);
    }
    let bare = open != '\''
        && closed
        && body.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if bare {
        out.push_str(&body);
    } else {
        out.push(open);
        out.push_str(&body);
        if closed {
            out.push(close);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_comments_outside_quotes_do_not_matter() {
        assert_eq!(
            normalize_sql("CREATE TABLE t (\n    a TEXT DEFAULT 'x  -- y',\r\n\tb INT -- note\n)"),
            "CREATE TABLE t(a TEXT DEFAULT 'x  -- y',b INT)"
        );
        assert_eq!(
            normalize_sql("CREATE /* why */ TABLE \"a  b\" (x)"),
            "CREATE TABLE \"a  b\"(x)"
        );
        assert_eq!(
            normalize_sql("CREATE INDEX i ON tickets ( user )"),
            normalize_sql("CREATE INDEX i ON tickets(user)")
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
        assert_eq!(
            Fingerprinter::default().fingerprint(&a).unwrap(),
            sa.fingerprint()
        );
        let mut cached = Fingerprinter::default();
        assert_eq!(cached.fingerprint(&b).unwrap(), sa.fingerprint());
        b.execute_batch("CREATE INDEX j ON t(b)").unwrap();
        assert_ne!(sa.fingerprint(), Schema::read(&b).unwrap().fingerprint());
        assert_eq!(
            cached.fingerprint(&b).unwrap(),
            Schema::read(&b).unwrap().fingerprint()
        );
        assert_eq!(
            sa.to_sql(),
            "CREATE TABLE t (a INT,\n b TEXT);\nCREATE INDEX i ON t(a);\n"
        );
    }
}
