//! `embed_migrations!`: reads `migrations.toml` at build time, validates it
//! with [`migrate_core::manifest::parse`] and embeds it as a static
//! `MIGRATIONS: migrate_core::Migrations`.
//!
//! A malformed list fails the build with `migrations.toml:LINE:COL: what is
//! wrong and how to fix it`. The file is also handed to `include_bytes!`, so
//! cargo records it as an input of the crate and rebuilds, re-embedding it,
//! whenever it is edited.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

use migrate_core::verify::{Proof, prove_manifest};
use migrate_core::{Function, Migration, Migrations};

/// Embeds the migrations of a `migrations.toml` as
/// `pub static MIGRATIONS: migrate_core::Migrations`.
///
/// `embed_migrations!()` reads `migrations.toml` in the crate's directory
/// (`CARGO_MANIFEST_DIR`); `embed_migrations!("path/to/migrations.toml")`
/// reads another file, relative to that directory. The crate must depend on
/// `migrate-core`.
#[proc_macro]
pub fn embed_migrations(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    expand(&args)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// The macro's argument: an optional path literal, after an optional
/// `@core PATH,` that the `migrate` facade crate passes (`$crate::…`) so the
/// generated code does not need `migrate_core` among the user's dependencies.
struct Args {
    core: TokenStream,
    path: Option<LitStr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut core = quote! { ::migrate_core };
        if input.peek(Token![@]) {
            let _: Token![@] = input.parse()?;
            let _: syn::Ident = input.parse()?;
            let path: syn::Path = input.call(syn::Path::parse_mod_style)?;
            core = quote! { #path };
            let _: Option<Token![,]> = input.parse()?;
        }
        if input.is_empty() {
            return Ok(Args { core, path: None });
        }
        if !input.peek(LitStr) {
            return Err(input.error(
                "embed_migrations! takes the path of migrations.toml as a string literal, \
                 relative to the crate's directory, e.g. embed_migrations!(\"migrations.toml\"), \
                 or no argument for migrations.toml",
            ));
        }
        let path: LitStr = input.parse()?;
        let _: Option<Token![,]> = input.parse()?;
        if !input.is_empty() {
            return Err(input.error(
                "embed_migrations! takes at most one argument: the path of migrations.toml",
            ));
        }
        Ok(Args {
            core,
            path: Some(path),
        })
    }
}

fn expand(args: &Args) -> syn::Result<TokenStream> {
    let span = args
        .path
        .as_ref()
        .map_or_else(Span::call_site, LitStr::span);
    let shown = args
        .path
        .as_ref()
        .map_or_else(|| "migrations.toml".to_owned(), LitStr::value);
    let full = resolve(&shown, span)?;
    let text = std::fs::read_to_string(&full).map_err(|e| {
        syn::Error::new(
            span,
            format!(
                "cannot read {shown} ({}): {e}; the path is relative to the crate's directory \
                 (CARGO_MANIFEST_DIR)",
                full.display()
            ),
        )
    })?;

    // Every file read is handed to include_bytes!, so cargo records it as an
    // input of the crate and rebuilds (re-running this macro) when it changes.
    let base = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut inputs = vec![full.clone()];
    let parsed = migrate_core::manifest::parse_with(&text, &mut |file| {
        let path = base.join(file);
        let contents = std::fs::read_to_string(&path)?;
        inputs.push(path);
        Ok(contents)
    });
    let track = track(&inputs, span)?;
    let diagnostics = match parsed {
        Ok(manifest) => match prove_manifest(&manifest, &text) {
            Ok(proof) => {
                let source = full.to_string_lossy();
                return Ok(generate(
                    &args.core,
                    &manifest.migrations,
                    &proof,
                    &track,
                    &shown,
                    &source,
                ));
            }
            Err(diagnostic) => vec![diagnostic],
        },
        Err(diagnostics) => diagnostics,
    };
    let mut errors = diagnostics
        .iter()
        .map(|d| syn::Error::new(span, d.render(&shown)));
    let mut combined = errors
        .next()
        .unwrap_or_else(|| syn::Error::new(span, format!("{shown} is invalid")));
    combined.extend(errors);
    let error = combined.to_compile_error();
    Ok(quote! { #error #track })
}

/// `const _: &[u8] = include_bytes!("…");` for each input file.
fn track(inputs: &[PathBuf], span: Span) -> syn::Result<TokenStream> {
    let paths = inputs
        .iter()
        .map(|p| {
            p.to_str().ok_or_else(|| {
                syn::Error::new(span, format!("the path {} is not valid UTF-8", p.display()))
            })
        })
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(quote! { #(const _: &[u8] = ::core::include_bytes!(#paths);)* })
}

fn resolve(path: &str, span: Span) -> syn::Result<PathBuf> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or_else(|| {
        syn::Error::new(
            span,
            "CARGO_MANIFEST_DIR is not set: build this crate with cargo",
        )
    })?;
    Ok(Path::new(&dir).join(path))
}

/// The static data: no code runs at start-up to build the list. Each
/// migration's statements and the list itself are separate statics, because
/// a static's initializer cannot drop temporaries.
fn generate(
    core: &TokenStream,
    migrations: &Migrations,
    proof: &Proof,
    track: &TokenStream,
    shown: &str,
    source: &str,
) -> TokenStream {
    let sql_statics = migrations.iter().map(|m| {
        let name = sql_ident(m);
        let sql = m.sql();
        let len = sql.len();
        let down = m.down().map(|down| {
            let name = down_ident(m);
            let len = down.len();
            quote! {
                static #name: [::std::borrow::Cow<'static, str>; #len] =
                    [#(::std::borrow::Cow::Borrowed(#down)),*];
            }
        });
        quote! {
            static #name: [::std::borrow::Cow<'static, str>; #len] =
                [#(::std::borrow::Cow::Borrowed(#sql)),*];
            #down
        }
    });
    let function = |f: &Function| {
        let name = f.name();
        let args = f.args();
        let deterministic = f.is_deterministic();
        let extension = match f.extension() {
            Some(path) => quote! { ::core::option::Option::Some(#path) },
            None => quote! { ::core::option::Option::None },
        };
        quote! { #core::Function::__embedded(#name, #args, #deterministic, #extension) }
    };
    // The declared functions each migration calls, as the proof saw them.
    let called: Vec<Vec<&Function>> = (0..migrations.len())
        .map(|i| {
            let names = proof.calls.get(i).map_or(&[][..], Vec::as_slice);
            migrations
                .functions()
                .iter()
                .filter(|f| names.iter().any(|n| n.eq_ignore_ascii_case(f.name())))
                .collect()
        })
        .collect();
    let function_statics = migrations
        .iter()
        .zip(&called)
        .filter(|(_, called)| !called.is_empty())
        .map(|(m, called)| {
            let name = functions_ident(m);
            let list = called.iter().map(|f| function(f));
            let len = called.len();
            quote! { static #name: [#core::Function; #len] = [#(#list),*]; }
        });
    let entries = migrations.iter().zip(&called).map(|(m, called)| {
        let version = m.version();
        let description = m.description();
        let transaction = m.is_transactional();
        let sql = sql_ident(m);
        let checksum = proc_macro2::Literal::byte_string(&m.checksum());
        let chain = proc_macro2::Literal::byte_string(&m.chain().unwrap_or_default());
        let functions = if called.is_empty() {
            quote! { &[] }
        } else {
            let name = functions_ident(m);
            quote! { &#name }
        };
        let down = match m.down_checksum() {
            Some(checksum) => {
                let name = down_ident(m);
                let checksum = proc_macro2::Literal::byte_string(&checksum);
                quote! { ::core::option::Option::Some((&#name, *#checksum)) }
            }
            None => quote! { ::core::option::Option::None },
        };
        let cows = |items: Vec<&str>| {
            quote! { &[#(::std::borrow::Cow::Borrowed(#items)),*] }
        };
        let loses = cows(m.loses().collect());
        let down_loses = cows(m.down_loses().collect());
        quote! {
            #core::Migration::__embedded(
                #version, #description, &#sql, #transaction, *#checksum, *#chain, #functions,
                #down, #loses, #down_loses,
            )
        }
    });
    let declared = migrations.functions().iter().map(function);
    let declared_len = migrations.functions().len();
    let extensions = migrations.extensions();
    let extensions_len = extensions.len();
    let count = migrations.len();
    let keep_backups = match migrations.keep_backups() {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let database = match migrations.default_database() {
        Some(db) => quote! { ::core::option::Option::Some(#db) },
        None => quote! { ::core::option::Option::None },
    };
    let fingerprints = proc_macro2::Literal::byte_string(
        &proof
            .fingerprints
            .iter()
            .flat_map(|f| f.0)
            .collect::<Vec<u8>>(),
    );
    let schema = proof.schema.to_sql();
    // What a fresh database at each version needs: one string literal.
    let fresh = proof.fresh_image();
    let warnings = warnings(proof, shown);
    let doc = format!(
        "The migrations of `{shown}`, validated, applied to SQLite and embedded at build time."
    );
    quote! {
        #[doc = #doc]
        pub static MIGRATIONS: #core::Migrations = {
            #track
            #warnings
            #(#sql_statics)*
            #(#function_statics)*
            static LIST: [#core::Migration; #count] = [#(#entries),*];
            static FUNCTIONS: [#core::Function; #declared_len] = [#(#declared),*];
            static EXTENSIONS: [::std::borrow::Cow<'static, str>; #extensions_len] =
                [#(::std::borrow::Cow::Borrowed(#extensions)),*];
            #core::Migrations::__embedded(
                &LIST,
                #database,
                #fingerprints,
                #schema,
                ::core::concat!(
                    ::core::env!("CARGO_PKG_NAME"), " ", ::core::env!("CARGO_PKG_VERSION")
                ),
                #source,
                &FUNCTIONS,
                &EXTENSIONS,
                #keep_backups,
                #fresh,
            )
        };
    }
}

/// The proof's warnings, as rustc warnings at the macro's call: a proc
/// macro cannot emit a warning on stable Rust, so each becomes a
/// `#[deprecated]` item whose note is the warning, used at once, which
/// rustc reports as a use of a deprecated item (the approach of the
/// `proc-macro-warning` crate, written out).
fn warnings(proof: &Proof, shown: &str) -> TokenStream {
    let items = proof.warnings.iter().enumerate().map(|(i, w)| {
        let name = quote::format_ident!("migrations_toml_warning_{}", i + 1);
        let note = w.render(shown);
        quote! {
            #[allow(non_camel_case_types, dead_code)]
            #[deprecated(note = #note)]
            struct #name;
            let _ = #name;
        }
    });
    quote! { const _: () = { #(#items)* }; }
}

fn sql_ident(m: &Migration) -> proc_macro2::Ident {
    quote::format_ident!("SQL_{}", m.version())
}

fn down_ident(m: &Migration) -> proc_macro2::Ident {
    quote::format_ident!("DOWN_{}", m.version())
}

fn functions_ident(m: &Migration) -> proc_macro2::Ident {
    quote::format_ident!("FUNCTIONS_{}", m.version())
}
