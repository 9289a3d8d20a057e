//! A generated reversible history for the cost of the proof's round trips:
//! the kinds of change a down can undo exactly (a table created and
//! dropped, a column added and dropped, an index created and dropped, rows
//! inserted and deleted), each migration with its down, or the same
//! migrations without them, to compare.

/// The text of a `migrations.toml` with `n` migrations, each with a down
/// when `downs`.
pub fn reversible_toml(n: usize, downs: bool) -> String {
    let mut out = String::with_capacity(n * 300);
    for i in 1..=n {
        let table = (i - 1) / 4;
        // What each down removes by nature, declared as the data proof asks.
        let (description, sql, down, down_loses) = match i % 4 {
            1 => (
                format!("Create table t{table}"),
                format!(
                    "\"\"\"\nCREATE TABLE t{table} (\n    id INTEGER PRIMARY KEY,\n    \
                     user_id TEXT,\n    name TEXT NOT NULL DEFAULT '',\n    \
                     created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n)\"\"\""
                ),
                format!("\"DROP TABLE t{table}\""),
                Some(format!("t{table}")),
            ),
            2 => (
                format!("Add score to t{table}"),
                format!("\"ALTER TABLE t{table} ADD COLUMN score{i} INTEGER DEFAULT 0\""),
                format!("\"ALTER TABLE t{table} DROP COLUMN score{i}\""),
                Some(format!("t{table}.score{i}")),
            ),
            3 => (
                format!("Index t{table} by name and score"),
                format!(
                    "\"CREATE INDEX idx_t{table}_{i} ON t{table}(name, score{})\"",
                    i - 1
                ),
                format!("\"DROP INDEX idx_t{table}_{i}\""),
                None,
            ),
            _ => (
                format!("Seed t{table}"),
                format!(
                    "\"INSERT INTO t{table} (user_id, name, score{s}) VALUES \
                     ('u1', 'seed {i}', 1), ('u2', 'seed {i} b', 2)\"",
                    s = i - 2
                ),
                format!("\"DELETE FROM t{table} WHERE name IN ('seed {i}', 'seed {i} b')\""),
                None,
            ),
        };
        out.push_str(&format!(
            "[[migration]]\nversion = {i}\ndescription = \"{description}\"\nsql = {sql}\n"
        ));
        if downs {
            out.push_str(&format!("down = {down}\n"));
            if let Some(lost) = down_loses {
                out.push_str(&format!("down_loses = [\"{lost}\"]\n"));
            }
        }
        out.push('\n');
    }
    out
}
