migrate_macros::embed_migrations!("ui/empty_database.toml");

fn main() {}
