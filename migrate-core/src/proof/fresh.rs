//! What a fresh database at each version needs, recorded while the proof
//! applies the list (the [`FreshImage`] of `list::fresh`), and whether the
//! image can stand in for running the migrations.
//!
//! After each version the recorder reads, from the proof's database, the
//! schema objects that changed (only when `PRAGMA schema_version` moved),
//! the rows of the tables the version wrote, created, altered or renamed
//! (the runner's authorizer names them), `sqlite_sequence` and
//! `sqlite_stat1`, and the persistent settings. A version whose result
//! depends on the moment, on the environment or on the application is
//! marked with why (its `blocker`): the run-time fresh path then stops
//! before it. The checks are conservative; a version wrongly marked only
//! costs the fast path, a version wrongly trusted would cost equivalence.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::fkscope::Touched;
use crate::list::fresh::{FreshImage, FreshStep, SchemaObject, TableRows};
use crate::tracking::hex;
use crate::{Function, Migration};

/// Functions whose result depends on the moment or on the environment,
/// wherever they are called.
const VOLATILE: [&str; 9] = [
    "random",
    "randomblob",
    "current_timestamp",
    "current_date",
    "current_time",
    "sqlite_version",
    "sqlite_source_id",
    "sqlite_compileoption_used",
    "sqlite_compileoption_get",
];

/// Date and time functions: volatile when asked for `'now'` or called
/// without arguments.
const DATES: [&str; 7] = [
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
    "timediff",
];

/// Pragmas that change nothing the database keeps, or only what the
/// recorder reads back anyway (schema, rows, `sqlite_stat1`).
const HARMLESS_PRAGMAS: [&str; 14] = [
    "foreign_keys",
    "defer_foreign_keys",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
    "optimize",
    "analysis_limit",
    "cache_size",
    "synchronous",
    "temp_store",
    "busy_timeout",
    "wal_autocheckpoint",
    "journal_size_limit",
    "legacy_alter_table",
];

/// SQLite's own tables whose rows the image carries.
const SPECIAL: [&str; 3] = ["sqlite_sequence", "sqlite_stat1", "sqlite_stat4"];

/// The most row text one version may leave in the image: a data migration
/// that generates a million rows is cheaper to run than to embed (the
/// binary would grow by its rows), so it runs one by one.
const ROWS_PER_VERSION: usize = 1 << 20;

/// Rows per `INSERT` statement of the image.
const ROWS_PER_INSERT: usize = 500;

/// Every object but SQLite's own and the tracking table, with its rowid.
const OBJECTS: &str = "SELECT rowid, type, name, tbl_name, sql FROM sqlite_master \
     WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations'";

/// Builds the [`FreshImage`] one version at a time.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    image: FreshImage,
    blocked: bool,
    /// The objects after the previous version, by lower-case name.
    objects: HashMap<String, SchemaObject>,
    cookie: Option<i64>,
    /// The inserts recorded last for each table, by lower-case name.
    rows: HashMap<String, Vec<String>>,
    /// The settings recorded last.
    settings: HashMap<String, String>,
}

impl Recorder {
    /// Records what version `m` changed, now that it is applied (and its
    /// round trip run): `called` is every function its statements called
    /// (lower-case), `touched` what the authorizer saw them write, and
    /// `declared` the functions `migrations.toml` declares.
    pub(crate) fn after(
        &mut self,
        conn: &Connection,
        m: &Migration,
        called: &BTreeSet<String>,
        touched: &Touched,
        declared: &[Function],
    ) -> rusqlite::Result<()> {
        if self.blocked {
            self.image.steps.push(FreshStep::default());
            return Ok(());
        }
        let mut step = FreshStep::default();
        let changed = self.schema(conn, &mut step)?;
        let wrote_rows = self.wrote_rows(conn, touched)?;
        let blocker = match blocker(m, called, touched, declared, wrote_rows) {
            Some(why) => Some(why),
            None => self.blocker_in_result(conn, touched, &step)?,
        };
        if let Some(why) = blocker {
            return self.block(m, why);
        }
        let mut tables: BTreeSet<String> = if touched.everything {
            self.objects
                .values()
                .filter(|o| o.kind == "table")
                .map(|o| o.name.to_lowercase())
                .collect()
        } else {
            touched.tables.clone()
        };
        tables.extend(changed);
        for special in SPECIAL {
            if crate::compat::table_exists(conn, special)? {
                tables.insert(special.to_owned());
            }
        }
        let mut budget = ROWS_PER_VERSION;
        for table in tables {
            let Some(name) = self.stored_name(&table) else {
                continue;
            };
            let Some(inserts) = inserts(conn, &name, &mut budget)? else {
                return self.block(m, format!(
                    "leaves more than {} KiB of rows, more than the build embeds for one version",
                    ROWS_PER_VERSION / 1024
                ));
            };
            if self.rows.get(&table) != Some(&inserts) {
                self.rows.insert(table.clone(), inserts.clone());
                step.rows.push(TableRows { table, inserts });
            }
        }
        self.settings(conn, m, touched, &mut step)?;
        self.image.steps.push(step);
        Ok(())
    }

    /// Marks `m` as the first version the image cannot stand for.
    fn block(&mut self, m: &Migration, why: String) -> rusqlite::Result<()> {
        self.blocked = true;
        self.image.steps.push(FreshStep {
            blocker: Some(format!("version {} {why}", m.version())),
            ..FreshStep::default()
        });
        Ok(())
    }

    /// The image of every version recorded.
    pub(crate) fn finish(self) -> FreshImage {
        self.image
    }

    /// Notes in `step` the objects created, redefined or removed since the
    /// previous version, and returns the tables among them (lower-case),
    /// whose rows must be read again (a renamed table appears under its new
    /// name).
    fn schema(
        &mut self,
        conn: &Connection,
        step: &mut FreshStep,
    ) -> rusqlite::Result<BTreeSet<String>> {
        let cookie: i64 = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
        if self.cookie == Some(cookie) {
            return Ok(BTreeSet::new());
        }
        self.cookie = Some(cookie);
        // Compared in place, without copying the rows that did not change:
        // a long history reads a long schema after every version that
        // changes it.
        let mut stmt = conn.prepare_cached(OBJECTS)?;
        let mut rows = stmt.query([])?;
        let mut seen = std::collections::HashSet::with_capacity(self.objects.len() + 8);
        let mut changed = BTreeSet::new();
        while let Some(r) = rows.next()? {
            let position: i64 = r.get(0)?;
            let kind = r.get_ref(1)?.as_str()?;
            let name = r.get_ref(2)?.as_str()?;
            let table = r.get_ref(3)?.as_str()?;
            let sql = r.get_ref(4)?.as_str_or_null()?.unwrap_or_default();
            let key = name.to_lowercase();
            let same = self.objects.get(&key).is_some_and(|o| {
                o.position == position
                    && o.kind == kind
                    && o.name == name
                    && o.table == table
                    && o.sql == sql
            });
            if !same {
                if kind == "table" {
                    changed.insert(key.clone());
                }
                let object = SchemaObject {
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                    table: table.to_owned(),
                    sql: sql.to_owned(),
                    position,
                };
                step.objects.push(object.clone());
                self.objects.insert(key.clone(), object);
            }
            seen.insert(key);
        }
        if seen.len() < self.objects.len() {
            let gone: Vec<String> = self
                .objects
                .keys()
                .filter(|k| !seen.contains(*k))
                .cloned()
                .collect();
            for key in gone {
                self.objects.remove(&key);
                self.rows.remove(&key);
                step.dropped.push(key);
            }
        }
        step.dropped.sort();
        Ok(changed)
    }

    /// Whether a table the version wrote holds rows afterwards: a call of
    /// a volatile function leaves nothing behind otherwise (a `DEFAULT
    /// CURRENT_TIMESTAMP` in a `CREATE TABLE`, a trigger's body, an
    /// `UPDATE` of an empty table).
    fn wrote_rows(&self, conn: &Connection, touched: &Touched) -> rusqlite::Result<bool> {
        let written: Vec<&SchemaObject> = self
            .objects
            .values()
            .filter(|o| o.kind == "table" && !is_virtual(o))
            .filter(|o| touched.everything || touched.tables.contains(&o.name.to_lowercase()))
            .collect();
        for table in written {
            let rows: bool = conn.query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(&table.name)),
                [],
                |r| r.get(0),
            )?;
            if rows {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The name a table is stored under, `None` when it is gone (or a view).
    fn stored_name(&self, table: &str) -> Option<String> {
        if table.starts_with("sqlite_") {
            return Some(table.to_owned());
        }
        self.objects
            .get(table)
            .filter(|o| o.kind == "table")
            .map(|o| o.name.clone())
    }

    /// Why the result of `m`, as the proof's database shows it, cannot be
    /// copied: a virtual table, statistics the image does not hold, or
    /// rows filled from defaults that depend on the moment.
    fn blocker_in_result(
        &self,
        conn: &Connection,
        touched: &Touched,
        step: &FreshStep,
    ) -> rusqlite::Result<Option<String>> {
        if let Some(vtab) = step.objects.iter().find(|o| is_virtual(o)) {
            return Ok(Some(format!(
                "creates the virtual table {}, whose shadow tables the fresh path does not copy",
                vtab.name
            )));
        }
        for table in &touched.tables {
            let Some(object) = self.objects.get(table).filter(|o| o.kind == "table") else {
                continue;
            };
            let definition = object.sql.to_lowercase();
            let volatile_default =
                VOLATILE.iter().any(|f| definition.contains(f)) || definition.contains("'now'");
            if volatile_default {
                let empty: bool = conn.query_row(
                    &format!("SELECT NOT EXISTS (SELECT 1 FROM {})", quoted(&object.name)),
                    [],
                    |r| r.get(0),
                )?;
                if !empty {
                    return Ok(Some(format!(
                        "writes rows into {}, whose defaults depend on the moment",
                        object.name
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Notes in `step` the settings `m` changed, read back from the
    /// database: `user_version` and `application_id` (any migration may set
    /// them), `auto_vacuum` (effective after a `VACUUM`), and the journal
    /// mode a migration outside a transaction asked for (the proof's
    /// in-memory database cannot show WAL).
    fn settings(
        &mut self,
        conn: &Connection,
        m: &Migration,
        touched: &Touched,
        step: &mut FreshStep,
    ) -> rusqlite::Result<()> {
        let mut now: Vec<(String, String)> = Vec::new();
        for name in ["user_version", "application_id", "auto_vacuum"] {
            let value: i64 = conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?;
            now.push((name.to_owned(), value.to_string()));
        }
        if !m.is_transactional() {
            let asked = touched
                .pragmas
                .iter()
                .rev()
                .find(|(name, value)| name == "journal_mode" && value.is_some());
            if let Some((_, Some(mode))) = asked {
                now.push(("journal_mode".to_owned(), mode.clone()));
            }
        }
        for (name, value) in now {
            let before = self
                .settings
                .get(&name)
                .map_or(name != "journal_mode" && value == "0", |v| *v == value);
            if !before {
                self.settings.insert(name.clone(), value.clone());
                step.settings.push((name, value));
            }
        }
        Ok(())
    }
}

/// Why `m`'s statements make a result the image cannot stand for, from
/// what the authorizer saw as they were prepared.
fn blocker(
    m: &Migration,
    called: &BTreeSet<String>,
    touched: &Touched,
    declared: &[Function],
    wrote_rows: bool,
) -> Option<String> {
    if let Some(f) = declared
        .iter()
        .find(|f| called.contains(&f.name().to_ascii_lowercase()))
    {
        return Some(match f.extension() {
            Some(path) => format!("calls {}(), which the extension {path} provides", f.name()),
            None => format!("calls {}(), which the application registers", f.name()),
        });
    }
    let text: String = m.sql().collect::<Vec<_>>().join("\n").to_lowercase();
    if wrote_rows {
        if let Some(f) = VOLATILE.iter().find(|f| called.contains(**f)) {
            return Some(format!("calls {f}()"));
        }
        if let Some(f) = DATES.iter().find(|f| {
            called.contains(**f) && (text.contains("'now'") || text.contains(&format!("{f}()")))
        }) {
            return Some(format!("calls {f}() for the current time"));
        }
    }
    if called.contains("load_extension") {
        return Some("calls load_extension()".to_owned());
    }
    // VACUUM attaches a database of its own too, without saying ATTACH.
    if touched.attached && text.contains("attach") {
        return Some("attaches a database".to_owned());
    }
    if vacuums_into(&text) {
        return Some("runs VACUUM INTO, which writes another file".to_owned());
    }
    for (name, value) in &touched.pragmas {
        if value.is_none() || HARMLESS_PRAGMAS.contains(&name.as_str()) {
            continue;
        }
        let kept = match name.as_str() {
            "user_version" | "application_id" | "auto_vacuum" => true,
            "journal_mode" => !m.is_transactional(),
            _ => false,
        };
        if !kept {
            return Some(format!(
                "sets PRAGMA {name}, which the fresh path does not reproduce"
            ));
        }
    }
    None
}

/// Whether the (lower-case) text runs `VACUUM … INTO`.
fn vacuums_into(text: &str) -> bool {
    text.match_indices("vacuum").any(|(at, _)| {
        let mut words = text[at + "vacuum".len()..].split_whitespace();
        let first = words.next().unwrap_or("");
        first.starts_with("into") || words.next().is_some_and(|w| w.starts_with("into"))
    })
}

/// Whether `o` is a virtual table.
fn is_virtual(o: &SchemaObject) -> bool {
    o.kind == "table"
        && o.sql
            .get(..20)
            .is_some_and(|s| s.eq_ignore_ascii_case("create virtual table"))
}

/// `name` as an SQL identifier.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `INSERT` statements that put back every row of `table` (stored name):
/// its rowids (unless `WITHOUT ROWID`) and every column but the generated
/// ones, which SQLite computes again. `None` once they would take more
/// than `budget` bytes (which they use up).
fn inserts(
    conn: &Connection,
    table: &str,
    budget: &mut usize,
) -> rusqlite::Result<Option<Vec<String>>> {
    let mut columns = Vec::new();
    {
        let mut stmt = conn.prepare(&format!("PRAGMA table_xinfo({})", quoted(table)))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(1)?;
            let hidden: i64 = row.get(6)?;
            columns.push((name, hidden));
        }
    }
    let rowid = ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|alias| !columns.iter().any(|(c, _)| c.eq_ignore_ascii_case(alias)));
    let has_rowid = match rowid {
        Some(alias) => conn
            .prepare(&format!("SELECT {alias} FROM {} LIMIT 0", quoted(table)))
            .is_ok(),
        None => false,
    };
    let mut names: Vec<String> = Vec::new();
    if has_rowid {
        names.extend(rowid.map(str::to_owned));
    }
    names.extend(
        columns
            .iter()
            .filter(|(_, hidden)| *hidden == 0)
            .map(|(c, _)| quoted(c)),
    );
    if names.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let order = if has_rowid { " ORDER BY 1" } else { "" };
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM {}{order}",
        names.join(", "),
        quoted(table)
    ))?;
    let head = format!(
        "INSERT INTO {}({}) VALUES ",
        quoted(table),
        names.join(", ")
    );
    let mut inserts = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        current.push_str(if count == 0 { &head } else { ", " });
        current.push('(');
        for i in 0..names.len() {
            if i > 0 {
                current.push_str(", ");
            }
            literal(&mut current, row.get_ref(i)?);
        }
        current.push(')');
        count += 1;
        if count == ROWS_PER_INSERT {
            let full = std::mem::take(&mut current);
            let Some(left) = budget.checked_sub(full.len()) else {
                return Ok(None);
            };
            *budget = left;
            inserts.push(full);
            count = 0;
        }
    }
    if count > 0 {
        let Some(left) = budget.checked_sub(current.len()) else {
            return Ok(None);
        };
        *budget = left;
        inserts.push(current);
    }
    Ok(Some(inserts))
}

/// `value` as an SQL literal that SQLite reads back as the same value of
/// the same type: integers as written, reals in Rust's shortest form that
/// reads back exactly, text quoted (through a blob when it holds NUL, which
/// a quoted literal would cut), blobs in hex.
fn literal(out: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => out.push_str("NULL"),
        ValueRef::Integer(i) => out.push_str(&i.to_string()),
        ValueRef::Real(r) if r.is_infinite() => {
            out.push_str(if r > 0.0 { "9e999" } else { "-9e999" });
        }
        ValueRef::Real(r) => {
            let text = format!("{r:?}");
            out.push_str(&text);
            if !text.contains(['.', 'e', 'E']) {
                out.push_str(".0");
            }
        }
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if !text.contains('\0') => {
                out.push('\'');
                out.push_str(&text.replace('\'', "''"));
                out.push('\'');
            }
            _ => {
                out.push_str("CAST(X'");
                out.push_str(&hex(bytes));
                out.push_str("' AS TEXT)");
            }
        },
        ValueRef::Blob(bytes) => {
            out.push_str("X'");
            out.push_str(&hex(bytes));
            out.push('\'');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_as_the_same_values() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a, b, c, d, e);
             INSERT INTO t VALUES (-9223372036854775808, 0.1, 'it''s', X'00ff', NULL);
             INSERT INTO t VALUES (9223372036854775807, 1e300, char(97, 0, 98), X'', 3.0);
             INSERT INTO t VALUES (1, 9e999, '', -0.5, 'x');",
        )
        .unwrap();
        let copy = Connection::open_in_memory().unwrap();
        copy.execute_batch("CREATE TABLE t (a, b, c, d, e)")
            .unwrap();
        let mut budget = usize::MAX;
        for insert in inserts(&conn, "t", &mut budget).unwrap().unwrap() {
            copy.execute_batch(&insert).unwrap();
        }
        let dump = |c: &Connection| -> Vec<String> {
            let mut stmt = c
                .prepare(
                    "SELECT rowid, typeof(a), quote(a), typeof(b), quote(b), typeof(c), hex(c), \
                     typeof(d), quote(d), typeof(e), quote(e) FROM t ORDER BY rowid",
                )
                .unwrap();
            stmt.query_map([], |r| {
                (0..11)
                    .map(|i| r.get_ref(i).map(|v| format!("{v:?}")))
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map(|v| v.join(" "))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        assert_eq!(dump(&conn), dump(&copy));
    }

    #[test]
    fn vacuum_into_is_told_from_vacuum() {
        assert!(vacuums_into("vacuum into 'backup.db'"));
        assert!(vacuums_into("vacuum main into 'x'"));
        assert!(!vacuums_into("vacuum"));
        assert!(!vacuums_into("vacuum;\ninsert into t values (1)"));
    }
}
