//! Writing results: to stdout (`-` or no path) or to a file replaced atomically, so nothing the user
//! had is ever left half-written. A broken pipe on stdout is not an error.

use anyhow::{Context, Result};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically.
    File(PathBuf),
}

impl Destination {
    /// `None` or `-` is stdout; anything else a file.
    pub fn from_arg(path: Option<&Path>) -> Self {
        match path {
            None => Destination::Stdout,
            Some(path) if path == Path::new("-") => Destination::Stdout,
            Some(path) => Destination::File(path.to_path_buf()),
        }
    }
}

/// Writes through `write` to the destination; files go to a temporary file in the same folder
/// that is renamed over the target only when everything was written and flushed.
pub fn write_to(
    destination: &Destination,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    match destination {
        Destination::Stdout => {
            let stdout = io::stdout();
            let mut lock = io::BufWriter::new(stdout.lock());
            match write(&mut lock).and_then(|()| lock.flush()) {
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to stdout"),
            }
        }
        Destination::File(path) => write_file_atomically(path, write),
    }
}

/// Writes a file atomically (temporary file in the same folder, then rename).
pub fn write_file_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".graphprof-")
        .tempfile_in(&folder)
        .with_context(|| format!("{}: cannot create a file in this folder", path.display()))?;
    {
        let mut buffered = io::BufWriter::with_capacity(1 << 20, temp.as_file_mut());
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    temp.as_file()
        .sync_all()
        .with_context(|| format!("{}: cannot write", path.display()))?;
    // Temporary files are created private; a report is readable like any other file, and a
    // replaced file keeps its mode.
    let mode = std::fs::metadata(path).map_or(0o644, |meta| {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode()
    });
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(mode));
    }
    temp.persist(path)
        .map_err(|error| error.error)
        .with_context(|| format!("{}: cannot replace", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        let result = write_file_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk on fire"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_file_atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
