// Declared functions build: the proof stands in for them, records which
// migration calls which, and the runner refuses until they are registered.
use migrate_core::rusqlite::Connection;
use migrate_core::rusqlite::functions::FunctionFlags;

migrate_macros::embed_migrations!("ui/pass_functions.toml");

fn main() {
    let declared: Vec<(&str, i32, bool, Option<&str>)> = MIGRATIONS
        .functions()
        .iter()
        .map(|f| (f.name(), f.args(), f.is_deterministic(), f.extension()))
        .collect();
    assert_eq!(
        declared,
        [
            ("normalize", 2, true, None),
            ("base64_encode", -1, false, None),
            ("vec_length", 1, true, Some("vec0")),
        ]
    );
    assert_eq!(MIGRATIONS.extensions().collect::<Vec<_>>(), ["vec0"]);

    let calls: Vec<Vec<&str>> = MIGRATIONS
        .iter()
        .map(|m| m.functions().iter().map(|f| f.name()).collect())
        .collect();
    assert_eq!(
        calls,
        [
            vec![],
            vec!["normalize"],
            vec!["base64_encode"],
            vec!["vec_length"],
            // Updating `name` recomputes the index on normalize(name, 'NFKC').
            vec!["normalize"],
        ]
    );

    // Nothing registered: refused before anything runs.
    let mut conn = Connection::open_in_memory().unwrap();
    let err = MIGRATIONS.apply(&mut conn).unwrap_err();
    assert_eq!(err.code(), "function_not_registered");
    assert_eq!(err.version(), Some(2));
    assert_eq!(MIGRATIONS.current_version(&conn).unwrap(), 0);

    // Registered (the extension's function too, here by the program).
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("normalize", 2, flags, |ctx| {
        Ok(ctx.get::<String>(0)?.to_lowercase())
    })
    .unwrap();
    conn.create_scalar_function("base64_encode", -1, FunctionFlags::SQLITE_UTF8, |ctx| {
        Ok(format!("b64:{}", ctx.get::<String>(0)?))
    })
    .unwrap();
    conn.create_scalar_function("vec_length", 1, flags, |ctx| {
        Ok(ctx.get::<Option<Vec<u8>>>(0)?.map_or(0, |v| v.len() as i64))
    })
    .unwrap();
    assert_eq!(MIGRATIONS.apply(&mut conn).unwrap().version, 5);
    let (name, avatar): (String, String) = conn
        .query_row("SELECT name, avatar FROM users", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((name.as_str(), avatar.as_str()), ("ANN", "b64:u1"));
    assert!(MIGRATIONS.check(&conn).unwrap().is_clean());
}
