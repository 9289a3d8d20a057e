//! A table's rows as data: read with its columns and primary key
//! ([`read`]), its values in a form where equal data compare equal
//! ([`canonical`]) and as SQL writes them, for messages ([`literal`],
//! [`tuple`]). What the build-time data proof and the run-time dry-run
//! report compare before and after a migration ([`crate::compare`]).

use std::fmt::Write as _;

use rusqlite::Connection;
use rusqlite::types::Value;

/// Longest text or blob quoted whole in a message; longer ones are cut.
const QUOTED: usize = 40;

/// One table, as read.
#[derive(Debug, Clone)]
pub(crate) struct Table {
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

/// Reads one table: its columns and key from `pragma_table_info`, then its
/// rows.
pub(crate) fn read(conn: &Connection, name: &str) -> rusqlite::Result<Table> {
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
pub(crate) fn canonical(value: &Value) -> String {
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
pub(crate) fn literal(value: &Value) -> String {
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
pub(crate) fn tuple(row: &[Value]) -> String {
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
}
