migrate_macros::embed_migrations!("ui/down_missing_object.toml");

fn main() {}
