//! Proves the benchmark workload once (both proofs, as `embed_migrations!`
//! does at build time), for profiling under `valgrind --tool=callgrind`,
//! whose instruction counts stay comparable on a loaded machine, where the
//! wall-clock figures of `benches/build_cost.sh` do not:
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
//!     cargo build --release -p migrate-toml-core --example prove_profile
//! valgrind --tool=callgrind --toggle-collect='prove_profile::prove' \
//!     target/release/examples/prove_profile 1000
//! ```
//!
//! Arguments: the number of migrations (default 1000), then the workload
//! (`plain`, `reversible` or `reversible-without-downs`, as the `workload`
//! example). It prints how long the proof took and how many warnings it
//! gave.

#[path = "../benches/workload/mod.rs"]
mod workload;

#[path = "../benches/workload/reversible.rs"]
mod reversible;

use migrate_core::{manifest, verify};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let text = match args.next().as_deref() {
        None | Some("plain") => workload::migrations_toml(n),
        Some("reversible") => reversible::reversible_toml(n, true),
        Some("reversible-without-downs") => reversible::reversible_toml(n, false),
        Some(other) => return Err(format!("unknown workload {other:?}").into()),
    };
    let parsed = manifest::parse(&text).map_err(|e| format!("{e:?}"))?;
    let start = std::time::Instant::now();
    let warnings = prove(&parsed, &text)?;
    println!(
        "{n} migrations proved in {:?}, {warnings} warnings",
        start.elapsed()
    );
    Ok(())
}

/// The part callgrind counts.
#[inline(never)]
fn prove(parsed: &manifest::Manifest, text: &str) -> Result<usize, String> {
    let proof = verify::prove_manifest(parsed, text).map_err(|d| d.message)?;
    // What `embed_migrations!` embeds for the fresh path, in bytes.
    eprintln!("fresh record: {} bytes", proof.fresh_image().len());
    Ok(proof.warnings.len())
}
