//! The files of `src/` as the compiler sees them, and the import edges between them: walks the
//! `mod` declarations from `lib.rs` and `main.rs` (following `#[path]`, leaving out what
//! `#[cfg(test)]` pulls in), gives each file its module, then resolves every import and path in
//! code to the file that defines what it names, through `use` re-exports.

use super::scan::{Scan, scan, tokenize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Crate {
    Lib,
    Bin,
}

pub struct SourceFile {
    /// The path from the project root, `src/…`.
    pub name: String,
    pub krate: Crate,
    pub module: Vec<String>,
    pub scan: Scan,
}

/// The non-test files of both crates and the module each one is.
pub struct Tree {
    pub files: Vec<SourceFile>,
    pub modules: HashMap<(Crate, Vec<String>), usize>,
}

fn rust_files(dir: &Path, found: &mut BTreeSet<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.insert(path);
        }
    }
}

pub fn load_tree(root: &Path) -> Tree {
    let src = root.join("src");
    let mut all = BTreeSet::new();
    rust_files(&src, &mut all);
    let name_of = |path: &Path| {
        let relative = path.strip_prefix(root).unwrap_or(path);
        relative.to_string_lossy().replace('\\', "/")
    };
    let mut tree = Tree {
        files: Vec::new(),
        modules: HashMap::new(),
    };
    let mut seen = HashSet::new();
    let mut queue: VecDeque<(PathBuf, Crate, Vec<String>, bool)> = [
        (src.join("lib.rs"), Crate::Lib),
        (src.join("main.rs"), Crate::Bin),
    ]
    .into_iter()
    .filter(|(path, _)| path.is_file())
    .map(|(path, krate)| (path, krate, Vec::new(), false))
    .collect();
    // A file no `mod` reaches is still read, as the module its path names.
    let orphan = |seen: &HashSet<PathBuf>| {
        let orphan = all.iter().find(|p| !seen.contains(*p))?.clone();
        let relative = orphan
            .strip_prefix(&src)
            .unwrap_or(&orphan)
            .with_extension("");
        let mut module: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        if module.last().is_some_and(|last| last == "mod") {
            module.pop();
        }
        Some((orphan, Crate::Lib, module, false))
    };
    while let Some((path, krate, module, test)) = queue.pop_front().or_else(|| orphan(&seen)) {
        if !seen.insert(path.clone()) {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let scan = scan(&tokenize(&text));
        let parent = path.parent().unwrap_or(&src).to_path_buf();
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let mod_rs = matches!(file_name.as_deref(), Some("mod.rs" | "lib.rs" | "main.rs"));
        let dir = if mod_rs {
            parent.clone()
        } else {
            path.with_extension("")
        };
        for decl in &scan.decls {
            let child = match &decl.path_attr {
                Some(attr) => parent.join(attr),
                None if dir.join(format!("{}.rs", decl.name)).is_file() => {
                    dir.join(format!("{}.rs", decl.name))
                }
                None => dir.join(&decl.name).join("mod.rs"),
            };
            let mut child_module = module.clone();
            child_module.push(decl.name.clone());
            queue.push_back((child, krate, child_module, test || decl.test));
        }
        if test || tree.modules.contains_key(&(krate, module.clone())) {
            continue;
        }
        tree.modules
            .insert((krate, module.clone()), tree.files.len());
        tree.files.push(SourceFile {
            name: name_of(&path),
            krate,
            module,
            scan,
        });
    }
    tree
}

impl Tree {
    /// The absolute path `segments` names, written in `file` inside its inline module `scope`.
    fn absolute(
        &self,
        file: &SourceFile,
        scope: &[String],
        segments: &[String],
        aliases: &HashMap<String, (Crate, Vec<String>)>,
    ) -> Option<(Crate, Vec<String>)> {
        let here: Vec<String> = file.module.iter().chain(scope).cloned().collect();
        let first = segments.first()?;
        let (krate, mut base, rest) = match first.as_str() {
            "crate" => (file.krate, Vec::new(), &segments[1..]),
            "graphprof" if file.krate == Crate::Bin => (Crate::Lib, Vec::new(), &segments[1..]),
            "self" => (file.krate, here, &segments[1..]),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                let keep = here.len().checked_sub(ups)?;
                (file.krate, here[..keep].to_vec(), &segments[ups..])
            }
            _ => {
                let mut child = here.clone();
                child.push(first.clone());
                if self.modules.contains_key(&(file.krate, child)) {
                    (file.krate, here, segments)
                } else {
                    let (krate, module) = aliases.get(first)?;
                    (*krate, module.clone(), &segments[1..])
                }
            }
        };
        base.extend(rest.iter().cloned());
        Some((krate, base))
    }

    /// The file defining what an absolute path names, following `use` items of the module file
    /// that holds the name; and whether the path names that module itself.
    fn target(&self, krate: Crate, path: &[String], hops: usize) -> Option<(usize, bool)> {
        let (depth, file) = (0..=path.len())
            .rev()
            .find_map(|k| Some((k, *self.modules.get(&(krate, path[..k].to_vec()))?)))?;
        let Some(name) = path.get(depth) else {
            return Some((file, true));
        };
        let holder = &self.files[file];
        let through = holder
            .scan
            .uses
            .iter()
            .find(|leaf| leaf.scope.is_empty() && leaf.bound.as_ref() == Some(name));
        if let Some(leaf) = through.filter(|_| hops < 8)
            && let Some((krate, mut resolved)) =
                self.absolute(holder, &[], &leaf.path, &HashMap::new())
        {
            resolved.extend(path[depth + 1..].iter().cloned());
            return self.target(krate, &resolved, hops + 1);
        }
        Some((file, false))
    }

    /// Every file-to-file import edge, with one path that makes it.
    pub fn edges(&self) -> BTreeMap<(usize, usize), String> {
        let mut edges = BTreeMap::new();
        for (index, file) in self.files.iter().enumerate() {
            let mut aliases = HashMap::new();
            let mut found = Vec::new();
            for leaf in &file.scan.uses {
                let Some((krate, path)) =
                    self.absolute(file, &leaf.scope, &leaf.path, &HashMap::new())
                else {
                    continue;
                };
                let Some((target, is_module)) = self.target(krate, &path, 0) else {
                    continue;
                };
                if let (Some(bound), true) = (&leaf.bound, is_module) {
                    // A module brought into scope: its uses in code are the edges.
                    let module = &self.files[target];
                    aliases.insert(bound.clone(), (module.krate, module.module.clone()));
                    continue;
                }
                let here: Vec<String> = file.module.iter().chain(&leaf.scope).cloned().collect();
                let into_child = self.files[target].module.len() > here.len()
                    && self.files[target].module.starts_with(&here);
                let used_here = leaf
                    .bound
                    .as_ref()
                    .is_some_and(|bound| file.scan.idents.contains(bound));
                if !(leaf.public && into_child && !used_here) {
                    let glob = if leaf.bound.is_none() { "::*" } else { "" };
                    found.push((target, format!("use {}{glob}", leaf.path.join("::"))));
                }
            }
            for (scope, segments) in &file.scan.paths {
                let Some((krate, path)) = self.absolute(file, scope, segments, &aliases) else {
                    continue;
                };
                if let Some((target, _)) = self.target(krate, &path, 0) {
                    found.push((target, segments.join("::")));
                }
            }
            for (target, why) in found {
                if target != index {
                    edges.entry((index, target)).or_insert(why);
                }
            }
        }
        edges
    }
}
