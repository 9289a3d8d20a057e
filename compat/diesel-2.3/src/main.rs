//! migrate-toml beside diesel: the migrations applied with `apply_to_path`
//! before diesel's r2d2 pool is built, the tables then used through diesel's
//! query builder on pooled connections.

const APP: &str = "diesel-2.3";
const DRIVER: &str = "diesel 2.3 (sqlite)";

include!("../../diesel.rs");
