//! Tells the tests where the bundled SQLite's headers are, to compile a real
//! loadable extension against them (tests/extensions.rs).
//!
//! libsqlite3-sys (a direct dependency for this reason, in the version
//! rusqlite uses) prints `cargo:include=DIR` for its bundled SQLite, which
//! Cargo hands to the build scripts of the packages depending on it as
//! DEP_SQLITE3_INCLUDE. DIR holds sqlite3.h and sqlite3ext.h.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_SQLITE3_INCLUDE");
    // An absent value is reported by the test that needs it, not here.
    let dir = std::env::var("DEP_SQLITE3_INCLUDE").unwrap_or_default();
    println!("cargo:rustc-env=MIGRATE_TESTS_SQLITE3_INCLUDE={dir}");
}
