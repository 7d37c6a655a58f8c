//! The `#[sockeye::main]` and `#[sockeye::test]` attribute macros.
//!
//! This crate owns only the code generation behind those two attributes. They
//! are re-exported by the `sockeye` facade crate, which is the crate programs
//! depend on; the generated code names the facade (`::sockeye` by default, see
//! the `crate` argument) and never this crate.
//!
//! Both macros accept the same arguments as their tokio counterparts, so a
//! tokio program ports by renaming the crate:
//!
//! | argument | effect |
//! |---|---|
//! | `flavor = "current_thread"` | the default |
//! | `flavor = "multi_thread"` | accepted; runs on the current thread (see below) |
//! | `worker_threads = N` | accepted and ignored (see below); `N` must be greater than 0 |
//! | `start_paused = false` | accepted; `true` is not supported yet |
//! | `crate = "path"` | use `path` instead of `::sockeye` in the generated code |
//! | `unhandled_panic = "ignore"` | accepted; this is the only behaviour sockeye has |
//!
//! sockeye is thread-per-core: every thread runs its own executor and its own
//! network stack, and tasks never migrate between threads. There is no shared
//! worker pool, so `flavor = "multi_thread"` and `worker_threads` have nothing
//! to configure; the function body runs on a current-thread runtime in both
//! cases. Programs that want more cores start more threads, each with its own
//! runtime.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ItemFn, LitBool, LitInt, LitStr, Path, ReturnType, Type};

/// Marks an `async fn main` to run on a sockeye runtime.
///
/// The function becomes a plain `fn main` that builds a current-thread runtime
/// with every driver enabled and blocks on the original body. The return type
/// and `return` / `?` inside the body keep working.
///
/// # Arguments
///
/// * `flavor = "current_thread" | "multi_thread"`: both accepted. sockeye runs
///   one executor per thread, so a `multi_thread` program runs on the current
///   thread.
/// * `worker_threads = N`: accepted and ignored for the same reason; `N` must
///   be greater than 0.
/// * `start_paused = false`: accepted; `true` is not supported yet.
/// * `crate = "path"`: the path of the sockeye crate, default `::sockeye`.
/// * `unhandled_panic = "ignore"`: accepted (the current behaviour);
///   `"shutdown_runtime"` is not supported.
///
/// # Example
///
/// ```ignore
/// #[sockeye::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _listener = sockeye::net::TcpListener::bind("0.0.0.0:8080").await?;
///     Ok(())
/// }
/// ```
///
/// expands to roughly
///
/// ```ignore
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let body = async move {
///         let _listener = sockeye::net::TcpListener::bind("0.0.0.0:8080").await?;
///         Ok(())
///     };
///     return ::sockeye::runtime::Builder::new_current_thread()
///         .enable_all()
///         .build()
///         .expect("failed to build the sockeye runtime")
///         .block_on(body);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Marks an `async fn` as a test that runs on its own sockeye runtime.
///
/// The function becomes a `#[test] fn` that builds a current-thread runtime
/// and blocks on the original body. Other attributes such as
/// `#[should_panic]` and `#[ignore]` are kept. Accepts the same arguments as
/// [`macro@main`].
///
/// # Example
///
/// ```ignore
/// #[sockeye::test]
/// async fn adds() {
///     let sum = async { 1 + 1 }.await;
///     assert_eq!(sum, 2);
/// }
///
/// #[sockeye::test(flavor = "multi_thread", worker_threads = 2)]
/// #[should_panic(expected = "boom")]
/// async fn panics() {
///     panic!("boom");
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

/// Which attribute is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

/// The arguments that change the generated code.
struct Config {
    /// Path of the facade crate, `::sockeye` unless `crate = "..."` is given.
    krate: Path,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            krate: syn::parse_quote!(::sockeye),
        }
    }
}

/// The argument names both macros accept.
const ARGUMENTS: [&str; 5] = [
    "flavor",
    "worker_threads",
    "start_paused",
    "crate",
    "unhandled_panic",
];

/// Expands `#[main]` / `#[test]` with attribute arguments `args` on `item`.
///
/// On error the original function is emitted next to the error (or the
/// expansion with default arguments when only the arguments are wrong) so that
/// IDEs keep resolving the body.
fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(e) => return with_error(item, e),
    };
    if let Err(e) = check_fn(kind, &input) {
        return with_error(item, e);
    }
    match parse_args(args) {
        Ok(config) => expand_fn(kind, &config, input),
        Err(e) => with_error(expand_fn(kind, &Config::default(), input), e),
    }
}

fn with_error(mut tokens: TokenStream2, error: syn::Error) -> TokenStream2 {
    tokens.extend(error.into_compile_error());
    tokens
}

/// Rejects functions the generated code cannot wrap.
fn check_fn(kind: Kind, input: &ItemFn) -> syn::Result<()> {
    let sig = &input.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    if !sig.inputs.is_empty() {
        let msg = match kind {
            Kind::Main => "the main function cannot accept arguments",
            Kind::Test => "the test function cannot accept arguments",
        };
        return Err(syn::Error::new_spanned(&sig.inputs, msg));
    }
    let extra_test = input.attrs.iter().find(|a| a.path().is_ident("test"));
    if let (Kind::Test, Some(attr)) = (kind, extra_test) {
        return Err(syn::Error::new_spanned(
            attr,
            "second test attribute is supplied, remove the `#[test]` attribute",
        ));
    }
    Ok(())
}

/// Parses the `name = value, ...` attribute arguments.
fn parse_args(args: TokenStream2) -> syn::Result<Config> {
    let mut config = Config::default();
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let name = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if !ARGUMENTS.contains(&name.as_str()) {
            let shown = meta.path.to_token_stream().to_string().replace(' ', "");
            return Err(meta.error(format_args!(
                "unknown attribute `{shown}`, expected one of: {}",
                ARGUMENTS.join(", ")
            )));
        }
        if seen.contains(&name) {
            return Err(meta.error(format_args!("`{name}` is set more than once")));
        }
        let value = meta.value()?;
        match name.as_str() {
            "flavor" => {
                let lit: LitStr = value.parse()?;
                match lit.value().as_str() {
                    // Thread-per-core: `multi_thread` runs on the current thread.
                    "current_thread" | "multi_thread" => {}
                    other => {
                        return Err(syn::Error::new(
                            lit.span(),
                            format_args!(
                                "unknown flavor `{other}`, expected one of: \
                                 \"current_thread\", \"multi_thread\""
                            ),
                        ));
                    }
                }
            }
            "worker_threads" => {
                let lit: LitInt = value.parse()?;
                // Ignored: every sockeye runtime is a single thread.
                if lit.base10_parse::<usize>()? == 0 {
                    return Err(syn::Error::new(
                        lit.span(),
                        "worker_threads must be greater than 0",
                    ));
                }
            }
            "start_paused" => {
                let lit: LitBool = value.parse()?;
                if lit.value {
                    return Err(syn::Error::new(
                        lit.span(),
                        "start_paused is not supported by sockeye yet",
                    ));
                }
            }
            "crate" => {
                let lit: LitStr = value.parse()?;
                config.krate = lit.parse()?;
            }
            "unhandled_panic" => {
                let lit: LitStr = value.parse()?;
                match lit.value().as_str() {
                    "ignore" => {}
                    "shutdown_runtime" => {
                        return Err(syn::Error::new(
                            lit.span(),
                            "unhandled_panic = \"shutdown_runtime\" is not supported by sockeye; \
                             only \"ignore\" is",
                        ));
                    }
                    other => {
                        return Err(syn::Error::new(
                            lit.span(),
                            format_args!(
                                "unknown unhandled_panic value `{other}`, expected \"ignore\""
                            ),
                        ));
                    }
                }
            }
            _ => unreachable!("checked against ARGUMENTS above"),
        }
        seen.push(name);
        Ok(())
    });
    parser.parse2(args)?;
    Ok(config)
}

/// Builds the synchronous function around the async body of a checked `input`.
fn expand_fn(kind: Kind, config: &Config, mut input: ItemFn) -> TokenStream2 {
    input.sig.asyncness = None;
    let krate = &config.krate;
    let body = &input.block;
    let output = match &input.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    // Make a body whose type differs from the return type fail with a clear
    // error on the body, not inside `block_on`. Skipped where a `dyn Future`
    // cannot name the output type.
    let type_check = match &input.sig.output {
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) || contains_impl_trait(ty) => {
            quote!()
        }
        // Spanned at the return type: that is what the body has to match.
        _ => quote_spanned! {output.span()=>
            if false {
                let _: &dyn ::core::future::Future<Output = #output> = &body;
            }
        },
    };
    // The async block is spanned at the user's body so diagnostics name it.
    let async_body = quote_spanned!(body.brace_token.span.open()=> async move #body);
    // Spanned at the end of the body so type errors point at the user's code.
    let end = body.brace_token.span.close();
    let run = quote_spanned! {end=>
        #[allow(
            clippy::expect_used,
            clippy::diverging_sub_expression,
            clippy::needless_return,
            clippy::unwrap_in_result
        )]
        {
            return #krate::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("failed to build the sockeye runtime")
                .block_on(body);
        }
    };
    let test_attr = match kind {
        Kind::Main => quote!(),
        Kind::Test => quote!(#[::core::prelude::v1::test]),
    };
    let ItemFn {
        attrs, vis, sig, ..
    } = &input;
    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            let body = #async_body;
            #type_check
            #run
        }
    }
}

/// Whether `ty` mentions `impl Trait` anywhere (it cannot appear in `dyn Future<Output = _>`).
fn contains_impl_trait(ty: &Type) -> bool {
    fn walk(tokens: TokenStream2) -> bool {
        tokens.into_iter().any(|tt| match tt {
            proc_macro2::TokenTree::Ident(ident) => ident == "impl",
            proc_macro2::TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

#[cfg(test)]
mod tests {
    use super::{ItemFn, Kind, ReturnType, TokenStream2, check_fn, expand, parse_args};
    use quote::{ToTokens, quote};

    fn expand_ok(kind: Kind, args: TokenStream2, item: TokenStream2) -> ItemFn {
        let out = expand(kind, args, item);
        assert!(
            !out.to_string().contains("compile_error"),
            "unexpected error: {out}"
        );
        syn::parse2(out).expect("expansion is a single function")
    }

    /// The messages of every `compile_error!` in `out`.
    fn errors(out: &TokenStream2) -> String {
        let text = out.to_string();
        assert!(text.contains("compile_error"), "expected an error: {text}");
        text
    }

    fn has_attr(f: &ItemFn, name: &str) -> bool {
        f.attrs.iter().any(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|segment| segment.ident == name)
        })
    }

    fn body(f: &ItemFn) -> String {
        f.block.to_token_stream().to_string()
    }

    #[test]
    fn main_becomes_sync_and_blocks_on_the_body() {
        let f = expand_ok(
            Kind::Main,
            quote!(),
            quote! {
                #[allow(unused_variables)]
                pub async fn main() { let x = 1; }
            },
        );
        assert!(f.sig.asyncness.is_none());
        assert_eq!(f.sig.ident, "main");
        assert!(matches!(f.vis, syn::Visibility::Public(_)));
        assert!(has_attr(&f, "allow"));
        assert!(!has_attr(&f, "test"));
        let body = body(&f);
        assert!(
            body.contains("let body = async move { let x = 1 ; }"),
            "{body}"
        );
        assert!(
            body.contains(":: sockeye :: runtime :: Builder :: new_current_thread ()"),
            "{body}"
        );
        assert!(body.contains(". enable_all ()"), "{body}");
        assert!(
            body.contains(". expect (\"failed to build the sockeye runtime\")"),
            "{body}"
        );
        assert!(body.contains("return"), "{body}");
        assert!(body.contains(". block_on (body)"), "{body}");
        assert!(body.contains("Output = ()"), "{body}");
    }

    #[test]
    fn return_type_is_kept_and_checked() {
        let f = expand_ok(
            Kind::Main,
            quote!(),
            quote! {
                async fn main() -> Result<(), Box<dyn std::error::Error>> { Ok(()) }
            },
        );
        let ReturnType::Type(_, ty) = &f.sig.output else {
            panic!("return type dropped");
        };
        let ty = ty.to_token_stream().to_string();
        assert_eq!(ty, "Result < () , Box < dyn std :: error :: Error > >");
        assert!(body(&f).contains(&format!("Output = {ty}")));
    }

    #[test]
    fn never_and_impl_trait_outputs_skip_the_type_check() {
        for item in [
            quote!(
                async fn main() -> ! {
                    loop {}
                }
            ),
            quote!(
                async fn main() -> impl std::process::Termination {}
            ),
        ] {
            let f = expand_ok(Kind::Main, quote!(), item);
            assert!(!body(&f).contains("dyn :: core :: future :: Future"));
        }
    }

    #[test]
    fn test_gets_test_attribute_first_and_keeps_others() {
        let f = expand_ok(
            Kind::Test,
            quote!(flavor = "multi_thread", worker_threads = 4),
            quote! {
                #[should_panic(expected = "boom")]
                #[ignore]
                async fn panics() { panic!("boom"); }
            },
        );
        assert!(f.sig.asyncness.is_none());
        let paths: Vec<String> = f
            .attrs
            .iter()
            .map(|a| a.path().to_token_stream().to_string())
            .collect();
        assert_eq!(
            paths,
            [":: core :: prelude :: v1 :: test", "should_panic", "ignore"]
        );
        assert!(body(&f).contains("block_on"));
    }

    #[test]
    fn all_accepted_arguments() {
        let f = expand_ok(
            Kind::Main,
            quote! {
                flavor = "current_thread",
                worker_threads = 1,
                start_paused = false,
                crate = "my::rt",
                unhandled_panic = "ignore",
            },
            quote!(
                async fn main() {}
            ),
        );
        let body = body(&f);
        assert!(
            body.contains("return my :: rt :: runtime :: Builder :: new_current_thread ()"),
            "{body}"
        );
        assert!(!body.contains(":: sockeye"), "{body}");
    }

    #[test]
    fn crate_path_with_leading_colons() {
        let f = expand_ok(
            Kind::Test,
            quote!(crate = "::renamed"),
            quote!(
                async fn t() {}
            ),
        );
        assert!(body(&f).contains(":: renamed :: runtime :: Builder"));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let cases = [
            (
                quote!(flavor = "local"),
                "unknown flavor `local`, expected one of: \\\"current_thread\\\", \\\"multi_thread\\\"",
            ),
            (quote!(flavor = 1), "expected string literal"),
            (
                quote!(worker_threads = 0),
                "worker_threads must be greater than 0",
            ),
            (quote!(worker_threads = "2"), "expected integer literal"),
            (
                quote!(start_paused = true),
                "start_paused is not supported by sockeye yet",
            ),
            (
                quote!(unhandled_panic = "shutdown_runtime"),
                "shutdown_runtime\\\" is not supported",
            ),
            (
                quote!(unhandled_panic = "other"),
                "unknown unhandled_panic value `other`",
            ),
            (quote!(crate = "not a path"), "expected"),
            (
                quote!(name = "x"),
                "unknown attribute `name`, expected one of: flavor, worker_threads, \
                 start_paused, crate, unhandled_panic",
            ),
            (quote!(a::b = 1), "unknown attribute `a::b`"),
            (quote!(multi_thread), "unknown attribute `multi_thread`"),
            (quote!(flavor), "expected `=`"),
            (
                quote!(flavor = "current_thread", flavor = "multi_thread"),
                "`flavor` is set more than once",
            ),
        ];
        for kind in [Kind::Main, Kind::Test] {
            for (args, message) in &cases {
                let out = expand(
                    kind,
                    args.clone(),
                    quote!(
                        async fn main() {}
                    ),
                );
                let text = errors(&out);
                assert!(text.contains(message), "{args}: {text}");
                // The function is still emitted, already expanded.
                assert!(text.contains("block_on"), "{args}: {text}");
            }
        }
    }

    /// `(line, column)` where `err` starts.
    fn start(err: &syn::Error) -> (usize, usize) {
        let start = err.span().start();
        (start.line, start.column)
    }

    #[test]
    fn errors_point_at_the_offending_tokens() {
        let parse = |args: &str| parse_args(args.parse().unwrap()).err().unwrap();
        assert_eq!(
            start(&parse(r#"flavor = "current_thread", bogus = 1"#)),
            (1, 27)
        );
        assert_eq!(start(&parse(r#"flavor = "local""#)), (1, 9));
        assert_eq!(start(&parse("worker_threads = 0")), (1, 17));
        assert_eq!(start(&parse("start_paused = true")), (1, 15));

        let check = |item: &str| {
            let item: ItemFn = syn::parse_str(item).unwrap();
            check_fn(Kind::Main, &item).unwrap_err()
        };
        assert_eq!(start(&check("fn main() {}")), (1, 0));
        assert_eq!(start(&check("async fn main(a: u8) {}")), (1, 14));
    }

    #[test]
    fn non_async_fn_is_an_error() {
        for kind in [Kind::Main, Kind::Test] {
            let out = expand(
                kind,
                quote!(),
                quote!(
                    fn main() {}
                ),
            );
            let text = errors(&out);
            assert!(
                text.contains("the `async` keyword is missing from the function declaration"),
                "{text}"
            );
            // The original function is kept for IDEs.
            assert!(text.starts_with("fn main () { }"), "{text}");
        }
    }

    #[test]
    fn arguments_are_errors() {
        let item = quote!(
            async fn main(x: u32) {}
        );
        let text = errors(&expand(Kind::Main, quote!(), item.clone()));
        assert!(text.contains("the main function cannot accept arguments"));
        let text = errors(&expand(Kind::Test, quote!(), item));
        assert!(text.contains("the test function cannot accept arguments"));
    }

    #[test]
    fn second_test_attribute_is_an_error() {
        let out = expand(
            Kind::Test,
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert!(errors(&out).contains("second test attribute is supplied"));
    }

    #[test]
    fn not_a_function_is_an_error() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote!(
                struct S;
            ),
        );
        let text = errors(&out);
        assert!(text.starts_with("struct S ;"), "{text}");
    }
}
