migrate_macros::embed_migrations!("ui/unknown_key.toml");

fn main() {}
