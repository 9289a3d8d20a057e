migrate_macros::embed_migrations!("ui/down_syntax.toml");

fn main() {}
