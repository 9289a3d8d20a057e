migrate_macros::embed_migrations!("ui/empty_sql.toml");

fn main() {}
