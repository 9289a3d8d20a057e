migrate_macros::embed_migrations!("ui/out_of_order.toml");

fn main() {}
