migrate_macros::embed_migrations!("ui/sql_file_error.toml");

fn main() {}
