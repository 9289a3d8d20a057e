// The data proof: a WHERE in a rebuild's copy loses rows.
migrate_macros::embed_migrations!("ui/data_where_in_copy.toml");

fn main() {}
