//! The rows of issue 13's data proof: before a migration runs, every empty
//! application table of the proof's database gets [`ROWS`] generated rows,
//! so that comparing them afterwards shows data the migration loses by
//! mistake (two columns swapped in a rebuild's copy, a lossy `CAST`, a
//! forgotten column, a `WHERE` in the copy, a `DROP`).
//!
//! What makes such a loss visible decides what the rows are:
//!
//! - values of different columns of one row differ (a swap shows on every
//!   row), and values of one column mostly differ from row to row (a lossy
//!   conversion changes many of them, not one);
//! - every value is one the column's affinity keeps as it was given (an
//!   INTEGER column gets integers, a REAL one fractional reals, a TEXT one
//!   text, a NUMERIC one integers, fractional reals and text that does not
//!   read as a number): otherwise SQLite would convert it on insert, and the
//!   comparison would not see what was inserted;
//! - the awkward values a copy or a `CAST` gets wrong appear in every column
//!   that can hold them, a few rows each: see the `*_EDGES` lists;
//! - text looks like its column where the name tells (`*_range` holds
//!   `'18-25'`, `email` an address, `created_at` a date and time), so a
//!   migration's own conversions of such columns meet plausible input.
//!
//! The generator reads the schema through SQLite's pragmas and never parses
//! a `CHECK`: a row SQLite rejects is tried again, a bounded number of
//! times, with other candidates for the columns its error message names
//! (all of them when it names none). The candidates include the literals
//! the table's `CREATE TABLE` text contains, found by a lexical scan, which
//! satisfies most `IN (...)`, `BETWEEN` and comparison checks.
//!
//! Everything derives from the seed and the table's name through an inline
//! splitmix64 generator, and tables are read and filled in name order, so
//! the same schema and seed always give the same rows.

use std::collections::{BTreeSet, HashSet};

use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, params_from_iter};

/// How many rows the generator puts in each table. Each column's edge
/// values (at most 16 of a kind) take one row each; 64 leaves three rows in
/// four to ordinary, distinct values, so a lossy conversion shows on many
/// rows and every edge value lands in every column, while filling the few
/// dozen tables of a long history before each migration stays a matter of
/// milliseconds on an in-memory database.
#[allow(dead_code)] // used by issue 13's orchestrator, written in parallel
pub(crate) const ROWS: usize = 64;

/// How many times one row is tried with other candidates before it is
/// given up: enough to walk a column through every kind of candidate
/// (fixed lengths, JSON, dates, the table's literals) once.
const ATTEMPTS: usize = 48;

/// A table whose first rows all fail this many times is given up without
/// trying the others: nothing the generator has satisfies it.
const GIVE_UP_AFTER: usize = 4;

/// What `fill` did to one table.
#[allow(dead_code)] // used by issue 13's orchestrator, written in parallel
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filled {
    /// The name as SQLite has it.
    pub table: String,
    /// Rows inserted: [`ROWS`], fewer when some rows found no candidates
    /// the table's constraints accept (a UNIQUE boolean holds two).
    pub rows: usize,
}

/// The tables filled, and the tables left empty with a one-line reason.
type Report = (Vec<Filled>, Vec<(String, String)>);

/// Fills every application table of `conn` that holds no row yet (of
/// `only`, lower-case names, when given) with generated rows, parents before children (foreign keys point at existing
/// parent rows), deterministically: the same schema and `seed` always give
/// the same rows. Tables it cannot fill (a CHECK no generated value
/// satisfies, a cycle of NOT NULL foreign keys, ...) are left empty and
/// reported in the error list, never a panic. Skips: schema_migrations,
/// sqlite_* tables, virtual tables' shadow tables, generated columns (never
/// inserted into), and tables that already hold rows (in neither list).
///
/// Each table is filled inside a savepoint, so one that fails (or whose
/// rows `PRAGMA foreign_key_check` rejects, when enforcement is off) is
/// rolled back whole. Errors are only those reading the schema or managing
/// the savepoint; a table's own failures are reported, not returned.
///
/// `only` is what keeps a long history's proof linear: the data proof
/// knows which tables the steps since the last fill created or wrote (the
/// others still hold their rows), and looking at every table of the schema
/// before each migration would cost the number of tables times the number
/// of migrations.
pub(crate) fn fill(
    conn: &Connection,
    seed: u64,
    only: Option<&BTreeSet<String>>,
) -> rusqlite::Result<Report> {
    let mut filled = Vec::new();
    let mut left = Vec::new();
    let listed = list_tables(conn, only)?;

    // A virtual table whose module is not loaded: its shadow tables show as
    // plain tables, named after it, and must not be filled either.
    let mut unreadable: Vec<String> = Vec::new();
    let mut plans = Vec::new();
    let mut virtuals = Vec::new();
    for t in &listed {
        if t.kind != Kind::Virtual {
            continue;
        }
        match holds_rows(conn, &t.name) {
            Err(e) => {
                unreadable.push(t.name.to_lowercase());
                left.push((t.name.clone(), format!("virtual table: {}", one_line(&e))));
            }
            Ok(true) => {}
            Ok(false) => virtuals.push(t),
        }
    }
    for t in &listed {
        if t.kind == Kind::Virtual {
            continue;
        }
        let lower = t.name.to_lowercase();
        if let Some(v) = unreadable
            .iter()
            .find(|v| lower.starts_with(&format!("{v}_")))
        {
            left.push((
                t.name.clone(),
                format!("may be a shadow table of virtual table {v}, whose module is not loaded"),
            ));
            continue;
        }
        if holds_rows(conn, &t.name)? {
            continue;
        }
        plans.push(read_plan(conn, t, seed)?);
    }

    // Parents first. A table waits for the parents still pending; when none
    // is ready (a cycle), one whose pending parents are all reached through
    // nullable foreign keys goes, with NULL there.
    while !plans.is_empty() {
        let pending: HashSet<String> = plans.iter().map(|p| p.name.to_lowercase()).collect();
        let waits = |p: &Plan, hard_only: bool| {
            p.fks.iter().any(|fk| {
                !fk.self_ref && (!hard_only || !fk.nullable) && pending.contains(&fk.parent_lower)
            })
        };
        let pick = plans
            .iter()
            .position(|p| !waits(p, false))
            .or_else(|| plans.iter().position(|p| !waits(p, true)));
        let Some(i) = pick else {
            for p in &plans {
                left.push((p.name.clone(), cycle_reason(p, &plans)));
            }
            break;
        };
        let plan = plans.remove(i);
        let pending: HashSet<String> = plans.iter().map(|p| p.name.to_lowercase()).collect();
        match fill_in_savepoint(conn, &plan, &pending)? {
            Ok(rows) => filled.push(Filled {
                table: plan.name,
                rows,
            }),
            Err(reason) => left.push((plan.name, reason)),
        }
    }

    for t in virtuals {
        if external_content(&t.sql) {
            left.push((
                t.name.clone(),
                "virtual table with external content: its rows are another table's".to_owned(),
            ));
            continue;
        }
        let plan = read_plan(conn, t, seed)?;
        match fill_in_savepoint(conn, &plan, &HashSet::new())? {
            Ok(rows) => filled.push(Filled {
                table: plan.name,
                rows,
            }),
            Err(reason) => left.push((plan.name, reason)),
        }
    }
    Ok((filled, left))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Table,
    WithoutRowid,
    Virtual,
}

struct Listed {
    name: String,
    kind: Kind,
    strict: bool,
    sql: String,
}

/// The application tables of the main schema (of `only`, when given), by
/// name. `PRAGMA table_list` tells virtual tables and their shadow tables
/// ('shadow', skipped) apart, and WITHOUT ROWID and STRICT tables from the
/// others.
fn list_tables(
    conn: &Connection,
    only: Option<&BTreeSet<String>>,
) -> rusqlite::Result<Vec<Listed>> {
    const COLUMNS: &str = "SELECT t.name, t.type, t.wr, t.strict, coalesce(s.sql, '')";
    const JOIN: &str = "LEFT JOIN sqlite_schema AS s ON s.type = 'table' AND s.name = t.name";
    const WHERE: &str = "WHERE t.schema = 'main' AND t.type IN ('table', 'virtual') \
         AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND lower(t.name) != 'schema_migrations'";
    let listed = |r: &rusqlite::Row<'_>| {
        let kind: String = r.get(1)?;
        let wr: bool = r.get(2)?;
        Ok(Listed {
            name: r.get(0)?,
            kind: match (kind.as_str(), wr) {
                ("virtual", _) => Kind::Virtual,
                (_, true) => Kind::WithoutRowid,
                _ => Kind::Table,
            },
            strict: r.get(3)?,
            sql: r.get(4)?,
        })
    };
    let Some(only) = only else {
        let mut stmt = conn.prepare_cached(&format!(
            "{COLUMNS} FROM pragma_table_list AS t {JOIN} {WHERE} ORDER BY t.name"
        ))?;
        return stmt.query_map([], listed)?.collect();
    };
    let mut stmt = conn.prepare_cached(&format!(
        "{COLUMNS} FROM pragma_table_list(?1) AS t {JOIN} {WHERE}"
    ))?;
    let mut out = Vec::new();
    for name in only {
        for t in stmt.query_map([name], listed)? {
            out.push(t?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn holds_rows(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM {})", quote(table)),
        [],
        |r| r.get(0),
    )
}

/// An FTS3/4/5 table whose `content=` names another table: its rows are
/// that table's, and rows inserted into it alone would break the index.
/// (`content=''`, a contentless table, can be filled.)
fn external_content(sql: &str) -> bool {
    let squeezed: String = sql
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    squeezed.match_indices("content=").any(|(i, _)| {
        let before = squeezed[..i].chars().next_back();
        let after = &squeezed[i + "content=".len()..];
        before.is_some_and(|c| c == ',' || c == '(')
            && !after.starts_with("''")
            && !after.starts_with("\"\"")
    })
}

/// Why a table left in a cycle of NOT NULL foreign keys cannot be filled:
/// the cycle, or the table on one it depends on.
fn cycle_reason(plan: &Plan, plans: &[Plan]) -> String {
    let start = plan.name.to_lowercase();
    let hard = |p: &Plan| -> Vec<String> {
        p.fks
            .iter()
            .filter(|fk| !fk.self_ref && !fk.nullable)
            .map(|fk| fk.parent_lower.clone())
            .filter(|parent| plans.iter().any(|q| q.name.to_lowercase() == *parent))
            .collect()
    };
    // Depth-first search for a path of hard edges back to the table.
    let mut stack = vec![(start.clone(), vec![plan.name.clone()])];
    let mut seen = HashSet::new();
    while let Some((at, path)) = stack.pop() {
        let Some(p) = plans.iter().find(|q| q.name.to_lowercase() == at) else {
            continue;
        };
        for parent in hard(p) {
            let Some(q) = plans.iter().find(|q| q.name.to_lowercase() == parent) else {
                continue;
            };
            let mut next = path.clone();
            next.push(q.name.clone());
            if parent == start {
                return format!("cycle of NOT NULL foreign keys: {}", next.join(" -> "));
            }
            if seen.insert(parent.clone()) {
                stack.push((parent, next));
            }
        }
    }
    match hard(plan).first() {
        Some(parent) => {
            format!("references {parent}, which a cycle of NOT NULL foreign keys keeps empty")
        }
        None => "a cycle of NOT NULL foreign keys keeps it empty".to_owned(),
    }
}

/// Fills one table inside a savepoint: kept when rows went in and the
/// foreign keys hold, rolled back otherwise. The outer error is the
/// savepoint's; the inner one the table's reason for staying empty.
fn fill_in_savepoint(
    conn: &Connection,
    plan: &Plan,
    pending: &HashSet<String>,
) -> rusqlite::Result<Result<usize, String>> {
    conn.execute_batch("SAVEPOINT migrate_generate")?;
    let mut outcome = fill_table(conn, plan, pending);
    if outcome.is_ok() && plan.kind != Kind::Virtual && !plan.fks.is_empty() {
        outcome = match foreign_keys_hold(conn, &plan.name) {
            Ok(true) => outcome,
            Ok(false) => Err("its rows break a foreign key (a column in two foreign keys?)".into()),
            Err(e) => Err(one_line(&e)),
        };
    }
    if outcome.is_err() {
        conn.execute_batch("ROLLBACK TO migrate_generate")?;
    }
    conn.execute_batch("RELEASE migrate_generate")?;
    Ok(outcome)
}

fn foreign_keys_hold(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(&format!("PRAGMA foreign_key_check({})", quote(table)))?;
    let mut rows = stmt.query([])?;
    Ok(rows.next()?.is_none())
}

/// How SQLite converts what a column is given (datatype3.html, 3.1), with
/// BLOB and no type told apart: both keep anything, but a BLOB column
/// should get blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Any,
    Real,
    Numeric,
}

fn affinity(declared: &str, strict: bool) -> Affinity {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Affinity::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Affinity::Text
    } else if t.contains("BLOB") {
        Affinity::Blob
    } else if t.trim().is_empty() || (strict && t.trim() == "ANY") {
        Affinity::Any
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// What a column's name or declared type says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    None,
    Bool,
    Age,
    Year,
    Email,
    Url,
    Uuid,
    Date,
    DateTime,
    Range,
    Phone,
    Color,
    Json,
    Name,
    Code,
    Ip,
}

fn hint(name: &str, declared: &str) -> Hint {
    let n = name.to_lowercase();
    let t = declared.to_ascii_uppercase();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if t.contains("BOOL")
        || ["is_", "has_", "can_"].iter().any(|p| n.starts_with(p))
        || n.ends_with("_flag")
        || [
            "enabled", "active", "deleted", "verified", "archived", "done",
        ]
        .contains(&n.as_str())
    {
        Hint::Bool
    } else if t.contains("DATETIME") || t.contains("TIMESTAMP") {
        Hint::DateTime
    } else if t.contains("DATE") {
        Hint::Date
    } else if t.contains("JSON") {
        Hint::Json
    } else if t.contains("UUID") || has(&["uuid", "guid"]) {
        Hint::Uuid
    } else if has(&["email", "e_mail"]) {
        Hint::Email
    } else if has(&["url", "uri", "link", "website", "href"]) {
        Hint::Url
    } else if has(&["range"]) {
        Hint::Range
    } else if n == "age" || n.ends_with("_age") {
        Hint::Age
    } else if has(&["year"]) {
        Hint::Year
    } else if n.ends_with("_at") || has(&["time", "created", "updated"]) {
        Hint::DateTime
    } else if has(&["date", "birthday", "dob"]) {
        Hint::Date
    } else if has(&["phone", "mobile", "fax"]) {
        Hint::Phone
    } else if has(&["color", "colour"]) {
        Hint::Color
    } else if has(&[
        "json", "doc", "payload", "meta", "settings", "config", "attrs", "props", "data",
    ]) {
        Hint::Json
    } else if has(&["name", "title", "label"]) {
        Hint::Name
    } else if has(&["code", "sku", "slug", "token", "key", "ref"]) {
        Hint::Code
    } else if n == "ip" || n.starts_with("ip_") || n.ends_with("_ip") {
        Hint::Ip
    } else {
        Hint::None
    }
}

struct Column {
    name: String,
    affinity: Affinity,
    hint: Hint,
    /// Never NULL here: NOT NULL, or part of the primary key (which WITHOUT
    /// ROWID enforces and a rowid table should).
    required: bool,
    /// The default is a constant, so omitting the column gives the same
    /// row every time (unlike `CURRENT_TIMESTAMP` or `random()`).
    constant_default: bool,
    rowid_alias: bool,
    unique: bool,
    /// The table's literals this column can hold (see `harvest`).
    literals: Vec<Value>,
    /// The candidates tried for this column, in order: see `alternatives`.
    alts: Vec<Alt>,
    /// Where its values start, how far apart they are from row to row, and
    /// which row gets its first edge value.
    base: u64,
    step: u64,
    shift: usize,
}

struct ForeignKey {
    /// The child's columns (indexes into `Plan::columns`).
    columns: Vec<usize>,
    parent: String,
    parent_lower: String,
    /// The parent's columns; empty: its primary key.
    to: Vec<String>,
    self_ref: bool,
    /// Some child column may be NULL, which satisfies the key (MATCH SIMPLE).
    nullable: bool,
    offset: usize,
}

struct Plan {
    name: String,
    kind: Kind,
    columns: Vec<Column>,
    fks: Vec<ForeignKey>,
    shift: usize,
}

fn read_plan(conn: &Connection, t: &Listed, seed: u64) -> rusqlite::Result<Plan> {
    let mut rng = Rng::new(seed ^ fnv1a(t.name.as_bytes()));
    let is_virtual = t.kind == Kind::Virtual;
    let literals = if is_virtual {
        Vec::new()
    } else {
        harvest(&t.sql)
    };

    struct Info {
        name: String,
        declared: String,
        notnull: bool,
        default: Option<String>,
        pk: i64,
    }
    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden \
         FROM pragma_table_xinfo(?1) ORDER BY cid",
    )?;
    let infos: Vec<Info> = stmt
        .query_map([&t.name], |r| {
            Ok((
                Info {
                    name: r.get(0)?,
                    declared: r.get(1)?,
                    notnull: r.get(2)?,
                    default: r.get(3)?,
                    pk: r.get(4)?,
                },
                r.get::<_, i64>(5)?,
            ))
        })?
        .filter_map(|row| match row {
            // Hidden columns of a virtual table (1), generated columns (2, 3).
            Ok((_, hidden)) if hidden != 0 => None,
            other => Some(other.map(|(info, _)| info)),
        })
        .collect::<rusqlite::Result<_>>()?;
    let pk_count = infos.iter().filter(|i| i.pk > 0).count();
    let unique = unique_columns(conn, &t.name)?;

    let mut columns = Vec::new();
    for info in infos {
        let lower = info.name.to_lowercase();
        let rowid_alias = t.kind == Kind::Table
            && pk_count == 1
            && info.pk == 1
            && info.declared.eq_ignore_ascii_case("INTEGER");
        let affinity = if is_virtual {
            Affinity::Text
        } else {
            affinity(&info.declared, t.strict)
        };
        let mut column = Column {
            hint: hint(&info.name, &info.declared),
            required: info.notnull || info.pk > 0,
            constant_default: info.default.as_deref().is_some_and(constant),
            rowid_alias,
            unique: info.pk > 0 || unique.contains(&lower),
            name: info.name,
            affinity,
            literals: Vec::new(),
            alts: Vec::new(),
            base: 1 + rng.below(1 << 20),
            step: 1 + rng.below(300),
            shift: usize::try_from(rng.below(ROWS as u64)).unwrap_or(0),
        };
        if rowid_alias {
            // 1, 2, 3, … as a table numbers its rows: a copy that keeps
            // only `WHERE id > 10` then visibly loses rows.
            column.base = 1;
            column.step = 1;
        }
        column.literals = usable_literals(&column, &literals);
        column.alts = alternatives(&column);
        columns.push(column);
    }

    let mut fks: Vec<ForeignKey> = Vec::new();
    if !is_virtual {
        let mut stmt = conn.prepare(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) \
             ORDER BY id, seq",
        )?;
        let rows: Vec<(i64, String, String, Option<String>)> = stmt
            .query_map([&t.name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut taken = HashSet::new();
        let mut i = 0;
        while i < rows.len() {
            let id = rows[i].0;
            let group: Vec<_> = rows[i..].iter().take_while(|r| r.0 == id).collect();
            i += group.len();
            let mut cols = Vec::new();
            for (_, _, from, _) in &group {
                if let Some(c) = columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(from))
                {
                    cols.push(c);
                }
            }
            // A column already in an earlier foreign key keeps that one's
            // values; the per-table foreign_key_check tells if this breaks.
            if cols.len() != group.len() || cols.iter().any(|c| taken.contains(c)) {
                continue;
            }
            taken.extend(cols.iter().copied());
            let parent = group[0].1.clone();
            let parent_lower = parent.to_lowercase();
            fks.push(ForeignKey {
                nullable: cols.iter().any(|&c| !columns[c].required),
                columns: cols,
                self_ref: parent_lower == t.name.to_lowercase(),
                to: group.iter().filter_map(|g| g.3.clone()).collect(),
                parent,
                parent_lower,
                offset: usize::try_from(rng.below(ROWS as u64)).unwrap_or(0),
            });
        }
    }
    Ok(Plan {
        name: t.name.clone(),
        kind: t.kind,
        columns,
        fks,
        shift: usize::try_from(rng.below(ROWS as u64)).unwrap_or(0),
    })
}

/// The lower-case names of the columns a one-column UNIQUE index or
/// constraint covers: their values must all differ.
fn unique_columns(conn: &Connection, table: &str) -> rusqlite::Result<HashSet<String>> {
    let mut stmt =
        conn.prepare("SELECT name FROM pragma_index_list(?1) WHERE \"unique\" AND NOT partial")?;
    let indexes: Vec<String> = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = HashSet::new();
    for index in indexes {
        let mut stmt = conn.prepare("SELECT name FROM pragma_index_info(?1)")?;
        let names: Vec<Option<String>> = stmt
            .query_map([&index], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if let [Some(name)] = names.as_slice() {
            out.insert(name.to_lowercase());
        }
    }
    Ok(out)
}

/// A default that gives the same value every time: a number, a string or
/// blob literal, NULL, TRUE or FALSE, possibly in parentheses.
fn constant(default: &str) -> bool {
    let d = default
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let upper = d.to_ascii_uppercase();
    (d.starts_with('\'') && d.ends_with('\'') && d.len() >= 2)
        || ((upper.starts_with("X'")) && d.ends_with('\''))
        || ["NULL", "TRUE", "FALSE"].contains(&upper.as_str())
        || d.trim_start_matches(['-', '+']).parse::<f64>().is_ok()
}

/// A literal of the table's `CREATE TABLE` text.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Integer(i64),
    Real(f64),
    Blob(Vec<u8>),
}

/// The literals of `sql` (strings, numbers with their sign, blobs), and
/// each integer's neighbours, for `x > 0` or `x < 100`: a lexical scan that
/// skips quoted identifiers and comments, no parse. At most 24.
fn harvest(sql: &str) -> Vec<Literal> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out: Vec<Literal> = Vec::new();
    let push = |l: Literal, out: &mut Vec<Literal>| {
        if !out.contains(&l) {
            out.push(l);
        }
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        match c {
            '\'' => {
                let open = i;
                let mut s = String::new();
                i += 1;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            s.push('\'');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                let blob = prev.is_some_and(|p| p == 'x' || p == 'X')
                    && (open < 2 || !ident(chars[open - 2]));
                if blob {
                    if let Ok(bytes) = hex::decode(&s) {
                        push(Literal::Blob(bytes), &mut out);
                    }
                } else {
                    push(Literal::Text(s), &mut out);
                }
            }
            '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                i += 1;
                while i < chars.len() && chars[i] != close {
                    i += 1;
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 1;
            }
            c if c.is_ascii_digit() && !prev.is_some_and(ident) => {
                let start = i;
                while i + 1 < chars.len() && (chars[i + 1].is_ascii_digit() || chars[i + 1] == '.')
                {
                    i += 1;
                }
                let text: String = chars[start..=i].iter().collect();
                let negative = chars[..start]
                    .iter()
                    .rev()
                    .find(|c| !c.is_whitespace())
                    .is_some_and(|&c| c == '-');
                let sign = if negative { -1 } else { 1 };
                if let Ok(n) = text.parse::<i64>() {
                    let n = n * sign;
                    for m in [n, n.saturating_add(1), n.saturating_sub(1)] {
                        push(Literal::Integer(m), &mut out);
                    }
                } else if let Ok(f) = text.parse::<f64>() {
                    push(Literal::Real(if negative { -f } else { f }), &mut out);
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.truncate(24);
    out
}

/// One kind of candidate for a column. `Primary` is the row's own value
/// (an edge value or an ordinary one); the others are what a constraint
/// failure moves the column on to, in order.
#[derive(Debug, Clone, PartialEq)]
enum Alt {
    Primary,
    Regular(u64),
    /// The table's literals the column can hold, from the `n`th, one row
    /// further on each row (so an `IN` list's values take turns).
    Literal(usize),
    FixedLen(usize),
    Json,
    Date,
    DateTime,
    Email,
    Lower,
    Upper,
    Digits,
    IntSmall,
    IntBool,
    IntNeg,
    RealUnit,
    RealNeg,
    TextAny,
    IntAny,
    Null,
    Omit,
}

/// The literals of the table's SQL a column can hold without its affinity
/// converting them.
fn usable_literals(c: &Column, literals: &[Literal]) -> Vec<Value> {
    use Affinity as A;
    let mut out = Vec::new();
    for l in literals {
        let v = match (l, c.affinity) {
            (Literal::Text(s), A::Text | A::Any | A::Blob) => Some(Value::Text(s.clone())),
            (Literal::Text(s), A::Numeric) if !looks_numeric(s) => Some(Value::Text(s.clone())),
            (Literal::Integer(n), A::Integer | A::Numeric | A::Any) => Some(Value::Integer(*n)),
            #[allow(clippy::cast_precision_loss)] // a CHECK's bound, small
            (Literal::Integer(n), A::Real) => Some(Value::Real(*n as f64)),
            (Literal::Real(f), A::Real | A::Any) => Some(Value::Real(*f)),
            (Literal::Real(f), A::Numeric) if f.fract() != 0.0 => Some(Value::Real(*f)),
            (Literal::Blob(b), A::Blob | A::Any) => Some(Value::Blob(b.clone())),
            _ => None,
        };
        out.extend(v);
    }
    out
}

fn alternatives(c: &Column) -> Vec<Alt> {
    use Affinity as A;
    let mut alts = vec![Alt::Primary, Alt::Regular(1)];
    if c.rowid_alias {
        alts.extend([Alt::Regular(2), Alt::Regular(3), Alt::Omit]);
        return alts;
    }
    alts.extend((0..c.literals.len()).map(Alt::Literal));
    let fixed = [3, 2, 1, 4, 5, 6, 8, 10, 12, 16, 32].map(Alt::FixedLen);
    match c.affinity {
        A::Integer => alts.extend([Alt::IntSmall, Alt::IntBool, Alt::IntNeg]),
        A::Real => alts.extend([Alt::RealUnit, Alt::RealNeg]),
        A::Text => {
            alts.extend(fixed);
            alts.extend([
                Alt::Json,
                Alt::Date,
                Alt::DateTime,
                Alt::Email,
                Alt::Lower,
                Alt::Upper,
                Alt::Digits,
            ]);
        }
        A::Numeric => {
            alts.extend([Alt::IntSmall, Alt::IntBool, Alt::RealUnit, Alt::IntNeg]);
            alts.extend([Alt::Json, Alt::Date, Alt::DateTime]);
            alts.extend(fixed);
            alts.push(Alt::Lower);
        }
        A::Blob => alts.extend([Alt::TextAny, Alt::IntAny]),
        A::Any => alts.extend([Alt::IntSmall, Alt::TextAny, Alt::FixedLen(3), Alt::Json]),
    }
    if !c.required {
        alts.push(Alt::Null);
    }
    if c.constant_default {
        alts.push(Alt::Omit);
    }
    alts
}

/// Text that SQLite's INTEGER, REAL or NUMERIC affinity would turn into a
/// number (Rust reads a little more as numbers, `inf`, which only makes
/// this refuse more).
fn looks_numeric(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

/// Awkward text: empty, non-ASCII (accents, CJK, emoji), both quotes, SQL
/// punctuation a copy built by string concatenation would trip on, spaces
/// at the ends, a line break, and the text `NULL`.
const TEXT_EDGES: &[&str] = &[
    "",
    "é",
    "日本語",
    "emoji 🦀🎉",
    "it's",
    "say \"hi\"",
    "a;b",
    "-- not a comment",
    "'); DROP TABLE t; --",
    " padded ",
    "line\nbreak",
    "NULL",
    "tab\tafter",
    "Zoë Ñandú",
];

/// The integers past which conversions lose: the ends of 64 bits, the
/// first integer a double cannot hold (2^53 + 1), 32 bits' edge, zero and
/// negatives.
const INT_EDGES: &[i64] = &[
    0,
    -1,
    i64::MAX,
    i64::MIN,
    9_007_199_254_740_993,
    -9_007_199_254_740_993,
    2_147_483_648,
    -42,
];

/// Fractional and extreme reals (none integral within 64 bits, which a
/// NUMERIC column would store as an integer; no NaN, which SQLite stores
/// as NULL).
#[allow(clippy::approx_constant)] // 3.14159 is an edge value, not a use of pi
const REAL_EDGES: &[f64] = &[0.5, -1e300, 3.14159, -0.25, 1e-300, 2.5e-5, 1e300];

/// The blobs a text conversion mangles: empty, NUL bytes, invalid UTF-8.
const BLOB_EDGES: &[&[u8]] = &[
    b"",
    b"\0",
    b"a\0b\0",
    b"\xff\xfe\x00\x01",
    b"\xde\xad\xbe\xef",
];

enum Cand {
    Val(Value),
    Omit,
}

impl Column {
    /// The `n` of row `row` for salt `salt`: distinct from row to row, and
    /// salts give ranges that do not overlap.
    fn n(&self, row: usize, salt: u64) -> u64 {
        let r = row as u64;
        self.base + salt * (ROWS as u64 * self.step + 1) + r * self.step
    }

    /// This column's edge values, in the order rows meet them.
    fn edges(&self) -> Vec<Cand> {
        use Affinity as A;
        let mut out = Vec::new();
        if !self.required {
            out.push(Cand::Val(Value::Null));
        }
        if self.rowid_alias {
            return Vec::new();
        }
        if self.hint == Hint::Bool && matches!(self.affinity, A::Integer | A::Numeric) {
            return out;
        }
        let ints = INT_EDGES.iter().map(|&i| Cand::Val(Value::Integer(i)));
        let reals = REAL_EDGES.iter().map(|&f| Cand::Val(Value::Real(f)));
        let texts = TEXT_EDGES
            .iter()
            .map(|&t| Cand::Val(Value::Text(t.to_owned())));
        let blobs = BLOB_EDGES
            .iter()
            .map(|&b| Cand::Val(Value::Blob(b.to_vec())));
        match self.affinity {
            A::Integer => out.extend(ints),
            A::Real => out.extend(reals),
            A::Text => out.extend(texts),
            A::Blob => out.extend(blobs),
            A::Numeric => match self.hint {
                Hint::None | Hint::Age | Hint::Year | Hint::Bool => {
                    out.extend(ints.take(5));
                    out.extend(reals.take(4));
                }
                _ => out.extend(texts),
            },
            A::Any => {
                out.extend(ints.take(5));
                out.extend(reals.take(3));
                out.extend(texts.take(9));
                out.extend(blobs.take(3));
            }
        }
        if self.constant_default {
            out.push(Cand::Omit);
        }
        out
    }

    /// The candidate `alt` for row `row` (`table_shift` moves the edge
    /// values from row to row with the seed).
    fn candidate(&self, alt: &Alt, row: usize, table_shift: usize) -> Cand {
        let n = self.n(row, 0);
        let v = match alt {
            Alt::Primary => {
                let edges = self.edges();
                let at = (row + self.shift + table_shift) % ROWS;
                if let Some(e) = edges.into_iter().nth(at) {
                    return e;
                }
                self.regular(n)
            }
            Alt::Regular(salt) => self.regular(self.n(row, *salt)),
            Alt::Literal(j) => self.literals[(j + row) % self.literals.len().max(1)].clone(),
            Alt::FixedLen(len) => Value::Text(letters(n, *len, true)),
            Alt::Json => Value::Text(json(&self.name, n)),
            Alt::Date => Value::Text(date(n)),
            Alt::DateTime => Value::Text(date_time(n)),
            Alt::Email => Value::Text(format!("user{n}@example.org")),
            Alt::Lower => Value::Text(letters(n, 8, false).to_lowercase()),
            Alt::Upper => Value::Text(letters(n, 8, false).to_uppercase()),
            Alt::Digits => Value::Text(format!("{n}")),
            Alt::IntSmall => Value::Integer(to_i64(1 + n % 9)),
            Alt::IntBool => Value::Integer(to_i64(mix(n) % 2)),
            Alt::IntNeg => Value::Integer(-to_i64(n)),
            Alt::RealUnit => {
                Value::Real(f64::from(u32::try_from(n % 1000).unwrap_or(0) + 1) / 1024.0)
            }
            Alt::RealNeg => Value::Real(-fractional(n)),
            Alt::TextAny => Value::Text(format!("{} {n}", self.name)),
            Alt::IntAny => Value::Integer(to_i64(n)),
            Alt::Null => Value::Null,
            Alt::Omit => return Cand::Omit,
        };
        Cand::Val(v)
    }

    /// An ordinary value: of the column's affinity, looking like the column
    /// where its name tells, and derived from `n`, so distinct for distinct
    /// `n`.
    fn regular(&self, n: u64) -> Value {
        use Affinity as A;
        if self.rowid_alias {
            return Value::Integer(to_i64(n));
        }
        let int_hint = match self.hint {
            Hint::Bool if !self.unique => Some(to_i64(mix(n) % 2)),
            Hint::Age => Some(to_i64(18 + n % 70)),
            Hint::Year => Some(to_i64(1950 + n % 80)),
            _ => None,
        };
        match self.affinity {
            A::Integer => Value::Integer(int_hint.unwrap_or_else(|| to_i64(n))),
            A::Real => Value::Real(fractional(n)),
            A::Text => Value::Text(self.text(n)),
            A::Blob => Value::Blob(bytes(n)),
            A::Numeric => match (int_hint, self.hint) {
                (Some(i), _) => Value::Integer(i),
                (None, Hint::None | Hint::Bool) if mix(n).is_multiple_of(2) => {
                    Value::Integer(to_i64(n))
                }
                (None, Hint::None | Hint::Bool) => Value::Real(fractional(n)),
                _ => Value::Text(self.text(n)),
            },
            A::Any => match mix(n) % 4 {
                0 => Value::Integer(to_i64(n)),
                1 => Value::Text(self.text(n)),
                2 => Value::Real(fractional(n)),
                _ => Value::Blob(bytes(n)),
            },
        }
    }

    /// Text that looks like the column and never reads as a number.
    fn text(&self, n: u64) -> String {
        const FIRST: &[&str] = &[
            "Amélie",
            "Bjørn",
            "Chloé",
            "Dmitri",
            "Eun-ji",
            "François",
            "Grace",
            "Hiroshi",
            "Inès",
            "José",
            "Kwame",
            "Léa",
            "Mateo",
            "Nadia",
            "Øystein",
            "Priya",
        ];
        const LAST: &[&str] = &[
            "Martin", "Müller", "O'Brien", "García", "Nakamura", "Dubois", "Kowalski", "Silva",
        ];
        let h = mix(n);
        let idx = |len: usize, by: u64| usize::try_from((n / by) % len as u64).unwrap_or(0);
        let s = match self.hint {
            Hint::Email => format!("{}{n}@example.org", self.name.to_lowercase()),
            Hint::Url => format!("https://example.org/{}/{n}", self.name),
            Hint::Uuid => format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                h >> 32,
                (h >> 16) & 0xffff,
                h & 0xfff,
                0x8000 | (n & 0x3fff),
                n & 0xffff_ffff_ffff
            ),
            Hint::Date => date(n),
            Hint::DateTime => date_time(n),
            Hint::Range => {
                let low = 10 + n % 80;
                format!("{low}-{}", low + 5 + (n / 80) % 20)
            }
            Hint::Phone => format!("+1 555 {:03} {:04}", n % 1000, (n / 1000) % 10000),
            Hint::Color => format!("#{:06x}", h & 0xff_ffff),
            Hint::Json => json(&self.name, n),
            Hint::Name => format!(
                "{} {} {n}",
                FIRST[idx(FIRST.len(), 1)],
                LAST[idx(LAST.len(), 16)]
            ),
            Hint::Code => {
                let prefix: String = self
                    .name
                    .chars()
                    .filter(char::is_ascii_alphabetic)
                    .take(3)
                    .collect::<String>()
                    .to_uppercase();
                format!("{}-{n}", if prefix.is_empty() { "C" } else { &prefix })
            }
            Hint::Ip => format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff),
            Hint::None | Hint::Bool | Hint::Age | Hint::Year => format!("{} {n}", self.name),
        };
        if looks_numeric(&s) {
            format!("t{s}")
        } else {
            s
        }
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A real that is never integral, distinct for distinct `n` (below 2^50).
fn fractional(n: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // n stays far below 2^53
    let whole = n as f64;
    whole + 0.25 * f64::from(u8::try_from(1 + n % 3).unwrap_or(1))
}

fn bytes(n: u64) -> Vec<u8> {
    let mut out = mix(n).to_le_bytes().to_vec();
    out.extend_from_slice(&n.to_le_bytes());
    out
}

/// `len` characters from `n`, starting with a letter (so never a number).
fn letters(n: u64, len: usize, digits: bool) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut m = n;
    for i in 0..len {
        let radix = if i == 0 || !digits { 26 } else { 36 };
        out.push(char::from(ALNUM[usize::try_from(m % radix).unwrap_or(0)]));
        m /= radix;
    }
    out
}

fn json(column: &str, n: u64) -> String {
    let key = serde_json::to_string(column).unwrap_or_else(|_| "\"k\"".to_owned());
    format!(r#"{{"id": {n}, {key}: "é \"q\" 日本", "tags": ["a", "b;--"], "ok": true}}"#)
}

/// `YYYY-MM-DD`, from 2000-01-01 on, one day per `n` for 30,000 days.
fn date(n: u64) -> String {
    let days = 10_957 + to_i64(n % 30_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn date_time(n: u64) -> String {
    let h = mix(n);
    format!(
        "{} {:02}:{:02}:{:02}",
        date(n),
        h % 24,
        (h >> 8) % 60,
        (h >> 16) % 60
    )
}

/// splitmix64's finaliser: a well-mixed function of `z`.
fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// splitmix64: small, fast, and enough to spread a table's values.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn one_line(e: &rusqlite::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// The constraint message of a failed insert: a row to try again with
/// other candidates. Anything else fails the table.
fn constraint_message(e: &rusqlite::Error) -> Option<String> {
    match e {
        rusqlite::Error::SqliteFailure(f, msg)
            if matches!(
                f.code,
                ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch
            ) =>
        {
            Some(msg.clone().unwrap_or_default())
        }
        _ => None,
    }
}

/// Whether `message` names `column` as a word (`t.code`, `length(code)`).
fn mentions(message: &str, column: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    message.match_indices(column).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + column.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Where a foreign key's values come from for one table.
enum Targets {
    /// NULL always: the parent is still pending (a nullable key on a cycle),
    /// has no rows, or does not exist.
    Null,
    /// The parent's key tuples, read from the database.
    Parent(Vec<Vec<Value>>),
    /// Rows of this table: the columns (indexes) they reference.
    SelfRef(Vec<usize>),
}

fn targets(
    conn: &Connection,
    plan: &Plan,
    fk: &ForeignKey,
    pending: &HashSet<String>,
) -> Result<Targets, String> {
    let parent_pk = |table: &str| -> rusqlite::Result<Vec<String>> {
        let mut stmt =
            conn.prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE pk > 0 ORDER BY pk")?;
        stmt.query_map([table], |r| r.get(0))?.collect()
    };
    let to = if fk.to.len() == fk.columns.len() {
        fk.to.clone()
    } else {
        parent_pk(&fk.parent).map_err(|e| one_line(&e))?
    };
    if fk.self_ref {
        let cols: Option<Vec<usize>> = to
            .iter()
            .map(|t| {
                plan.columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(t))
            })
            .collect();
        return match cols {
            Some(cols) if cols.len() == fk.columns.len() => Ok(Targets::SelfRef(cols)),
            _ if fk.nullable => Ok(Targets::Null),
            _ => Err(format!(
                "its foreign key to itself names no key of {}",
                plan.name
            )),
        };
    }
    let missing = |why: &str| {
        if fk.nullable {
            Ok(Targets::Null)
        } else {
            Err(format!(
                "its NOT NULL foreign key references {}, {why}",
                fk.parent
            ))
        }
    };
    if pending.contains(&fk.parent_lower) {
        return missing("which is not filled yet");
    }
    if to.len() != fk.columns.len() {
        return missing("whose key it cannot tell");
    }
    let list = to.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    let not_null = to
        .iter()
        .map(|c| format!("{} IS NOT NULL", quote(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = format!(
        "SELECT DISTINCT {list} FROM {} WHERE {not_null} ORDER BY {list}",
        quote(&fk.parent)
    );
    let tuples: rusqlite::Result<Vec<Vec<Value>>> = conn.prepare(&sql).and_then(|mut stmt| {
        stmt.query_map([], |r| (0..to.len()).map(|i| r.get(i)).collect())?
            .collect()
    });
    match tuples {
        Ok(t) if t.is_empty() => missing("which has no rows"),
        Ok(t) => Ok(Targets::Parent(t)),
        Err(_) => missing("which does not exist or lacks those columns"),
    }
}

/// Fills `plan`'s table: ROWS rows, each tried up to ATTEMPTS times.
fn fill_table(conn: &Connection, plan: &Plan, pending: &HashSet<String>) -> Result<usize, String> {
    let targets: Vec<Targets> = plan
        .fks
        .iter()
        .map(|fk| targets(conn, plan, fk, pending))
        .collect::<Result<_, _>>()?;
    let in_fk: HashSet<usize> = plan.fks.iter().flat_map(|fk| fk.columns.clone()).collect();
    let plain: Vec<usize> = (0..plan.columns.len())
        .filter(|c| !in_fk.contains(c))
        .collect();
    let lower: Vec<String> = plan.columns.iter().map(|c| c.name.to_lowercase()).collect();
    let verb = if plan.kind == Kind::Virtual {
        "INSERT"
    } else {
        // Overrides ON CONFLICT REPLACE / IGNORE in the table's definition,
        // which would drop rows silently.
        "INSERT OR ABORT"
    };

    // The candidate that last worked for each column (plain) and foreign
    // key, where a failing row jumps first.
    let mut good = vec![0usize; plan.columns.len()];
    let mut good_fk = vec![0usize; plan.fks.len()];
    // The referenced values of each row inserted, for self-references.
    let mut inserted_rows: Vec<Vec<Cand>> = Vec::new();
    let mut inserted = 0;
    let mut failed_rows = 0;
    let mut last_error = String::new();

    for row in 0..ROWS {
        let mut cursor = vec![0usize; plan.columns.len()];
        let mut fk_cursor = vec![0usize; plan.fks.len()];
        let mut done = false;
        for _ in 0..ATTEMPTS {
            let mut values: Vec<Cand> = (0..plan.columns.len()).map(|_| Cand::Omit).collect();
            for &c in &plain {
                let column = &plan.columns[c];
                let alt = &column.alts[cursor[c].min(column.alts.len() - 1)];
                values[c] = column.candidate(alt, row, plan.shift);
            }
            distinguish(plan, &plain, &cursor, row, &mut values);
            for (f, fk) in plan.fks.iter().enumerate() {
                let tuple = fk_values(fk, &targets[f], row, fk_cursor[f], &values, &inserted_rows);
                for (&c, v) in fk.columns.iter().zip(tuple) {
                    values[c] = Cand::Val(v);
                }
            }
            match insert(conn, verb, plan, &values) {
                Ok(()) => {
                    for &c in &plain {
                        good[c] = cursor[c];
                    }
                    good_fk.clone_from(&fk_cursor);
                    inserted_rows.push(values);
                    inserted += 1;
                    done = true;
                    break;
                }
                Err(e) => {
                    let Some(message) = constraint_message(&e) else {
                        return Err(one_line(&e));
                    };
                    let m = message.to_lowercase();
                    let fk_failed = m.contains("foreign key");
                    let named: Vec<usize> = plain
                        .iter()
                        .copied()
                        .filter(|&c| mentions(&m, &lower[c]))
                        .collect();
                    let named_fks: Vec<usize> = (0..plan.fks.len())
                        .filter(|&f| {
                            fk_failed
                                || plan.fks[f].columns.iter().any(|&c| mentions(&m, &lower[c]))
                        })
                        .collect();
                    let (suspects, fk_suspects) = if named.is_empty() && named_fks.is_empty() {
                        (plain.clone(), (0..plan.fks.len()).collect())
                    } else {
                        (named, named_fks)
                    };
                    for c in suspects {
                        cursor[c] = if cursor[c] < good[c] {
                            good[c]
                        } else {
                            cursor[c] + 1
                        };
                    }
                    for f in fk_suspects {
                        fk_cursor[f] = if fk_cursor[f] < good_fk[f] {
                            good_fk[f]
                        } else {
                            fk_cursor[f] + 1
                        };
                    }
                    last_error = message;
                }
            }
        }
        if !done {
            failed_rows += 1;
            if inserted == 0 && failed_rows >= GIVE_UP_AFTER {
                break;
            }
        }
    }
    if inserted == 0 {
        return Err(format!(
            "no generated row satisfies its constraints: {}",
            last_error.replace('\n', " ")
        ));
    }
    Ok(inserted)
}

/// Makes the primary values of one row's columns differ from each other
/// (two columns of the same kind could meet the same edge value, or two
/// NULLs), so a swap of any two shows. Only primary values move: a
/// candidate a constraint asked for stays.
fn distinguish(plan: &Plan, plain: &[usize], cursor: &[usize], row: usize, values: &mut [Cand]) {
    for (i, &c) in plain.iter().enumerate() {
        if cursor[c] != 0 {
            continue;
        }
        let clashes = |values: &[Cand]| {
            plain[..i].iter().any(|&d| match (&values[d], &values[c]) {
                (Cand::Val(a), Cand::Val(b)) => a == b,
                _ => false,
            })
        };
        if clashes(values) {
            let column = &plan.columns[c];
            values[c] = column.candidate(&Alt::Regular(4 + i as u64), row, plan.shift);
        }
    }
}

/// The values of one foreign key for `row`: a parent row (shifted by the
/// key's offset, and by the cursor on each retry), NULL in one row in
/// eight where allowed, and for a self-reference an earlier row or the row
/// itself.
fn fk_values(
    fk: &ForeignKey,
    targets: &Targets,
    row: usize,
    cursor: usize,
    values: &[Cand],
    earlier: &[Vec<Cand>],
) -> Vec<Value> {
    let nulls = || vec![Value::Null; fk.columns.len()];
    let null_row = fk.nullable && (row + fk.offset).is_multiple_of(8);
    match targets {
        Targets::Null => nulls(),
        Targets::Parent(tuples) => {
            let n = tuples.len();
            if (cursor == 0 && null_row) || (fk.nullable && cursor > n) {
                return nulls();
            }
            tuples[(row + fk.offset + cursor * (1 + fk.offset % 7)) % n].clone()
        }
        Targets::SelfRef(cols) => {
            let own = || -> Option<Vec<Value>> {
                cols.iter()
                    .map(|&c| match &values[c] {
                        Cand::Val(Value::Null) | Cand::Omit => None,
                        Cand::Val(v) => Some(v.clone()),
                    })
                    .collect()
            };
            let of = |r: &Vec<Cand>| -> Option<Vec<Value>> {
                cols.iter()
                    .map(|&c| match &r[c] {
                        Cand::Val(Value::Null) | Cand::Omit => None,
                        Cand::Val(v) => Some(v.clone()),
                    })
                    .collect()
            };
            if fk.nullable && ((cursor == 0 && (row == 0 || null_row)) || cursor > earlier.len()) {
                return nulls();
            }
            // Choices: the earlier rows, then the row itself.
            let choices = earlier.len() + 1;
            let pick = (row * 7 + fk.offset + cursor) % choices;
            let chosen = if pick < earlier.len() {
                of(&earlier[pick]).or_else(own)
            } else {
                own()
            };
            chosen.unwrap_or_else(nulls)
        }
    }
}

fn insert(conn: &Connection, verb: &str, plan: &Plan, values: &[Cand]) -> rusqlite::Result<()> {
    let mut names = Vec::new();
    let mut bound = Vec::new();
    for (c, v) in plan.columns.iter().zip(values) {
        if let Cand::Val(v) = v {
            names.push(quote(&c.name));
            bound.push(v.clone());
        }
    }
    let sql = if names.is_empty() {
        format!("{verb} INTO {} DEFAULT VALUES", quote(&plan.name))
    } else {
        let marks = (1..=names.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>();
        format!(
            "{verb} INTO {} ({}) VALUES ({})",
            quote(&plan.name),
            names.join(", "),
            marks.join(", ")
        )
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.execute(params_from_iter(bound))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each kind of table the generator must handle.
    const SCHEMA: &str = "
        CREATE TABLE plain (a, b TEXT, c INTEGER, d REAL, e BLOB, f NUMERIC, g VARCHAR(20),
            h DOUBLE PRECISION, age_range TEXT, email TEXT, created_at TEXT);
        CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
            nick TEXT);
        CREATE UNIQUE INDEX users_nick ON users (nick);
        CREATE TABLE pairs (x INTEGER, y TEXT, note TEXT, PRIMARY KEY (x, y));
        CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
        CREATE TABLE defaults (id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'new',
            n INTEGER DEFAULT 7, at TEXT DEFAULT CURRENT_TIMESTAMP, required TEXT NOT NULL);
        CREATE TABLE checks (id INTEGER PRIMARY KEY, x INTEGER NOT NULL CHECK (x > 0),
            status TEXT NOT NULL CHECK (status IN ('a', 'b')),
            code TEXT CHECK (length(code) = 3));
        CREATE TABLE docs (id INTEGER PRIMARY KEY, doc TEXT NOT NULL CHECK (json_valid(doc)));
        CREATE TABLE parent (id INTEGER PRIMARY KEY, title TEXT);
        CREATE TABLE child (id INTEGER PRIMARY KEY,
            parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE,
            other_parent INTEGER REFERENCES parent, label TEXT);
        CREATE TABLE grandchild (a INTEGER, b INTEGER, child_id INTEGER REFERENCES child (id),
            PRIMARY KEY (a, b));
        CREATE TABLE pair_refs (id INTEGER PRIMARY KEY, px INTEGER NOT NULL, py TEXT NOT NULL,
            FOREIGN KEY (px, py) REFERENCES pairs (x, y));
        CREATE TABLE tree (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES tree (id),
            name TEXT);
        CREATE TABLE chain (id TEXT PRIMARY KEY NOT NULL,
            prev TEXT NOT NULL REFERENCES chain (id));
        CREATE TABLE gen (a INTEGER, b INTEGER, v INTEGER GENERATED ALWAYS AS (a + 1) VIRTUAL,
            s TEXT GENERATED ALWAYS AS (b || 'x') STORED);
        CREATE VIRTUAL TABLE search USING fts5 (title, body);
        CREATE TABLE strict_t (i INT, r REAL, t TEXT, b BLOB, a ANY) STRICT;
        CREATE TABLE cyc_a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES cyc_b (id));
        CREATE TABLE cyc_b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES cyc_a (id));
        CREATE TABLE on_cyc (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES cyc_a (id));
        CREATE TABLE soft_a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES soft_b (id));
        CREATE TABLE soft_b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES soft_a (id));
        CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY);
    ";

    const REPORTED: &[&str] = &["cyc_a", "cyc_b", "on_cyc"];

    fn db(foreign_keys: bool) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        if foreign_keys {
            conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        }
        conn
    }

    fn filled(seed: u64, foreign_keys: bool) -> (Connection, Report) {
        let conn = db(foreign_keys);
        let report = fill(&conn, seed, None).unwrap();
        (conn, report)
    }

    fn count(conn: &Connection, table: &str) -> usize {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {}", quote(table)), [], |r| {
                r.get(0)
            })
            .unwrap();
        usize::try_from(n).unwrap()
    }

    /// Every value of `table`, by row, as rusqlite reads them.
    fn values(conn: &Connection, table: &str) -> Vec<Vec<Value>> {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {}", quote(table)))
            .unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Every table (shadow tables included) with its rows, sorted.
    fn dump(conn: &Connection) -> String {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut out = String::new();
        for name in names {
            let mut rows: Vec<String> = values(conn, &name)
                .iter()
                .map(|row| format!("{row:?}"))
                .collect();
            rows.sort();
            out.push_str(&format!("{name}\n{}\n", rows.join("\n")));
        }
        out
    }

    fn application_tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' \
                 AND type IN ('table', 'virtual') AND name NOT LIKE 'sqlite%' \
                 AND name != 'schema_migrations' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn every_table_gets_rows_that_keep_its_constraints() {
        for foreign_keys in [false, true] {
            let (conn, (done, left)) = filled(7, foreign_keys);
            let reported: Vec<&str> = left.iter().map(|(t, _)| t.as_str()).collect();
            assert_eq!(reported, REPORTED, "{left:?}");
            for table in application_tables(&conn) {
                if REPORTED.contains(&table.as_str()) {
                    assert_eq!(count(&conn, &table), 0, "{table}");
                    continue;
                }
                assert_eq!(count(&conn, &table), ROWS, "{table}");
                assert!(
                    done.contains(&Filled {
                        table: table.clone(),
                        rows: ROWS
                    }),
                    "{table}: {done:?}"
                );
            }
            let violations: Vec<String> = conn
                .prepare("PRAGMA foreign_key_check")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(violations.is_empty(), "{violations:?}");
            let integrity: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(integrity, "ok");
            assert_eq!(count(&conn, "schema_migrations"), 0);
        }
    }

    #[test]
    fn a_cycle_of_not_null_foreign_keys_is_reported_with_its_path() {
        let (_, (_, left)) = filled(1, true);
        let reason = |t: &str| left.iter().find(|(n, _)| n == t).unwrap().1.clone();
        assert_eq!(
            reason("cyc_a"),
            "cycle of NOT NULL foreign keys: cyc_a -> cyc_b -> cyc_a"
        );
        assert!(
            reason("on_cyc").contains("references cyc_a"),
            "{}",
            reason("on_cyc")
        );
        // A nullable key breaks the other cycle: soft_a goes first, with NULL.
        let (conn, _) = filled(1, true);
        let nulls: i64 = conn
            .query_row("SELECT count(*) FROM soft_a WHERE b_id IS NULL", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(usize::try_from(nulls).unwrap(), ROWS);
    }

    #[test]
    fn nulls_appear_where_allowed_and_never_where_not() {
        let (conn, _) = filled(3, true);
        let mut nullable_with_null = 0;
        for table in application_tables(&conn) {
            let mut stmt = conn
                .prepare("SELECT name, \"notnull\" OR pk > 0 FROM pragma_table_info(?1)")
                .unwrap();
            let cols: Vec<(String, bool)> = stmt
                .query_map([&table], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            for (col, required) in cols {
                let sql = format!(
                    "SELECT count(*) FROM {} WHERE {} IS NULL",
                    quote(&table),
                    quote(&col)
                );
                let nulls: i64 = conn.query_row(&sql, [], |r| r.get(0)).unwrap();
                if required {
                    assert_eq!(nulls, 0, "{table}.{col}");
                } else if nulls > 0 {
                    nullable_with_null += 1;
                }
            }
        }
        assert!(nullable_with_null > 20, "{nullable_with_null}");
        let fk_nulls: i64 = conn
            .query_row(
                "SELECT count(*) FROM child WHERE other_parent IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(fk_nulls > 0 && usize::try_from(fk_nulls).unwrap() < ROWS);
    }

    #[test]
    fn the_edge_values_appear() {
        let (conn, _) = filled(5, true);
        let all: Vec<Value> = application_tables(&conn)
            .iter()
            .flat_map(|t| values(&conn, t))
            .flatten()
            .collect();
        for text in TEXT_EDGES {
            assert!(all.contains(&Value::Text((*text).to_owned())), "{text:?}");
        }
        for i in INT_EDGES {
            assert!(all.contains(&Value::Integer(*i)), "{i}");
        }
        for f in REAL_EDGES {
            assert!(all.contains(&Value::Real(*f)), "{f}");
        }
        for b in BLOB_EDGES {
            assert!(all.contains(&Value::Blob(b.to_vec())), "{b:?}");
        }
        // Every column of `plain` holds each of its edge values.
        let plain = values(&conn, "plain");
        let column = |i: usize| plain.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
        assert!(column(2).contains(&Value::Integer(i64::MAX)));
        assert!(column(2).contains(&Value::Integer(i64::MIN)));
        assert!(column(3).contains(&Value::Real(-1e300)));
        assert!(column(4).contains(&Value::Blob(b"a\0b\0".to_vec())));
        assert!(column(1).contains(&Value::Text("日本語".to_owned())));
        // Text that looks like its column.
        assert!(column(8).iter().any(|v| matches!(v, Value::Text(t)
            if t.split('-').count() == 2 && t.split('-').all(|p| p.parse::<u32>().is_ok()))));
        assert!(
            column(9)
                .iter()
                .any(|v| matches!(v, Value::Text(t) if t.contains('@')))
        );
    }

    #[test]
    fn values_keep_the_type_the_column_converts_to() {
        let (conn, _) = filled(11, false);
        let types = |table: &str, col: &str| -> Vec<String> {
            let sql = format!(
                "SELECT DISTINCT typeof({}) FROM {} ORDER BY 1",
                quote(col),
                quote(table)
            );
            conn.prepare(&sql)
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        assert_eq!(types("plain", "b"), ["null", "text"]);
        assert_eq!(types("plain", "c"), ["integer", "null"]);
        assert_eq!(types("plain", "d"), ["null", "real"]);
        assert_eq!(types("plain", "e"), ["blob", "null"]);
        assert_eq!(types("plain", "h"), ["null", "real"]);
        assert_eq!(
            types("plain", "a"),
            ["blob", "integer", "null", "real", "text"]
        );
        assert_eq!(
            types("strict_t", "a"),
            ["blob", "integer", "null", "real", "text"]
        );
        // What was inserted reads back as inserted: a second copy through
        // the same affinities changes nothing.
        conn.execute_batch(
            "CREATE TABLE plain2 AS SELECT * FROM plain; \
             CREATE TABLE plain3 (a, b TEXT, c INTEGER, d REAL, e BLOB, f NUMERIC, \
               g VARCHAR(20), h DOUBLE PRECISION, age_range TEXT, email TEXT, created_at TEXT); \
             INSERT INTO plain3 SELECT * FROM plain;",
        )
        .unwrap();
        let mut a = values(&conn, "plain");
        let mut b = values(&conn, "plain3");
        a.sort_by_key(|r| format!("{r:?}"));
        b.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(a, b);
    }

    #[test]
    fn columns_of_one_row_differ_and_rows_mostly_differ() {
        let (conn, _) = filled(13, true);
        for table in ["plain", "users", "pairs", "strict_t", "child"] {
            let rows = values(&conn, table);
            for row in &rows {
                for (i, a) in row.iter().enumerate() {
                    for b in &row[i + 1..] {
                        // Two foreign keys to one parent may meet; NULLs in
                        // nullable keys too.
                        if table != "child" {
                            assert_ne!(a, b, "{table}: {row:?}");
                        }
                    }
                }
            }
            let width = rows[0].len();
            for c in 0..width {
                let distinct: HashSet<String> =
                    rows.iter().map(|r| format!("{:?}", r[c])).collect();
                assert!(
                    distinct.len() > ROWS / 2,
                    "{table} column {c}: {distinct:?}"
                );
            }
        }
        let swapped: i64 = conn
            .query_row("SELECT count(*) FROM plain WHERE b = g", [], |r| r.get(0))
            .unwrap();
        assert_eq!(swapped, 0);
    }

    #[test]
    fn checks_are_met_by_trying_other_candidates() {
        let (conn, (_, left)) = filled(17, true);
        assert!(!left.iter().any(|(t, _)| t == "checks" || t == "docs"));
        let bad: i64 = conn
            .query_row(
                "SELECT count(*) FROM checks WHERE NOT (x > 0 AND status IN ('a', 'b') \
                 AND (code IS NULL OR length(code) = 3))",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bad, 0);
        let statuses: i64 = conn
            .query_row("SELECT count(DISTINCT status) FROM checks", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(statuses, 2, "the values of an IN list take turns");
        let edges: i64 = conn
            .query_row(
                "SELECT count(*) FROM checks WHERE x = 9223372036854775807",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            edges, 1,
            "the rows the CHECK accepts keep their edge values"
        );
        let distinct_codes: i64 = conn
            .query_row("SELECT count(DISTINCT code) FROM checks", [], |r| r.get(0))
            .unwrap();
        assert!(distinct_codes > 30, "{distinct_codes}");
        let defaults: i64 = conn
            .query_row(
                "SELECT count(*) FROM defaults WHERE status = 'new'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(defaults > 0);
        let at: i64 = conn
            .query_row("SELECT count(*) FROM defaults WHERE at IS NOT NULL AND at LIKE '20__-__-__ __:__:__' AND at > '2030'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(at, 0, "CURRENT_TIMESTAMP is never left to apply");
        let json: i64 = conn
            .query_row("SELECT count(*) FROM docs WHERE json_valid(doc)", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(usize::try_from(json).unwrap(), ROWS);
    }

    #[test]
    fn same_seed_same_rows_other_seed_other_rows() {
        let one = dump(&filled(42, true).0);
        let two = dump(&filled(42, false).0);
        let other = dump(&filled(43, true).0);
        assert_eq!(one, two);
        assert_ne!(one, other);
    }

    #[test]
    fn tables_with_rows_shadow_tables_and_generated_columns_are_left_alone() {
        let conn = db(true);
        conn.execute_batch("INSERT INTO plain (a) VALUES ('mine')")
            .unwrap();
        let (done, left) = fill(&conn, 1, None).unwrap();
        assert_eq!(
            values(&conn, "plain"),
            [[
                Value::Text("mine".into()),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ]]
        );
        let names: Vec<&str> = done.iter().map(|f| f.table.as_str()).collect();
        assert!(!names.contains(&"plain"));
        assert!(!names.iter().any(|n| n.starts_with("search_")), "{names:?}");
        assert!(
            !left
                .iter()
                .any(|(n, _)| n.starts_with("search_") || n == "plain")
        );
        assert!(names.contains(&"search"));
        // Generated columns are computed from what was inserted.
        let wrong: i64 = conn
            .query_row(
                "SELECT count(*) FROM gen WHERE s IS NOT b || 'x'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(wrong, 0);
        // A second fill finds everything full but the cycle.
        let (again, left) = fill(&conn, 1, None).unwrap();
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(left.len(), REPORTED.len());
    }

    #[test]
    fn the_self_references_point_at_rows_of_the_table() {
        let (conn, _) = filled(19, true);
        let orphans: i64 = conn
            .query_row(
                "SELECT count(*) FROM chain WHERE prev NOT IN (SELECT id FROM chain)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0);
        let (nulls, linked): (i64, i64) = conn
            .query_row(
                "SELECT count(*) FILTER (WHERE parent_id IS NULL), \
                        count(*) FILTER (WHERE parent_id IN (SELECT id FROM tree)) FROM tree",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(nulls > 0 && linked > 0);
        assert_eq!(usize::try_from(nulls + linked).unwrap(), ROWS);
    }

    #[test]
    fn an_external_content_virtual_table_is_reported_a_contentless_one_filled() {
        // An external-content table is reported, not filled.
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); \
             CREATE VIRTUAL TABLE notes_fts USING fts5 (body, content='notes', \
               content_rowid='id'); \
             CREATE VIRTUAL TABLE bare USING fts5 (body, content='');",
        )
        .unwrap();
        let (done, left) = fill(&conn, 1, None).unwrap();
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].0, "notes_fts");
        let names: Vec<&str> = done.iter().map(|f| f.table.as_str()).collect();
        assert_eq!(names, ["notes", "bare"]);
    }

    #[test]
    fn affinity_follows_sqlites_rules() {
        use Affinity as A;
        for (t, a) in [
            ("INT", A::Integer),
            ("TINYINT", A::Integer),
            ("CHARINT", A::Integer),
            ("VARCHAR(10)", A::Text),
            ("CLOB", A::Text),
            ("BLOB", A::Blob),
            ("", A::Any),
            ("DOUBLE PRECISION", A::Real),
            ("FLOAT", A::Real),
            ("DECIMAL(10,5)", A::Numeric),
            ("BOOLEAN", A::Numeric),
            ("DATETIME", A::Numeric),
            ("ANY", A::Numeric),
        ] {
            assert_eq!(affinity(t, false), a, "{t}");
        }
        assert_eq!(affinity("ANY", true), A::Any);
    }

    #[test]
    fn literals_are_found_without_parsing() {
        let found = harvest(
            "CREATE TABLE \"t'x\" (a CHECK (a IN ('it''s', 'b')), -- 'no'\n \
             n CHECK (n BETWEEN -5 AND 2.5), x5 BLOB DEFAULT x'00ff')",
        );
        assert_eq!(
            found,
            [
                Literal::Text("it's".into()),
                Literal::Text("b".into()),
                Literal::Integer(-5),
                Literal::Integer(-4),
                Literal::Integer(-6),
                Literal::Real(2.5),
                Literal::Blob(vec![0, 255]),
            ]
        );
        assert!(external_content(
            "CREATE VIRTUAL TABLE f USING fts5(b, content = 'notes')"
        ));
        assert!(!external_content(
            "CREATE VIRTUAL TABLE f USING fts5(b, content='')"
        ));
        assert!(!external_content(
            "CREATE VIRTUAL TABLE f USING fts5(content)"
        ));
    }
}
