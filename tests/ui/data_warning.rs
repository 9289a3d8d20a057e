// The data proof: a migration that fails on generated rows is a warning.
#![deny(deprecated)]
migrate_macros::embed_migrations!("ui/data_warning.toml");

fn main() {}
