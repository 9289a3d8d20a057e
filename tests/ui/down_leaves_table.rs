migrate_macros::embed_migrations!("ui/down_leaves_table.toml");

fn main() {}
