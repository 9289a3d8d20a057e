migrate_macros::embed_migrations!("ui/sql_undeclared_function.toml");

fn main() {}
