//! Every exported function is wrapped in `ffi_fn!` (STYLE.md, "The C ABI"):
//! this test reads `rha-ffi/src/**/*.rs` and fails if the body of any
//! `extern fn` is anything but one `ffi_fn!` invocation, if anything is
//! exported another way, or if the exported functions and the prototypes in
//! `include/rha.h` differ. It also holds the rules of the C ABI that the
//! compiler cannot check: no `repr(C)` enum crosses from C into Rust by
//! value (as a parameter of an exported function, a field of a `repr(C)`
//! struct, or what a callback returns: closed sets cross the boundary as
//! `uint32_t`, checked on entry), every handle output (`T **` other than
//! `error_out`) is named in its `ffi_fn!`'s `handle_out(...)` clause (which
//! sets it to NULL so a failure never leaves a stale handle there), and only
//! `src/handle.rs` turns a raw pointer back into a `Box`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword.
    Ident(String),
    /// A string literal of any kind, as written.
    Str(String),
    /// A char literal or a lifetime.
    Quote,
    /// One punctuation character.
    Punct(char),
}

/// Splits Rust source into the tokens this test needs, dropping comments and
/// keeping literals whole (so braces or `extern "C" fn` inside a string or a
/// comment do not count).
fn tokenize(src: &str) -> Vec<Tok> {
    let s: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && s.get(i + 1) == Some(&'/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && s.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = i;
            i = end_of_string(&s, i + 1, 0);
            toks.push(Tok::Str(s[start..i].iter().collect()));
        } else if c == '\'' {
            if s.get(i + 1) == Some(&'\\') {
                // An escaped char literal: '\n', '\'', '\u{7f}'.
                i += 2;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if s.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                // A lifetime or label.
                i += 1;
                while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                    i += 1;
                }
            }
            toks.push(Tok::Quote);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            let word: String = s[start..i].iter().collect();
            let prefix = matches!(word.as_str(), "b" | "c" | "r" | "br" | "cr");
            let raw = word.ends_with('r');
            if prefix && s.get(i) == Some(&'"') {
                i = end_of_string(&s, i + 1, if raw { 0 } else { usize::MAX });
                toks.push(Tok::Str(s[start..i].iter().collect()));
            } else if prefix && raw && s.get(i) == Some(&'#') {
                let mut hashes = 0;
                while s.get(i) == Some(&'#') {
                    hashes += 1;
                    i += 1;
                }
                i = end_of_string(&s, i + 1, hashes);
                toks.push(Tok::Str(s[start..i].iter().collect()));
            } else {
                toks.push(Tok::Ident(word));
            }
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    toks
}

/// The index just past the string literal whose contents start at `i`.
/// `hashes`: `usize::MAX` for an escaped string, else the number of `#`s
/// closing a raw string (`0` for `r"..."`).
fn end_of_string(s: &[char], mut i: usize, hashes: usize) -> usize {
    let escaped = hashes == usize::MAX;
    while i < s.len() {
        if escaped && s[i] == '\\' {
            i += 2;
            continue;
        }
        if s[i] == '"' {
            let n = if escaped { 0 } else { hashes };
            if (1..=n).all(|k| s.get(i + k) == Some(&'#')) {
                return i + 1 + n;
            }
        }
        i += 1;
    }
    i
}

/// The index of the delimiter closing the one at `open`.
fn matching(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct('}' | ')' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Exported function names and problems found in one file's source.
fn scan(src: &str) -> (Vec<String>, Vec<String>) {
    let toks = tokenize(src);
    let ident = |i: usize| match toks.get(i) {
        Some(Tok::Ident(w)) => Some(w.as_str()),
        _ => None,
    };
    let mut names = Vec::new();
    let mut problems = Vec::new();
    let mut no_mangle = 0;
    for i in 0..toks.len() {
        if matches!(ident(i), Some("no_mangle" | "export_name")) {
            no_mangle += 1;
        }
        if ident(i) == Some("macro_rules") {
            problems.push("defines a macro outside src/macros.rs".to_owned());
        }
        if ident(i) != Some("extern") {
            continue;
        }
        let mut j = i + 1;
        if let Some(Tok::Str(_)) = toks.get(j) {
            j += 1;
        }
        if ident(j) != Some("fn") {
            continue; // `extern crate` or an `extern "C" { ... }` import block
        }
        let Some(name) = ident(j + 1) else {
            if toks.get(j + 1) == Some(&Tok::Punct('(')) {
                continue; // a function pointer type (a callback), not an export
            }
            problems.push(format!("unnamed extern fn at token {j}"));
            continue;
        };
        names.push(name.to_owned());
        let Some(open) = (j + 2..toks.len()).find(|&k| toks[k] == Tok::Punct('{')) else {
            problems.push(format!("{name}: no body"));
            continue;
        };
        let Some(close) = matching(&toks, open) else {
            problems.push(format!("{name}: unbalanced body"));
            continue;
        };
        let body = &toks[open + 1..close];
        let wrapped = match body {
            [Tok::Ident(m), Tok::Punct('!'), Tok::Punct('(' | '{' | '['), ..] if m == "ffi_fn" => {
                matching(body, 2).is_some_and(|end| {
                    let rest = &body[end + 1..];
                    rest.is_empty() || rest == [Tok::Punct(';')]
                })
            }
            _ => false,
        };
        if !wrapped {
            problems.push(format!(
                "{name}: the body must be exactly one ffi_fn!(...) invocation"
            ));
        }
    }
    if no_mangle != names.len() {
        problems.push(format!(
            "{no_mangle} #[no_mangle]/#[export_name] attributes but {} extern fns",
            names.len()
        ));
    }
    (names, problems)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Function names declared in a C header (comments stripped).
fn header_functions(header: &str) -> BTreeSet<String> {
    let mut code = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    code.push_str(rest);
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices('(') {
        let before = code[..at].trim_end();
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        if word.starts_with("rha_") {
            names.insert(word.to_owned());
        }
    }
    names
}

#[test]
fn every_extern_fn_is_wrapped_in_ffi_fn() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut exported = BTreeSet::new();
    let mut problems = Vec::new();
    for file in &files {
        let src = fs::read_to_string(file).expect("readable source file");
        let (names, file_problems) = scan(&src);
        let is_macros = file.ends_with("src/macros.rs");
        for p in file_problems {
            if !(is_macros && p.starts_with("defines a macro")) {
                problems.push(format!("{}: {p}", file.display()));
            }
        }
        if is_macros && !names.is_empty() {
            problems.push(format!("{}: exports {names:?}", file.display()));
        }
        for name in names {
            if !exported.insert(name.clone()) {
                problems.push(format!("{name} is defined twice"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        exported.len() >= 30,
        "found only {} exported functions: is the scanner broken?",
        exported.len()
    );

    let header_path = root.join("../include/rha.h");
    let header = fs::read_to_string(&header_path).expect("include/rha.h exists");
    let declared = header_functions(&header);
    assert_eq!(
        exported, declared,
        "the exported functions and include/rha.h differ: regenerate the header \
         (tests/check-header.sh --update)"
    );
}

/// Names of the enums with a `#[repr(...)]` attribute defined in `toks`.
fn repr_enums(toks: &[Tok]) -> Vec<String> {
    let mut enums = Vec::new();
    let mut repr = false;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('#') if toks.get(i + 1) == Some(&Tok::Punct('[')) => {
                repr |= toks.get(i + 2) == Some(&Tok::Ident("repr".to_owned()));
                i = matching(toks, i + 1).unwrap_or(toks.len());
            }
            Tok::Ident(w) if w == "enum" => {
                if let (true, Some(Tok::Ident(name))) = (repr, toks.get(i + 1)) {
                    enums.push(name.clone());
                }
                repr = false;
            }
            Tok::Punct('{' | '}' | ';') => repr = false,
            _ => {}
        }
        i += 1;
    }
    enums
}

/// An exported function (`extern fn name(...)` with a name) in a token
/// stream: its name, its parameters as (name, type tokens), and the tokens
/// of its body.
struct Export<'a> {
    name: String,
    params: Vec<(String, Vec<Tok>)>,
    body: &'a [Tok],
}

/// Splits the tokens of a list at its top-level commas (not those inside
/// `()`, `[]`, `<>` or `{}`; `->` is not a closing `>`).
fn split_top_level(list: &[Tok]) -> Vec<Vec<Tok>> {
    let mut items = vec![Vec::new()];
    let mut depth = 0;
    for (k, t) in list.iter().enumerate() {
        let arrow = k > 0 && list[k - 1] == Tok::Punct('-');
        match t {
            Tok::Punct('(' | '[' | '<' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct('>') if !arrow => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                items.push(Vec::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("one item at least").push(t.clone());
    }
    items.retain(|item| !item.is_empty());
    items
}

/// Every named `extern fn` in `toks` that has a body.
fn exports(toks: &[Tok]) -> Vec<Export<'_>> {
    let mut found = Vec::new();
    for i in 0..toks.len() {
        if toks[i] != Tok::Ident("extern".to_owned()) {
            continue;
        }
        let j = if let Some(Tok::Str(_)) = toks.get(i + 1) {
            i + 2
        } else {
            i + 1
        };
        let (Some(Tok::Ident(f)), Some(Tok::Ident(name))) = (toks.get(j), toks.get(j + 1)) else {
            continue;
        };
        if f != "fn" {
            continue;
        }
        let Some(open) = (j + 2..toks.len()).find(|&k| toks[k] == Tok::Punct('(')) else {
            continue;
        };
        let Some(close) = matching(toks, open) else {
            continue;
        };
        let params = split_top_level(&toks[open + 1..close])
            .into_iter()
            .filter_map(|param| {
                let colon = param.iter().position(|t| *t == Tok::Punct(':'))?;
                let Some(Tok::Ident(pname)) = param.get(colon.checked_sub(1)?) else {
                    return None;
                };
                Some((pname.clone(), param[colon + 1..].to_vec()))
            })
            .collect();
        let Some(body_open) = (close..toks.len()).find(|&k| toks[k] == Tok::Punct('{')) else {
            continue;
        };
        let Some(body_close) = matching(toks, body_open) else {
            continue;
        };
        found.push(Export {
            name: name.clone(),
            params,
            body: &toks[body_open + 1..body_close],
        });
    }
    found
}

/// The enum named by a type written as `ty`, if it is one of `enums` taken
/// by value (not behind a pointer, a reference or a generic).
fn enum_by_value<'a>(ty: &'a [Tok], enums: &BTreeSet<String>) -> Option<&'a str> {
    let indirect = ty.iter().any(|t| matches!(t, Tok::Punct('*' | '&' | '<')));
    match ty.last() {
        Some(Tok::Ident(last)) if !indirect && enums.contains(last) => Some(last),
        _ => None,
    }
}

/// Problems: parameters of exported functions in `toks` whose type is one
/// of `enums` by value (a C caller can pass any integer there, which is
/// undefined behaviour for a Rust enum).
fn enum_parameters(toks: &[Tok], enums: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for f in exports(toks) {
        for (_, ty) in &f.params {
            if let Some(e) = enum_by_value(ty, enums) {
                problems.push(format!(
                    "{} takes the enum {e} by value: take a uint32_t and check it",
                    f.name
                ));
            }
        }
    }
    problems
}

/// Problems: fields of `repr(C)` structs, and return types of callback
/// types (`extern fn(...) -> T`), in `toks` that are one of `enums` by
/// value: C fills such a struct or returns such a value, and may put any
/// integer there.
fn enum_fields_and_callback_returns(toks: &[Tok], enums: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut repr = false;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('#') if toks.get(i + 1) == Some(&Tok::Punct('[')) => {
                repr |= toks.get(i + 2) == Some(&Tok::Ident("repr".to_owned()));
                i = matching(toks, i + 1).unwrap_or(toks.len());
            }
            Tok::Ident(w) if w == "struct" && repr => {
                repr = false;
                let name = match toks.get(i + 1) {
                    Some(Tok::Ident(n)) => n.clone(),
                    _ => String::new(),
                };
                let Some(open) =
                    (i..toks.len()).find(|&k| matches!(toks[k], Tok::Punct('{' | ';' | '(')))
                else {
                    break;
                };
                if toks[open] == Tok::Punct('{') {
                    let close = matching(toks, open).unwrap_or(toks.len());
                    for field in split_top_level(&toks[open + 1..close]) {
                        let Some(colon) = field.iter().position(|t| *t == Tok::Punct(':')) else {
                            continue;
                        };
                        if let Some(e) = enum_by_value(&field[colon + 1..], enums) {
                            problems.push(format!(
                                "struct {name} has a field of enum type {e}: make it a uint32_t"
                            ));
                        }
                    }
                    // Scanning goes on inside the body: a field may be a
                    // callback type.
                }
            }
            Tok::Ident(w) if w == "fn" => {
                // `extern "C" fn(...) -> T` with no name: a callback type.
                let callback = i >= 1
                    && (toks[i - 1] == Tok::Ident("extern".to_owned())
                        || matches!(toks[i - 1], Tok::Str(_)))
                    && toks.get(i + 1) == Some(&Tok::Punct('('));
                if callback {
                    if let Some(close) = matching(toks, i + 1) {
                        let arrow = toks.get(close + 1) == Some(&Tok::Punct('-'))
                            && toks.get(close + 2) == Some(&Tok::Punct('>'));
                        if let (true, Some(Tok::Ident(ret))) = (arrow, toks.get(close + 3)) {
                            if enums.contains(ret) {
                                problems.push(format!(
                                    "a callback type returns the enum {ret}: return an integer"
                                ));
                            }
                        }
                    }
                }
            }
            Tok::Punct('{' | '}' | ';') => repr = false,
            _ => {}
        }
        i += 1;
    }
    problems
}

/// Problems: exported functions in `toks` with a handle output (a
/// `*mut *mut T` parameter other than `error_out`) that their `ffi_fn!`
/// invocation does not list in `handle_out(...)`, or that list something
/// else there.
fn handle_outputs(toks: &[Tok]) -> Vec<String> {
    let mut problems = Vec::new();
    let ptr_ptr = |ty: &[Tok]| {
        matches!(
            ty,
            [Tok::Punct('*'), Tok::Ident(m1), Tok::Punct('*'), Tok::Ident(m2), ..]
                if m1 == "mut" && m2 == "mut"
        )
    };
    for f in exports(toks) {
        let wanted: BTreeSet<&str> = f
            .params
            .iter()
            .filter(|(n, ty)| n != "error_out" && ptr_ptr(ty))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut listed = BTreeSet::new();
        let clause = f
            .body
            .iter()
            .position(|t| *t == Tok::Ident("handle_out".to_owned()));
        if let Some(at) = clause {
            let close = matching(f.body, at + 1).unwrap_or(at + 1);
            for t in f.body.get(at + 2..close).unwrap_or(&[]) {
                if let Tok::Ident(n) = t {
                    listed.insert(n.as_str());
                }
            }
        }
        if wanted != listed {
            problems.push(format!(
                "{}: handle outputs {wanted:?} but ffi_fn!(..., handle_out({listed:?}), ...): \
                 list every `T **` output but error_out",
                f.name
            ));
        }
    }
    problems
}

/// How many times `toks` turns a raw pointer into a `Box`
/// (`Box::from_raw`, `Box::<T>::from_raw`).
fn box_from_raw(toks: &[Tok]) -> usize {
    (0..toks.len())
        .filter(|&i| {
            toks[i] == Tok::Ident("from_raw".to_owned())
                && toks[i.saturating_sub(8)..i].contains(&Tok::Ident("Box".to_owned()))
        })
        .count()
}

fn sources() -> Vec<(PathBuf, Vec<Tok>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let src = fs::read_to_string(&f).expect("readable source file");
            (f, tokenize(&src))
        })
        .collect()
}

#[test]
fn no_exported_function_takes_an_enum_by_value() {
    let sources = sources();
    let enums: BTreeSet<String> = sources.iter().flat_map(|(_, t)| repr_enums(t)).collect();
    assert!(
        enums.contains("rha_result") && enums.contains("rha_ha_state"),
        "found only the enums {enums:?}: is the scanner broken?"
    );
    let problems: Vec<String> = sources
        .iter()
        .flat_map(|(file, toks)| {
            let mut found = enum_parameters(toks, &enums);
            found.extend(enum_fields_and_callback_returns(toks, &enums));
            found
                .into_iter()
                .map(move |p| format!("{}: {p}", file.display()))
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_handle_output_is_cleared_by_ffi_fn() {
    let sources = sources();
    let mut checked = 0;
    let mut problems = Vec::new();
    for (file, toks) in &sources {
        checked += exports(toks)
            .iter()
            .filter(|f| f.body.contains(&Tok::Ident("handle_out".to_owned())))
            .count();
        for p in handle_outputs(toks) {
            problems.push(format!("{}: {p}", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked >= 20,
        "only {checked} functions with handle outputs: is the scanner broken?"
    );
}

#[test]
fn the_handle_output_scanner_finds_missing_and_stray_names() {
    let toks = tokenize(
        r#"
        #[no_mangle] pub unsafe extern "C" fn ok(b: *mut B, out: *mut *mut T, e: *mut *mut rha_error,
                                                error_out: *mut *mut rha_error) -> R {
            ffi_fn!(fallible(error_out), non_null(b), handle_out(out, e), { Ok(x) })
        }
        #[no_mangle] pub unsafe extern "C" fn missing(out: *mut *mut T, error_out: *mut *mut E) -> R {
            ffi_fn!(fallible(error_out), non_null(out), { Ok(x) })
        }
        #[no_mangle] pub unsafe extern "C" fn stray(p: *mut T, s: *mut *const u8, error_out: *mut *mut E) -> R {
            ffi_fn!(fallible(error_out), non_null(p), handle_out(p), { Ok(x) })
        }
        #[no_mangle] pub unsafe extern "C" fn none(p: *const T) -> u32 {
            ffi_fn!(default(0), non_null(p), { 1 })
        }
        "#,
    );
    let problems = handle_outputs(&toks);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("missing:") && problems[1].starts_with("stray:"));
}

#[test]
fn the_enum_scanner_finds_enum_fields_and_callback_returns() {
    let toks = tokenize(
        r#"
        #[repr(C)] pub enum by_c { A = 1 }
        #[repr(C)] pub struct s { pub a: u32, pub b: by_c, pub c: *const by_c,
                                  pub cb: Option<unsafe extern "C" fn(x: by_c) -> by_c> }
        pub struct not_c { pub b: by_c }
        pub type cb2 = Option<extern "C" fn(u8) -> i32>;
        pub type cb3 = Option<unsafe extern "C" fn(u8) -> by_c>;
        "#,
    );
    let enums: BTreeSet<String> = repr_enums(&toks).into_iter().collect();
    let problems = enum_fields_and_callback_returns(&toks, &enums);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("struct s has a field of enum type by_c"));
    assert!(problems.iter().filter(|p| p.contains("callback")).count() == 2);
}

#[test]
fn only_handle_rs_turns_pointers_back_into_boxes() {
    let mut in_handle = 0;
    for (file, toks) in sources() {
        let n = box_from_raw(&toks);
        if file.ends_with("src/handle.rs") {
            in_handle += n;
        } else {
            assert_eq!(
                n,
                0,
                "{}: Box::from_raw outside src/handle.rs: use handle::take, free or build",
                file.display()
            );
        }
    }
    assert!(
        in_handle > 0,
        "no Box::from_raw in src/handle.rs: is the scanner broken?"
    );
}

#[test]
fn the_box_scanner_finds_conversions_but_not_mentions() {
    let toks = tokenize(
        r#"
        /// Box::from_raw in a doc comment
        fn g() { let b = Box::from_raw(p); let c = Box::<u8>::from_raw(q); CString::from_raw(r); }
        // Box::from_raw(commented)
        "#,
    );
    assert_eq!(box_from_raw(&toks), 2);
}

#[test]
fn the_enum_scanner_finds_enums_taken_by_value() {
    let toks = tokenize(
        r#"
        /// enum not_this { }
        #[repr(C)]
        #[derive(Clone, Copy)]
        pub enum by_c { A = 1 }
        #[derive(Debug)]
        enum plain { B }
        #[repr(u32)] pub(crate) enum by_u32 { C }
        #[no_mangle]
        pub unsafe extern "C" fn f(a: u32, b: by_c, c: *const by_c, d: crate::x::by_u32,
                                   cb: Option<extern "C" fn(u8, by_c) -> i32>, e: Option<by_c>,
                                   g: plain, h: by_c) -> by_c { ffi_fn!(x) }
        "#,
    );
    let enums: BTreeSet<String> = repr_enums(&toks).into_iter().collect();
    assert_eq!(enums.iter().collect::<Vec<_>>(), ["by_c", "by_u32"]);
    let problems = enum_parameters(&toks, &enums);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("enum by_c") && problems[1].contains("enum by_u32"));
    assert!(problems[2].contains("enum by_c"));
}

#[test]
fn the_scanner_accepts_wrapped_functions() {
    let src = r#"
        /// Docs with extern "C" fn fake() {} inside.
        #[no_mangle]
        pub unsafe extern "C" fn good(p: *mut u8, e: *mut *mut E) -> R {
            ffi_fn!(fallible(e), non_null(p), { let s = "}"; let c = '{'; Ok(x) })
        }
        // extern "C" fn commented_out() {}
        /* extern "C" fn block_commented() { /* nested */ } */
        #[no_mangle]
        pub extern "C" fn also_good<'a>() -> u32 { ffi_fn! { default(0), non_null(), { r"}" ; 1 } } }
        extern "C" { fn imported(); }
    "#;
    let (names, problems) = scan(src);
    assert_eq!(names, ["good", "also_good"]);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn the_scanner_rejects_unwrapped_functions() {
    let cases = [
        "#[no_mangle] pub extern \"C\" fn bare() -> u32 { 1 }",
        "#[no_mangle] pub extern \"C\" fn before() { let x = 1; ffi_fn!(default(()), non_null(), {}) }",
        "#[no_mangle] pub extern \"C\" fn after() { ffi_fn!(default(()), non_null(), {}); drop(1) }",
        "#[no_mangle] pub extern fn implicit_c() { other!() }",
        "#[no_mangle] pub extern \"system\" fn abi() { }",
        "pub extern \"C\" fn no_attribute() { ffi_fn!(default(()), non_null(), {}) }",
        "#[no_mangle] pub static X: u8 = 0;",
        "macro_rules! sneaky { () => {} }",
    ];
    for src in cases {
        let (_, problems) = scan(src);
        assert!(!problems.is_empty(), "not rejected: {src}");
    }
}

#[test]
fn header_prototypes_are_found_but_not_mentions_in_comments() {
    let header = "/** see rha_a_free(x) */\nvoid rha_a_free(struct a *x);\n\
                  // rha_fake(\nrha_result rha_b(\n    int y);\n#define RHA_X (1)\n";
    let names: Vec<String> = header_functions(header).into_iter().collect();
    assert_eq!(names, ["rha_a_free", "rha_b"]);
}
