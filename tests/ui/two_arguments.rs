migrate_macros::embed_migrations!("ui/gap.toml", "ui/duplicate.toml");

fn main() {}
