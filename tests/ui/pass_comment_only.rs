// A migration whose SQL is only comments builds, applies as a no-op and is
// recorded with its checksum like any other.
migrate_macros::embed_migrations!("ui/pass_comment_only.toml");

fn main() {
    assert_eq!(MIGRATIONS.latest_version(), 4);

    let mut conn = migrate_core::rusqlite::Connection::open_in_memory().unwrap();
    let report = MIGRATIONS.apply(&mut conn).unwrap();
    let applied: Vec<u32> = report.applied.iter().map(|(v, _)| *v).collect();
    assert_eq!(applied, [1, 2, 3, 4]);
    assert_eq!(report.version, 4);

    // Every version recorded, each with the checksum of its text.
    let mut stmt = conn
        .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .unwrap();
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    for ((_, stored), m) in rows.iter().zip(MIGRATIONS.iter()) {
        let expected: String = m.checksum().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(stored, &expected, "version {}", m.version());
    }

    // Only what the statements made is there: one table, one index.
    let objects: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(objects, ["idx_users_id", "users"]);

    // Nothing pending, nothing drifted.
    assert!(MIGRATIONS.status(&conn).unwrap().pending.is_empty());
    assert!(MIGRATIONS.check(&conn).unwrap().is_clean());
}
