migrate_macros::embed_migrations!("ui/sql_no_transaction.toml");

fn main() {}
