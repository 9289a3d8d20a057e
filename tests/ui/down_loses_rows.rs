migrate_macros::embed_migrations!("ui/down_loses_rows.toml");

fn main() {}
