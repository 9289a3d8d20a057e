migrate_macros::embed_migrations!("ui/blank_statement.toml");

fn main() {}
