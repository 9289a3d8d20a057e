migrate_macros::embed_migrations!("ui/negative_version.toml");

fn main() {}
