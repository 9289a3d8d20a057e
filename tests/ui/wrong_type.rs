migrate_macros::embed_migrations!("ui/wrong_type.toml");

fn main() {}
