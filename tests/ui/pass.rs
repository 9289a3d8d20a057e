// A valid migrations.toml is embedded exactly as written, and runs.
migrate_macros::embed_migrations!("ui/pass.toml");

fn main() {
    assert_eq!(MIGRATIONS.len(), 3);
    assert_eq!(MIGRATIONS.latest_version(), 3);
    assert_eq!(MIGRATIONS.default_database(), Some("pass.db"));

    let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version()).collect();
    assert_eq!(versions, [1, 2, 3]);
    let descriptions: Vec<&str> = MIGRATIONS.iter().map(|m| m.description()).collect();
    assert_eq!(
        descriptions,
        [
            "Create users table",
            "Index emails, and seed one user",
            "Compact the file"
        ]
    );

    // `sql` as one string is one item; a list keeps its items, multi-line
    // strings included.
    let sql: Vec<&str> = MIGRATIONS[0].sql().collect();
    assert_eq!(
        sql,
        ["CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT)"]
    );
    let sql: Vec<&str> = MIGRATIONS[1].sql().collect();
    assert_eq!(sql.len(), 2);
    assert_eq!(sql[0], "CREATE INDEX idx_users_email ON users(email)");
    assert!(
        sql[1].contains("VALUES ('u1', 'u1@example.com')"),
        "{}",
        sql[1]
    );

    let transactional: Vec<bool> = MIGRATIONS.iter().map(|m| m.is_transactional()).collect();
    assert_eq!(transactional, [true, true, false]);

    // The embedded list applies to a fresh database.
    let mut conn = migrate_core::rusqlite::Connection::open_in_memory().unwrap();
    let report = MIGRATIONS.apply(&mut conn).unwrap();
    assert_eq!(report.version, 3);
    assert_eq!(report.applied.len(), 3);
    let email: String = conn
        .query_row("SELECT email FROM users WHERE id = 'u1'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(email, "u1@example.com");
}
