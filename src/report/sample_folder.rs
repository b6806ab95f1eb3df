//! The output folder of `graphprof sample`: which folders it may write into, and which files it
//! may remove there. graphprof lists the files it wrote in a manifest, `.graphprof-files` (one
//! name a line), and only ever removes a file that an earlier run listed there and this run did
//! not write again (a stale plot). A folder is graphprof's when it is empty, holds a manifest,
//! or holds only names graphprof writes (a folder from a version before the manifest); any other
//! non-empty folder is refused unless forced, and even then nothing in it is removed that
//! graphprof did not write.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = ".graphprof-files";

/// Names graphprof writes into a sample folder (before the manifest existed, too).
const KNOWN: [&str; 16] = [
    MANIFEST,
    "report.json",
    "samples.csv",
    "samples.live.csv",
    "memory.png",
    "memory.svg",
    "process.png",
    "process.svg",
    "rss.png",
    "rss.svg",
    "managed.png",
    "managed.svg",
    "dask-managed.png",
    "dask-managed.svg",
    "sweep.png",
    "sweep.svg",
];

/// What can stop graphprof from using a folder.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// `-o -`: sample writes a folder, not a stream.
    #[error(
        "-o takes a folder, not `-`: for the table as data on stdout, use --export-json -, --export-csv - or --export-markdown -"
    )]
    Stdout,
    /// The folder holds files graphprof did not write.
    #[error(
        "{}: the folder is not empty and graphprof did not write it ({}); choose another folder, or --force to write beside those files (they are kept)",
        path.display(), example
    )]
    Foreign {
        /// The folder.
        path: PathBuf,
        /// One file graphprof did not write.
        example: String,
    },
    /// The path exists and is not a folder.
    #[error("{}: not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// The folder could not be read or created.
    #[error("{}: {action}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// What failed.
        action: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A folder graphprof may write into, with what its earlier runs wrote there.
#[derive(Debug, Clone)]
pub struct SampleFolder {
    /// The folder.
    pub path: PathBuf,
    /// Files an earlier run listed in the manifest (or known names, without a manifest).
    earlier: BTreeSet<String>,
}

fn is_known(name: &str) -> bool {
    // `.graphprof-*` are the temporary files of atomic writes a killed run may leave.
    KNOWN.contains(&name) || name.starts_with(".graphprof-")
}

impl SampleFolder {
    /// Checks `path` (refusing `-`, files and foreign folders unless `force`) and creates it.
    pub fn prepare(path: &Path, force: bool) -> Result<SampleFolder, FolderError> {
        if path == Path::new("-") {
            return Err(FolderError::Stdout);
        }
        let io = |action| {
            let path = path.to_path_buf();
            move |source| FolderError::Io {
                path,
                action,
                source,
            }
        };
        let mut earlier = BTreeSet::new();
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_dir() => {
                return Err(FolderError::NotAFolder {
                    path: path.to_path_buf(),
                });
            }
            Ok(_) => {
                let mut names = Vec::new();
                for entry in std::fs::read_dir(path).map_err(io("cannot read the folder"))? {
                    let entry = entry.map_err(io("cannot read the folder"))?;
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
                names.sort();
                let manifest = std::fs::read_to_string(path.join(MANIFEST)).ok();
                if let Some(text) = &manifest {
                    earlier.extend(
                        text.lines()
                            .filter(|line| is_plain_name(line))
                            .map(str::to_string),
                    );
                } else if let Some(foreign) = names.iter().find(|name| !is_known(name)) {
                    if !force {
                        return Err(FolderError::Foreign {
                            path: path.to_path_buf(),
                            example: foreign.clone(),
                        });
                    }
                } else {
                    earlier.extend(names.iter().cloned());
                }
            }
            Err(_) => {
                std::fs::create_dir_all(path).map_err(io("cannot create the output folder"))?;
            }
        }
        Ok(SampleFolder {
            path: path.to_path_buf(),
            earlier,
        })
    }

    /// Records `written` (paths in this folder) in the manifest, and removes the files an
    /// earlier run wrote that this one did not (stale plots). Nothing else is touched.
    pub fn finish(&self, written: &[PathBuf]) -> Result<(), crate::output::OutputError> {
        let names: BTreeSet<String> = written
            .iter()
            .filter(|p| p.parent() == Some(self.path.as_path()))
            .filter_map(|p| p.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        for stale in self.earlier.difference(&names) {
            if stale != MANIFEST {
                let _ = std::fs::remove_file(self.path.join(stale));
            }
        }
        let text: String = names.iter().map(|name| format!("{name}\n")).collect();
        crate::output::write_file_atomically(&self.path.join(MANIFEST), |out| {
            out.write_all(text.as_bytes())
        })
    }
}

/// A manifest line is a plain file name: no separator, not `.` or `..` (a manifest that was
/// edited cannot make graphprof remove anything outside the folder).
fn is_plain_name(line: &str) -> bool {
    !line.is_empty() && !line.contains('/') && line != "." && line != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_folder_is_refused_unless_forced_and_its_files_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("mine.txt"), "user").expect("writes");
        let refused = SampleFolder::prepare(dir.path(), false).expect_err("refused");
        assert!(refused.to_string().contains("mine.txt"), "{refused}");
        let forced = SampleFolder::prepare(dir.path(), true).expect("forced");
        let report = dir.path().join("report.json");
        std::fs::write(&report, "{}").expect("writes");
        forced
            .finish(std::slice::from_ref(&report))
            .expect("finishes");
        assert!(dir.path().join("mine.txt").exists());
        // The manifest makes the folder graphprof's: no --force needed now.
        let again = SampleFolder::prepare(dir.path(), false).expect("graphprof's folder");
        again.finish(&[]).expect("finishes");
        assert!(!report.exists(), "a stale file graphprof wrote is removed");
        assert!(
            dir.path().join("mine.txt").exists(),
            "the user's file is kept"
        );
    }

    #[test]
    fn dash_and_files_are_refused_and_manifests_cannot_escape() {
        assert!(matches!(
            SampleFolder::prepare(Path::new("-"), true),
            Err(FolderError::Stdout)
        ));
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").expect("writes");
        assert!(matches!(
            SampleFolder::prepare(&file, true),
            Err(FolderError::NotAFolder { .. })
        ));
        let out = dir.path().join("out");
        std::fs::create_dir(&out).expect("creates");
        std::fs::write(out.join(MANIFEST), "../f\n").expect("writes");
        SampleFolder::prepare(&out, false)
            .expect("graphprof's")
            .finish(&[])
            .expect("finishes");
        assert!(
            file.exists(),
            "a manifest line outside the folder was followed"
        );
    }
}
