migrate_macros::embed_migrations!("ui/sql_fk_violation.toml");

fn main() {}
