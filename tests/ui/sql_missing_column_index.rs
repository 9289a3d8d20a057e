migrate_macros::embed_migrations!("ui/sql_missing_column_index.toml");

fn main() {}
