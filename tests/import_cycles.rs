//! No import circle between source files. Reads every `src/**/*.rs`, builds the file-level import
//! graph and fails, naming each circle, if a strongly connected component holds more than one file.
//!
//! An edge runs from a file to the file that defines what it imports: `use crate::…`,
//! `use super::…`, `use self::…`, a child module's name used from its parent, and the same paths in
//! code (`super::x::f()`, `crate::x::Y`, `graphprof::x::Y` in the binary). A name imported from a
//! module file is an edge to that file, or, when that file only re-exports it (`pub use`), to the
//! file the re-export points at. `mod foo;` is containment, not an import; `#[cfg(test)]` items and
//! the files they pull in (`mod tests;`) are left out. A parent's `pub use child::X` is a
//! re-export and no edge, unless the parent's own code uses `X`: a parent that takes names from a
//! child whose file takes names from the parent is a circle like any other.

#[path = "import_cycles/scan.rs"]
mod scan;
#[path = "import_cycles/tree.rs"]
mod tree;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use tree::load_tree;

/// Strongly connected components (Tarjan), each as sorted file indices.
fn components(count: usize, edges: &BTreeMap<(usize, usize), String>) -> Vec<Vec<usize>> {
    struct State {
        next: Vec<Vec<usize>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        counter: usize,
        found: Vec<Vec<usize>>,
    }
    fn visit(state: &mut State, v: usize) {
        state.index[v] = Some(state.counter);
        state.low[v] = state.counter;
        state.counter += 1;
        state.stack.push(v);
        state.on_stack[v] = true;
        for w in state.next[v].clone() {
            match state.index[w] {
                None => {
                    visit(state, w);
                    state.low[v] = state.low[v].min(state.low[w]);
                }
                Some(index) if state.on_stack[w] => state.low[v] = state.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(state.low[v]) == state.index[v] {
            let mut component = Vec::new();
            while let Some(w) = state.stack.pop() {
                state.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort_unstable();
            state.found.push(component);
        }
    }
    let mut next = vec![Vec::new(); count];
    for &(from, to) in edges.keys() {
        next[from].push(to);
    }
    let mut state = State {
        next,
        index: vec![None; count],
        low: vec![0; count],
        on_stack: vec![false; count],
        stack: Vec::new(),
        counter: 0,
        found: Vec::new(),
    };
    for v in 0..count {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.found
}

/// The shortest way from `start` back to itself inside `component`.
fn shortest_circle(
    start: usize,
    component: &[usize],
    edges: &BTreeMap<(usize, usize), String>,
) -> Vec<usize> {
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &(_, w) in edges.range((v, 0)..=(v, usize::MAX)).map(|(k, _)| k) {
            if !component.contains(&w) || came_from.contains_key(&w) {
                continue;
            }
            came_from.insert(w, v);
            if w == start {
                let mut circle = vec![start];
                let mut at = v;
                while at != start {
                    circle.push(at);
                    at = came_from[&at];
                }
                circle.push(start);
                circle.reverse();
                return circle;
            }
            queue.push_back(w);
        }
    }
    vec![start]
}

/// One import circle: its files, sorted, and what to read when it fails.
struct Circle {
    files: Vec<String>,
    /// Its files, a shortest way round, and every edge between its files with the path that
    /// makes it.
    description: String,
}

/// Each import circle under `root/src`.
fn circles(root: &Path) -> Vec<Circle> {
    let tree = load_tree(root);
    let edges = tree.edges();
    let name = |v: usize| tree.files[v].name.clone();
    let mut found: Vec<Circle> = components(tree.files.len(), &edges)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let round = shortest_circle(component[0], &component, &edges);
            let mut files: Vec<String> = component.iter().map(|&v| name(v)).collect();
            files.sort();
            let round: Vec<String> = round.iter().map(|&v| name(v)).collect();
            let mut description = format!(
                "{} files: {}\n  circle: {}\n",
                files.len(),
                files.join(", "),
                round.join(" -> ")
            );
            for (&(from, to), why) in &edges {
                if component.contains(&from) && component.contains(&to) {
                    description.push_str(&format!("    {} -> {}: {why}\n", name(from), name(to)));
                }
            }
            Circle { files, description }
        })
        .collect();
    found.sort_by(|a, b| a.files.cmp(&b.files));
    found
}

#[test]
fn no_import_circle_between_source_files() {
    let found = circles(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        found.is_empty(),
        "{} import circle(s) between files: move what two files share to the one that owns it, \
         or to a small module both use\n{}",
        found.len(),
        found
            .iter()
            .map(|circle| circle.description.as_str())
            .collect::<String>()
    );
}

/// The circles of a small tree written to a temporary directory, as lists of file names.
fn circles_in(files: &[(&str, &str)]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(&path, text).expect("a written file");
    }
    circles(dir.path())
        .into_iter()
        .map(|circle| circle.files)
        .collect()
}

const LIB: (&str, &str) = ("src/lib.rs", "pub mod m;\n");
const MOD: (&str, &str) = ("src/m/mod.rs", "pub mod a;\npub mod b;\npub mod c;\n");

#[test]
fn the_checker_finds_names_taken_both_ways_by_use_and_by_path() {
    let a = ("src/m/a.rs", "use super::b::B;\npub struct A;\n");
    let b = ("src/m/b.rs", "pub struct B;\nfn f() { super::a::A; }\n");
    let c = ("src/m/c.rs", "pub fn c() {}\n");
    assert_eq!(
        circles_in(&[LIB, MOD, a, b, c]),
        [["src/m/a.rs", "src/m/b.rs"]]
    );
    // Three files around, through crate:: paths and a grouped use.
    let a = ("src/m/a.rs", "use crate::m::{b::{B}};\npub struct A;\n");
    let b = (
        "src/m/b.rs",
        "pub struct B;\nfn f() { crate::m::c::c(); }\n",
    );
    let c = ("src/m/c.rs", "use super::a;\npub fn c() { a::A; }\n");
    assert_eq!(
        circles_in(&[LIB, MOD, a, b, c]),
        [["src/m/a.rs", "src/m/b.rs", "src/m/c.rs"]]
    );
}

#[test]
fn the_checker_ignores_tests_comments_strings_and_declarations() {
    let a = (
        "src/m/a.rs",
        "//! Uses super::b::B in prose.\npub struct A;\nconst S: &str = \"super::b::B\";\n\
         /* super::b::B */\n#[cfg(test)]\nmod tests {\n    use super::super::b::B;\n}\n\
         #[cfg(test)]\n#[path = \"a_tests.rs\"]\nmod more;\n",
    );
    let tests = ("src/m/a_tests.rs", "use crate::m::b::B;\n");
    let b = ("src/m/b.rs", "pub struct B;\nuse super::a::A;\n");
    let c = ("src/m/c.rs", "fn f() -> char { '{' }\n");
    assert!(circles_in(&[LIB, MOD, a, tests, b, c]).is_empty());
}

#[test]
fn the_checker_tells_a_re_export_from_a_parent_that_takes_names() {
    // The parent re-exports a child's name and the child takes one of the parent's: no circle.
    let parent = (
        "src/m/mod.rs",
        "pub mod a;\npub mod b;\npub use a::A;\npub struct Shared;\n",
    );
    let a = ("src/m/a.rs", "use super::Shared;\npub struct A;\n");
    let b = ("src/m/b.rs", "use super::A;\n");
    assert!(circles_in(&[LIB, parent, a, b]).is_empty());
    // A name imported through the parent's re-export is an edge to the file that defines it.
    let a = (
        "src/m/a.rs",
        "use super::Shared;\nuse super::B;\npub struct A;\n",
    );
    let b = ("src/m/b.rs", "use super::A;\npub struct B;\n");
    let parent = (
        "src/m/mod.rs",
        "pub mod a;\npub mod b;\npub use a::A;\npub use b::B;\npub struct Shared;\n",
    );
    assert_eq!(
        circles_in(&[LIB, parent, a, b]),
        [["src/m/a.rs", "src/m/b.rs"]]
    );
    // The parent's own code calls into the child, and the child takes the parent's name.
    for parent in [
        "pub mod a;\npub mod b;\npub struct Shared;\nfn run() { a::run(); }\n",
        "pub mod a;\npub mod b;\npub use a::run;\npub struct Shared;\nfn go() { run(); }\n",
    ] {
        let a = ("src/m/a.rs", "use super::Shared;\npub fn run() {}\n");
        let b = ("src/m/b.rs", "\n");
        assert_eq!(
            circles_in(&[LIB, ("src/m/mod.rs", parent), a, b]),
            [["src/m/a.rs", "src/m/mod.rs"]]
        );
    }
}

#[test]
fn the_checker_follows_the_binary_into_its_own_modules() {
    let main = ("src/main.rs", "mod cli;\nmod commands;\n");
    let cli = ("src/cli.rs", "pub struct Args;\n");
    let commands = (
        "src/commands/mod.rs",
        "mod one;\nmod two;\nuse crate::cli::Args;\n",
    );
    let one = (
        "src/commands/one.rs",
        "use super::two::shared;\nuse graphprof::m::a::A;\npub fn run() {}\n",
    );
    let two = (
        "src/commands/two.rs",
        "pub fn shared() { super::one::run() }\n",
    );
    let a = ("src/m/a.rs", "pub struct A;\n");
    let m = ("src/m/mod.rs", "pub mod a;\n");
    assert_eq!(
        circles_in(&[LIB, m, a, main, cli, commands, one, two]),
        [["src/commands/one.rs", "src/commands/two.rs"]]
    );
}
