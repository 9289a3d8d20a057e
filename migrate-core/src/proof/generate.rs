//! TEMPORARY row generator, a stand-in until the real one (written in
//! parallel, with the same API) replaces this file whole: the data proof
//! (`data.rs`) only calls [`fill`], [`ROWS`] and [`Filled`].
//!
//! What it does, minimally: for every application table that holds no row
//! yet, parents before children, it inserts [`ROWS`] rows of values that
//! differ from row to row and from column to column, chosen by the
//! column's affinity (a NULL in the first row of a nullable column that is
//! no key); a foreign-key column takes the parent's values; a table it
//! cannot fill (a CHECK, a UNIQUE expression) is left empty and named.

use std::collections::BTreeSet;

use rusqlite::Connection;
use rusqlite::types::Value;

/// Rows per table.
pub(crate) const ROWS: usize = 64;

/// A table [`fill`] filled, with how many rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filled {
    pub table: String,
    pub rows: usize,
}

/// Fills every application table of `conn` that holds no row yet (parents
/// first, FKs valid, deterministic for a schema and seed); returns what it
/// filled and (table, reason) for tables it could not fill. Skips
/// schema_migrations, sqlite_*, shadow tables, generated columns.
#[allow(clippy::type_complexity)] // the agreed signature
pub(crate) fn fill(
    conn: &Connection,
    seed: u64,
) -> rusqlite::Result<(Vec<Filled>, Vec<(String, String)>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, sql LIKE 'CREATE VIRTUAL%' FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations' ORDER BY name",
    )?;
    let all: Vec<(String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let virtuals: Vec<String> = all
        .iter()
        .filter(|(_, v)| *v)
        .map(|(n, _)| n.to_lowercase())
        .collect();
    let tables: Vec<String> = all
        .into_iter()
        .filter(|(name, v)| {
            let lower = name.to_lowercase();
            !v && !virtuals
                .iter()
                .any(|vt| lower.starts_with(&format!("{vt}_")))
        })
        .map(|(n, _)| n)
        .collect();
    // Parents first: a table waits until every table it references is done.
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    let mut pending = tables.clone();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|t| {
            let parents = parents(conn, t).unwrap_or_default();
            let ready = parents
                .iter()
                .all(|p| p.eq_ignore_ascii_case(t) || done.contains(&p.to_lowercase()));
            if ready {
                done.insert(t.to_lowercase());
                order.push(t.clone());
            }
            !ready
        });
        if pending.len() == before {
            order.append(&mut pending);
        }
    }
    let mut filled = Vec::new();
    let mut failed = Vec::new();
    for table in order {
        let quoted = quote(&table);
        let empty: bool = conn.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {quoted})"),
            [],
            |r| r.get(0),
        )?;
        if !empty {
            continue;
        }
        match fill_table(conn, &table, seed) {
            Ok(rows) => filled.push(Filled { table, rows }),
            Err(e) => failed.push((table, e.to_string())),
        }
    }
    Ok((filled, failed))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn parents(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT \"table\" FROM pragma_foreign_key_list(?1)")?;
    stmt.query_map([table], |r| r.get(0))?.collect()
}

struct Column {
    name: String,
    decl: String,
    not_null: bool,
    pk: bool,
    /// (parent table, parent column) of a foreign key.
    references: Option<(String, Option<String>)>,
}

fn fill_table(conn: &Connection, table: &str, seed: u64) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
    )?;
    let rows: Vec<(String, String, bool, i64, i64)> = stmt
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut fks =
        conn.prepare_cached("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)")?;
    let fks: Vec<(String, String, Option<String>)> = fks
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let columns: Vec<Column> = rows
        .into_iter()
        .filter(|r| r.4 == 0)
        .map(|(name, decl, not_null, pk, _)| {
            let references = fks
                .iter()
                .find(|(from, _, _)| from.eq_ignore_ascii_case(&name))
                .map(|(_, t, c)| (t.clone(), c.clone()));
            Column {
                name,
                decl: decl.to_uppercase(),
                not_null,
                pk: pk > 0,
                references,
            }
        })
        .collect();
    if columns.is_empty() {
        return Ok(0);
    }
    let mut parent_values: Vec<Option<Vec<Value>>> = Vec::new();
    for c in &columns {
        parent_values.push(match &c.references {
            Some((parent, column)) => {
                let column = match column {
                    Some(col) => quote(col),
                    None => "rowid".to_owned(),
                };
                let mut s = conn.prepare(&format!(
                    "SELECT {column} FROM {} ORDER BY rowid",
                    quote(parent)
                ))?;
                let values: Vec<Value> = s
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                Some(values)
            }
            None => None,
        });
    }
    let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote(table),
        names.join(", "),
        marks.join(", ")
    );
    conn.execute_batch("SAVEPOINT migrate_fill")?;
    let result = (|| {
        let mut insert = conn.prepare(&sql)?;
        for row in 0..ROWS {
            let values: Vec<Value> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| value(c, i, row, seed, parent_values[i].as_deref()))
                .collect();
            insert.execute(rusqlite::params_from_iter(values))?;
        }
        Ok(ROWS)
    })();
    match result {
        Ok(n) => {
            conn.execute_batch("RELEASE migrate_fill")?;
            Ok(n)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO migrate_fill; RELEASE migrate_fill")?;
            Err(e)
        }
    }
}

fn value(c: &Column, index: usize, row: usize, seed: u64, parent: Option<&[Value]>) -> Value {
    if let Some(parent) = parent {
        return match parent.len() {
            0 => Value::Null,
            n => parent[row % n].clone(),
        };
    }
    if row == 0 && !c.not_null && !c.pk {
        return Value::Null;
    }
    let n = i64::try_from(row).unwrap_or(0) + 1;
    let salt = i64::try_from(seed % 1000).unwrap_or(0);
    let d = &c.decl;
    if d.contains("INT") {
        if c.pk {
            n
        } else {
            n * 100 + i64::try_from(index).unwrap_or(0) + salt * 10_000
        }
        .into()
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Value::Text(format!("{} {n}", c.name))
    } else if d.contains("BLOB") || d.is_empty() {
        if d.is_empty() {
            Value::Text(format!("{} {n}", c.name))
        } else {
            Value::Blob(vec![
                u8::try_from(index % 256).unwrap_or(0),
                u8::try_from(row % 256).unwrap_or(0),
            ])
        }
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Value::Real(n as f64 + 0.5)
    } else {
        (n * 100 + i64::try_from(index).unwrap_or(0)).into()
    }
}
