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
//! `cargo bench -p migrate-toml-core --bench big`.

use std::path::{Path, PathBuf};

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
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

/// Times `run` on a fresh copy of the base database, each iteration.
fn on_a_copy(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    base: &Path,
    dir: &Path,
    run: impl Fn(Connection),
) {
    group.bench_function(name, |b| {
        b.iter_batched(
            || Connection::open(copy_of(base, dir)).expect("open"),
            &run,
            BatchSize::PerIteration,
        );
    });
}

/// Through the runner.
fn runner(list: &[Migration]) -> impl Fn(Connection) + '_ {
    move |mut conn| {
        Migrator::new(list).apply(&mut conn).expect("apply");
    }
}

/// The same SQL through plain rusqlite, in one transaction, with foreign
/// keys enforced or not.
fn plain(sql: &str, foreign_keys: bool) -> impl Fn(Connection) + '_ {
    move |conn| {
        if !foreign_keys {
            conn.execute_batch("PRAGMA foreign_keys = OFF")
                .expect("off");
        }
        conn.execute_batch("BEGIN").expect("begin");
        conn.execute_batch(sql).expect("sql");
        conn.execute_batch("COMMIT").expect("commit");
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let base = base(dir);
    let base = base.as_path();
    let list = untouched();
    let mut group = c.benchmark_group("big_database");
    group.sample_size(10);

    on_a_copy(&mut group, "100_untouched/runner", base, dir, runner(&list));
    on_a_copy(&mut group, "100_untouched/floor", base, dir, |conn| {
        for m in &list {
            conn.execute_batch("BEGIN").expect("begin");
            for sql in m.sql() {
                conn.execute_batch(sql).expect("sql");
            }
            conn.execute_batch("COMMIT").expect("commit");
        }
    });
    let rebuild = [Migration::new(1, "Rebuild messages", [REBUILD])];
    on_a_copy(&mut group, "rebuild_1m/runner", base, dir, runner(&rebuild));
    on_a_copy(
        &mut group,
        "rebuild_1m/floor",
        base,
        dir,
        plain(REBUILD, false),
    );
    // A rebuild elsewhere must not check the million messages.
    let rebuild_small = [Migration::new(1, "Rebuild settings", [REBUILD_SMALL])];
    let small_runner = runner(&rebuild_small);
    on_a_copy(&mut group, "rebuild_small/runner", base, dir, small_runner);
    let small_floor = plain(REBUILD_SMALL, false);
    on_a_copy(&mut group, "rebuild_small/floor", base, dir, small_floor);
    // The same SQL with plain rusqlite's defaults (the bundled SQLite
    // enforces foreign keys): each copied row's reference is checked as it
    // is inserted, which is the work the runner's check after the rebuild
    // does.
    let enforced = plain(REBUILD, true);
    on_a_copy(
        &mut group,
        "rebuild_1m/floor_foreign_keys_on",
        base,
        dir,
        enforced,
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
