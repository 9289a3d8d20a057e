migrate_macros::embed_migrations!("ui/sql_syntax_creat.toml");

fn main() {}
