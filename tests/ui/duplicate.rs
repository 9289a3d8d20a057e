migrate_macros::embed_migrations!("ui/duplicate.toml");

fn main() {}
