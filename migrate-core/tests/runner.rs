//! The runner through the library API, on lists built at run time (which
//! skip the build-time proof, so the run-time defences are what is tested).

use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Migration, Migrations, Migrator};

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_migration_that_would_commit_halfway_is_refused_and_rolled_back() {
    let list = [
        Migration::new(1, "Create a", ["CREATE TABLE a (x)"]),
        Migration::new(
            2,
            "Commit halfway",
            [
                "CREATE TABLE b (x)",
                "-- done\ncommit",
                "CREATE TABLE c (x)",
            ],
        ),
    ];
    let mut conn = Connection::open_in_memory().unwrap();
    for _attempt in 0..2 {
        let error = Migrator::new(&list).apply(&mut conn).unwrap_err();
        assert!(
            matches!(
                error,
                Error::TransactionControl {
                    version: 2,
                    statement: 2,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("`commit` would end the transaction"),
            "{message}"
        );
        assert!(
            message.contains("rolled back and is not recorded"),
            "{message}"
        );
        assert_eq!(tables(&conn), ["a", "schema_migrations"]);
        assert_eq!(Migrator::new(&list).current_version(&conn).unwrap(), 1);
    }
}

#[test]
fn rollback_ends_the_transaction_but_rollback_to_a_savepoint_does_not() {
    let mut conn = Connection::open_in_memory().unwrap();
    let refused = [Migration::new(
        1,
        "Roll back",
        ["CREATE TABLE a (x); ROLLBACK"],
    )];
    let error = Migrator::new(&refused).apply(&mut conn).unwrap_err();
    assert!(
        matches!(error, Error::TransactionControl { statement: 2, .. }),
        "{error:?}"
    );
    // Even the tracking table, created in the same transaction, is gone.
    assert_eq!(tables(&conn), Vec::<String>::new());

    let fine = [Migration::new(
        1,
        "Savepoint",
        ["CREATE TABLE a (x); SAVEPOINT s; INSERT INTO a VALUES (1); ROLLBACK TO s; RELEASE s"],
    )];
    Migrator::new(&fine).apply(&mut conn).unwrap();
    assert_eq!(tables(&conn), ["a", "schema_migrations"]);
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM a", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn apply_refuses_a_connection_inside_a_transaction() {
    let list = [Migration::new(1, "Create a", ["CREATE TABLE a (x)"])];
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let error = Migrator::new(&list).apply(&mut conn).unwrap_err();
    assert!(matches!(error, Error::InTransaction), "{error:?}");
}

#[test]
fn from_toml_proves_the_list_like_the_macro() {
    let text = "[[migration]]\nversion = 1\ndescription = \"Create users\"\n\
                sql = \"CREATE TABLE users (id INTEGER PRIMARY KEY)\"\n\n\
                [[migration]]\nversion = 2\ndescription = \"Index\"\n\
                sql = \"CREATE INDEX i ON userz(id)\"\n";
    let error = Migrations::from_toml(text, "migrations.toml").unwrap_err();
    assert_eq!(
        error.to_string(),
        "migrations.toml:9:8: version 2 (\"Index\") fails at statement 1 \
         `CREATE INDEX i ON userz(id)`: no such table: main.userz; did you mean `users`?"
    );

    let fixed = text.replace("userz", "users");
    let migrations = Migrations::from_toml(&fixed, "migrations.toml").unwrap();
    assert_eq!(
        migrations.final_schema(),
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\nCREATE INDEX i ON users(id);\n"
    );
    assert_ne!(migrations.expected_schema(1), migrations.expected_schema(2));
    assert_ne!(migrations.expected_schema(0), migrations.expected_schema(1));
    assert_eq!(migrations.expected_schema(3), None);

    // A database migrated with the list has the schema the proof predicted.
    let mut conn = Connection::open_in_memory().unwrap();
    migrations.apply(&mut conn).unwrap();
    let live = migrate_core::schema::Schema::read(&conn).unwrap();
    assert_eq!(Some(live.fingerprint()), migrations.expected_schema(2));
}
