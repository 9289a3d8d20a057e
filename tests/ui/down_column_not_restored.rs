migrate_macros::embed_migrations!("ui/down_column_not_restored.toml");

fn main() {}
