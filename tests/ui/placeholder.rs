migrate_macros::embed_migrations!("ui/placeholder.toml");

fn main() {}
