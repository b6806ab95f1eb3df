//! Reads a Rust source as far as its imports go: tokens without comments, char literals and
//! lifetimes (string literals kept whole, so their text is never taken for a path), then the
//! `mod` declarations, the names each `use` binds and the paths in code, leaving out every
//! `#[cfg(test)]` or `#[test]` item.

use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

/// Tokens of a Rust source, without comments, numbers, char literals and lifetimes; string
/// literals are kept whole (their text is never mistaken for a path).
pub fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while chars.get(i).is_some_and(|&c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                match (chars[i], chars.get(i + 1).copied()) {
                    ('/', Some('*')) => (depth, i) = (depth + 1, i + 2),
                    ('*', Some('/')) => (depth, i) = (depth - 1, i + 2),
                    _ => i += 1,
                }
                if depth == 0 {
                    break;
                }
            }
        } else if let Some((end, body)) = string_literal(&chars, i) {
            tokens.push(Tok::Str(body));
            i = end;
        } else if c == '\'' {
            i = if next == Some('\\') {
                let mut j = i + 3;
                while chars.get(j).is_some_and(|&c| c != '\'') {
                    j += 1;
                }
                j + 1
            } else if chars.get(i + 2) == Some(&'\'') {
                i + 3
            } else {
                let mut j = i + 1;
                while chars.get(j).is_some_and(|&c| is_ident(c)) {
                    j += 1;
                }
                j
            };
        } else if c.is_ascii_digit() {
            while chars.get(i).is_some_and(|&c| is_ident(c)) {
                i += 1;
            }
        } else if is_ident(c) {
            if c == 'r' && next == Some('#') && chars.get(i + 2).is_some_and(|&c| is_ident(c)) {
                i += 2; // a raw identifier, r#name
            }
            let start = i;
            while chars.get(i).is_some_and(|&c| is_ident(c)) {
                i += 1;
            }
            tokens.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && next == Some(':') {
            tokens.push(Tok::PathSep);
            i += 2;
        } else {
            tokens.push(Tok::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// A string literal starting at `start` (`"…"`, `r#"…"#`, `b"…"`, `br"…"`, `c"…"`): where it
/// ends and its text.
fn string_literal(chars: &[char], start: usize) -> Option<(usize, String)> {
    let mut i = start;
    if matches!(chars.get(i), Some('b' | 'c')) {
        i += 1;
    }
    let raw = chars.get(i) == Some(&'r');
    if raw {
        i += 1;
    }
    let mut hashes = 0;
    while raw && chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    if chars.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    let mut body = String::new();
    while let Some(&c) = chars.get(i) {
        if !raw && c == '\\' {
            body.extend(chars.get(i..i + 2).unwrap_or_default());
            i += 2;
        } else if c == '"' && (0..hashes).all(|h| chars.get(i + 1 + h) == Some(&'#')) {
            return Some((i + 1 + hashes, body));
        } else {
            body.push(c);
            i += 1;
        }
    }
    Some((chars.len(), body))
}

/// An out-of-line `mod name;` declaration.
pub struct Decl {
    pub name: String,
    pub path_attr: Option<String>,
    pub test: bool,
}

/// One name a `use` brings in: its path as written and the name it binds (`None` for a glob).
pub struct UseLeaf {
    pub scope: Vec<String>,
    pub path: Vec<String>,
    pub bound: Option<String>,
    pub public: bool,
}

/// What a file declares, imports and names in its (non-test) code.
#[derive(Default)]
pub struct Scan {
    pub decls: Vec<Decl>,
    pub uses: Vec<UseLeaf>,
    /// Paths in code (`a::b::c`), with the inline module they sit in.
    pub paths: Vec<(Vec<String>, Vec<String>)>,
    /// Every identifier in code outside `use` items.
    pub idents: HashSet<String>,
}

fn ident(token: Option<&Tok>) -> Option<&str> {
    match token {
        Some(Tok::Ident(word)) => Some(word),
        _ => None,
    }
}

/// The index of the bracket closing the one at `open`.
fn matching(tokens: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct('}' | ')' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    tokens.len().saturating_sub(1)
}

/// The index just past the item starting at `start`: its `;` or its closing brace.
fn end_of_item(tokens: &[Tok], start: usize) -> usize {
    let mut depth = 0usize;
    for (k, token) in tokens.iter().enumerate().skip(start) {
        match token {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct(close @ ('}' | ')' | ']')) => {
                depth = depth.saturating_sub(1);
                if depth == 0 && *close == '}' {
                    return k + 1;
                }
            }
            Tok::Punct(';') if depth == 0 => return k + 1,
            _ => {}
        }
    }
    tokens.len()
}

/// Reads one use tree at `j` under `prefix` into `leaves`; returns the index past it.
fn use_tree(
    tokens: &[Tok],
    mut j: usize,
    prefix: Vec<String>,
    leaves: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    match tokens.get(j) {
        Some(Tok::Punct('{')) => {
            j += 1;
            loop {
                match tokens.get(j) {
                    Some(Tok::Punct('}')) => return j + 1,
                    Some(Tok::Punct(',')) => j += 1,
                    None => return j,
                    _ => j = use_tree(tokens, j, prefix.clone(), leaves),
                }
            }
        }
        Some(Tok::Punct('*')) => {
            leaves.push((prefix, None));
            j + 1
        }
        Some(Tok::Ident(name)) => {
            let mut path = prefix;
            if name != "self" || path.is_empty() {
                path.push(name.clone());
            }
            j += 1;
            if tokens.get(j) == Some(&Tok::PathSep) {
                return use_tree(tokens, j + 1, path, leaves);
            }
            let mut bound = path.last().cloned().unwrap_or_default();
            if ident(tokens.get(j)) == Some("as") {
                if let Some(alias) = ident(tokens.get(j + 1)) {
                    bound = alias.to_string();
                }
                j += 2;
            }
            leaves.push((path, Some(bound)));
            j
        }
        _ => j + 1,
    }
}

pub fn scan(tokens: &[Tok]) -> Scan {
    let mut out = Scan::default();
    let mut scope: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let (mut test_item, mut path_attr) = (false, None::<String>);
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == Tok::Punct('#') {
            let inner = tokens.get(i + 1) == Some(&Tok::Punct('!'));
            let open = if inner { i + 2 } else { i + 1 };
            if tokens.get(open) == Some(&Tok::Punct('[')) {
                let close = matching(tokens, open);
                let body = &tokens[open + 1..close];
                let has = |word: &str| body.iter().any(|t| ident(Some(t)) == Some(word));
                match ident(body.first()) {
                    Some("test") if !inner => test_item = true,
                    Some("cfg") if !inner && has("test") && !has("not") => test_item = true,
                    Some("path") if !inner => {
                        path_attr = body.iter().find_map(|t| match t {
                            Tok::Str(text) => Some(text.clone()),
                            _ => None,
                        })
                    }
                    _ => {}
                }
                i = close + 1;
                continue;
            }
        }
        let item = match (ident(tokens.get(i)), tokens.get(i + 1)) {
            (Some("pub"), Some(Tok::Punct('('))) => matching(tokens, i + 1) + 1,
            (Some("pub"), _) => i + 1,
            _ => i,
        };
        let module_decl = match (ident(tokens.get(item)), ident(tokens.get(item + 1))) {
            (Some("mod"), Some(name)) => Some((name.to_string(), tokens.get(item + 2))),
            _ => None,
        };
        if test_item {
            if let Some((name, Some(Tok::Punct(';')))) = module_decl {
                out.decls.push(Decl {
                    name,
                    path_attr: path_attr.take(),
                    test: true,
                });
            }
            i = end_of_item(tokens, i);
            (test_item, path_attr) = (false, None);
            continue;
        }
        match module_decl {
            Some((name, Some(Tok::Punct(';')))) => {
                out.decls.push(Decl {
                    name,
                    path_attr: path_attr.take(),
                    test: false,
                });
                i = item + 3;
                continue;
            }
            Some((name, Some(Tok::Punct('{')))) => {
                scope.push((name, depth));
                depth += 1;
                i = item + 3;
                continue;
            }
            _ => {}
        }
        let current: Vec<String> = scope.iter().map(|(name, _)| name.clone()).collect();
        if ident(tokens.get(item)) == Some("use") {
            let mut j = item + 1;
            if tokens.get(j) == Some(&Tok::PathSep) {
                j += 1;
            }
            let mut leaves = Vec::new();
            j = use_tree(tokens, j, Vec::new(), &mut leaves);
            for (path, bound) in leaves {
                out.uses.push(UseLeaf {
                    scope: current.clone(),
                    path,
                    bound,
                    public: item > i,
                });
            }
            while tokens.get(j).is_some_and(|t| *t != Tok::Punct(';')) {
                j += 1;
            }
            (i, path_attr) = (j + 1, None);
            continue;
        }
        match &tokens[i] {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if scope.last().is_some_and(|(_, open)| *open == depth) {
                    scope.pop();
                }
            }
            Tok::Ident(word) => {
                out.idents.insert(word.clone());
                let after_sep = i > 0 && tokens[i - 1] == Tok::PathSep;
                if tokens.get(i + 1) == Some(&Tok::PathSep) && !after_sep {
                    let mut segments = vec![word.clone()];
                    let mut j = i + 1;
                    while tokens.get(j) == Some(&Tok::PathSep) {
                        let Some(next) = ident(tokens.get(j + 1)) else {
                            break;
                        };
                        out.idents.insert(next.to_string());
                        segments.push(next.to_string());
                        j += 2;
                    }
                    out.paths.push((current, segments));
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}
