migrate_macros::embed_migrations!("ui/sql_commit.toml");

fn main() {}
