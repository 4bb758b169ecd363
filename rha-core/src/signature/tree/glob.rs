//! Exclusion patterns: a small glob matcher over relative paths.
//!
//! Hand-written rather than a dependency: the rules below are all sync
//! needs, they match in time linear in path × pattern length and memory linear in
//! the path, without recursion, and
//! the core stays free of a regex engine.

use super::error::GlobError;

/// The most tokens a pattern may have.
const MAX_TOKENS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(u8),
    /// `?`: one byte other than `/`.
    One,
    /// `[...]`: one byte other than `/` in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
    /// `*`: any bytes other than `/`.
    Star,
    /// `**/`: zero or more whole components, each with its `/`.
    Dirs,
    /// A final `**`: anything.
    Rest,
}

/// An exclusion pattern.
///
/// - A pattern without `/` matches the last component of a path at any
///   depth: `*.tmp` excludes `a.tmp` and `x/y/b.tmp`.
/// - A pattern with `/` matches the whole relative path from the root (a
///   leading `/` is allowed and ignored): `build/*.o`, `/cache`.
/// - A trailing `/` matches directories only: `node_modules/`.
/// - `*` matches within one component, `?` one byte, `[a-z]`/`[!a-z]` one
///   byte of a class, `**` as a whole component any number of components,
///   `\` escapes the next byte.
///
/// Excluding a directory excludes everything inside it.
///
/// ```
/// use rha_core::signature::tree::Glob;
///
/// let g = Glob::new("*.tmp")?;
/// assert!(g.matches(b"deep/down/x.tmp", false));
/// let g = Glob::new("src/**/gen")?;
/// assert!(g.matches(b"src/gen", true) && g.matches(b"src/a/b/gen", true));
/// assert!(!g.matches(b"lib/src/gen", true));
/// # Ok::<(), rha_core::signature::tree::GlobError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    tokens: Vec<Token>,
    anchored: bool,
    dir_only: bool,
}

impl Glob {
    /// Parses `pattern`.
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        let err = |reason| GlobError {
            pattern: pattern.to_owned(),
            reason,
        };
        let mut body = pattern.as_bytes();
        let dir_only = body.len() > 1 && body.ends_with(b"/");
        if dir_only {
            body = &body[..body.len() - 1];
        }
        let anchored = body.contains(&b'/');
        if body.first() == Some(&b'/') {
            body = &body[1..];
        }
        if body.is_empty() {
            return Err(err("the pattern is empty"));
        }
        let comps: Vec<&[u8]> = body.split(|&b| b == b'/').collect();
        let mut tokens = Vec::new();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            if *comp == b"**" {
                tokens.push(if last { Token::Rest } else { Token::Dirs });
                continue;
            }
            if comp.is_empty() {
                return Err(err("the pattern has an empty component"));
            }
            parse_component(comp, &mut tokens).map_err(err)?;
            if !last {
                tokens.push(Token::Lit(b'/'));
            }
            if tokens.len() > MAX_TOKENS {
                return Err(err("the pattern is too long"));
            }
        }
        Ok(Self {
            pattern: pattern.to_owned(),
            tokens,
            anchored,
            dir_only,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the entry at `path` (a directory if `is_dir`) matches.
    pub fn matches(&self, path: &[u8], is_dir: bool) -> bool {
        if self.dir_only && !is_dir {
            return false;
        }
        let subject = if self.anchored {
            path
        } else {
            let start = path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
            &path[start..]
        };
        // Positions of `subject` each token may start at, token by token:
        // time linear in path × pattern length, memory linear in the path,
        // no recursion.
        let n = subject.len();
        let mut cur = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        cur[0] = true;
        for tok in &self.tokens {
            next.fill(false);
            let mut any = false;
            match tok {
                Token::Lit(c) => {
                    for p in 0..n {
                        next[p + 1] = cur[p] && subject[p] == *c;
                    }
                }
                Token::One => {
                    for p in 0..n {
                        next[p + 1] = cur[p] && subject[p] != b'/';
                    }
                }
                Token::Class { negated, ranges } => {
                    for p in 0..n {
                        let b = subject[p];
                        next[p + 1] = cur[p]
                            && b != b'/'
                            && ranges.iter().any(|&(lo, hi)| lo <= b && b <= hi) != *negated;
                    }
                }
                Token::Star => {
                    // From a start, on over any bytes other than `/`.
                    let mut run = false;
                    for p in 0..=n {
                        run = cur[p] || (run && subject[p - 1] != b'/');
                        next[p] = run;
                    }
                }
                Token::Rest => {
                    // From a start, on over anything.
                    for p in 0..=n {
                        any |= cur[p];
                        next[p] = any;
                    }
                }
                Token::Dirs => {
                    // Zero components, or on to just after any later `/`.
                    for p in 0..=n {
                        next[p] = cur[p] || (p > 0 && subject[p - 1] == b'/' && any);
                        any |= cur[p];
                    }
                }
            }
            if !next.contains(&true) {
                return false;
            }
            std::mem::swap(&mut cur, &mut next);
        }
        cur[n]
    }
}

fn parse_component(comp: &[u8], tokens: &mut Vec<Token>) -> Result<(), &'static str> {
    let mut i = 0;
    while i < comp.len() {
        match comp[i] {
            b'*' => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            b'?' => tokens.push(Token::One),
            b'\\' => {
                i += 1;
                let c = *comp.get(i).ok_or("the pattern ends with a lone '\\'")?;
                tokens.push(Token::Lit(c));
            }
            b'[' => {
                let mut j = i + 1;
                let negated = matches!(comp.get(j), Some(b'!' | b'^'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = *comp.get(j).ok_or("a '[' class is not closed")?;
                    if c == b']' && !first {
                        break;
                    }
                    first = false;
                    if comp.get(j + 1) == Some(&b'-') && comp.get(j + 2).is_some_and(|&h| h != b']')
                    {
                        let hi = comp[j + 2];
                        if hi < c {
                            return Err("a class range runs backwards");
                        }
                        ranges.push((c, hi));
                        j += 3;
                    } else {
                        ranges.push((c, c));
                        j += 1;
                    }
                }
                tokens.push(Token::Class { negated, ranges });
                i = j;
            }
            c => tokens.push(Token::Lit(c)),
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str, dir: bool) -> bool {
        Glob::new(pattern).unwrap().matches(path.as_bytes(), dir)
    }

    #[test]
    fn basename_patterns_match_at_any_depth() {
        assert!(m("*.tmp", "a.tmp", false));
        assert!(m("*.tmp", "x/y/a.tmp", false));
        assert!(!m("*.tmp", "a.tmp/x", false));
        assert!(m("?.c", "d/a.c", false));
        assert!(!m("?.c", "ab.c", false));
        assert!(m("[a-c]x", "bx", false));
        assert!(!m("[!a-c]x", "bx", false));
        assert!(m("[]]", "]", false));
        assert!(m("\\*", "*", false));
        assert!(!m("\\*", "a", false));
    }

    #[test]
    fn anchored_patterns_match_the_whole_path() {
        assert!(m("build/*.o", "build/x.o", false));
        assert!(!m("build/*.o", "src/build/x.o", false));
        assert!(!m("build/*.o", "build/sub/x.o", false));
        assert!(m("/cache", "cache", true));
        assert!(m("a/**/z", "a/z", false));
        assert!(m("a/**/z", "a/b/c/z", false));
        assert!(!m("a/**/z", "a/bz", false));
        assert!(m("**/z", "z", false));
        assert!(m("**/z", "q/z", false));
        assert!(m("a/**", "a/b/c", false));
        assert!(!m("a/**", "ab/c", false));
    }

    #[test]
    fn directory_only_patterns() {
        assert!(m("node_modules/", "x/node_modules", true));
        assert!(!m("node_modules/", "x/node_modules", false));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for p in ["", "/", "a//b", "[abc", "x\\", "[z-a]"] {
            let e = Glob::new(p).unwrap_err();
            assert_eq!(e.pattern, p);
        }
        assert_eq!(
            Glob::new("[ab").unwrap_err().to_string(),
            "invalid glob pattern \"[ab\": a '[' class is not closed"
        );
    }

    #[test]
    fn many_stars_stay_fast() {
        let g = Glob::new(&"*a".repeat(50)).unwrap();
        let path = "a".repeat(4000) + "b";
        assert!(!g.matches(path.as_bytes(), false));
    }
}
