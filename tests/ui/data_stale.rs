// The data proof: declared losses that do not happen.
migrate_macros::embed_migrations!("ui/data_stale.toml");

fn main() {}
