migrate_macros::embed_migrations!("ui/several.toml");

fn main() {}
