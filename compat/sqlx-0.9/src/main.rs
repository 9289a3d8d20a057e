//! migrate-toml beside sqlx: the migrations applied with `apply_to_path` on
//! a blocking task before the pool is built, the tables then used through
//! sqlx's pool.

const APP: &str = "sqlx-0.9";
const DRIVER: &str = "sqlx 0.9 (sqlite)";

include!("../../sqlx.rs");
