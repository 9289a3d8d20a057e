// The data proof: a down drops an added column's data without down_loses.
migrate_macros::embed_migrations!("ui/data_down_drops_column.toml");

fn main() {}
