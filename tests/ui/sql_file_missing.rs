migrate_macros::embed_migrations!("ui/sql_file_missing.toml");

fn main() {}
