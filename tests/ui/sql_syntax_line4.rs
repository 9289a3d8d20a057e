migrate_macros::embed_migrations!("ui/sql_syntax_line4.toml");

fn main() {}
