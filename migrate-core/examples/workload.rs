//! Prints a generated `migrations.toml` of N migrations (default 1000), the
//! same workload the benchmarks use: `cargo run -p migrate-toml-core --example
//! workload -- 1000 > migrations.toml`. A second argument picks the
//! reversible workload, with its downs (`reversible`) or the same
//! migrations without them (`reversible-without-downs`).

#[path = "../benches/workload/mod.rs"]
mod workload;

#[path = "../benches/workload/reversible.rs"]
mod reversible;

fn main() {
    let mut args = std::env::args().skip(1);
    let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    match args.next().as_deref() {
        None | Some("plain") => print!("{}", workload::migrations_toml(n)),
        Some("reversible") => print!("{}", reversible::reversible_toml(n, true)),
        Some("reversible-without-downs") => print!("{}", reversible::reversible_toml(n, false)),
        Some(other) => {
            eprintln!("unknown workload {other:?}: plain, reversible or reversible-without-downs");
            std::process::exit(2);
        }
    }
}
