migrate_macros::embed_migrations!("ui/down_file_error.toml");

fn main() {}
