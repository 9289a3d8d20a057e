//! migrate-toml beside plain rusqlite, both on the system SQLite: the migrations applied with
//! `apply_to_path`, the tables then used through the application's own
//! rusqlite connection.

const APP: &str = "rusqlite-system";
const DRIVER: &str = "rusqlite on the system SQLite";
const SYSTEM_SQLITE: bool = true;

include!("../../rusqlite.rs");
