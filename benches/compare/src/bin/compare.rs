//! `compare`: the harness as a plain binary, for `--apply-once` under strace
//! and for running it without `cargo bench`. See RESULTS.md.
fn main() {
    migrate_compare::main();
}
