//! The check every application start pays: `apply` when nothing is pending
//! (which also verifies, through the chained checksum, that no applied
//! migration was edited), against the floor of reading `PRAGMA
//! user_version`, for 100, 1,000 and 5,000 applied migrations, with the
//! connection open and including `Connection::open` of a file, and
//! including the application's first query.
//! `cargo bench -p migrate-core --bench startup`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use migrate_core::Migrations;
use migrate_core::rusqlite::Connection;

mod workload;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    let dir = tempfile::tempdir().expect("temp dir");
    for n in [100, 1_000, 5_000] {
        let migrations =
            Migrations::from_toml(&workload::migrations_toml(n), "bench").expect("valid");
        let path = dir.path().join(format!("{n}.db"));
        let mut conn = Connection::open(&path).expect("open");
        migrations.apply(&mut conn).expect("apply");

        group.bench_with_input(BenchmarkId::new("floor_user_version", n), &n, |b, _| {
            b.iter(|| {
                let v: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .expect("read");
                black_box(v)
            });
        });
        group.bench_with_input(BenchmarkId::new("apply_nothing_pending", n), &n, |b, _| {
            b.iter(|| black_box(migrations.apply(&mut conn).expect("apply").version));
        });
        group.bench_with_input(
            BenchmarkId::new("open_floor_user_version", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let conn = Connection::open(&path).expect("open");
                    let v: i64 = conn
                        .query_row("PRAGMA user_version", [], |r| r.get(0))
                        .expect("read");
                    black_box(v)
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("open_apply_nothing_pending", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let mut conn = Connection::open(&path).expect("open");
                    black_box(migrations.apply(&mut conn).expect("apply").version)
                });
            },
        );
        // What an application pays before its first answer: open, check,
        // and its first query, which needs the schema that the check's read
        // of the tracking table already parsed (and `PRAGMA user_version`
        // does not).
        let first_query = |conn: &Connection| -> i64 {
            conn.query_row("SELECT count(*) FROM t0", [], |r| r.get(0))
                .expect("query")
        };
        group.bench_with_input(
            BenchmarkId::new("open_floor_user_version_first_query", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let conn = Connection::open(&path).expect("open");
                    let v: i64 = conn
                        .query_row("PRAGMA user_version", [], |r| r.get(0))
                        .expect("read");
                    black_box((v, first_query(&conn)))
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("open_apply_nothing_pending_first_query", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let mut conn = Connection::open(&path).expect("open");
                    let v = migrations.apply(&mut conn).expect("apply").version;
                    black_box((v, first_query(&conn)))
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
