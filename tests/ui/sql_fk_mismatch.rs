migrate_macros::embed_migrations!("ui/sql_fk_mismatch.toml");

fn main() {}
