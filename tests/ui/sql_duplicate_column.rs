migrate_macros::embed_migrations!("ui/sql_duplicate_column.toml");

fn main() {}
