//! Writing results: to stdout (`-` or no path) or to a file replaced atomically, so nothing the user
//! had is ever left half-written. A symlink is followed (the file it points to is replaced, the
//! link stays); a device, FIFO or socket (`/dev/null`, `/dev/stdout`) is written to directly,
//! never replaced. A broken pipe on stdout is not an error.

use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
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

/// A file that could not be written, with the reason; the message names the file the user gave
/// and the cause once (`report.json: cannot write: No space left on device (os error 28)`), also
/// where the error is turned into text before it reaches the user: the cause is in the message,
/// not a separate source that only a chain-printing caller (`{:#}` of anyhow) would show.
#[derive(Debug)]
pub struct OutputError {
    /// The path as the user gave it.
    pub path: PathBuf,
    /// What failed.
    pub action: &'static str,
    /// Why.
    pub source: io::Error,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.path.display(),
            self.action,
            self.source
        )
    }
}

impl std::error::Error for OutputError {}

fn failed(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> OutputError + use<> {
    let path = path.to_path_buf();
    move |source| OutputError {
        path,
        action,
        source,
    }
}

/// Writes through `write` to the destination.
pub fn write_to(
    destination: &Destination,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    match destination {
        Destination::Stdout => {
            let stdout = io::stdout();
            let mut lock = io::BufWriter::new(stdout.lock());
            match write(&mut lock).and_then(|()| lock.flush()) {
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(failed(Path::new("<stdout>"), "cannot write")),
            }
        }
        Destination::File(path) => write_file_atomically(path, write),
    }
}

/// What a write to a path lands on.
enum Target {
    /// A regular file (existing or not), after following symlinks: replaced atomically.
    Regular(PathBuf),
    /// A device, FIFO or socket: written to in place.
    Special(PathBuf),
}

/// Follows symlinks (also dangling ones, to the file they would create), and refuses folders.
fn target(path: &Path) -> Result<Target, OutputError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).map_err(failed(path, "cannot follow"))?;
                current = match current.parent() {
                    Some(parent) => parent.join(link),
                    None => link,
                };
            }
            Ok(meta) if meta.is_dir() => {
                return Err(failed(path, "cannot write")(io::Error::other(
                    "is a directory",
                )));
            }
            Ok(meta) => {
                let kind = meta.file_type();
                let special = kind.is_char_device()
                    || kind.is_block_device()
                    || kind.is_fifo()
                    || kind.is_socket();
                return Ok(if special {
                    Target::Special(current)
                } else {
                    Target::Regular(current)
                });
            }
            Err(_) => return Ok(Target::Regular(current)),
        }
    }
    Err(failed(path, "cannot follow")(io::Error::other(
        "too many levels of symbolic links",
    )))
}

/// A temporary file in the folder of the file that `path` really names, ending in `suffix` (some
/// encoders pick the format by extension), for writing that file atomically with [`persist`].
pub fn temp_beside(path: &Path, suffix: &str) -> Result<tempfile::NamedTempFile, OutputError> {
    let real = match target(path)? {
        Target::Regular(real) | Target::Special(real) => real,
    };
    let folder = match real.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(failed(path, "cannot write")(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the folder {} does not exist", folder.display()),
        )));
    }
    tempfile::Builder::new()
        .prefix(".graphprof-")
        .suffix(suffix)
        .tempfile_in(&folder)
        .map_err(failed(path, "cannot create a file in its folder"))
}

/// Puts a fully written temporary file in place of `path`: renamed over a regular file (which
/// keeps its mode; new files get 0644), or copied into a device or FIFO.
pub fn persist(mut temp: tempfile::NamedTempFile, path: &Path) -> Result<(), OutputError> {
    temp.as_file_mut()
        .sync_all()
        .map_err(failed(path, "cannot write"))?;
    match target(path)? {
        Target::Special(device) => {
            let mut source =
                std::fs::File::open(temp.path()).map_err(failed(path, "cannot write"))?;
            let mut sink = std::fs::OpenOptions::new()
                .write(true)
                .open(&device)
                .map_err(failed(path, "cannot open"))?;
            io::copy(&mut source, &mut sink).map_err(failed(path, "cannot write"))?;
            Ok(())
        }
        Target::Regular(real) => {
            let mode = std::fs::metadata(&real).map_or(0o644, |meta| meta.permissions().mode());
            let _ = std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(mode));
            temp.persist(&real)
                .map_err(|error| failed(path, "cannot replace")(error.error))?;
            Ok(())
        }
    }
}

/// Writes a file atomically: into a temporary file in the same folder, then [`persist`].
pub fn write_file_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let mut temp = temp_beside(path, "")?;
    {
        let mut buffered = io::BufWriter::with_capacity(1 << 20, temp.as_file_mut());
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .map_err(failed(path, "cannot write"))?;
    }
    persist(temp, path)
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

    #[test]
    fn a_full_disk_is_named_once_with_the_path_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.csv");
        let full = || io::Error::from_raw_os_error(libc::ENOSPC);
        let error = write_file_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(full())
        })
        .unwrap_err();
        // As the user sees it: flattened to text (as report writers do), or through anyhow.
        for text in [
            error.to_string(),
            format!("{error:#}"),
            format!("{:#}", anyhow::Error::new(error)),
        ] {
            let name = path.display().to_string();
            assert_eq!(text.matches("No space left on device").count(), 1, "{text}");
            assert_eq!(text.matches(&name).count(), 1, "{text}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_file_atomically(&link, |w| w.write_all(b"new")).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_device_is_written_to_not_replaced() {
        write_file_atomically(Path::new("/dev/null"), |w| w.write_all(b"gone")).unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
    }

    #[test]
    fn folders_and_missing_folders_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_file_atomically(dir.path(), |w| w.write_all(b"x")).unwrap_err();
        assert!(
            error.source.to_string().contains("is a directory"),
            "{error}"
        );
        let missing = dir.path().join("nowhere/report.json");
        let error = write_file_atomically(&missing, |w| w.write_all(b"x")).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with(&missing.display().to_string()), "{text}");
        assert!(
            text.contains("does not exist") && !text.contains(".graphprof-"),
            "{text}"
        );
    }
}
