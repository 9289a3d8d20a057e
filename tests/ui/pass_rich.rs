// A realistic history builds: the proof rejects none of it, and what it
// embeds (the final schema, a fingerprint per version) is what applying the
// embedded migrations at run time produces.
migrate_macros::embed_migrations!("ui/pass_rich.toml");

use migrate_core::Migrator;
use migrate_core::rusqlite::Connection;
use migrate_core::schema::Schema;

fn main() {
    assert_eq!(MIGRATIONS.len(), 9);
    assert_eq!(MIGRATIONS.latest_version(), 9);
    assert_eq!(MIGRATIONS.default_database(), Some("rich.db"));
    let transactional: Vec<bool> = MIGRATIONS.iter().map(|m| m.is_transactional()).collect();
    assert_eq!(
        transactional,
        [true, true, true, true, true, true, true, true, false]
    );

    // The sql_file is embedded as one item, its text verbatim.
    let audit: Vec<&str> = MIGRATIONS[6].sql().collect();
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].starts_with("-- Version 7 of pass_rich.toml"),
        "{}",
        audit[0]
    );
    assert!(audit[0].contains("CREATE TRIGGER users_email_audit"));

    // The final schema names every object, after the rebuild.
    let schema = MIGRATIONS.final_schema();
    let statement = |start: &str| -> &str {
        let at = schema
            .find(start)
            .unwrap_or_else(|| panic!("no {start:?} in:\n{schema}"));
        // A trigger's body holds statements: it ends at `END;`.
        let end = if start.starts_with("CREATE TRIGGER") {
            schema[at..].find("\nEND;\n").map(|e| e + 4)
        } else {
            schema[at..].find(";\n")
        };
        &schema[at..=at + end.expect("statements end with ;")]
    };
    let users = statement("CREATE TABLE \"users\" (");
    for expected in [
        "email TEXT NOT NULL UNIQUE CHECK (email LIKE '%_@_%')",
        "CHECK (json_valid(profile))",
        "display_name TEXT GENERATED ALWAYS AS (json_extract(profile, '$.name')) VIRTUAL",
        "email_domain TEXT GENERATED ALWAYS AS (lower(substr(email, instr(email, '@') + 1))) STORED",
    ] {
        assert!(
            users.contains(expected),
            "missing {expected:?} in:\n{users}"
        );
    }
    assert!(
        statement("CREATE TABLE user_tags (").ends_with(") WITHOUT ROWID;"),
        "{schema}"
    );
    assert!(statement("CREATE TABLE messages (").contains("ON DELETE CASCADE"));
    assert!(statement("CREATE TABLE audit_log (").contains("CHECK (length(action) > 0)"));
    assert!(
        statement("CREATE VIEW user_summary AS").contains("json_extract(u.profile, '$.tags[0]')")
    );
    // RENAME COLUMN rewrote the trigger that names the column.
    let audit_trigger =
        statement("CREATE TRIGGER users_email_audit AFTER UPDATE OF email ON users");
    assert!(
        audit_trigger.contains("INSERT INTO audit_log (user_id, action)")
            && audit_trigger.contains("'email changed; was -- ' || old.email);")
            && audit_trigger.ends_with("WHERE id = new.id;\nEND;"),
        "{audit_trigger}"
    );
    for expected in [
        "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id');",
        // FTS5's own tables are part of the schema too.
        "CREATE TABLE 'messages_fts_data'(",
        "CREATE TABLE 'messages_fts_idx'(",
        "CREATE INDEX idx_messages_live ON messages(user_id) WHERE deleted_at IS NULL;",
        "CREATE INDEX idx_users_domain ON users(email_domain);",
        "CREATE INDEX idx_audit_log_user ON audit_log(user_id) WHERE user_id IS NOT NULL;",
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN",
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN",
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN",
    ] {
        assert!(
            schema.contains(expected),
            "missing {expected:?} in:\n{schema}"
        );
    }
    for gone in [
        "legacy_score",
        "users_new",
        "note TEXT",
        "schema_migrations",
        "sqlite_sequence",
    ] {
        assert!(!schema.contains(gone), "{gone:?} is still in:\n{schema}");
    }
    // Tables first, each statement ends with ";\n".
    assert!(schema.starts_with("CREATE TABLE "), "{schema}");
    assert!(schema.ends_with(";\n"), "{schema}");

    // Applying the embedded list gives the schema the build proved, at every
    // version, and each fingerprint differs from the previous one where the
    // schema changed.
    let mut conn = Connection::open_in_memory().unwrap();
    let report = MIGRATIONS.apply(&mut conn).unwrap();
    assert_eq!(report.version, 9);
    assert_eq!(report.applied.len(), 9);
    let applied = Schema::read(&conn).unwrap();
    assert_eq!(
        Some(applied.fingerprint()),
        MIGRATIONS.expected_schema(MIGRATIONS.latest_version())
    );
    assert_eq!(applied.to_sql(), schema);
    for version in 1..=MIGRATIONS.latest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let n = usize::try_from(version).unwrap();
        Migrator::new(&MIGRATIONS[..n]).apply(&mut conn).unwrap();
        assert_eq!(
            Some(Schema::read(&conn).unwrap().fingerprint()),
            MIGRATIONS.expected_schema(version),
            "version {version}"
        );
        if version == 5 {
            // The rebuild's DROP TABLE users cascaded into no child row.
            let messages: i64 = conn
                .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
                .unwrap();
            assert_eq!(messages, 3, "children of users survive the rebuild");
        }
    }
    assert_eq!(MIGRATIONS.expected_schema(10), None);
    // Version 2 only adds rows; version 9 only deletes some and compacts.
    assert_eq!(MIGRATIONS.expected_schema(1), MIGRATIONS.expected_schema(2));
    assert_eq!(MIGRATIONS.expected_schema(8), MIGRATIONS.expected_schema(9));
    assert_ne!(MIGRATIONS.expected_schema(4), MIGRATIONS.expected_schema(5));
    assert_ne!(MIGRATIONS.expected_schema(7), MIGRATIONS.expected_schema(8));

    // The data came through the rebuild and the triggers did their work.
    let query = |sql: &str| -> i64 {
        conn.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(query("SELECT count(*) FROM users"), 2);
    // Three were seeded; version 9 purged the deleted one, and its row in
    // the full-text index with it.
    assert_eq!(query("SELECT count(*) FROM messages"), 2);
    assert_eq!(
        query("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'comment'"),
        0
    );
    assert_eq!(query("SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_eq!(query("SELECT count(*) FROM user_tags"), 3);
    assert_eq!(
        query("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'hello'"),
        1
    );
    assert_eq!(
        query("SELECT count(*) FROM audit_log WHERE action LIKE 'email changed; was -- %'"),
        1
    );
    assert_eq!(query("SELECT age FROM users WHERE id = 'u1'"), 18);
    assert_eq!(
        query("SELECT json_extract(profile, '$.tag_count') FROM users WHERE id = 'u1'"),
        2
    );
    assert_eq!(
        query("SELECT live_messages FROM user_summary WHERE id = 'u1'"),
        1
    );
    let (name, domain, verified): (String, String, String) = conn
        .query_row(
            "SELECT display_name, email_domain, json_type(profile, '$.email_verified') \
             FROM users WHERE id = 'u1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (name.as_str(), domain.as_str()),
        ("Ann; admin", "example.net")
    );
    assert_eq!(verified, "false");

    // Deleting a user still cascades to its children, through the rebuilt table.
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.execute("DELETE FROM users WHERE id = 'u2'", [])
        .unwrap();
    assert_eq!(
        query("SELECT count(*) FROM messages WHERE user_id = 'u2'"),
        0
    );
    assert_eq!(
        query("SELECT count(*) FROM user_tags WHERE user_id = 'u2'"),
        0
    );
}
