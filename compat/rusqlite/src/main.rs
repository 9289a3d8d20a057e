//! migrate-toml beside plain rusqlite: the migrations applied with
//! `apply_to_path`, the tables then used through the application's own
//! rusqlite connection.

const APP: &str = "rusqlite";
const DRIVER: &str = "rusqlite";
const SYSTEM_SQLITE: bool = false;

include!("../../rusqlite.rs");
