migrate_macros::embed_migrations!("ui/sql_first_failure_only.toml");

fn main() {}
