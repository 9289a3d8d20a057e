// The data proof: DROP TABLE without a declaration.
migrate_macros::embed_migrations!("ui/data_drop_table.toml");

fn main() {}
