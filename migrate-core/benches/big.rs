//! Migrations on a big database: foreign-key safety must not make deploys
//! slow. A chat database with 1,000,000 messages (children of 10,000 users):
//! 1. 100 migrations that do not touch those tables (new tables, columns and
//!    indexes elsewhere), through the runner and through plain rusqlite (one
//!    transaction per migration, no bookkeeping, no foreign-key check);
//! 2. a rebuild of the 1,000,000-row table (create, copy, drop, rename),
//!    through the runner and the same SQL through plain rusqlite, with
//!    foreign keys off (no check at all) and on (rusqlite's default: every
//!    copied row checked as it is inserted);
//! 3. a rebuild of a small table nothing references, which must not check
//!    the million messages.
//!
//! Each iteration starts from a fresh copy of the file (not timed).
//! `cargo bench -p migrate-core --bench big`.

use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use migrate_core::rusqlite::Connection;
use migrate_core::{Migration, Migrator};

fn base(dir: &Path) -> PathBuf {
    let path = dir.join("base.db");
    let conn = Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE messages (id INTEGER PRIMARY KEY,
             user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
             content TEXT NOT NULL);
         CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
         BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 10000)
         INSERT INTO users SELECT i, 'user ' || i FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 1000000)
         INSERT INTO messages SELECT i, 1 + i % 10000, 'hello ' || i FROM n;
         COMMIT;",
    )
    .expect("fill");
    path
}

fn untouched() -> Vec<Migration> {
    (1..=100u32)
        .map(|v| {
            let sql = match v % 3 {
                0 => format!("CREATE TABLE extra{v} (id INTEGER PRIMARY KEY, note TEXT)"),
                1 => format!("ALTER TABLE settings ADD COLUMN c{v} TEXT"),
                _ => format!("CREATE INDEX idx_settings_{v} ON settings(value, key)"),
            };
            Migration::new(v, format!("migration {v}"), [sql])
        })
        .collect()
}

const REBUILD: &str = "CREATE TABLE messages_new (id INTEGER PRIMARY KEY,
        user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        content TEXT NOT NULL, edited INTEGER NOT NULL DEFAULT 0);
    INSERT INTO messages_new (id, user, content) SELECT id, user, content FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_new RENAME TO messages;";

/// A rebuild of the small `settings` table, which no table references.
const REBUILD_SMALL: &str = "CREATE TABLE settings_new (key TEXT PRIMARY KEY, value TEXT,
        changed_at TEXT);
    INSERT INTO settings_new (key, value) SELECT key, value FROM settings;
    DROP TABLE settings;
    ALTER TABLE settings_new RENAME TO settings;";

fn copy_of(base: &Path, dir: &Path) -> PathBuf {
    let path = dir.join("run.db");
    let _ = std::fs::remove_file(&path);
    std::fs::copy(base, &path).expect("copy");
    path
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = base(dir.path());
    let list = untouched();
    let mut group = c.benchmark_group("big_database");
    group.sample_size(10);

    group.bench_function("100_untouched/runner", |b| {
        b.iter_batched(
            || Connection::open(copy_of(&base, dir.path())).expect("open"),
            |mut conn| Migrator::new(&list).apply(&mut conn).expect("apply"),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("100_untouched/floor", |b| {
        b.iter_batched(
            || Connection::open(copy_of(&base, dir.path())).expect("open"),
            |conn| {
                for m in &list {
                    conn.execute_batch("BEGIN").expect("begin");
                    for sql in m.sql() {
                        conn.execute_batch(sql).expect("sql");
                    }
                    conn.execute_batch("COMMIT").expect("commit");
                }
            },
            BatchSize::PerIteration,
        );
    });
    let rebuild = [Migration::new(1, "Rebuild messages", [REBUILD])];
    group.bench_function("rebuild_1m/runner", |b| {
        b.iter_batched(
            || Connection::open(copy_of(&base, dir.path())).expect("open"),
            |mut conn| Migrator::new(&rebuild).apply(&mut conn).expect("apply"),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("rebuild_1m/floor", |b| {
        b.iter_batched(
            || Connection::open(copy_of(&base, dir.path())).expect("open"),
            |conn| {
                conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN")
                    .expect("begin");
                conn.execute_batch(REBUILD).expect("sql");
                conn.execute_batch("COMMIT; PRAGMA foreign_keys = ON")
                    .expect("commit");
            },
            BatchSize::PerIteration,
        );
    });
    // A rebuild elsewhere must not check the million messages.
    let rebuild_small = [Migration::new(1, "Rebuild settings", [REBUILD_SMALL])];
    group.bench_function("rebuild_small/runner", |b| {
        b.iter_batched(
            || Connection::open(copy_of(&base, dir.path())).expect("open"),
            |mut conn| {
                Migrator::new(&rebuild_small)
                    .apply(&mut conn)
                    .expect("apply")
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("rebuild_small/floor", |b| {
        b.iter_batched(
            || Connection::open(copy_of(&base, dir.path())).expect("open"),
            |conn| {
                conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN")
                    .expect("begin");
                conn.execute_batch(REBUILD_SMALL).expect("sql");
                conn.execute_batch("COMMIT; PRAGMA foreign_keys = ON")
                    .expect("commit");
            },
            BatchSize::PerIteration,
        );
    });
    // The same SQL with plain rusqlite's defaults (the bundled SQLite
    // enforces foreign keys): each copied row's reference is checked as it
    // is inserted, which is the work the runner's check after the rebuild
    // does.
    group.bench_function("rebuild_1m/floor_foreign_keys_on", |b| {
        b.iter_batched(
            || Connection::open(copy_of(&base, dir.path())).expect("open"),
            |conn| {
                conn.execute_batch("BEGIN").expect("begin");
                conn.execute_batch(REBUILD).expect("sql");
                conn.execute_batch("COMMIT").expect("commit");
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
