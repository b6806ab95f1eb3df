//! The files a budget's `glob` names, found by a walk that stops after a bounded number of folder
//! entries: `glob = "/**/*.json"` must end with an error, not walk the whole file system. The
//! pattern is matched one path component at a time, as the `glob` crate does (a literal component
//! is joined without listing its folder, `**` descends into every folder, symlinks included, and
//! `*` also matches names starting with a dot), so only the folders a component can match are read.

use glob::Pattern;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Folder entries one glob may read before its walk stops with [`GlobError::TooManyEntries`].
pub const MAX_GLOB_ENTRIES: usize = 100_000;

/// Why a glob gave no files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobError {
    /// The pattern is not a valid glob.
    Invalid(String),
    /// The walk read more than the limit of folder entries.
    TooManyEntries(usize),
}

/// Every path matching `pattern`, sorted, reading at most `limit` folder entries. The files are
/// those the `glob` crate finds; of the folders, `a/**` also yields `a`.
pub fn matching_paths(pattern: &str, limit: usize) -> Result<BTreeSet<PathBuf>, GlobError> {
    Pattern::new(pattern).map_err(|error| GlobError::Invalid(error.to_string()))?;
    let components: Vec<&str> = pattern
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let root = if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    };
    let mut read = 0usize;
    let mut count = || {
        read += 1;
        if read > limit {
            Err(GlobError::TooManyEntries(limit))
        } else {
            Ok(())
        }
    };
    let mut found = BTreeSet::new();
    let mut todo = vec![(root, 0usize)];
    while let Some((path, index)) = todo.pop() {
        let Some(&component) = components.get(index) else {
            found.insert(path);
            continue;
        };
        if component == "**" {
            todo.push((path.clone(), index + 1));
            for entry in entries(&path) {
                count()?;
                let child = path.join(entry.file_name());
                if child.is_dir() {
                    todo.push((child, index));
                }
            }
        } else if !component.contains(['*', '?', '[']) {
            count()?;
            let child = path.join(component);
            if child.symlink_metadata().is_ok() {
                todo.push((child, index + 1));
            }
        } else {
            let Ok(matcher) = Pattern::new(component) else {
                continue;
            };
            for entry in entries(&path) {
                count()?;
                let name = entry.file_name();
                if name.to_str().is_some_and(|name| matcher.matches(name)) {
                    todo.push((path.join(name), index + 1));
                }
            }
        }
    }
    Ok(found)
}

/// The entries of a folder (`.` for the empty path); none when it cannot be read.
fn entries(path: &Path) -> impl Iterator<Item = std::fs::DirEntry> {
    let folder = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "a.json",
            ".hidden.json",
            "g/b.json",
            "g/c.txt",
            "g/deep/d.json",
            "g/deep/er/e.json",
            "h[1]/f.json",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "{}").unwrap();
        }
        dir
    }

    #[test]
    fn matches_what_the_glob_crate_matches() {
        let dir = tree();
        let base = Pattern::escape(dir.path().to_str().unwrap());
        for pattern in [
            "*.json",
            "g/*.json",
            "g/**/*.json",
            "**/*.json",
            "g/**",
            "g/?.json",
            "g/[bc].*",
            "./g/../a.json",
            "g/deep/*/e.json",
            "[h][[]1[]]/*.json",
            "nothing/*.json",
        ] {
            let full = format!("{base}/{pattern}");
            let walked = matching_paths(&full, MAX_GLOB_ENTRIES).unwrap();
            let expected: BTreeSet<PathBuf> =
                glob::glob(&full).unwrap().filter_map(Result::ok).collect();
            // Files only: the budget keeps files (`g/**` alone names folders, g/ itself aside).
            let clean = |set: &BTreeSet<PathBuf>| -> BTreeSet<PathBuf> {
                set.iter()
                    .filter(|p| p.is_file())
                    .map(|p| super::super::baseline::clean(p))
                    .collect()
            };
            assert_eq!(clean(&walked), clean(&expected), "{pattern}");
        }
    }

    #[test]
    fn a_walk_stops_after_the_limit() {
        let dir = tree();
        let full = format!(
            "{}/**/*.json",
            Pattern::escape(dir.path().to_str().unwrap())
        );
        assert_eq!(matching_paths(&full, 100).unwrap().len(), 6);
        assert_eq!(matching_paths(&full, 5), Err(GlobError::TooManyEntries(5)));
        assert!(matches!(
            matching_paths("a/**b", 5),
            Err(GlobError::Invalid(_))
        ));
    }
}
