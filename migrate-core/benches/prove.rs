//! What the build-time checks cost per build: parsing and validating
//! `migrations.toml`, and proving every migration against SQLite, for
//! generated histories of 100, 1,000 and 5,000 migrations. This is the
//! macro's work; `cargo bench -p migrate-toml-core --bench prove`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use migrate_core::{manifest, verify};

mod workload;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_time");
    group.sample_size(10);
    for n in [100, 1_000, 5_000] {
        let text = workload::migrations_toml(n);
        group.bench_with_input(BenchmarkId::new("parse", n), &text, |b, text| {
            b.iter(|| manifest::parse(text).expect("valid"));
        });
        let parsed = manifest::parse(&text).expect("valid");
        group.bench_with_input(BenchmarkId::new("prove", n), &parsed, |b, parsed| {
            b.iter(|| verify::prove_manifest(parsed, &text).expect("proves"));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
