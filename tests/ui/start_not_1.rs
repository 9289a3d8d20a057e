migrate_macros::embed_migrations!("ui/start_not_1.toml");

fn main() {}
