//! Rolling back (`Migrator::down`, `down_plan`, `trial_down`, `redo`) on
//! real SQLite files, including an older build rolling back what a newer
//! build applied, with the downs stored in `schema_migrations`.

use std::path::{Path, PathBuf};
use std::sync::{Barrier, Mutex};

use migrate_core::rusqlite::{Connection, OptionalExtension};
use migrate_core::{DownSource, Error, Migration, Migrator, Problem, Trial};

/// Three reversible migrations: a table, a child table with a foreign key,
/// a column with an index.
fn list() -> Vec<Migration> {
    vec![
        Migration::new(
            1,
            "Create users table",
            ["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"],
        )
        .with_down(["DROP TABLE users"]),
        Migration::new(
            2,
            "Create posts table",
            ["CREATE TABLE posts (id INTEGER PRIMARY KEY, \
              user_id INTEGER NOT NULL REFERENCES users(id), body TEXT)"],
        )
        .with_down(["DROP TABLE posts"]),
        Migration::new(
            3,
            "Add email to users",
            [
                "ALTER TABLE users ADD COLUMN email TEXT",
                "CREATE INDEX idx_users_email ON users(email)",
            ],
        )
        .with_down([
            "DROP INDEX idx_users_email",
            "ALTER TABLE users DROP COLUMN email",
        ]),
    ]
}

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        Db { _dir: dir, path }
    }

    fn open(&self) -> Connection {
        Connection::open(&self.path).unwrap()
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }
}

/// A database at version 3 of [`list`], with two users and a post.
fn migrated(migrations: &[Migration]) -> (Db, Connection) {
    let db = Db::new();
    let mut conn = db.open();
    Migrator::new(migrations).apply(&mut conn).unwrap();
    conn.execute_batch(
        "INSERT INTO users (id, name, email) VALUES (1, 'Ann', 'ann@example.com'), \
         (2, 'Bob', NULL);
         INSERT INTO posts (id, user_id, body) VALUES (1, 1, 'hello');",
    )
    .unwrap();
    (db, conn)
}

fn names(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn objects(conn: &Connection) -> Vec<String> {
    names(
        conn,
        "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
    )
}

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    names(
        conn,
        &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
    )
}

fn recorded(conn: &Connection) -> Vec<i64> {
    let mut stmt = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(down_sql, down_checksum)` of a row.
fn stored_down(conn: &Connection, version: u32) -> (Option<String>, Option<String>) {
    conn.query_row(
        "SELECT down_sql, down_checksum FROM schema_migrations WHERE version = ?1",
        [version],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

fn assert_clean(migrator: &Migrator<'_>, conn: &Connection, version: i64, pending: &[u32]) {
    let status = migrator.status(conn).unwrap();
    assert_eq!(status.current_version, version);
    assert_eq!(status.pending, pending);
    assert!(status.problems.is_empty(), "{:?}", status.problems);
}

#[test]
fn down_one_step_restores_the_previous_schema_and_keeps_the_rows() {
    let list = list();
    let migrator = Migrator::new(&list);
    let (_db, mut conn) = migrated(&list);

    let report = migrator.down(&mut conn, 2).unwrap();
    assert_eq!(report.version, 2);
    assert_eq!(
        report.reverted.iter().map(|&(v, _)| v).collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(columns(&conn, "users"), ["id", "name"]);
    assert_eq!(objects(&conn), ["posts", "schema_migrations", "users"]);
    assert_eq!(
        names(&conn, "SELECT name FROM users ORDER BY id"),
        ["Ann", "Bob"]
    );
    assert_eq!(names(&conn, "SELECT body FROM posts"), ["hello"]);
    assert_eq!(recorded(&conn), [1, 2]);
    assert_clean(&migrator, &conn, 2, &[3]);

    // Applying again re-runs the up.
    let report = migrator.apply(&mut conn).unwrap();
    assert_eq!(
        report.applied.iter().map(|&(v, _)| v).collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(columns(&conn, "users"), ["id", "name", "email"]);
    assert_clean(&migrator, &conn, 3, &[]);
}

#[test]
fn down_to_an_earlier_version_runs_every_step_newest_first() {
    let list = list();
    let migrator = Migrator::new(&list);
    let (_db, mut conn) = migrated(&list);

    let report = migrator.down(&mut conn, 1).unwrap();
    assert_eq!(
        report.reverted.iter().map(|&(v, _)| v).collect::<Vec<_>>(),
        [3, 2]
    );
    assert_eq!(report.version, 1);
    assert_eq!(objects(&conn), ["schema_migrations", "users"]);
    assert_eq!(columns(&conn, "users"), ["id", "name"]);
    assert_eq!(
        names(&conn, "SELECT name FROM users ORDER BY id"),
        ["Ann", "Bob"]
    );
    assert_clean(&migrator, &conn, 1, &[2, 3]);

    let report = migrator.down(&mut conn, 0).unwrap();
    assert_eq!(report.version, 0);
    assert_eq!(objects(&conn), ["schema_migrations"]);
    assert!(recorded(&conn).is_empty());
    assert_clean(&migrator, &conn, 0, &[1, 2, 3]);

    // Nothing left to do: no step, same version.
    let report = migrator.down(&mut conn, 0).unwrap();
    assert!(report.reverted.is_empty());
    assert_eq!(report.version, 0);

    assert_eq!(migrator.apply(&mut conn).unwrap().applied.len(), 3);
    assert_eq!(columns(&conn, "users"), ["id", "name", "email"]);
    assert_clean(&migrator, &conn, 3, &[]);
}

#[test]
fn an_irreversible_version_on_the_way_is_refused_and_nothing_changes() {
    let mut list = list();
    list[1] = Migration::new(
        2,
        "Create posts table",
        list[1].sql().map(str::to_owned).collect::<Vec<_>>(),
    );
    list[0] = Migration::new(
        1,
        "Create users table",
        list[0].sql().map(str::to_owned).collect::<Vec<_>>(),
    );
    let migrator = Migrator::new(&list);
    let (db, mut conn) = migrated(&list);
    let before = db.bytes();

    let err = migrator.down(&mut conn, 0).unwrap_err();
    assert!(
        matches!(&err, Error::Irreversible { target: 0, versions } if versions.len() == 2),
        "{err:?}"
    );
    assert_eq!(err.code(), "irreversible");
    assert_eq!(
        err.to_string(),
        "cannot roll back to version 0: versions 2 (\"Create posts table\") and 1 (\"Create \
         users table\") have no down SQL (add `down` to them in migrations.toml, or roll back \
         to a later version); nothing was changed"
    );
    let err = migrator.down(&mut conn, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot roll back to version 1: version 2 (\"Create posts table\") has no down SQL \
         (add `down` to it in migrations.toml, or roll back to a later version); nothing was \
         changed"
    );
    // The plan refuses the same way.
    assert!(matches!(
        migrator.down_plan(&conn, 1),
        Err(Error::Irreversible { target: 1, .. })
    ));
    assert_eq!(db.bytes(), before);
    assert_eq!(migrator.current_version(&conn).unwrap(), 3);

    // Down to 2 needs only version 3's down.
    assert_eq!(migrator.down(&mut conn, 2).unwrap().version, 2);
}

#[test]
fn a_failing_down_statement_rolls_back_that_step_and_keeps_the_earlier_ones() {
    let mut list = list();
    list[1] = Migration::new(
        2,
        "Create posts table",
        list[1].sql().map(str::to_owned).collect::<Vec<_>>(),
    )
    .with_down(["DELETE FROM posts", "DROP TABLE no_such_table"]);
    let migrator = Migrator::new(&list);
    let (_db, mut conn) = migrated(&list);

    let err = migrator.down(&mut conn, 0).unwrap_err();
    assert!(
        matches!(&err, Error::DownFailed { version: 2, reverted, .. } if reverted == &[3]),
        "{err:?}"
    );
    assert_eq!(err.code(), "down_failed");
    assert_eq!(err.version(), Some(2));
    assert_eq!(
        err.to_string(),
        "the down of version 2 (\"Create posts table\") failed at statement 2 `DROP TABLE \
         no_such_table`: no such table: no_such_table; that step was rolled back and version \
         2 stays applied; version 3 was rolled back before it"
    );
    let Error::DownFailed { source, .. } = &err else {
        unreachable!()
    };
    assert!(
        matches!(**source, Error::MigrationFailed { statement: 2, .. }),
        "{source:?}"
    );
    // Version 3's down stays; version 2's DELETE was rolled back.
    assert_eq!(migrator.current_version(&conn).unwrap(), 2);
    assert_eq!(columns(&conn, "users"), ["id", "name"]);
    assert_eq!(names(&conn, "SELECT body FROM posts"), ["hello"]);
    assert_clean(&migrator, &conn, 2, &[3]);
}

#[test]
fn a_down_that_breaks_a_foreign_key_is_rolled_back() {
    let mut list = list();
    list.push(
        Migration::new(
            4,
            "Add the system user",
            ["INSERT INTO users (id, name) VALUES (0, 'system')"],
        )
        .with_down(["DELETE FROM users WHERE id = 0"]),
    );
    let migrator = Migrator::new(&list);
    let (_db, mut conn) = migrated(&list);
    conn.execute_batch("PRAGMA foreign_keys = ON; INSERT INTO posts VALUES (2, 0, 'from system')")
        .unwrap();

    let err = migrator.down(&mut conn, 3).unwrap_err();
    assert!(
        matches!(&err, Error::DownFailed { version: 4, source, .. }
            if matches!(**source, Error::ForeignKeyViolation { count: 1, .. })),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the down of version 4 (\"Add the system user\") failed: it left 1 foreign-key \
         violation(s), e.g. posts rowid 2 references a missing users row; that step was rolled \
         back and version 4 stays applied"
    );
    assert_eq!(migrator.current_version(&conn).unwrap(), 4);
    assert_eq!(
        names(&conn, "SELECT name FROM users WHERE id = 0"),
        ["system"]
    );
    // Enforcement is back on as it was.
    let on: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(on);
}

#[test]
fn apply_stores_each_down_with_its_row() {
    let mut list = list();
    list.push(Migration::new(
        4,
        "Seed",
        ["INSERT INTO users (id, name) VALUES (9, 'x')"],
    ));
    list.push(
        Migration::new(5, "Compact", ["VACUUM"])
            .without_transaction()
            .with_down(["SELECT 1"]),
    );
    let expect = |conn: &Connection| {
        for m in &list {
            let (sql, sum) = stored_down(conn, m.version());
            match m.version() {
                3 => assert_eq!(
                    sql.as_deref(),
                    Some(r#"["DROP INDEX idx_users_email","ALTER TABLE users DROP COLUMN email"]"#)
                ),
                4 => assert_eq!(sql, None),
                5 => assert_eq!(sql.as_deref(), Some(r#"["SELECT 1"]"#)),
                _ => {}
            }
            assert_eq!(sum, m.down_checksum().map(|s| hex(&s)), "{}", m.version());
            assert_eq!(sql.is_some(), m.is_reversible());
        }
    };

    // One transaction per migration, and outside one (version 5).
    let db = Db::new();
    let mut conn = db.open();
    Migrator::new(&list).apply(&mut conn).unwrap();
    expect(&conn);

    // All in one transaction.
    let single = &list[..4];
    let db = Db::new();
    let mut conn = db.open();
    Migrator::new(single)
        .single_transaction(true)
        .apply(&mut conn)
        .unwrap();
    for m in single {
        let (_, sum) = stored_down(&conn, m.version());
        assert_eq!(sum, m.down_checksum().map(|s| hex(&s)));
    }

    // Baseline records them too.
    let db = Db::new();
    let mut conn = db.open();
    Migrator::new(&list).baseline(&mut conn, 3).unwrap();
    assert_eq!(
        stored_down(&conn, 3).1,
        list[2].down_checksum().map(|s| hex(&s))
    );

    // Characters JSON escapes survive exactly.
    let tricky = [
        Migration::new(1, "Create t", ["CREATE TABLE t (x)"]).with_down([
            "DELETE FROM t WHERE x = 'a\"b\\c\td'\r\n  -- é 漢 🦀\u{1}",
            "DROP TABLE t",
        ]),
    ];
    let db = Db::new();
    let mut conn = db.open();
    Migrator::new(&tricky).apply(&mut conn).unwrap();
    let plan = Migrator::new(&[]).down_plan(&conn, 0).unwrap();
    assert_eq!(
        plan.steps[0].sql,
        tricky[0].down().unwrap().collect::<Vec<_>>()
    );
    assert_eq!(plan.steps[0].source, DownSource::Database);
    assert_eq!(Migrator::new(&[]).down(&mut conn, 0).unwrap().version, 0);
    assert_eq!(objects(&conn), ["schema_migrations"]);
}

#[test]
fn an_older_build_rolls_back_with_the_stored_downs() {
    let newer = list();
    let older = &newer[..1];
    for to in [1, 0] {
        let (_db, mut conn) = migrated(&newer);
        let migrator = Migrator::new(older);

        // What apply and status say about a newer database.
        let problems = migrator.status(&conn).unwrap().problems;
        assert!(
            problems
                .iter()
                .all(|p| matches!(p, Problem::UnknownVersion { .. })),
            "{problems:?}"
        );
        assert!(matches!(
            migrator.apply(&mut conn),
            Err(Error::Inconsistent { .. })
        ));

        let plan = migrator.down_plan(&conn, to).unwrap();
        assert_eq!((plan.from, plan.to), (3, to));
        let steps: Vec<(u32, &str, DownSource)> = plan
            .steps
            .iter()
            .map(|s| (s.version, s.description.as_str(), s.source))
            .collect();
        let mut expected = vec![
            (3, "Add email to users", DownSource::Database),
            (2, "Create posts table", DownSource::Database),
        ];
        if to == 0 {
            expected.push((1, "Create users table", DownSource::Build));
        }
        assert_eq!(steps, expected);
        assert_eq!(
            plan.steps[0].sql,
            newer[2].down().unwrap().collect::<Vec<_>>()
        );

        let mut started = Vec::new();
        let report = migrator
            .down_with(&mut conn, to, |p| {
                if let migrate_core::Progress::Started(m) = p {
                    started.push(m.version());
                }
            })
            .unwrap();
        assert_eq!(report.version, i64::from(to));
        assert_eq!(started, if to == 1 { vec![3, 2] } else { vec![3, 2, 1] });
        if to == 1 {
            assert_eq!(objects(&conn), ["schema_migrations", "users"]);
            assert_eq!(columns(&conn, "users"), ["id", "name"]);
            assert_eq!(
                names(&conn, "SELECT name FROM users ORDER BY id"),
                ["Ann", "Bob"]
            );
            assert_clean(&migrator, &conn, 1, &[]);
            // The older build has nothing to apply.
            assert!(migrator.apply(&mut conn).unwrap().applied.is_empty());
        } else {
            assert_eq!(objects(&conn), ["schema_migrations"]);
            assert_clean(&migrator, &conn, 0, &[1]);
        }
        // The newer build applies its ups again.
        let again = Migrator::new(&newer).apply(&mut conn).unwrap();
        assert_eq!(again.version, 3);
        assert_eq!(columns(&conn, "users"), ["id", "name", "email"]);
        assert_clean(&Migrator::new(&newer), &conn, 3, &[]);
    }
}

#[test]
fn an_older_build_whose_own_history_differs_is_refused() {
    let newer = list();
    let (db, mut conn) = migrated(&newer);
    let before = db.bytes();
    let edited = [Migration::new(
        1,
        "Create users table",
        ["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"],
    )
    .with_down(["DROP TABLE users"])];
    let err = Migrator::new(&edited).down(&mut conn, 0).unwrap_err();
    assert!(
        matches!(&err, Error::Inconsistent { problems }
            if matches!(problems[..], [Problem::Modified { version: 1, .. }])),
        "{err:?}"
    );
    assert_eq!(db.bytes(), before);
}

#[test]
fn a_tampered_stored_down_is_refused_before_anything_runs() {
    let newer = list();
    let older = Migrator::new(&newer[..1]);
    for version in [3, 2] {
        let (db, mut conn) = migrated(&newer);
        conn.execute(
            "UPDATE schema_migrations SET down_sql = '[\"DROP TABLE users\"]' WHERE version = ?1",
            [version],
        )
        .unwrap();
        let before = db.bytes();

        let err = older.down(&mut conn, 1).unwrap_err();
        assert!(
            matches!(&err, Error::StoredDownModified { version: v, .. } if *v == version),
            "{err:?}"
        );
        assert_eq!(err.code(), "stored_down_modified");
        assert_eq!(err.version(), Some(version));
        let description = newer[version as usize - 1].description();
        assert_eq!(
            err.to_string(),
            format!(
                "the down SQL stored in the database for version {version} ({description:?}) \
                 does not match the checksum stored with it, so it was changed after it was \
                 recorded; it will not be run; roll back with a build that has version \
                 {version}; nothing was changed"
            )
        );
        assert!(matches!(
            older.down_plan(&conn, 1),
            Err(Error::StoredDownModified { .. })
        ));
        assert!(matches!(
            older.trial_down(&mut conn, 1),
            Err(Error::StoredDownModified { .. })
        ));
        assert_eq!(db.bytes(), before);
        assert_eq!(recorded(&conn), [1, 2, 3]);
    }

    // Not JSON at all, or a checksum taken away.
    let (_db, conn) = migrated(&newer);
    conn.execute_batch(
        "UPDATE schema_migrations SET down_sql = 'DROP TABLE posts' WHERE version = 2;",
    )
    .unwrap();
    let err = older.down_plan(&conn, 1).unwrap_err();
    assert!(
        err.to_string()
            .contains("version 2 (\"Create posts table\") is not a JSON array of SQL items"),
        "{err}"
    );
    conn.execute_batch("UPDATE schema_migrations SET down_checksum = NULL WHERE version = 3;")
        .unwrap();
    let err = older.down_plan(&conn, 1).unwrap_err();
    assert!(
        err.to_string().contains("has no checksum stored with it"),
        "{err}"
    );
}

#[test]
fn without_a_stored_down_an_older_build_refuses() {
    let mut newer = list();
    newer[2] = Migration::new(
        3,
        "Add email to users",
        newer[2].sql().map(str::to_owned).collect::<Vec<_>>(),
    );
    let older = Migrator::new(&newer[..1]);
    let (db, mut conn) = migrated(&newer);
    let before = db.bytes();
    let err = older.down(&mut conn, 1).unwrap_err();
    assert!(
        matches!(&err, Error::StoredDownMissing { target: 1, latest: 1, versions }
            if versions == &[(3, Some("Add email to users".to_owned()))]),
        "{err:?}"
    );
    assert_eq!(err.code(), "stored_down_missing");
    assert_eq!(
        err.to_string(),
        "cannot roll back to version 1: version 3 (\"Add email to users\") is not in this build \
         (its latest is 1) and the database stores no down SQL for it; roll back with a build \
         that has it; nothing was changed"
    );
    assert_eq!(db.bytes(), before);
    // Down to 2 needs nothing stored for 3 ... but it is 3 that goes first.
    assert!(matches!(
        older.down(&mut conn, 2),
        Err(Error::StoredDownMissing { .. })
    ));

    // A table from before downs were stored: nothing is.
    let newer = list();
    let (db, mut conn) = migrated(&newer);
    conn.execute_batch(
        "ALTER TABLE schema_migrations DROP COLUMN down_sql;
         ALTER TABLE schema_migrations DROP COLUMN down_checksum;",
    )
    .unwrap();
    let before = db.bytes();
    let err = older.down(&mut conn, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot roll back to version 0: versions 3 (\"Add email to users\") and 2 (\"Create \
         posts table\") are not in this build (its latest is 1) and the database stores no down \
         SQL for them; roll back with a build that has them; nothing was changed"
    );
    assert_eq!(db.bytes(), before);
}

#[test]
fn trial_down_changes_no_byte_and_meets_the_failure_a_down_would() {
    let mut list = list();
    list[1] = Migration::new(
        2,
        "Create posts table",
        list[1].sql().map(str::to_owned).collect::<Vec<_>>(),
    )
    .with_down(["DELETE FROM posts", "DROP TABLE posts"]);
    // Its down brings back a NOT NULL constraint the rows no longer meet.
    list.push(
        Migration::new(
            4,
            "Names may be missing",
            [
                "CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT, email TEXT)",
                "INSERT INTO users_new SELECT id, name, email FROM users",
                "DROP TABLE users",
                "ALTER TABLE users_new RENAME TO users",
                "CREATE INDEX idx_users_email ON users(email)",
            ],
        )
        .with_down([
            "CREATE TABLE users_old (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT)",
            "INSERT INTO users_old SELECT id, name, email FROM users",
            "DROP TABLE users",
            "ALTER TABLE users_old RENAME TO users",
            "CREATE INDEX idx_users_email ON users(email)",
        ]),
    );
    let migrator = Migrator::new(&list);
    let (db, mut conn) = migrated(&list);
    let before = db.bytes();

    // With good data every step would succeed.
    let trials = migrator.trial_down(&mut conn, 0).unwrap();
    assert_eq!(
        trials.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        [4, 3, 2, 1]
    );
    assert!(
        trials
            .iter()
            .all(|(_, t)| matches!(t, Trial::Succeeded(..))),
        "{trials:?}"
    );
    assert_eq!(db.bytes(), before);

    conn.execute("INSERT INTO users (id, name) VALUES (3, NULL)", [])
        .unwrap();
    let before = db.bytes();
    let trials = migrator.trial_down(&mut conn, 0).unwrap();
    assert_eq!(db.bytes(), before);
    assert_eq!(migrator.current_version(&conn).unwrap(), 4);
    let [
        (4, Trial::Failed(_, failure)),
        (3, Trial::NotTried(_)),
        (2, Trial::NotTried(_)),
        (1, Trial::NotTried(_)),
    ] = &trials[..]
    else {
        panic!("{trials:?}")
    };
    assert!(
        failure
            .to_string()
            .contains("NOT NULL constraint failed: users_old.name"),
        "{failure}"
    );

    // The real down meets the same failure, and changes nothing either.
    let err = migrator.down(&mut conn, 0).unwrap_err();
    assert_eq!(err.to_string(), failure.to_string());
    assert_eq!(err.code(), failure.code());
    assert_eq!(migrator.current_version(&conn).unwrap(), 4);

    // A failure after steps that would succeed names them as done.
    conn.execute("DELETE FROM users WHERE id = 3", []).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER keep_posts BEFORE DELETE ON posts \
         BEGIN SELECT RAISE(ABORT, 'posts are kept'); END",
    )
    .unwrap();
    let before = db.bytes();
    let trials = migrator.trial_down(&mut conn, 1).unwrap();
    assert_eq!(db.bytes(), before);
    assert!(matches!(trials[0], (4, Trial::Succeeded(..))), "{trials:?}");
    assert!(matches!(trials[1], (3, Trial::Succeeded(..))), "{trials:?}");
    let (2, Trial::Failed(_, failure)) = &trials[2] else {
        panic!("{trials:?}")
    };
    let err = migrator.down(&mut conn, 1).unwrap_err();
    assert_eq!(err.to_string(), failure.to_string());
    assert!(
        matches!(&err, Error::DownFailed { version: 2, reverted, .. } if reverted == &[4, 3]),
        "{err:?}"
    );
    assert_eq!(migrator.current_version(&conn).unwrap(), 2);
}

#[test]
fn trial_down_of_stored_downs_changes_no_byte() {
    let newer = list();
    let (db, mut conn) = migrated(&newer);
    let before = db.bytes();
    let trials = Migrator::new(&newer[..1]).trial_down(&mut conn, 0).unwrap();
    assert_eq!(
        trials.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert!(
        trials
            .iter()
            .all(|(_, t)| matches!(t, Trial::Succeeded(..)))
    );
    assert_eq!(db.bytes(), before);
    // Nothing to do: nothing tried.
    assert!(
        Migrator::new(&newer)
            .trial_down(&mut conn, 3)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn redo_rolls_back_the_latest_version_and_applies_it_again() {
    let mut list = list();
    list.push(Migration::new(
        4,
        "Seed",
        ["INSERT INTO users (id, name) VALUES (9, 'x')"],
    ));
    let backups = Mutex::new(Vec::new());
    let migrator = Migrator::new(&list).target(Some(3)).before_changes(|v| {
        backups.lock().unwrap().push(v);
        Ok(())
    });
    let db = Db::new();
    let mut conn = db.open();
    migrator.apply(&mut conn).unwrap();
    conn.execute(
        "INSERT INTO users (id, name, email) VALUES (1, 'Ann', 'a@x')",
        [],
    )
    .unwrap();
    backups.lock().unwrap().clear();

    let (down, up) = migrator.redo(&mut conn).unwrap();
    assert_eq!(
        down.reverted.iter().map(|&(v, _)| v).collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(down.version, 2);
    assert_eq!(up.applied.iter().map(|&(v, _)| v).collect::<Vec<_>>(), [3]);
    assert_eq!(up.version, 3);
    // One backup for the redo, before the down.
    assert_eq!(*backups.lock().unwrap(), [3]);
    assert_eq!(columns(&conn, "users"), ["id", "name", "email"]);
    assert_eq!(
        names(&conn, "SELECT coalesce(email, 'none') FROM users"),
        ["none"]
    );
    assert_clean(&Migrator::new(&list), &conn, 3, &[4]);

    // Version 4 has no down: refused, nothing changed.
    Migrator::new(&list).apply(&mut conn).unwrap();
    let before = db.bytes();
    let err = Migrator::new(&list).redo(&mut conn).unwrap_err();
    assert!(
        matches!(&err, Error::Irreversible { target: 3, versions } if versions[0].0 == 4),
        "{err:?}"
    );
    assert_eq!(db.bytes(), before);

    // At version 0 there is nothing to redo.
    let empty = Db::new();
    let mut conn = empty.open();
    let (down, up) = Migrator::new(&list).redo(&mut conn).unwrap();
    assert!(down.reverted.is_empty() && up.applied.is_empty());
    assert_eq!((down.version, up.version), (0, 0));
}

#[test]
fn before_changes_runs_once_per_down_that_has_work() {
    let list = list();
    let seen = Mutex::new(Vec::new());
    let migrator = Migrator::new(&list).before_changes(|v| {
        seen.lock().unwrap().push(v);
        Ok(())
    });
    let (_db, mut conn) = migrated(&list);
    migrator.down(&mut conn, 0).unwrap();
    migrator.down(&mut conn, 0).unwrap();
    assert_eq!(*seen.lock().unwrap(), [3]);

    // An error from the hook ends the down with nothing run.
    let (_db, mut conn) = migrated(&list);
    let failing =
        Migrator::new(&list).before_changes(|_| Err(Error::BackupFailed("disk full".to_owned())));
    let err = failing.down(&mut conn, 0).unwrap_err();
    assert_eq!(err.code(), "backup_failed");
    assert_eq!(recorded(&conn), [1, 2, 3]);

    // Also for an older build's down.
    let older_seen = Mutex::new(Vec::new());
    let older = Migrator::new(&list[..1]).before_changes(|v| {
        older_seen.lock().unwrap().push(v);
        Ok(())
    });
    older.down(&mut conn, 0).unwrap();
    assert_eq!(*older_seen.lock().unwrap(), [3]);
}

/// `count` migrations, each creating a table; each down drops it and logs
/// its version in `down_log` (made outside the migrations).
fn logged(count: u32) -> Vec<Migration> {
    (1..=count)
        .map(|v| {
            Migration::new(
                v,
                format!("Create t{v}"),
                [format!("CREATE TABLE t{v} (x)")],
            )
            .with_down([
                format!("DROP TABLE t{v}"),
                format!("INSERT INTO down_log VALUES ({v})"),
            ])
        })
        .collect()
}

fn roll_back_from_threads(path: &Path, migrator: &Migrator<'_>, threads: usize) -> usize {
    let barrier = Barrier::new(threads);
    let reverted: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut conn = Connection::open(path).unwrap();
                    barrier.wait();
                    let report = migrator.down(&mut conn, 0).unwrap();
                    assert_eq!(report.version, 0);
                    report.reverted.len()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    reverted.iter().sum()
}

#[test]
fn eight_connections_rolling_back_at_once_run_each_down_exactly_once() {
    let list = logged(12);
    for older in [false, true] {
        let db = Db::new();
        let mut conn = db.open();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE down_log (version INTEGER)")
            .unwrap();
        Migrator::new(&list).apply(&mut conn).unwrap();
        // The older build has only version 1: the rest comes from the database.
        let migrator = Migrator::new(if older { &list[..1] } else { &list[..] });
        assert_eq!(roll_back_from_threads(&db.path, &migrator, 8), 12);
        assert_eq!(
            names(&conn, "SELECT CAST(version AS TEXT) FROM down_log"),
            (1..=12).rev().map(|v| v.to_string()).collect::<Vec<_>>()
        );
        assert_eq!(migrator.current_version(&conn).unwrap(), 0);
        assert_eq!(objects(&conn), ["down_log", "schema_migrations"]);
    }
}

#[test]
fn an_old_shape_table_gains_the_down_columns_on_the_next_apply() {
    let list = list();
    let chain1 = migrate_core::checksum::chain(&[0; 32], &list[0].checksum());
    // As a build from before downs were stored left it, at version 1.
    let db = Db::new();
    let mut conn = db.open();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (
             version INTEGER PRIMARY KEY,
             description TEXT,
             applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
             checksum TEXT, chain TEXT, duration_ms REAL, applied_by TEXT);
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO users VALUES (1, 'Ann');",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, description, applied_at, checksum, chain, \
         duration_ms, applied_by) VALUES (1, 'Create users table', '2024-01-02 03:04:05', ?1, \
         ?2, 1.5, 'app 0.9')",
        [hex(&list[0].checksum()), hex(&chain1)],
    )
    .unwrap();
    let migrator = Migrator::new(&list);
    // Read as it is, without writing.
    assert_eq!(migrator.current_version(&conn).unwrap(), 1);
    assert_clean(&migrator, &conn, 1, &[2, 3]);

    migrator.apply(&mut conn).unwrap();
    assert_eq!(
        columns(&conn, "schema_migrations"),
        [
            "version",
            "description",
            "applied_at",
            "checksum",
            "chain",
            "duration_ms",
            "applied_by",
            "down_sql",
            "down_checksum"
        ]
    );
    let old: (String, Option<String>, Option<String>, String) = conn
        .query_row(
            "SELECT applied_at, down_sql, down_checksum, applied_by FROM schema_migrations \
             WHERE version = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        old,
        (
            "2024-01-02 03:04:05".to_owned(),
            None,
            None,
            "app 0.9".to_owned()
        )
    );
    assert_eq!(
        stored_down(&conn, 3).1,
        list[2].down_checksum().map(|s| hex(&s))
    );
    assert_eq!(names(&conn, "SELECT name FROM users"), ["Ann"]);
    assert_clean(&migrator, &conn, 3, &[]);

    // A table the original Python tool made is adopted and completed too.
    let db = Db::new();
    let mut conn = db.open();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT,
             applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO schema_migrations (version, description) VALUES (1, 'Create users table');",
    )
    .unwrap();
    let report = migrator.apply(&mut conn).unwrap();
    assert_eq!(report.adopted, [1]);
    assert_eq!(columns(&conn, "schema_migrations").len(), 9);
    assert_clean(&migrator, &conn, 3, &[]);
    let python_row: Option<String> = conn
        .query_row(
            "SELECT down_sql FROM schema_migrations WHERE version = 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
        .flatten();
    assert_eq!(python_row, None);
    // Rolled back with this build's downs all the same.
    assert_eq!(migrator.down(&mut conn, 0).unwrap().version, 0);
}
