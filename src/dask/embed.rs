//! The Python side (`python/graphprof_dask/`), embedded in the binary and written out at run time.
//!
//! Every `.py` file of the package is compiled in with `include_str!`. [`PythonPackage::write`]
//! puts them in a fresh temporary directory as a `graphprof_dask` package, and
//! [`PythonPackage::command`] builds `<python> -m graphprof_dask ...` with that directory first on
//! `PYTHONPATH`. Arguments always go through [`std::process::Command`], never through a shell.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

use super::DaskError;

/// The package's files, `(name, text)`, as compiled into the binary.
pub const PACKAGE_FILES: [(&str, &str); 13] = [
    (
        "__init__.py",
        include_str!("../../python/graphprof_dask/__init__.py"),
    ),
    (
        "__main__.py",
        include_str!("../../python/graphprof_dask/__main__.py"),
    ),
    (
        "cli_export.py",
        include_str!("../../python/graphprof_dask/cli_export.py"),
    ),
    (
        "driver.py",
        include_str!("../../python/graphprof_dask/driver.py"),
    ),
    (
        "export_isolate.py",
        include_str!("../../python/graphprof_dask/export_isolate.py"),
    ),
    (
        "export_payloads.py",
        include_str!("../../python/graphprof_dask/export_payloads.py"),
    ),
    (
        "export_walk.py",
        include_str!("../../python/graphprof_dask/export_walk.py"),
    ),
    (
        "exporter.py",
        include_str!("../../python/graphprof_dask/exporter.py"),
    ),
    (
        "guard.py",
        include_str!("../../python/graphprof_dask/guard.py"),
    ),
    (
        "guard_model.py",
        include_str!("../../python/graphprof_dask/guard_model.py"),
    ),
    (
        "guard_walk.py",
        include_str!("../../python/graphprof_dask/guard_walk.py"),
    ),
    (
        "guard_watch.py",
        include_str!("../../python/graphprof_dask/guard_watch.py"),
    ),
    (
        "seed.py",
        include_str!("../../python/graphprof_dask/seed.py"),
    ),
];

/// The pinned requirements the Python side is tested with (`python/requirements.txt`).
pub const REQUIREMENTS: &str = include_str!("../../python/requirements.txt");

/// The Python used when neither `--python` nor `GRAPHPROF_PYTHON` names one.
pub const DEFAULT_PYTHON: &str = "python3";

/// Environment variable naming the Python to run.
pub const PYTHON_ENV: &str = "GRAPHPROF_PYTHON";

/// The Python to run: the flag, else `GRAPHPROF_PYTHON`, else `python3`.
pub fn resolve_python(flag: Option<&OsStr>) -> OsString {
    if let Some(python) = flag.filter(|p| !p.is_empty()) {
        return python.to_os_string();
    }
    match std::env::var_os(PYTHON_ENV) {
        Some(python) if !python.is_empty() => python,
        _ => OsString::from(DEFAULT_PYTHON),
    }
}

/// The exact command that installs the pinned packages into `python`:
/// `<python> -m pip install dask==... distributed==... ...`.
pub fn pip_command(python: &OsStr) -> String {
    let pins: Vec<&str> = REQUIREMENTS
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .collect();
    format!(
        "{} -m pip install {}",
        python.to_string_lossy(),
        pins.join(" ")
    )
}

/// The package written to a temporary directory; removed when dropped.
pub struct PythonPackage {
    dir: tempfile::TempDir,
}

impl PythonPackage {
    /// Writes every embedded file to `<fresh temp dir>/graphprof_dask/`. The folders are 0700 and
    /// the files 0600 whatever the umask (set with `chmod`, which the umask does not touch), so no
    /// other local user can swap the code before Python imports it.
    pub fn write() -> Result<PythonPackage, DaskError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |error| DaskError::Io {
            action: "cannot write the embedded Python package",
            error,
        };
        let private_dir = || std::fs::Permissions::from_mode(0o700);
        let dir = tempfile::Builder::new()
            .prefix("graphprof-dask-")
            .permissions(private_dir())
            .tempdir()
            .map_err(io)?;
        std::fs::set_permissions(dir.path(), private_dir()).map_err(io)?;
        let package = dir.path().join("graphprof_dask");
        std::fs::create_dir(&package).map_err(io)?;
        std::fs::set_permissions(&package, private_dir()).map_err(io)?;
        for (name, text) in PACKAGE_FILES {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(package.join(name))
                .map_err(io)?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
            std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io)?;
        }
        Ok(PythonPackage { dir })
    }

    /// The directory that holds `graphprof_dask/` (what goes on `PYTHONPATH`).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `<python> -m graphprof_dask <args...>` with the package first on `PYTHONPATH`.
    /// `PYTHONSAFEPATH` keeps the current directory off `sys.path` (Python 3.11+), so a
    /// `graphprof_dask` folder there cannot shadow the embedded one; the exporter puts the
    /// user's script directory on `sys.path` itself, as `python script.py` would.
    pub fn command<I, S>(&self, python: &OsStr, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(python);
        command
            .arg("-m")
            .arg("graphprof_dask")
            .args(args)
            .env("PYTHONPATH", python_path(self.root()))
            .env("PYTHONSAFEPATH", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        command
    }
}

/// `root` prepended to the current `PYTHONPATH`.
fn python_path(root: &Path) -> OsString {
    let mut paths = vec![root.to_path_buf()];
    if let Some(existing) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&existing).filter(|p| !p.as_os_str().is_empty()));
    }
    // A path holding the separator cannot be joined; fall back to the package alone.
    std::env::join_paths(paths).unwrap_or_else(|_| root.as_os_str().to_os_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_python_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/graphprof_dask");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("package dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".py"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = PACKAGE_FILES.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add the new file to PACKAGE_FILES");
    }

    #[test]
    fn the_package_is_written_and_removed() {
        let package = PythonPackage::write().expect("writes");
        let root = package.root().to_path_buf();
        assert!(root.join("graphprof_dask/driver.py").is_file());
        drop(package);
        assert!(!root.exists());
    }

    /// Under umask 000 (and under a umask that would shut the owner out) the folders are 0700
    /// and the files 0600. The umask is the process's: restored at once, and the other tests of
    /// this binary only ever get narrower or the usual modes meanwhile.
    #[test]
    fn the_package_is_private_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        for umask in [0o000, 0o777] {
            // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
            let previous = unsafe { libc::umask(umask) };
            let written = PythonPackage::write();
            // SAFETY: as above, restoring the previous mask.
            unsafe { libc::umask(previous) };
            let package = written.expect("writes");
            let mode = |path: &Path| {
                std::fs::metadata(path)
                    .expect("exists")
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode(package.root()), 0o700, "umask {umask:o}");
            let inner = package.root().join("graphprof_dask");
            assert_eq!(mode(&inner), 0o700, "umask {umask:o}");
            for (name, text) in PACKAGE_FILES {
                assert_eq!(
                    mode(&inner.join(name)),
                    0o600,
                    "{name} under umask {umask:o}"
                );
                assert_eq!(
                    std::fs::read_to_string(inner.join(name)).expect("reads"),
                    text
                );
            }
        }
    }

    #[test]
    fn the_pip_command_names_every_pin() {
        let pip = pip_command(OsStr::new("python3"));
        assert!(pip.starts_with("python3 -m pip install dask=="), "{pip}");
        assert!(pip.contains(" distributed=="), "{pip}");
        assert!(!pip.contains('\n'));
    }
}
