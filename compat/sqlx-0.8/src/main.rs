//! migrate-toml beside sqlx: the migrations applied with `apply_to_path` on
//! a blocking task before the pool is built, the tables then used through
//! sqlx's pool.

const APP: &str = "sqlx-0.8";
const DRIVER: &str = "sqlx 0.8 (sqlite)";

include!("../../sqlx.rs");
