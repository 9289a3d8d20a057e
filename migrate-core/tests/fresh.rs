//! The fresh path against the one-by-one path: on every valid history of
//! the tests and on generated ones, a database created from what the build
//! proved must be indistinguishable from one migrated one version at a
//! time (schema text, every row of every table, tracking rows but their
//! times, header settings), at the latest version and at each `--to`
//! target; and every history that depends on the moment, the environment
//! or the application must fall back, saying why.

use std::path::{Path, PathBuf};

use migrate_core::rusqlite::functions::FunctionFlags;
use migrate_core::rusqlite::types::ValueRef;
use migrate_core::rusqlite::{self, Connection};
use migrate_core::{ApplyPath, Migrations};

#[path = "../benches/workload/mod.rs"]
mod workload;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `migrations.toml` of the tests that must build: the fixtures and
/// the passing trybuild cases, with `sql_file` entries inlined (the only
/// thing `from_toml` refuses).
fn histories() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (dir, keep) in [
        ("tests/fixtures", (|_: &str| true) as fn(&str) -> bool),
        ("tests/ui", |name: &str| name.starts_with("pass_")),
    ] {
        let dir = repo().join(dir);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .filter(|p| keep(&p.file_name().unwrap().to_string_lossy()))
            .collect();
        names.sort();
        for path in names {
            let text = inline_sql_files(&std::fs::read_to_string(&path).unwrap(), &dir);
            found.push((path.display().to_string(), text));
        }
    }
    assert!(found.len() >= 25, "found only {} histories", found.len());
    found
}

fn inline_sql_files(text: &str, dir: &Path) -> String {
    text.lines()
        .map(|line| match line.trim().strip_prefix("sql_file = \"") {
            Some(rest) => {
                let file = rest.trim_end_matches('"');
                let sql = std::fs::read_to_string(dir.join(file)).unwrap();
                format!("sql = '''\n{sql}'''")
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Stand-ins for the functions a history declares, the same on both
/// databases: deterministic, returning their first argument.
fn register(conn: &Connection, migrations: &Migrations) {
    for f in migrations.functions() {
        let mut flags = FunctionFlags::SQLITE_UTF8;
        if f.is_deterministic() {
            flags |= FunctionFlags::SQLITE_DETERMINISTIC;
        }
        conn.create_scalar_function(f.name(), f.args(), flags, |ctx| {
            if ctx.is_empty() {
                return Ok(rusqlite::types::Value::Null);
            }
            ctx.get::<rusqlite::types::Value>(0)
        })
        .unwrap();
    }
}

/// Everything a user can see of a database but the times: the schema as
/// stored, every row of every table (rowids included), the tracking rows,
/// the header settings.
fn everything(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    // Times the one-by-one path wrote after a fallback (an audit trigger's
    // CURRENT_TIMESTAMP) are today's on both sides, to the second.
    let today: String = conn
        .query_row("SELECT date('now')", [], |r| r.get(0))
        .unwrap();
    let shown = |value: ValueRef<'_>| match value {
        ValueRef::Text(t) if t.starts_with(today.as_bytes()) => "<now>".to_owned(),
        other => format!("{other:?}"),
    };
    let mut schema = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let objects: Vec<(String, String, String, Option<String>)> = schema
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (kind, name, table, sql) in &objects {
        out.push(format!("{kind} {name} on {table}: {sql:?}"));
    }
    for (kind, name, _, sql) in &objects {
        if kind != "table" || name == "schema_migrations" {
            continue;
        }
        let virtual_table = sql
            .as_deref()
            .is_some_and(|s| s.starts_with("CREATE VIRTUAL"));
        let rowid = !virtual_table
            && conn
                .prepare(&format!("SELECT rowid FROM \"{name}\" LIMIT 0"))
                .is_ok();
        let query = if rowid {
            format!("SELECT rowid, * FROM \"{name}\" ORDER BY rowid")
        } else {
            format!("SELECT * FROM \"{name}\" ORDER BY 1")
        };
        let mut stmt = conn.prepare(&query).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<String> = (0..n).map(|i| shown(row.get_ref(i).unwrap())).collect();
            out.push(format!("{name}: {}", values.join(", ")));
        }
    }
    let mut tracking = conn
        .prepare(
            "SELECT version, description, checksum, chain, applied_by, down_sql, down_checksum, \
             applied_at IS NOT NULL, duration_ms IS NOT NULL FROM schema_migrations ORDER BY version",
        )
        .unwrap();
    let mut rows = tracking.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        let values: Vec<String> = (0..9)
            .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
            .collect();
        out.push(format!("schema_migrations: {}", values.join(", ")));
    }
    for pragma in [
        "user_version",
        "application_id",
        "page_size",
        "auto_vacuum",
        "journal_mode",
        "encoding",
        "freelist_count",
    ] {
        let shown: String = conn
            .query_row(&format!("PRAGMA {pragma}"), [], |r| {
                Ok(format!("{:?}", r.get_ref(0)?))
            })
            .unwrap();
        if pragma != "freelist_count" {
            out.push(format!("PRAGMA {pragma} = {shown}"));
        }
    }
    out
}

/// Applies `migrations` (up to `to`) to two new files, fresh and one by
/// one, compares them, and returns the fresh path's report.
fn compare(name: &str, migrations: &Migrations, to: Option<u32>) -> ApplyPath {
    let dir = tempfile::tempdir().unwrap();
    let open = |file: &str| {
        let conn = Connection::open(dir.path().join(file)).unwrap();
        register(&conn, migrations);
        conn
    };
    let mut fresh = open("fresh.db");
    let mut slow = open("slow.db");
    let migrator = migrations.migrator().target(to);
    let report = migrator.apply(&mut fresh).unwrap();
    let slow_report = migrator.clone().one_by_one(true).apply(&mut slow).unwrap();
    assert_eq!(report.version, slow_report.version, "{name} to {to:?}");
    let applied: Vec<u32> = report.applied.iter().map(|(v, _)| *v).collect();
    let slow_applied: Vec<u32> = slow_report.applied.iter().map(|(v, _)| *v).collect();
    assert_eq!(applied, slow_applied, "{name} to {to:?}");
    let (a, b) = (everything(&fresh), everything(&slow));
    if a != b {
        let first = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        panic!(
            "{name} to {to:?} ({}): the fresh database differs at line {first}:\nfresh: {:?}\none by one: {:?}",
            report.path,
            a.get(first),
            b.get(first)
        );
    }
    let check: String = fresh
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{name}");
    // Nothing pending afterwards, and the record is this build's.
    let status = migrations.status(&fresh).unwrap();
    assert!(status.problems.is_empty(), "{name}: {:?}", status.problems);
    assert_eq!(
        migrations.check(&fresh).unwrap().differences,
        migrations.check(&slow).unwrap().differences,
        "{name}: drift"
    );
    if to.is_none() {
        assert!(
            migrations.check(&fresh).unwrap().is_clean(),
            "{name}: drift"
        );
    }
    report.path
}

#[test]
fn every_history_of_the_tests_comes_out_the_same_both_ways_at_every_target() {
    let mut fresh = 0;
    for (name, text) in histories() {
        let migrations = Migrations::from_toml(&text, &name)
            .unwrap_or_else(|e| panic!("{name} does not build: {e}"));
        let latest = migrations.latest_version();
        for to in (1..=latest).map(Some).chain([None]) {
            if matches!(compare(&name, &migrations, to), ApplyPath::Fresh { .. }) {
                fresh += 1;
            }
        }
    }
    // Most of them take the fresh path; a test that never took it would
    // compare the one-by-one path with itself.
    assert!(fresh > 60, "only {fresh} targets took the fresh path");
}

#[test]
fn the_rich_history_is_created_fresh_up_to_its_virtual_table() {
    let dir = repo().join("tests/ui");
    let text = inline_sql_files(
        &std::fs::read_to_string(dir.join("pass_rich.toml")).unwrap(),
        &dir,
    );
    let migrations = Migrations::from_toml(&text, "pass_rich.toml").unwrap();
    assert_eq!(
        compare("pass_rich", &migrations, Some(2)),
        ApplyPath::Fresh {
            version: 2,
            then: None
        }
    );
    assert_eq!(
        compare("pass_rich", &migrations, None).to_string(),
        "fresh path: created version 2 in one transaction, then one by one: version 3 creates \
         the virtual table messages_fts, whose shadow tables the fresh path does not copy"
    );
}

/// A history with a change of every kind the image must carry: rows with
/// every type, AUTOINCREMENT counters, WITHOUT ROWID, generated columns,
/// a rebuild, triggers (which must not fire again), views over views,
/// statistics, settings.
#[test]
fn a_history_of_every_kind_of_change_is_reproduced() {
    let text = r#"
[[migration]]
version = 1
description = "Tables"
sql = [
    "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, score REAL, photo BLOB, upper_name TEXT GENERATED ALWAYS AS (upper(name)) STORED)",
    "CREATE TABLE tags (user_id INTEGER, tag TEXT, PRIMARY KEY (user_id, tag)) WITHOUT ROWID",
    "CREATE TABLE log (what TEXT)",
    "CREATE TRIGGER users_log AFTER INSERT ON users BEGIN INSERT INTO log VALUES ('user ' || new.name); END",
]

[[migration]]
version = 2
description = "Rows"
sql = [
    "INSERT INTO users (name, score, photo) VALUES ('ann', 0.1, X'00ff'), ('bob', -1e300, NULL), ('it''s', 3.0, X'')",
    "DELETE FROM users WHERE name = 'bob'",
    "INSERT INTO tags VALUES (1, 'vip'), (3, 'new')",
    "PRAGMA user_version = 7",
    "PRAGMA application_id = 1234",
]

[[migration]]
version = 3
description = "Rebuild users, views, statistics"
sql = [
    "CREATE TABLE users_new (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, score REAL, photo BLOB, upper_name TEXT GENERATED ALWAYS AS (upper(name)) STORED, active INTEGER NOT NULL DEFAULT 1)",
    "INSERT INTO users_new (id, name, score, photo) SELECT id, name, score, photo FROM users",
    "DROP TABLE users",
    "ALTER TABLE users_new RENAME TO users",
    "CREATE INDEX idx_users_name ON users(name)",
    "CREATE VIEW active_users AS SELECT id, name FROM users WHERE active",
    "CREATE VIEW active_names AS SELECT name FROM active_users",
    "ANALYZE",
]

[[migration]]
version = 4
description = "Outside a transaction: WAL"
transaction = false
sql = ["PRAGMA journal_mode = WAL"]

[[migration]]
version = 5
description = "More rows and a column"
sql = [
    "ALTER TABLE log ADD COLUMN level INTEGER DEFAULT 3",
    "INSERT INTO users (name) VALUES ('carl')",
    "UPDATE users SET score = score * 2 WHERE score IS NOT NULL",
]
"#;
    let migrations = Migrations::from_toml(text, "kinds.toml").unwrap();
    for to in [Some(2), Some(3), Some(4), None] {
        let path = compare("kinds", &migrations, to);
        assert!(
            matches!(path, ApplyPath::Fresh { then: None, .. }),
            "{path}"
        );
    }
    // The trigger fired once per user of version 2, in the history only
    // (the rebuild dropped it with the old table).
    let conn = migrations.in_memory().unwrap();
    let logged: i64 = conn
        .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(logged, 3);
}

#[test]
fn generated_histories_come_out_the_same_both_ways() {
    for n in [1, 7, 40] {
        let text = workload::migrations_toml(n);
        let migrations = Migrations::from_toml(&text, "generated.toml").unwrap();
        for to in [Some(n.div_ceil(2) as u32), None] {
            let path = compare("generated", &migrations, to);
            assert!(
                matches!(path, ApplyPath::Fresh { then: None, .. }),
                "{path}"
            );
        }
    }
}

/// One migration's SQL appended to a first one that creates a table.
fn history(second: &str, extra: &str) -> Migrations {
    let text = format!(
        "{extra}\n[[migration]]\nversion = 1\ndescription = \"Create t\"\n\
         sql = \"CREATE TABLE t (x)\"\n\n[[migration]]\nversion = 2\ndescription = \"Second\"\n{second}\n\
         [[migration]]\nversion = 3\ndescription = \"Third\"\nsql = \"CREATE INDEX i ON t(x)\"\n"
    );
    Migrations::from_toml(&text, "fallback.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_history_that_depends_on_the_moment_or_the_environment_falls_back_from_there() {
    let cases = [
        (
            "sql = \"INSERT INTO t VALUES (random())\"",
            "",
            "version 2 calls random()",
        ),
        (
            "sql = \"INSERT INTO t VALUES (randomblob(4))\"",
            "",
            "version 2 calls randomblob()",
        ),
        (
            "sql = \"INSERT INTO t VALUES (CURRENT_TIMESTAMP)\"",
            "",
            "version 2 calls current_timestamp()",
        ),
        (
            "sql = \"INSERT INTO t VALUES (datetime('now'))\"",
            "",
            "version 2 calls datetime() for the current time",
        ),
        (
            "sql = [\"CREATE TABLE s (at TEXT DEFAULT CURRENT_TIMESTAMP, n)\", \"INSERT INTO s (n) VALUES (1)\"]",
            "",
            // Seen as the INSERT computes the default where SQLite's
            // authorizer reports that call (the bundled SQLite of rusqlite
            // 0.43 does, that of 0.32 does not); otherwise by the default
            // itself, in the rows the version leaves.
            "version 2 calls current_timestamp()|version 2 writes rows into s, whose defaults depend on the moment",
        ),
        (
            "sql = \"INSERT INTO t VALUES (sqlite_version())\"",
            "",
            "version 2 calls sqlite_version()",
        ),
        (
            "sql = \"INSERT INTO t VALUES (slug('A b'))\"",
            "[[function]]\nname = \"slug\"\nargs = 1\ndeterministic = true\n",
            "version 2 calls slug(), which the application registers",
        ),
        (
            "sql = \"INSERT INTO t VALUES (str_reverse('ab'))\"",
            "[[extension]]\npath = \"strrev\"\nfunctions = [{ name = \"str_reverse\", args = 1, deterministic = true }]\n",
            "version 2 calls str_reverse(), which the extension strrev provides",
        ),
        (
            "transaction = false\nsql = [\"PRAGMA page_size = 8192\", \"VACUUM\"]",
            "",
            "version 2 sets PRAGMA page_size, which the fresh path does not reproduce",
        ),
        (
            "sql = \"PRAGMA journal_mode = WAL\"",
            "",
            "version 2 sets PRAGMA journal_mode, which the fresh path does not reproduce",
        ),
        (
            "sql = \"CREATE VIRTUAL TABLE docs USING fts5(body)\"",
            "",
            "version 2 creates the virtual table docs, whose shadow tables the fresh path does not copy",
        ),
    ];
    for (second, extra, whys) in cases {
        let migrations = history(second, extra);
        let mut conn = Connection::open_in_memory().unwrap();
        register(&conn, &migrations);
        let report = migrations.apply(&mut conn).unwrap();
        // One reason, or `|` between the exact words of the reasons that
        // different SQLite releases give.
        let why = match &report.path {
            ApplyPath::Fresh {
                version: 1,
                then: Some(why),
            } if whys.split('|').any(|w| w == why) => why.clone(),
            other => panic!("{second}: {other:?}, expected one of {whys:?}"),
        };
        assert_eq!(report.version, 3, "{second}");
        assert_eq!(report.applied.len(), 3, "{second}");
        // Up to the version before: fresh; to it, one by one from the start.
        let mut conn = Connection::open_in_memory().unwrap();
        register(&conn, &migrations);
        let report = migrations
            .migrator()
            .target(Some(1))
            .apply(&mut conn)
            .unwrap();
        assert_eq!(
            report.path,
            ApplyPath::Fresh {
                version: 1,
                then: None
            }
        );
        // All in one transaction cannot start fresh and go on one by one.
        if second.contains("transaction = false") {
            continue;
        }
        let mut conn = Connection::open_in_memory().unwrap();
        register(&conn, &migrations);
        let report = migrations
            .migrator()
            .single_transaction(true)
            .apply(&mut conn)
            .unwrap();
        assert_eq!(report.path, ApplyPath::Declined { why });
    }
    // In the first version: one by one from the start.
    let migrations = Migrations::from_toml(
        "[[migration]]\nversion = 1\ndescription = \"Random\"\n\
         sql = [\"CREATE TABLE t (x)\", \"INSERT INTO t VALUES (random())\"]\n",
        "random.toml",
    )
    .unwrap();
    let mut conn = Connection::open_in_memory().unwrap();
    let report = migrations.apply(&mut conn).unwrap();
    assert_eq!(
        report.path.to_string(),
        "one by one: version 1 calls random()"
    );
}

#[test]
fn a_database_that_is_not_empty_goes_one_by_one() {
    let migrations = history("sql = \"INSERT INTO t VALUES (1)\"", "");
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE mine (y)").unwrap();
    let report = migrations.apply(&mut conn).unwrap();
    assert_eq!(report.path, ApplyPath::OneByOne);
    assert_eq!(report.version, 3);
    // Its own table is kept.
    conn.execute_batch("SELECT y FROM mine").unwrap();
    // A bare list, never proven, has no image.
    let mut conn = Connection::open_in_memory().unwrap();
    let report = migrate_core::Migrator::new(&migrations)
        .apply(&mut conn)
        .unwrap();
    assert_eq!(
        report.path.to_string(),
        "one by one: no record of the build's proof for this list"
    );
}

#[test]
fn the_test_helper_gives_each_caller_its_own_database() {
    let migrations = history("sql = \"INSERT INTO t VALUES (1)\"", "");
    let a = migrations.in_memory().unwrap();
    a.execute("INSERT INTO t VALUES (2)", []).unwrap();
    let b = migrations.in_memory().unwrap();
    let count = |c: &Connection| -> i64 {
        c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!((count(&a), count(&b)), (2, 1));
    assert_eq!(everything(&b), {
        let mut slow = Connection::open_in_memory().unwrap();
        migrations
            .migrator()
            .one_by_one(true)
            .apply(&mut slow)
            .unwrap();
        everything(&slow)
    });
    let at_one = migrations.migrator().target(Some(1)).in_memory().unwrap();
    assert_eq!(migrations.current_version(&at_one).unwrap(), 1);
    let file = migrations.temp_file().unwrap();
    let path = file.path().to_path_buf();
    assert!(path.exists());
    assert_eq!(count(&file), 1);
    drop(file);
    assert!(!path.exists());
}

/// The journal mode a history asks for is the database's before the fresh
/// transaction commits: a crash right after the commit must not leave a
/// complete database in another mode, which no later `apply` would see
/// (nothing is pending). The hook runs under the lock, just before the
/// commit; a second connection reads the mode from the file's header.
#[test]
fn the_journal_mode_is_set_before_the_fresh_transaction_commits() {
    let text = r#"
[[migration]]
version = 1
description = "Create t"
sql = "CREATE TABLE t (x)"

[[migration]]
version = 2
description = "WAL"
transaction = false
sql = "PRAGMA journal_mode = WAL"

[[migration]]
version = 3
description = "Index t"
sql = "CREATE INDEX t_x ON t(x)"
"#;
    let migrations = Migrations::from_toml(text, "wal.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    let seen = std::sync::Mutex::new(Vec::new());
    let mut conn = Connection::open(&file).unwrap();
    let report = migrations
        .migrator()
        .before_changes(|_| {
            let other = Connection::open(&file).map_err(migrate_core::Error::Sqlite)?;
            let mode: String = other
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .map_err(migrate_core::Error::Sqlite)?;
            seen.lock().unwrap().push(mode);
            Ok(())
        })
        .apply(&mut conn)
        .unwrap();
    assert!(
        matches!(
            report.path,
            ApplyPath::Fresh {
                version: 3,
                then: None
            }
        ),
        "{}",
        report.path
    );
    assert_eq!(*seen.lock().unwrap(), ["wal"]);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}
