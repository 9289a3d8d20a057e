migrate_macros::embed_migrations!("ui/sql_missing_column_update.toml");

fn main() {}
