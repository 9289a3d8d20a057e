//! Build script of every application in compat/ (`build = "../build.rs"`):
//! reads the versions of rusqlite and libsqlite3-sys that the application's
//! Cargo.lock resolved, for common.rs to print.

use std::path::PathBuf;

fn main() {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock = PathBuf::from(dir).join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock)
        .unwrap_or_else(|e| panic!("reading {}: {e}", lock.display()));
    for (name, var) in [
        ("rusqlite", "COMPAT_RUSQLITE"),
        ("libsqlite3-sys", "COMPAT_LIBSQLITE3_SYS"),
    ] {
        let versions = versions_of(&text, name);
        if versions.is_empty() {
            panic!("{} has no package {name}", lock.display());
        }
        println!("cargo::rustc-env={var}={}", versions.join(", "));
    }
}

/// The versions of the `[[package]]` entries named `name` in a Cargo.lock,
/// where each `name = ` line is followed by its `version = ` line.
fn versions_of(lock: &str, name: &str) -> Vec<String> {
    let wanted = format!("name = \"{name}\"");
    let lines: Vec<&str> = lock.lines().collect();
    lines
        .windows(2)
        .filter(|pair| pair[0] == wanted)
        .filter_map(|pair| pair[1].strip_prefix("version = \"")?.strip_suffix('"'))
        .map(str::to_owned)
        .collect()
}
