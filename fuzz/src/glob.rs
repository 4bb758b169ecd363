//! The `glob_match` target: exclusion patterns from untrusted text, checked
//! against an independent reference matcher.

use rha_core::signature::tree::Glob;

/// Longest pattern and path compared with the reference.
const MAX_PATTERN: usize = 64;
const MAX_PATH: usize = 128;

/// `glob_match`: byte 0 is a control byte (bit 0: the entry is a
/// directory), then the pattern (UTF-8), a 0 byte, and the path.
///
/// Checks: [`Glob::new`] and [`Glob::matches`] do not panic; the pattern
/// parses exactly when the reference says it is valid, an error names the
/// pattern; [`Glob::matches`] agrees with [`reference`], a direct
/// backtracking reading of the documented rules over components; matching
/// stays fast on a long path made of the input path repeated (libFuzzer's
/// timeout catches a blow-up).
pub fn glob_match(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let is_dir = control & 1 == 1;
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (pattern, path) = (&rest[..split], rest.get(split + 1..).unwrap_or(&[]));
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return;
    };
    if pattern.len() > MAX_PATTERN || path.len() > MAX_PATH {
        return;
    }
    let glob = Glob::new(pattern);
    let want = reference(pattern.as_bytes(), path, is_dir);
    match (&glob, want) {
        (Ok(g), Some(want)) => {
            assert_eq!(g.as_str(), pattern);
            assert_eq!(
                g.matches(path, is_dir),
                want,
                "{pattern:?} on {:?} (dir: {is_dir})",
                String::from_utf8_lossy(path)
            );
        }
        (Err(e), None) => assert_eq!(e.pattern, pattern, "the error names the pattern"),
        _ => panic!(
            "pattern {pattern:?}: parser says {glob:?}, reference valid: {}",
            want.is_some()
        ),
    }
    // A long path: matching is linear in path × pattern length.
    if let Ok(g) = glob {
        let mut long = Vec::with_capacity(16 << 10);
        while long.len() < 16 << 10 {
            long.extend_from_slice(path);
            long.push(if control & 2 == 0 { b'/' } else { b'a' });
        }
        let _ = g.matches(&long, is_dir);
    }
}

/// The documented rules read directly: `None` if the pattern is invalid,
/// else whether `path` matches. Memoised backtracking: polynomial, for
/// short inputs.
pub(crate) fn reference(pattern: &[u8], path: &[u8], is_dir: bool) -> Option<bool> {
    let mut body = pattern;
    let dir_only = body.len() > 1 && body.ends_with(b"/");
    if dir_only {
        body = &body[..body.len() - 1];
    }
    let anchored = body.contains(&b'/');
    if body.first() == Some(&b'/') {
        body = &body[1..];
    }
    if body.is_empty() {
        return None;
    }
    let comps: Vec<&[u8]> = body.split(|&b| b == b'/').collect();
    for c in &comps {
        if *c != b"**" && !valid_component(c) {
            return None;
        }
    }
    if dir_only && !is_dir {
        return Some(false);
    }
    let subject = if anchored {
        path
    } else {
        let start = path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        &path[start..]
    };
    let segs: Vec<&[u8]> = subject.split(|&b| b == b'/').collect();
    Some(match_comps(&comps, &segs, &mut Memo::new()))
}

type Memo = std::collections::HashMap<(usize, usize), bool>;

/// Whether the components `comps` match the whole of `segs`, memoised on
/// the suffixes left.
fn match_comps(comps: &[&[u8]], segs: &[&[u8]], memo: &mut Memo) -> bool {
    if let Some(&m) = memo.get(&(comps.len(), segs.len())) {
        return m;
    }
    let m = match comps.split_first() {
        None => segs.is_empty(),
        // A final `**`: whatever follows the `/` before it (maybe nothing).
        Some((c, [])) if *c == b"**" => !segs.is_empty(),
        // `**/`: skip any number of whole components.
        Some((c, rest)) if *c == b"**" => {
            (0..=segs.len()).any(|k| match_comps(rest, &segs[k..], memo))
        }
        Some((c, rest)) => {
            segs.first().is_some_and(|s| match_component(c, s))
                && match_comps(rest, &segs[1..], memo)
        }
    };
    memo.insert((comps.len(), segs.len()), m);
    m
}

fn valid_component(c: &[u8]) -> bool {
    if c.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            b'\\' => {
                if i + 1 >= c.len() {
                    return false;
                }
                i += 2;
            }
            b'[' => match class(c, i) {
                Some((_, end)) => i = end,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

/// The class starting at `c[i] == b'['`: whether byte `b` is in it is
/// `.0(b)`; `.1` is the index after its `]`. `None` if invalid.
#[allow(clippy::type_complexity)]
fn class(c: &[u8], i: usize) -> Option<(Box<dyn Fn(u8) -> bool + '_>, usize)> {
    let mut j = i + 1;
    let negated = matches!(c.get(j), Some(b'!' | b'^'));
    if negated {
        j += 1;
    }
    let mut first = true;
    let mut ranges = Vec::new();
    loop {
        let x = *c.get(j)?;
        if x == b']' && !first {
            break;
        }
        first = false;
        match (c.get(j + 1), c.get(j + 2)) {
            (Some(b'-'), Some(&h)) if h != b']' => {
                if h < x {
                    return None;
                }
                ranges.push((x, h));
                j += 3;
            }
            _ => {
                ranges.push((x, x));
                j += 1;
            }
        }
    }
    Some((
        Box::new(move |b| ranges.iter().any(|&(lo, hi)| lo <= b && b <= hi) != negated),
        j + 1,
    ))
}

/// Whether component pattern `c` matches the whole of `s` (no `/` in
/// either), by backtracking on `*`, memoised on the suffixes left.
fn match_component(c: &[u8], s: &[u8]) -> bool {
    let mut memo = std::collections::HashMap::new();
    match_suffix(c, s, &mut memo)
}

fn match_suffix(
    c: &[u8],
    s: &[u8],
    memo: &mut std::collections::HashMap<(usize, usize), bool>,
) -> bool {
    if let Some(&m) = memo.get(&(c.len(), s.len())) {
        return m;
    }
    let m = match c.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|k| match_suffix(&c[1..], &s[k..], memo)),
        Some(b'?') => !s.is_empty() && match_suffix(&c[1..], &s[1..], memo),
        Some(b'\\') => s.first() == c.get(1) && match_suffix(&c[2..], &s[1..], memo),
        Some(b'[') => {
            let (is_in, end) = class(c, 0).expect("validated");
            s.first().is_some_and(|&b| is_in(b)) && match_suffix(&c[end..], &s[1..], memo)
        }
        Some(x) => s.first() == Some(x) && match_suffix(&c[1..], &s[1..], memo),
    };
    memo.insert((c.len(), s.len()), m);
    m
}

#[cfg(test)]
pub(crate) mod seeds {
    /// (name, input) pairs: every kind of token, valid and invalid
    /// patterns, and pathological star patterns.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let cases: &[(&str, u8, &str, &str)] = &[
            ("basename", 0, "*.tmp", "x/y/a.tmp"),
            ("question", 0, "?.c", "d/a.c"),
            ("class", 0, "[a-c]x", "bx"),
            ("class-negated", 0, "[!a-c]x", "dx"),
            ("class-bracket", 0, "[]]", "]"),
            ("escape", 0, "\\*", "*"),
            ("anchored", 0, "build/*.o", "build/x.o"),
            ("leading-slash", 1, "/cache", "cache"),
            ("dirs", 0, "a/**/z", "a/b/c/z"),
            ("dirs-first", 0, "**/z", "q/z"),
            ("rest", 0, "a/**", "a/b/c"),
            ("dir-only", 1, "node_modules/", "x/node_modules"),
            ("dir-only-file", 0, "node_modules/", "x/node_modules"),
            (
                "stars",
                2,
                "*a*a*a*a*a*a*a*a*a*a*a*a*b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
            ("dirs-many", 0, "**/**/**/**/**/x", "a/b/c/d/e/f/g/h/y"),
            ("bad-empty", 0, "", "a"),
            ("bad-slash", 0, "/", "a"),
            ("bad-empty-component", 0, "a//b", "a/b"),
            ("bad-class", 0, "[abc", "a"),
            ("bad-escape", 0, "x\\", "x"),
            ("bad-range", 0, "[z-a]", "a"),
        ];
        cases
            .iter()
            .map(|&(name, control, pattern, path)| {
                let mut v = vec![control];
                v.extend_from_slice(pattern.as_bytes());
                v.push(0);
                v.extend_from_slice(path.as_bytes());
                (name.to_owned(), v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_agrees_on_the_documented_examples() {
        for (pattern, path, dir, want) in [
            ("*.tmp", "deep/down/x.tmp", false, true),
            ("src/**/gen", "src/gen", true, true),
            ("src/**/gen", "src/a/b/gen", true, true),
            ("src/**/gen", "lib/src/gen", true, false),
            ("a/**", "ab/c", false, false),
        ] {
            assert_eq!(
                super::reference(pattern.as_bytes(), path.as_bytes(), dir),
                Some(want)
            );
        }
    }
}
