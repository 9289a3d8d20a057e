//! Passes the directory of the bundled `libsqlite3.a` (built by
//! libsqlite3-sys for migrate-core's rusqlite) to the harness, which links
//! the worker processes against that same archive.
fn main() {
    let dir = std::env::var("DEP_SQLITE3_LIB_DIR")
        .expect("libsqlite3-sys with the bundled feature reports its lib_dir");
    println!("cargo:rustc-env=COMPARE_SQLITE_LIB_DIR={dir}");
    println!("cargo:rerun-if-env-changed=DEP_SQLITE3_LIB_DIR");
}
