migrate_macros::embed_migrations!("ui/single_brackets.toml");

fn main() {}
