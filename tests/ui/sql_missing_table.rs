migrate_macros::embed_migrations!("ui/sql_missing_table.toml");

fn main() {}
