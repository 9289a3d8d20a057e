migrate_macros::embed_migrations!("ui/does_not_exist.toml");

fn main() {}
