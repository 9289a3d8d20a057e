migrate_macros::embed_migrations!("ui/empty_description.toml");

fn main() {}
