//! A generated, realistic migration history for benchmarks: the chat
//! application's kind of changes (tables, columns, indexes, updates,
//! multi-statement migrations), as the text of a `migrations.toml`.

/// The text of a `migrations.toml` with `n` migrations.
pub fn migrations_toml(n: usize) -> String {
    let mut out = String::with_capacity(n * 200);
    for i in 1..=n {
        let table = (i - 1) / 4;
        let (description, sql) = match i % 4 {
            1 => (
                format!("Create table t{table}"),
                format!(
                    "\"\"\"\nCREATE TABLE t{table} (\n    id INTEGER PRIMARY KEY,\n    \
                     user_id TEXT,\n    name TEXT NOT NULL DEFAULT '',\n    \
                     created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n)\"\"\""
                ),
            ),
            2 => (
                format!("Add score to t{table}"),
                format!("\"ALTER TABLE t{table} ADD COLUMN score{i} INTEGER DEFAULT 0\""),
            ),
            3 => (
                format!("Index t{table} by name and score"),
                format!(
                    "\"CREATE INDEX idx_t{table}_{i} ON t{table}(name, score{})\"",
                    i - 1
                ),
            ),
            _ => (
                format!("Backfill and extend t{table}"),
                format!(
                    "[\n    \"UPDATE t{table} SET score{s} = 1 WHERE score{s} IS NULL\",\n    \
                     \"ALTER TABLE t{table} ADD COLUMN note{i} TEXT DEFAULT 'none'\",\n    \
                     \"UPDATE t{table} SET note{i} = name WHERE name != ''\",\n]",
                    s = i - 2
                ),
            ),
        };
        out.push_str(&format!(
            "[[migration]]\nversion = {i}\ndescription = \"{description}\"\nsql = {sql}\n\n"
        ));
    }
    out
}
