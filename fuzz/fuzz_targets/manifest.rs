//! `cargo fuzz run manifest`: `migrate_core::manifest::parse`, which runs
//! inside the compiler via `embed_migrations!`, must never panic or hang, and
//! whatever it accepts must satisfy the versions invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_core::manifest::{Location, parse};

fuzz_target!(|text: &str| {
    match parse(text) {
        Ok(manifest) => {
            for (i, m) in manifest.migrations.iter().enumerate() {
                assert_eq!(m.version() as usize, i + 1);
                assert!(!m.description().trim().is_empty());
            }
            assert_eq!(manifest.locations.len(), manifest.migrations.len());
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            for pair in diagnostics.windows(2) {
                assert!(pair[0].span.start <= pair[1].span.start);
            }
            for d in &diagnostics {
                assert!(d.span.start <= text.len());
                assert_eq!(d.location, Location::of_offset(text, d.span.start));
            }
        }
    }
});
