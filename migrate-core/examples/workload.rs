//! Prints a generated `migrations.toml` of N migrations (default 1000), the
//! same workload the benchmarks use: `cargo run -p migrate-toml-core --example
//! workload -- 1000 > migrations.toml`.

#[path = "../benches/workload/mod.rs"]
mod workload;

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    print!("{}", workload::migrations_toml(n));
}
