//! `cargo bench --manifest-path benches/compare/Cargo.toml [-- OPTIONS]`: the
//! whole comparison (a `harness = false` target with its own interleaved
//! loop and medians). See RESULTS.md.
fn main() {
    migrate_compare::main();
}
