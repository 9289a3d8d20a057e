//! The check every application start pays: `apply` when nothing is pending
//! (which also verifies, through the chained checksum, that no applied
//! migration was edited), against the floor of reading `PRAGMA
//! user_version`, for 100, 1,000 and 5,000 applied migrations, with the
//! connection open and including `Connection::open` of a file, and
//! including the application's first query.
//! `cargo bench -p migrate-toml-core --bench startup`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use migrate_core::Migrations;
use migrate_core::rusqlite::Connection;

mod workload;

fn user_version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("read")
}

/// The application's first query, which needs the schema: the check's read
/// of the tracking table has parsed it already, `PRAGMA user_version` not.
fn first_query(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM t0", [], |r| r.get(0))
        .expect("query")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    let dir = tempfile::tempdir().expect("temp dir");
    for n in [100, 1_000, 5_000] {
        let migrations =
            Migrations::from_toml(&workload::migrations_toml(n), "bench").expect("valid");
        let path = dir.path().join(format!("{n}.db"));
        let mut conn = Connection::open(&path).expect("open");
        migrations.apply(&mut conn).expect("apply");
        let check = |conn: &mut Connection| migrations.apply(conn).expect("apply").version;
        let open = || Connection::open(&path).expect("open");

        group.bench_with_input(BenchmarkId::new("floor_user_version", n), &n, |b, _| {
            b.iter(|| black_box(user_version(&conn)));
        });
        group.bench_with_input(BenchmarkId::new("apply_nothing_pending", n), &n, |b, _| {
            b.iter(|| black_box(check(&mut conn)));
        });
        let id = BenchmarkId::new("open_floor_user_version", n);
        group.bench_with_input(id, &n, |b, _| {
            b.iter(|| black_box(user_version(&open())));
        });
        let id = BenchmarkId::new("open_apply_nothing_pending", n);
        group.bench_with_input(id, &n, |b, _| {
            b.iter(|| black_box(check(&mut open())));
        });
        // What an application pays before its first answer.
        let id = BenchmarkId::new("open_floor_user_version_first_query", n);
        group.bench_with_input(id, &n, |b, _| {
            b.iter(|| {
                let conn = open();
                black_box((user_version(&conn), first_query(&conn)))
            });
        });
        let id = BenchmarkId::new("open_apply_nothing_pending_first_query", n);
        group.bench_with_input(id, &n, |b, _| {
            b.iter(|| {
                let mut conn = open();
                black_box((check(&mut conn), first_query(&conn)))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
