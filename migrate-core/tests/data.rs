//! What a trial run reports each migration did to the data: rows of each
//! table before and after, tables created and dropped, columns dropped.

use migrate_core::rusqlite::Connection;
use migrate_core::{DataChange, Migration, Migrator, TableChange, Trial};

fn base() -> Migration {
    Migration::new(
        1,
        "Create the tables",
        [
            "CREATE TABLE sessions (id INTEGER PRIMARY KEY, expired INTEGER NOT NULL)",
            "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT, legacy_score INTEGER)",
            "CREATE TABLE user_tags (user_id TEXT NOT NULL, tag TEXT NOT NULL)",
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)",
            "CREATE VIRTUAL TABLE notes USING fts5(body)",
        ],
    )
}

fn list() -> Vec<Migration> {
    vec![
        base(),
        Migration::new(
            2,
            "Purge expired sessions",
            ["DELETE FROM sessions WHERE expired = 1"],
        )
        .losing(["sessions"]),
        Migration::new(
            3,
            "Drop legacy_score",
            ["ALTER TABLE users DROP COLUMN legacy_score"],
        )
        .losing(["users.legacy_score"]),
        Migration::new(4, "Drop user_tags", ["DROP TABLE user_tags"]).losing(["user_tags"]),
        Migration::new(
            5,
            "Rebuild users with a NOT NULL name",
            [
                "CREATE TABLE users_new (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
                "INSERT INTO users_new (id, name) SELECT id, name FROM users",
                "DROP TABLE users",
                "ALTER TABLE users_new RENAME TO users",
            ],
        ),
        Migration::new(
            6,
            "Seed settings, create tags",
            [
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12) \
                 INSERT INTO settings SELECT 'key' || i, 'value' FROM n",
                "CREATE TABLE tags (name TEXT PRIMARY KEY)",
                "INSERT INTO notes (body) VALUES ('indexed, not counted')",
            ],
        ),
        Migration::new(
            7,
            "Rename settings",
            ["ALTER TABLE settings RENAME TO preferences"],
        ),
    ]
}

/// A database file at version 1 holding 9,000 sessions (3,201 expired),
/// 5 users, 64 tags.
fn populated(list: &[Migration]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.db");
    let mut conn = Connection::open(&path).expect("open");
    Migrator::new(list)
        .target(Some(1))
        .apply(&mut conn)
        .expect("version 1");
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9000)
         INSERT INTO sessions (id, expired) SELECT i, i <= 3201 FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
         INSERT INTO users SELECT 'u' || i, 'User ' || i, i FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
         INSERT INTO user_tags SELECT 'u' || (i % 5 + 1), 'tag' || i FROM n;
         INSERT INTO notes (body) VALUES ('hello');",
    )
    .expect("data");
    (dir, path)
}

fn table(name: &str, before: Option<u64>, after: Option<u64>) -> TableChange {
    TableChange {
        table: name.to_owned(),
        rows_before: before,
        rows_after: after,
        ..TableChange::default()
    }
}

fn data_of(trials: &[(u32, Trial)], version: u32) -> &DataChange {
    match trials.iter().find(|(v, _)| *v == version) {
        Some((_, Trial::Succeeded(_, data))) => data,
        other => panic!("version {version} did not succeed: {other:?}"),
    }
}

#[test]
fn trial_reports_rows_tables_and_columns_each_migration_changes() {
    let list = list();
    let (_dir, path) = populated(&list);
    let before = std::fs::read(&path).expect("read");
    let mut conn = Connection::open(&path).expect("open");
    let trials = Migrator::new(&list).trial(&mut conn).expect("trial");
    assert_eq!(trials.len(), 6, "{trials:?}");

    // Every table, changed or not; not the FTS table or its shadow tables,
    // nor schema_migrations.
    assert_eq!(
        data_of(&trials, 2).tables,
        [
            table("sessions", Some(9000), Some(5799)),
            table("settings", Some(0), Some(0)),
            table("user_tags", Some(64), Some(64)),
            table("users", Some(5), Some(5)),
        ]
    );
    let changes = |v| data_of(&trials, v).changes().cloned().collect::<Vec<_>>();
    assert_eq!(changes(2), [table("sessions", Some(9000), Some(5799))]);
    assert_eq!(
        changes(3),
        [TableChange {
            dropped_columns: vec!["legacy_score".to_owned()],
            ..table("users", Some(5), Some(5))
        }]
    );
    assert_eq!(changes(4), [table("user_tags", Some(64), None)]);
    // A rebuild that keeps every row and column is no change; the
    // intermediate users_new existed neither before nor after.
    assert_eq!(changes(5), []);
    assert!(
        data_of(&trials, 5)
            .tables
            .contains(&table("users", Some(5), Some(5)))
    );
    assert_eq!(
        changes(6),
        [
            table("settings", Some(0), Some(12)),
            table("tags", None, Some(0)),
        ]
    );
    assert_eq!(
        changes(7),
        [TableChange {
            renamed_from: Some("settings".to_owned()),
            ..table("preferences", Some(12), Some(12))
        }]
    );

    drop(conn);
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "the file is byte-identical after the trial"
    );
}

#[test]
fn a_rebuild_that_drops_a_column_and_rows_reports_both() {
    let list = [
        base(),
        Migration::new(
            2,
            "Rebuild users without legacy_score, named users only",
            [
                "ALTER TABLE users RENAME TO users_old",
                "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)",
                "INSERT INTO users SELECT id, name FROM users_old WHERE name <> 'User 1'",
                "DROP TABLE users_old",
            ],
        ),
    ];
    let (_dir, path) = populated(&list);
    let mut conn = Connection::open(&path).expect("open");
    let trials = Migrator::new(&list).trial(&mut conn).expect("trial");
    let changes: Vec<TableChange> = data_of(&trials, 2).changes().cloned().collect();
    assert_eq!(
        changes,
        [TableChange {
            dropped_columns: vec!["legacy_score".to_owned()],
            ..table("users", Some(5), Some(4))
        }]
    );
}

#[test]
fn rows_written_by_a_trigger_are_counted() {
    let list = [
        base(),
        Migration::new(
            2,
            "Log deleted sessions",
            [
                "CREATE TABLE session_log (id INTEGER)",
                "CREATE TRIGGER log_session AFTER DELETE ON sessions \
                 BEGIN INSERT INTO session_log VALUES (old.id); END",
            ],
        ),
        Migration::new(
            3,
            "Purge expired sessions",
            ["DELETE FROM sessions WHERE expired = 1"],
        ),
    ];
    let (_dir, path) = populated(&list);
    let mut conn = Connection::open(&path).expect("open");
    let trials = Migrator::new(&list).trial(&mut conn).expect("trial");
    let changes: Vec<TableChange> = data_of(&trials, 3).changes().cloned().collect();
    assert_eq!(
        changes,
        [
            table("session_log", Some(0), Some(3201)),
            table("sessions", Some(9000), Some(5799)),
        ]
    );
}

#[test]
fn a_failed_migration_is_rolled_back_whole() {
    let list = [
        base(),
        Migration::new(
            2,
            "Insert then fail",
            [
                "INSERT INTO settings VALUES ('a', 'b')",
                "INSERT INTO no_such_table VALUES (1)",
            ],
        ),
    ];
    let (_dir, path) = populated(&list);
    let mut conn = Connection::open(&path).expect("open");
    let trials = Migrator::new(&list).trial(&mut conn).expect("trial");
    assert!(matches!(trials[..], [(2, Trial::Failed(..))]), "{trials:?}");
    assert_eq!(
        Migrator::new(&list)
            .current_version(&conn)
            .expect("version"),
        1
    );
}

#[test]
fn pending_losses_lists_the_declarations_up_to_the_target() {
    let list = list();
    let (_dir, path) = populated(&list);
    let conn = Connection::open(&path).expect("open");
    let versions = |m: Migrator<'_>| -> Vec<(u32, Vec<String>)> {
        m.pending_losses(&conn)
            .expect("losses")
            .iter()
            .map(|m| (m.version(), m.loses().map(str::to_owned).collect()))
            .collect()
    };
    assert_eq!(
        versions(Migrator::new(&list)),
        [
            (2, vec!["sessions".to_owned()]),
            (3, vec!["users.legacy_score".to_owned()]),
            (4, vec!["user_tags".to_owned()]),
        ]
    );
    assert_eq!(
        versions(Migrator::new(&list).target(Some(2))),
        [(2, vec!["sessions".to_owned()])]
    );
    // Once applied, nothing is pending.
    let mut conn2 = Connection::open(&path).expect("open");
    Migrator::new(&list).apply(&mut conn2).expect("apply");
    assert_eq!(versions(Migrator::new(&list)), []);
}
