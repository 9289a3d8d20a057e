// The data proof: a CAST in a rebuild's copy changes values.
migrate_macros::embed_migrations!("ui/data_lossy_cast.toml");

fn main() {}
