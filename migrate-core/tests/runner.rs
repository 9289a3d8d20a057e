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
fn every_spelling_of_rollback_is_read_as_sqlite_reads_it() {
    // Found by fuzzing: a transaction named `toé` is not `ROLLBACK TO`; it
    // rolled the migration back, and what followed it was then committed
    // and recorded.
    for sql in [
        "INSERT INTO a VALUES (1); ROLLBACK TRANSACTION toé; CREATE TABLE u (x); INSERT INTO a VALUES (2)",
        "INSERT INTO a VALUES (1); rollback transaction to$; CREATE TABLE u (x)",
        "INSERT INTO a VALUES (1); END TRANSACTION; CREATE TABLE u (x)",
    ] {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE a (x)").unwrap();
        let list = [Migration::new(1, "Roll back by another name", [sql])];
        let error = Migrator::new(&list).apply(&mut conn).unwrap_err();
        assert!(
            matches!(error, Error::TransactionControl { statement: 2, .. }),
            "{sql}: {error:?}"
        );
        assert_eq!(tables(&conn), ["a"], "{sql}");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM a", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0, "{sql}");
    }
    // And `ROLLBACK TRANSACTION name TO savepoint` is a savepoint's, which
    // a migration may use.
    let mut conn = Connection::open_in_memory().unwrap();
    let fine = [Migration::new(
        1,
        "Savepoint",
        [
            "CREATE TABLE a (x); SAVEPOINT s; INSERT INTO a VALUES (1); ROLLBACK TRANSACTION tx TO s; RELEASE s",
        ],
    )];
    Migrator::new(&fine).apply(&mut conn).unwrap();
    assert_eq!(tables(&conn), ["a", "schema_migrations"]);
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

/// A database with child and parent rows, foreign keys off while filling it
/// (so it can start with an orphan in `legacy`, as old databases do).
fn shop() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE orders (id INTEGER PRIMARY KEY,
                              customer INTEGER REFERENCES customers(id));
         CREATE TABLE legacy (id INTEGER PRIMARY KEY,
                              customer INTEGER REFERENCES customers(id));
         INSERT INTO customers VALUES (1, 'ann'), (2, 'bob');
         INSERT INTO orders VALUES (10, 1), (11, 2);
         INSERT INTO legacy VALUES (100, 999);
         PRAGMA foreign_keys = ON;",
    )
    .unwrap();
    conn
}

fn apply_one(conn: &mut Connection, sql: &str) -> Result<(), Error> {
    let list = [Migration::new(1, "under test", [sql.to_owned()])];
    Migrator::new(&list).apply(conn).map(|_| ())
}

#[test]
fn foreign_keys_are_checked_where_a_migration_could_have_broken_them() {
    // Each of these orphans an order, each in another way; each is refused
    // and rolled back.
    for sql in [
        "DELETE FROM customers WHERE id = 2",
        "UPDATE customers SET id = 3 WHERE id = 2",
        "INSERT INTO orders VALUES (12, 42)",
        "UPDATE orders SET customer = 42 WHERE id = 10",
        // A rebuild that forgets a row.
        "CREATE TABLE c2 (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO c2 SELECT * FROM customers WHERE id = 1;
         DROP TABLE customers; ALTER TABLE c2 RENAME TO customers",
        // Through a trigger: the statement itself writes another table.
        "CREATE TABLE log (x); CREATE TRIGGER t AFTER INSERT ON log
         BEGIN DELETE FROM customers WHERE id = 1; END; INSERT INTO log VALUES (1)",
    ] {
        let mut conn = shop();
        let error = apply_one(&mut conn, sql).unwrap_err();
        assert!(
            matches!(error, Error::ForeignKeyViolation { .. }),
            "{sql}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("orders rowid"), "{sql}: {message}");
        let orders: i64 = conn
            .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
            .unwrap();
        assert_eq!(orders, 2, "{sql}");
        let customers: i64 = conn
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(customers, 2, "{sql}: rolled back");
    }
}

#[test]
fn an_old_violation_in_a_table_the_migration_does_not_touch_does_not_block_it() {
    // `legacy` has had an orphan for years; adding an index to orders, or a
    // new customer, cannot have caused it.
    for sql in [
        "CREATE INDEX orders_by_customer ON orders(customer)",
        "INSERT INTO customers VALUES (3, 'cy')",
        "ALTER TABLE orders ADD COLUMN note TEXT",
    ] {
        let mut conn = shop();
        apply_one(&mut conn, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // A migration that writes to `legacy` is answerable for it.
    let mut conn = shop();
    let error = apply_one(&mut conn, "UPDATE legacy SET id = 101").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("legacy rowid 101 references a missing customers row"),
        "{error}"
    );
}

#[test]
fn single_transaction_applies_all_or_nothing() {
    let list = [
        Migration::new(1, "Create a", ["CREATE TABLE a (x UNIQUE)"]),
        Migration::new(2, "Fill a", ["INSERT INTO a VALUES (1), (2)"]),
        Migration::new(3, "Break", ["INSERT INTO a VALUES (2)"]),
    ];
    let mut conn = Connection::open_in_memory().unwrap();
    let error = Migrator::new(&list)
        .single_transaction(true)
        .apply(&mut conn)
        .unwrap_err();
    assert!(matches!(error, Error::BatchRolledBack { .. }), "{error:?}");
    assert_eq!(error.code(), "migration_failed");
    assert_eq!(error.version(), Some(3));
    let message = error.to_string();
    assert!(
        message.contains("UNIQUE constraint failed: a.x"),
        "{message}"
    );
    assert!(
        message.contains("every migration of this run was rolled back"),
        "{message}"
    );
    // Nothing at all: not migration 1 or 2, not even the tracking table.
    assert_eq!(tables(&conn), Vec::<String>::new());

    let report = Migrator::new(&list[..2])
        .single_transaction(true)
        .apply(&mut conn)
        .unwrap();
    assert_eq!(report.version, 2);
    assert_eq!(report.applied.len(), 2);
    assert_eq!(Migrator::new(&list).current_version(&conn).unwrap(), 2);
}

#[test]
fn single_transaction_refuses_a_migration_that_runs_outside_one() {
    let list = [
        Migration::new(1, "Create a", ["CREATE TABLE a (x)"]),
        Migration::new(2, "Vacuum", ["VACUUM"]).without_transaction(),
    ];
    let mut conn = Connection::open_in_memory().unwrap();
    let error = Migrator::new(&list)
        .single_transaction(true)
        .apply(&mut conn)
        .unwrap_err();
    assert!(
        matches!(error, Error::NotTransactional { version: 2, .. }),
        "{error:?}"
    );
    assert_eq!(tables(&conn), Vec::<String>::new());
    // Up to the version before it works.
    Migrator::new(&list)
        .single_transaction(true)
        .target(Some(1))
        .apply(&mut conn)
        .unwrap();
    assert_eq!(tables(&conn), ["a", "schema_migrations"]);
}

#[test]
fn a_rebuild_whose_new_table_breaks_a_foreign_key_is_refused() {
    // The rebuilt orders table points at a new parent table that lacks
    // customer 2: only checking the renamed table's rows can see it.
    let mut conn = shop();
    let error = apply_one(
        &mut conn,
        "CREATE TABLE vip (id INTEGER PRIMARY KEY); INSERT INTO vip VALUES (1);
         CREATE TABLE orders_new (id INTEGER PRIMARY KEY,
                                  customer INTEGER REFERENCES vip(id));
         INSERT INTO orders_new SELECT * FROM orders;
         DROP TABLE orders; ALTER TABLE orders_new RENAME TO orders",
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("orders rowid 11 references a missing vip row"),
        "{error}"
    );
    assert_eq!(tables(&conn), ["customers", "legacy", "orders"]);
}

/// A parent table with a second unique key, so that REPLACE conflict
/// resolution on it deletes a row other than the one it writes.
fn accounts() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT UNIQUE);
         CREATE TABLE strict_accounts (id INTEGER PRIMARY KEY,
                                       email TEXT UNIQUE ON CONFLICT REPLACE);
         CREATE TABLE posts (id INTEGER PRIMARY KEY,
                             account INTEGER REFERENCES accounts(id),
                             strict INTEGER REFERENCES strict_accounts(id));
         CREATE TABLE log (x);
         INSERT INTO accounts VALUES (1, 'ann@example.com'), (2, 'bob@example.com');
         INSERT INTO strict_accounts VALUES (1, 'ann@example.com');
         INSERT INTO posts VALUES (10, 1, NULL), (11, 2, 1);",
    )
    .unwrap();
    conn
}

#[test]
fn an_insert_that_replaces_a_referenced_row_is_refused() {
    // Each deletes an account (or strict account) that a post points to,
    // through REPLACE conflict resolution, which an INSERT can do.
    for (sql, broken) in [
        (
            "INSERT OR REPLACE INTO accounts VALUES (3, 'ann@example.com')",
            "posts rowid 10 references a missing accounts row",
        ),
        (
            "REPLACE INTO accounts (id, email) VALUES (3, 'bob@example.com')",
            "posts rowid 11 references a missing accounts row",
        ),
        // The table's own definition replaces on conflict.
        (
            "INSERT INTO strict_accounts VALUES (2, 'ann@example.com')",
            "posts rowid 11 references a missing strict_accounts row",
        ),
        // A trigger body replaces; the statement that fires it does not say so.
        (
            "CREATE TRIGGER t AFTER INSERT ON log BEGIN
                 INSERT OR REPLACE INTO accounts VALUES (3, new.x); END;
             INSERT INTO log VALUES ('bob@example.com')",
            "posts rowid 11 references a missing accounts row",
        ),
    ] {
        let mut conn = accounts();
        let error = apply_one(&mut conn, sql).unwrap_err();
        assert!(error.to_string().contains(broken), "{sql}: {error}");
        let posts: i64 = conn
            .query_row(
                "SELECT count(*) FROM posts WHERE account IN (SELECT id FROM accounts)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(posts, 2, "{sql}: rolled back");
    }
    // An insert that replaces nothing, or only a row nobody points to, is fine.
    for sql in [
        "INSERT INTO accounts VALUES (3, 'cy@example.com')",
        "INSERT OR REPLACE INTO accounts VALUES (1, 'ann@example.org')",
        "INSERT INTO strict_accounts VALUES (2, 'dee@example.com')",
    ] {
        let mut conn = accounts();
        apply_one(&mut conn, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[test]
fn foreign_keys_made_earlier_in_the_run_are_checked() {
    // Version 2 gives `customers` its first child, in one of two ways;
    // version 3 deletes a customer it points to. All three run in one
    // `apply`, and version 1 already wrote to `customers`.
    for (child, broken) in [
        (
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id));
             INSERT INTO notes VALUES (1, 2)",
            "notes rowid 1 references a missing customers row",
        ),
        (
            "ALTER TABLE legacy ADD COLUMN owner INTEGER REFERENCES customers(id);
             UPDATE legacy SET owner = customer",
            "legacy rowid 100 references a missing customers row",
        ),
    ] {
        let list = [
            Migration::new(1, "Add cy", ["INSERT INTO customers VALUES (3, 'cy')"]),
            Migration::new(2, "Child", [child]),
            Migration::new(3, "Delete bob", ["DELETE FROM customers WHERE id = 2"]),
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO customers VALUES (1, 'ann'), (2, 'bob');
             CREATE TABLE legacy (id INTEGER PRIMARY KEY, customer INTEGER);
             INSERT INTO legacy VALUES (100, 2);",
        )
        .unwrap();
        let error = Migrator::new(&list).apply(&mut conn).unwrap_err();
        assert_eq!(error.version(), Some(3), "{child}: {error}");
        assert!(error.to_string().contains(broken), "{child}: {error}");
        assert_eq!(Migrator::new(&list).current_version(&conn).unwrap(), 2);
    }
}

#[test]
fn a_table_renamed_to_a_name_an_earlier_migration_did_not_create_is_checked() {
    // Version 1 mentions `archive` as a table without leaving one in
    // `main`, in four ways; version 2 then renames two new tables, one of
    // them to `archive`, with an orphan in it. Only if the run still knows
    // that `archive` was not there before version 2 does it see the new
    // `archive` as a renamed table, and check its rows.
    for (earlier, drop_view) in [
        // A view of that name satisfies IF NOT EXISTS: nothing is created.
        (
            "CREATE TABLE IF NOT EXISTS archive (id)",
            "DROP VIEW archive;",
        ),
        // Rolled back to a savepoint.
        (
            "SAVEPOINT s; CREATE TABLE archive (id); ROLLBACK TO s; RELEASE s",
            "",
        ),
        // Created and dropped again.
        ("CREATE TABLE archive (id); DROP TABLE archive", ""),
        // Created in another schema.
        ("CREATE TABLE aux.archive (id)", ""),
    ] {
        let list = [
            Migration::new(1, "Mention archive", [earlier]),
            Migration::new(
                2,
                "Rebuild two tables",
                [format!(
                    "{drop_view}
                     CREATE TABLE archive_new (id INTEGER PRIMARY KEY,
                                               customer INTEGER REFERENCES customers(id));
                     INSERT INTO archive_new VALUES (1, 42);
                     CREATE TABLE shelf_new (id INTEGER PRIMARY KEY);
                     ALTER TABLE archive_new RENAME TO archive;
                     ALTER TABLE shelf_new RENAME TO shelf"
                )],
            ),
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "ATTACH ':memory:' AS aux;
             CREATE TABLE customers (id INTEGER PRIMARY KEY);
             INSERT INTO customers VALUES (1);
             CREATE VIEW archive AS SELECT id FROM customers;",
        )
        .unwrap();
        if drop_view.is_empty() {
            conn.execute_batch("DROP VIEW archive").unwrap();
        }
        let error = match Migrator::new(&list).apply(&mut conn) {
            Ok(report) => panic!("{earlier}: applied {:?}", report.applied),
            Err(error) => error,
        };
        assert_eq!(error.version(), Some(2), "{earlier}: {error}");
        assert!(
            error
                .to_string()
                .contains("archive rowid 1 references a missing customers row"),
            "{earlier}: {error}"
        );
        assert_eq!(Migrator::new(&list).current_version(&conn).unwrap(), 1);
        assert!(!tables(&conn).contains(&"shelf".to_owned()), "{earlier}");
    }
}

#[test]
fn what_another_connection_commits_between_two_migrations_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let list = [
        Migration::new(
            1,
            "Create customers",
            ["CREATE TABLE customers (id INTEGER PRIMARY KEY)"],
        ),
        Migration::new(2, "Add ann", ["INSERT INTO customers VALUES (1)"]),
        Migration::new(3, "Remove ann", ["DELETE FROM customers WHERE id = 1"]),
    ];
    let mut conn = Connection::open(&path).unwrap();
    let other = Connection::open(&path).unwrap();
    // Between versions 1 and 2, another process applies version 2 itself,
    // and the application gives ann an order.
    let mut applied = Vec::new();
    let error = Migrator::new(&list)
        .apply_with(&mut conn, |p| {
            if let migrate_core::Progress::Finished(m, _) = p {
                applied.push(m.version());
                if m.version() == 1 {
                    Migrator::new(&list[..2])
                        .apply(&mut Connection::open(&path).unwrap())
                        .unwrap();
                    other
                        .execute_batch(
                            "CREATE TABLE orders (id INTEGER PRIMARY KEY,
                                                  customer INTEGER REFERENCES customers(id));
                             INSERT INTO orders VALUES (10, 1);",
                        )
                        .unwrap();
                }
            }
        })
        .unwrap_err();
    // Version 2 was not applied twice (its INSERT would have failed), and
    // version 3 saw the new child table.
    assert_eq!(applied, [1]);
    assert_eq!(error.version(), Some(3), "{error}");
    assert!(
        error
            .to_string()
            .contains("orders rowid 10 references a missing customers row"),
        "{error}"
    );
    let customers: i64 = other
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(customers, 1);
}

#[test]
fn a_rebuild_answers_for_the_rebuilt_table_only() {
    // `legacy` has an old orphan; rebuilding `orders` cannot have caused
    // it, and the rebuilt rows are checked under the table's old name.
    let rebuild = "CREATE TABLE orders_new (id INTEGER PRIMARY KEY,
                                           customer INTEGER REFERENCES customers(id), note TEXT);
                   INSERT INTO orders_new (id, customer) SELECT id, customer + {shift} FROM orders;
                   DROP TABLE orders; ALTER TABLE orders_new RENAME TO orders";
    let mut conn = shop();
    apply_one(&mut conn, &rebuild.replace("{shift}", "0")).unwrap();
    assert_eq!(
        tables(&conn),
        ["customers", "legacy", "orders", "schema_migrations"]
    );

    let mut conn = shop();
    let error = apply_one(&mut conn, &rebuild.replace("{shift}", "1")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("orders rowid 11 references a missing customers row"),
        "{error}"
    );
    assert!(!error.to_string().contains("legacy"), "{error}");
}

#[test]
fn renaming_a_parent_table_is_checked_when_references_are_not_rewritten() {
    // SQLite rewrites `orders`' reference to the new name...
    let mut conn = shop();
    apply_one(&mut conn, "ALTER TABLE customers RENAME TO clients").unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'orders'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.contains("\"clients\""), "{sql}");
    // ...unless the connection asks for the legacy behaviour: then the
    // orders point at a table that is gone.
    let mut conn = shop();
    conn.execute_batch("PRAGMA legacy_alter_table = ON")
        .unwrap();
    let error = apply_one(&mut conn, "ALTER TABLE customers RENAME TO clients").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("orders rowid 10 references a missing customers row"),
        "{error}"
    );
    assert!(tables(&conn).contains(&"customers".to_owned()));
}
