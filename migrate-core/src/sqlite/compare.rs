//! Comparing one table before a step with what became of it: which rows are
//! gone, which columns are gone, which values of the columns that remain
//! changed (the build-time data proof decides which of these the step may
//! make; the run-time dry run reports them).
//!
//! Rows are matched by the table's PRIMARY KEY (an INTEGER PRIMARY KEY, a
//! WITHOUT ROWID table's key) when it declares one, every key column
//! remains and no two rows share a key. Otherwise, a rowid the copy of a
//! table rebuild may renumber cannot match them: each column's values are
//! then compared as a multiset (what values of the column are no longer
//! found), and rows as a count.
//!
//! A column is followed under a new name when the step renamed it (`ALTER
//! TABLE … RENAME COLUMN`), or when it is gone but a column the table did
//! not have holds exactly its values, row by row (a rebuild's copy that
//! renames it: `INSERT INTO users_new (full_name) SELECT name FROM users`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::types::Value;

use crate::contents::{Table, canonical, literal, tuple};
use crate::sql::Rename;

/// Something of one table a step did not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loss {
    /// The table is gone, with its rows (`rows` may be 0).
    Table { rows: usize },
    /// Rows are gone: how many of how many, and one of them.
    Rows {
        lost: usize,
        of: usize,
        example: String,
    },
    /// A column is gone (its position in the table before).
    Column { column: usize },
    /// Values of a column that remains changed: how many of how many, and
    /// one (before, after).
    Values {
        column: usize,
        changed: usize,
        of: usize,
        example: (String, String),
    },
}

/// Compares `old` (a table before a step) with `new` (what it is after,
/// `None` when gone); `renamed` maps the lower-case names of the columns
/// the step renamed to their new names.
pub(crate) fn compare(
    old: &Table,
    new: Option<&Table>,
    renamed: &HashMap<String, String>,
) -> Vec<Loss> {
    match new {
        Some(new) => follow(old, new, renamed).losses,
        None => vec![Loss::Table {
            rows: old.rows.len(),
        }],
    }
}

/// What became of a table that remains: see [`follow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Followed {
    /// What it did not keep.
    pub losses: Vec<Loss>,
    /// For each column of the table before, the column of the table after
    /// that holds its values (under its name, a name it was renamed to, or
    /// the name of a column a copy moved its values into); `None` when gone.
    pub columns: Vec<Option<usize>>,
}

/// Compares `old` (a table before a step) with `new` (what it is after),
/// as [`compare`], and says which column became which.
pub(crate) fn follow(old: &Table, new: &Table, renamed: &HashMap<String, String>) -> Followed {
    // Which column of `new` each column of `old` is, where known.
    let mut map: Vec<Option<usize>> = old
        .columns
        .iter()
        .map(|c| {
            let now = renamed
                .get(&c.to_lowercase())
                .map_or(c.as_str(), String::as_str);
            new.column(now)
        })
        .collect();
    let keyed = !old.key.is_empty()
        && old.key.iter().all(|&k| map[k].is_some())
        && unique_keys(old, &old.key);
    let mut losses = Vec::new();
    if keyed {
        let new_key: Vec<usize> = old.key.iter().filter_map(|&k| map[k]).collect();
        let mut index: HashMap<Vec<String>, usize> = HashMap::with_capacity(new.rows.len());
        for (i, row) in new.rows.iter().enumerate() {
            index.entry(key_of(row, &new_key)).or_insert(i);
        }
        let pairs: Vec<(usize, Option<usize>)> = old
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (i, index.get(&key_of(row, &old.key)).copied()))
            .collect();
        let lost: Vec<usize> = pairs
            .iter()
            .filter(|(_, n)| n.is_none())
            .map(|(i, _)| *i)
            .collect();
        if let Some(&first) = lost.first() {
            losses.push(Loss::Rows {
                lost: lost.len(),
                of: old.rows.len(),
                example: tuple(&old.rows[first]),
            });
        }
        let matched: Vec<(usize, usize)> = pairs
            .iter()
            .filter_map(|(i, n)| Some((*i, (*n)?)))
            .collect();
        follow_moves(old, new, &mut map, |c, target| {
            !matched.is_empty()
                && matched
                    .iter()
                    .all(|&(i, j)| canonical(&old.rows[i][c]) == canonical(&new.rows[j][target]))
        });
        for (c, target) in map.iter().enumerate() {
            let Some(target) = *target else {
                losses.push(Loss::Column { column: c });
                continue;
            };
            let mut changed = 0;
            let mut example = None;
            for &(i, j) in &matched {
                let (a, b) = (&old.rows[i][c], &new.rows[j][target]);
                if canonical(a) != canonical(b) {
                    changed += 1;
                    example.get_or_insert_with(|| (literal(a), literal(b)));
                }
            }
            if let Some(example) = example {
                losses.push(Loss::Values {
                    column: c,
                    changed,
                    of: matched.len(),
                    example,
                });
            }
        }
    } else {
        let lost = old.rows.len().saturating_sub(new.rows.len());
        if lost > 0 {
            // Which rows went cannot be told without a key: one whose
            // values are not all found again.
            let example = old
                .rows
                .iter()
                .find(|row| !contains_row(new, &map, row))
                .or(old.rows.first())
                .map(|r| tuple(r))
                .unwrap_or_default();
            losses.push(Loss::Rows {
                lost,
                of: old.rows.len(),
                example,
            });
        }
        follow_moves(old, new, &mut map, |c, target| {
            !old.rows.is_empty() && multiset(old, c) == multiset(new, target)
        });
        for (c, target) in map.iter().enumerate() {
            let Some(target) = *target else {
                losses.push(Loss::Column { column: c });
                continue;
            };
            let mut remaining = multiset(new, target);
            let mut missing = Vec::new();
            for row in &old.rows {
                let key = canonical(&row[c]);
                match remaining.get_mut(&key) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => missing.push(&row[c]),
                }
            }
            // The values of the rows that went are not changes.
            let changed = missing.len().saturating_sub(lost);
            if changed > 0 {
                let extra = new
                    .rows
                    .iter()
                    .map(|r| &r[target])
                    .find(|v| remaining.get(&canonical(v)).is_some_and(|n| *n > 0))
                    .map_or_else(|| "nothing".to_owned(), literal);
                losses.push(Loss::Values {
                    column: c,
                    changed,
                    of: old.rows.len().min(new.rows.len()),
                    example: (
                        missing.first().map_or_else(String::new, |v| literal(v)),
                        extra,
                    ),
                });
            }
        }
    }
    Followed {
        losses,
        columns: map,
    }
}

/// Which of `columns` (a table's before a step, as SQLite names them) the
/// step's `renames` renamed, in any of the table's names `aliases`
/// (lower-case): lower-case name before to final name.
pub(crate) fn column_renames(
    columns: &[String],
    aliases: &BTreeSet<String>,
    renames: &[Rename],
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for column in columns {
        let start = column.to_lowercase();
        let mut current = start.clone();
        for rename in renames {
            if let Rename::Column { table, from, to } = rename
                && aliases.contains(table)
                && *from == current
            {
                current = to.clone();
            }
        }
        if current != start {
            out.insert(start, current);
        }
    }
    out
}

/// Gives each column of `old` that has no place in `new` the column of
/// `new` no column of `old` maps to for which `same(old column, new
/// column)` holds, if there is exactly one.
fn follow_moves(
    old: &Table,
    new: &Table,
    map: &mut [Option<usize>],
    same: impl Fn(usize, usize) -> bool,
) {
    if map.iter().all(Option::is_some) {
        return;
    }
    for c in 0..old.columns.len() {
        if map[c].is_some() {
            continue;
        }
        let free: Vec<usize> = (0..new.columns.len())
            .filter(|t| !map.contains(&Some(*t)) && old.column(&new.columns[*t]).is_none())
            .filter(|&t| same(c, t))
            .collect();
        if let [only] = free[..] {
            map[c] = Some(only);
        }
    }
}

fn key_of(row: &[Value], key: &[usize]) -> Vec<String> {
    key.iter().map(|&k| canonical(&row[k])).collect()
}

fn unique_keys(table: &Table, key: &[usize]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(table.rows.len());
    table.rows.iter().all(|row| seen.insert(key_of(row, key)))
}

fn multiset(table: &Table, column: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for row in &table.rows {
        *out.entry(canonical(&row[column])).or_insert(0) += 1;
    }
    out
}

/// Whether `new` has a row with the values of `row` in the columns that
/// remain.
fn contains_row(new: &Table, map: &[Option<usize>], row: &[Value]) -> bool {
    new.rows.iter().any(|n| {
        map.iter()
            .enumerate()
            .all(|(c, t)| t.is_none_or(|t| canonical(&row[c]) == canonical(&n[t])))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], key: &[usize], rows: Vec<Vec<Value>>) -> Table {
        Table {
            name: "t".into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            key: key.to_vec(),
            rows,
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn swapped_columns_change_both_by_key() {
        let old = table(
            &["id", "a", "b"],
            &[0],
            vec![vec![1.into(), text("x"), text("y")]],
        );
        let new = table(
            &["id", "a", "b"],
            &[0],
            vec![vec![1.into(), text("y"), text("x")]],
        );
        let out = compare(&old, Some(&new), &HashMap::new());
        assert_eq!(
            out,
            [
                Loss::Values {
                    column: 1,
                    changed: 1,
                    of: 1,
                    example: ("'x'".into(), "'y'".into())
                },
                Loss::Values {
                    column: 2,
                    changed: 1,
                    of: 1,
                    example: ("'y'".into(), "'x'".into())
                },
            ]
        );
    }

    #[test]
    fn a_renamed_or_moved_column_is_followed() {
        let old = table(
            &["id", "name"],
            &[0],
            vec![vec![1.into(), text("x")], vec![2.into(), text("y")]],
        );
        let new = table(
            &["id", "full_name"],
            &[0],
            vec![vec![2.into(), text("y")], vec![1.into(), text("x")]],
        );
        assert!(compare(&old, Some(&new), &HashMap::new()).is_empty());
        let renamed = [("name".to_owned(), "full_name".to_owned())].into();
        assert!(compare(&old, Some(&new), &renamed).is_empty());
        let other = table(
            &["id", "full_name"],
            &[0],
            vec![vec![1.into(), text("x")], vec![2.into(), text("z")]],
        );
        assert_eq!(
            compare(&old, Some(&other), &HashMap::new()),
            [Loss::Column { column: 1 }]
        );
    }

    #[test]
    fn without_a_key_rows_are_counted_and_values_compared_as_multisets() {
        let old = table(
            &["a"],
            &[],
            vec![vec![text("x")], vec![text("y")], vec![text("z")]],
        );
        let reordered = table(
            &["a"],
            &[],
            vec![vec![text("z")], vec![text("x")], vec![text("y")]],
        );
        assert!(compare(&old, Some(&reordered), &HashMap::new()).is_empty());
        let fewer = table(&["a"], &[], vec![vec![text("z")]]);
        assert_eq!(
            compare(&old, Some(&fewer), &HashMap::new()),
            [Loss::Rows {
                lost: 2,
                of: 3,
                example: "('x')".into()
            }]
        );
        let cast = table(
            &["a"],
            &[],
            vec![vec![0.into()], vec![text("y")], vec![text("z")]],
        );
        assert_eq!(
            compare(&old, Some(&cast), &HashMap::new()),
            [Loss::Values {
                column: 0,
                changed: 1,
                of: 3,
                example: ("'x'".into(), "0".into())
            }]
        );
    }
}
