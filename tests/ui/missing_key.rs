migrate_macros::embed_migrations!("ui/missing_key.toml");

fn main() {}
