migrate_macros::embed_migrations!("ui/toml_syntax.toml");

fn main() {}
