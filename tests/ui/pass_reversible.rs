// A reversible history builds: the proof ran every down after its migration.
// At run time the embedded downs take a database back version by version,
// each to the schema the build recorded for it, with the rows that version
// had, and the migrations apply again.
migrate_macros::embed_migrations!("ui/pass_reversible.toml");

use migrate_core::rusqlite::Connection;
use migrate_core::schema::Schema;

fn main() {
    assert_eq!(MIGRATIONS.len(), 9);
    assert!(MIGRATIONS.iter().all(|m| m.is_reversible()));

    let mut conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    assert_eq!(MIGRATIONS.apply(&mut conn).unwrap().version, 9);
    let count = |conn: &Connection, sql: &str| -> i64 {
        conn.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    // The seeded messages kept their keys through the proof's round trips.
    assert_eq!(count(&conn, "SELECT count(*) FROM reactions"), 2);
    assert_eq!(count(&conn, "SELECT max(id) FROM messages"), 5);
    assert_eq!(count(&conn, "SELECT count(*) FROM audit_log"), 1);
    assert_eq!(
        count(&conn, "SELECT messages FROM user_message_counts WHERE id = 'u1'"),
        3
    );

    let migrator = MIGRATIONS.migrator();
    for version in (0..9).rev() {
        migrator.down(&mut conn, version).unwrap();
        assert_eq!(migrator.current_version(&conn).unwrap(), i64::from(version));
        let schema = Schema::read(&conn).unwrap().fingerprint();
        let expected = match version {
            0 => Schema::default().fingerprint(),
            v => MIGRATIONS.expected_schema(v).unwrap(),
        };
        assert_eq!(schema, expected, "version {version}");
        assert!(MIGRATIONS.check(&conn).unwrap().differences.is_empty());
        if version == 4 {
            // The rebuild back kept the users and their messages.
            assert_eq!(count(&conn, "SELECT count(*) FROM users"), 2);
            assert_eq!(count(&conn, "SELECT count(*) FROM messages"), 3);
        }
    }
    assert_eq!(MIGRATIONS.apply(&mut conn).unwrap().version, 9);
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}
