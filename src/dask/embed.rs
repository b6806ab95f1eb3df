//! The Python side (`python/graphprof/`), embedded in the binary and written out at run time.
//!
//! Every `.py` file of the `graphprof` package (`python/graphprof/`, subpackages included; build.rs
//! lists them) is compiled in with `include_str!`: the same files the wheel installs, one source. [`PythonPackage::for_python`]
//! uses the `graphprof` installed in the user's Python when its version is the binary's, else
//! [`PythonPackage::write`] puts the embedded copy in a fresh private temporary directory
//! ([`PythonPackage::for_python_in`] / [`PythonPackage::write_in`]: in a run's private scratch
//! folder, [`super::child::Scratch`]); and
//! [`PythonPackage::command`] builds `<python> -m graphprof.run ...` (with that directory
//! first on `PYTHONPATH` for the embedded copy). An installed package of another version is
//! passed over with a warning, and `GRAPHPROF_VERBOSE=1` names the copy that runs on stderr
//! (tests/python_side.rs checks each case). Arguments always go through
//! [`std::process::Command`], never through a shell.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::DaskError;

// The packages' files, `(path under the package root, text)`, as compiled into the binary: every
// `.py` file under `python/graphprof/` (the same files the wheel installs), listed by build.rs
// so that a file added, moved or removed there is embedded as it is, with no list to keep.
include!(concat!(env!("OUT_DIR"), "/python_package.rs"));

/// The folders written out: every file's folder, parents first (`graphprof`, `graphprof/api`, ...).
fn package_folders() -> Vec<&'static str> {
    let mut folders: Vec<&'static str> = PACKAGE_FILES
        .iter()
        .filter_map(|(name, _)| name.rsplit_once('/').map(|(folder, _)| folder))
        .collect();
    folders.sort_unstable();
    folders.dedup();
    folders
}

/// The module the binary runs: `python -m graphprof.run ...`.
pub const RUN_MODULE: &str = "graphprof.run";

/// The project's metadata: its `[dask]` extra says which versions of the Python side's packages
/// graphprof supports (ranges; `python/requirements.txt` pins the set CI tests).
const PYPROJECT: &str = include_str!("../../pyproject.toml");

impl DaskError {
    /// The error for a Python that cannot be spawned.
    pub fn python_not_found(python: &std::ffi::OsStr, error: &std::io::Error) -> DaskError {
        DaskError::PythonNotFound {
            python: python.to_string_lossy().into_owned(),
            reason: error.to_string(),
            pip: pip_command(std::ffi::OsStr::new(DEFAULT_PYTHON)),
        }
    }
}

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

/// The command that installs the supported packages into `python`, as ranges that keep what a
/// user already has when it is recent enough (the `[dask]` extra of `pyproject.toml`):
/// `<python> -m pip install 'dask>=...' 'distributed>=...' ...`.
pub fn pip_command(python: &OsStr) -> String {
    let ranges: Vec<String> = supported_ranges()
        .iter()
        .map(|range| format!("'{range}'"))
        .collect();
    format!(
        "{} -m pip install {}",
        python.to_string_lossy(),
        ranges.join(" ")
    )
}

/// The `[dask]` extra's requirements (`dask>=2025.4.1`, ...); empty if the embedded metadata could
/// not be read (a unit test reads it).
fn supported_ranges() -> Vec<String> {
    let Ok(table) = PYPROJECT.parse::<toml::Table>() else {
        return Vec::new();
    };
    table
        .get("project")
        .and_then(|project| project.get("optional-dependencies"))
        .and_then(|extras| extras.get("dask"))
        .and_then(toml::Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(toml::Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Environment variable that makes the binary say which copy of its Python side it runs.
pub const VERBOSE_ENV: &str = "GRAPHPROF_VERBOSE";

/// A `graphprof` package found in the user's Python by the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    /// Its `__version__`.
    pub version: String,
    /// Its `__file__` (the package's `__init__.py`).
    pub location: String,
}

/// Which copy of the Python side runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The installed package, at the binary's version.
    Installed(InstalledPackage),
    /// The embedded copy; `installed` is a package of another version that was not used.
    Embedded {
        /// The installed package passed over, when there is one.
        installed: Option<InstalledPackage>,
    },
}

/// Where the Python side comes from: the `graphprof` package installed in the user's Python (the
/// wheel's, when its version is the binary's), or the embedded copy written to a temporary
/// directory (removed when dropped) or in a folder of the caller's.
pub struct PythonPackage {
    /// The temporary directory [`PythonPackage::write`] made, kept to be removed when dropped.
    _dir: Option<tempfile::TempDir>,
    /// The folder that holds the embedded `graphprof/`; `None` for the installed package.
    root: Option<PathBuf>,
    origin: Origin,
}

/// The module the probe imports besides the package: what [`RUN_MODULE`]'s `__main__` runs.
const PROBE_MODULE: &str = "graphprof.run.commands";

/// What the probe runs: it prints the installed package's version and file, when
/// [`PROBE_MODULE`] imports.
fn probe_script() -> String {
    format!(
        "import graphprof, {PROBE_MODULE}; print(graphprof.__version__); print(graphprof.__file__)"
    )
}

/// The package the probe's output names, if it names one.
fn parse_probe(probe_stdout: &str) -> Option<InstalledPackage> {
    let mut lines = probe_stdout.lines().map(str::trim);
    let version = lines.next().filter(|v| !v.is_empty())?.to_string();
    let location = lines.next().unwrap_or("").to_string();
    Some(InstalledPackage { version, location })
}

/// True when `installed` is at the binary's own version.
fn version_matches(installed: &InstalledPackage) -> bool {
    installed.version == env!("CARGO_PKG_VERSION")
}

/// Runs the probe with `python` (`extra_path` first on `PYTHONPATH`, for tests): the installed
/// `graphprof` whose [`PROBE_MODULE`] imports, if any. Any failure means "not installed".
fn installed_package(python: &OsStr, extra_path: Option<&Path>) -> Option<InstalledPackage> {
    let mut probe = Command::new(python);
    probe
        .arg("-c")
        .arg(probe_script())
        .env("PYTHONSAFEPATH", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(path) = extra_path {
        probe.env("PYTHONPATH", python_path(path));
    }
    let out = probe.output().ok()?;
    if !out.status.success() {
        return None;
    }
    parse_probe(&String::from_utf8_lossy(&out.stdout))
}

impl PythonPackage {
    /// The installed package when `python` has `graphprof` at the binary's version, else the
    /// embedded copy ([`PythonPackage::write`]). An installed package of another version is
    /// passed over with a warning (`log`, which the binary prints on stderr); with
    /// `GRAPHPROF_VERBOSE=1` the copy used is always named there (`log::info!`).
    pub fn for_python(python: &OsStr) -> Result<PythonPackage, DaskError> {
        PythonPackage::choose(python, None)
    }

    /// [`PythonPackage::for_python`], with the embedded copy written in `folder`
    /// ([`PythonPackage::write_in`]).
    pub fn for_python_in(python: &OsStr, folder: &Path) -> Result<PythonPackage, DaskError> {
        PythonPackage::choose(python, Some(folder))
    }

    fn choose(python: &OsStr, folder: Option<&Path>) -> Result<PythonPackage, DaskError> {
        let installed = installed_package(python, None);
        let package = match installed {
            Some(found) if version_matches(&found) => PythonPackage {
                _dir: None,
                root: None,
                origin: Origin::Installed(found),
            },
            other => {
                if let Some(found) = &other {
                    log::warn!(
                        "the graphprof package installed for {} is version {} ({}), not the \
                         binary's {}: running the copy embedded in the binary instead",
                        python.to_string_lossy(),
                        found.version,
                        found.location,
                        env!("CARGO_PKG_VERSION")
                    );
                }
                let mut package = match folder {
                    Some(folder) => PythonPackage::write_in(folder)?,
                    None => PythonPackage::write()?,
                };
                package.origin = Origin::Embedded { installed: other };
                package
            }
        };
        log::info!("Python side: {}", package.describe());
        Ok(package)
    }

    /// Which copy runs.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// One line naming the copy that runs: `installed graphprof 0.1.0 (/.../graphprof/__init__.py)`
    /// or `the copy embedded in graphprof 0.1.0 (/tmp/graphprof-.../python)`.
    pub fn describe(&self) -> String {
        match (&self.origin, self.root()) {
            (Origin::Installed(found), _) => {
                format!("installed graphprof {} ({})", found.version, found.location)
            }
            (Origin::Embedded { .. }, root) => format!(
                "the copy embedded in graphprof {} ({})",
                env!("CARGO_PKG_VERSION"),
                root.map_or_else(String::new, |r| r.display().to_string())
            ),
        }
    }

    /// Writes every embedded file under `<fresh temp dir>/graphprof/`, subpackages included. The
    /// folders are 0700 and the files 0600 whatever the umask (set with `chmod`, which the umask
    /// does not touch), so no other local user can swap the code before Python imports it.
    pub fn write() -> Result<PythonPackage, DaskError> {
        let dir = private_temp_dir("graphprof-dask-").map_err(write_error)?;
        write_files(dir.path())?;
        Ok(PythonPackage {
            root: Some(dir.path().to_path_buf()),
            _dir: Some(dir),
            origin: Origin::Embedded { installed: None },
        })
    }

    /// Writes every embedded file under `folder/python/graphprof/`, as private as
    /// [`PythonPackage::write`] does; `folder` is the caller's (a run's scratch folder, holding
    /// no package yet) and the package goes with it.
    pub fn write_in(folder: &Path) -> Result<PythonPackage, DaskError> {
        let root = folder.join("python");
        std::fs::create_dir(&root).map_err(write_error)?;
        std::fs::set_permissions(&root, private_folder()).map_err(write_error)?;
        write_files(&root)?;
        Ok(PythonPackage {
            _dir: None,
            root: Some(root),
            origin: Origin::Embedded { installed: None },
        })
    }

    /// The directory that holds the embedded `graphprof/` (what goes on `PYTHONPATH`); `None`
    /// when the installed package is used.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// `<python> -m graphprof.run <args...>`, with the embedded copy first on `PYTHONPATH`
    /// when it is the one used. `PYTHONSAFEPATH` keeps the current directory off `sys.path`
    /// (Python 3.11+), so a `graphprof` folder there cannot shadow the package; the exporter
    /// puts the user's script directory on `sys.path` itself, as `python script.py` would.
    pub fn command<I, S>(&self, python: &OsStr, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(python);
        command
            .arg("-m")
            .arg(RUN_MODULE)
            .args(args)
            .env("PYTHONSAFEPATH", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        if let Some(root) = self.root() {
            command.env("PYTHONPATH", python_path(root));
        }
        command
    }
}

/// 0700: set with `chmod`, which the umask does not touch.
fn private_folder() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o700)
}

/// A fresh folder `PREFIX...` under TMPDIR, 0700 whatever the umask.
pub(super) fn private_temp_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(private_folder())
        .tempdir()?;
    std::fs::set_permissions(dir.path(), private_folder())?;
    Ok(dir)
}

fn write_error(error: std::io::Error) -> DaskError {
    DaskError::Io {
        action: "cannot write the embedded Python package",
        error,
    }
}

/// Writes the embedded files under `root/graphprof/`: folders 0700, files 0600.
fn write_files(root: &Path) -> Result<(), DaskError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    for package in package_folders() {
        let folder = root.join(package);
        std::fs::create_dir(&folder).map_err(write_error)?;
        std::fs::set_permissions(&folder, private_folder()).map_err(write_error)?;
    }
    for (name, text) in PACKAGE_FILES {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(root.join(name))
            .map_err(write_error)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(write_error)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(write_error)?;
    }
    Ok(())
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

    /// The `.py` files under `dir`, as `graphprof/...` paths.
    fn python_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("package dir").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() && name != "__pycache__" {
                python_files(&path, &format!("{prefix}/{name}"), out);
            } else if name.ends_with(".py") {
                out.push(format!("{prefix}/{name}"));
            }
        }
    }

    #[test]
    fn every_python_file_is_embedded_and_the_run_modules_are_among_them() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/graphprof");
        let mut on_disk = Vec::new();
        python_files(&root, "graphprof", &mut on_disk);
        on_disk.sort();
        let embedded: Vec<String> = PACKAGE_FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, embedded, "build.rs lists python/graphprof");
        // The modules the binary names exist in what it embeds (the wheel holds the same files:
        // python/tests_package/test_install.py).
        let file_of = |module: &str, leaf: &str| format!("{}/{leaf}", module.replace('.', "/"));
        for needed in [
            file_of(RUN_MODULE, "__main__.py"),
            file_of(PROBE_MODULE, "").trim_end_matches('/').to_string() + ".py",
        ] {
            assert!(embedded.contains(&needed), "{needed} is not embedded");
        }
        assert!(probe_script().contains(PROBE_MODULE));
    }

    #[test]
    fn the_package_is_written_and_removed() {
        let package = PythonPackage::write().expect("writes");
        let root = package.root().expect("embedded").to_path_buf();
        assert!(root.join("graphprof/run/driver.py").is_file());
        assert!(root.join("graphprof/run/__main__.py").is_file());
        assert!(root.join("graphprof/collect/walk.py").is_file());
        drop(package);
        assert!(!root.exists());
    }

    #[test]
    fn the_installed_package_is_used_only_at_the_binarys_version() {
        let at = |version: &str| InstalledPackage {
            version: version.to_string(),
            location: String::new(),
        };
        assert!(version_matches(&at(env!("CARGO_PKG_VERSION"))));
        assert!(!version_matches(&at("0.0.0-other")));
        assert_eq!(parse_probe(""), None);
        assert_eq!(
            parse_probe("1.2.3\n/x/graphprof/__init__.py\n"),
            Some(InstalledPackage {
                version: "1.2.3".into(),
                location: "/x/graphprof/__init__.py".into()
            })
        );
        let python = resolve_python(None);
        for (version, expected) in [(env!("CARGO_PKG_VERSION"), true), ("0.0.0-other", false)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let package = dir.path().join("graphprof");
            std::fs::create_dir(&package).expect("mkdir");
            std::fs::write(
                package.join("__init__.py"),
                format!("__version__ = {version:?}\n"),
            )
            .expect("writes");
            std::fs::create_dir(package.join("run")).expect("mkdir");
            for name in ["__init__.py", "commands.py"] {
                std::fs::write(package.join("run").join(name), "").expect("writes");
            }
            let found = installed_package(&python, Some(dir.path())).expect("found");
            assert_eq!(found.version, version);
            assert!(
                found.location.ends_with("graphprof/__init__.py"),
                "{found:?}"
            );
            assert_eq!(version_matches(&found), expected, "version {version}");
        }
        assert!(installed_package(OsStr::new("/no/such/python"), None).is_none());
    }

    #[test]
    fn the_installed_package_runs_without_pythonpath() {
        let package = PythonPackage {
            _dir: None,
            root: None,
            origin: Origin::Installed(InstalledPackage {
                version: env!("CARGO_PKG_VERSION").into(),
                location: String::new(),
            }),
        };
        let command = package.command(OsStr::new("python3"), ["export"]);
        let args: Vec<&OsStr> = command.get_args().collect();
        assert_eq!(
            args,
            [
                OsStr::new("-m"),
                OsStr::new(RUN_MODULE),
                OsStr::new("export")
            ]
        );
        assert!(command.get_envs().all(|(k, _)| k != "PYTHONPATH"));
    }

    /// Under umask 000 (and under a umask that would shut the owner out) the folders are 0700
    /// and the files 0600: the package in its own temporary folder, and in a run's scratch
    /// folder beside a replayed graph file. The umask is the process's: restored at once, and
    /// the other tests of this binary only ever get narrower or the usual modes meanwhile.
    #[test]
    fn the_package_is_private_whatever_the_umask() {
        use super::super::child::Scratch;
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("exists")
                .permissions()
                .mode()
                & 0o777
        };
        for umask in [0o000, 0o777] {
            // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
            let previous = unsafe { libc::umask(umask) };
            let written = PythonPackage::write();
            let scratch = Scratch::new().map(|scratch| {
                let package = PythonPackage::write_in(scratch.path());
                let replay = scratch.create_file("run-0.json");
                (scratch, package, replay)
            });
            // SAFETY: as above, restoring the previous mask.
            unsafe { libc::umask(previous) };
            let (scratch, in_scratch, replay) = scratch.expect("a scratch folder");
            assert_eq!(mode(scratch.path()), 0o700, "umask {umask:o}");
            let (replay, _) = replay.expect("creates");
            assert_eq!(mode(&replay), 0o600, "umask {umask:o}");
            for package in [written.expect("writes"), in_scratch.expect("writes")] {
                let root = package.root().expect("embedded");
                assert_eq!(mode(root), 0o700, "umask {umask:o}");
                for inner in package_folders() {
                    assert_eq!(mode(&root.join(inner)), 0o700, "umask {umask:o}");
                }
                for (name, text) in PACKAGE_FILES {
                    assert_eq!(
                        mode(&root.join(name)),
                        0o600,
                        "{name} under umask {umask:o}"
                    );
                    assert_eq!(
                        std::fs::read_to_string(root.join(name)).expect("reads"),
                        *text
                    );
                }
            }
            let folder = scratch.path().to_path_buf();
            assert!(folder.starts_with(std::env::temp_dir()), "{folder:?}");
            drop(scratch);
            assert!(!folder.exists(), "the scratch folder outlived its run");
        }
    }

    #[test]
    fn the_pip_command_asks_for_the_supported_ranges_quoted() {
        let pip = pip_command(OsStr::new("python3"));
        assert!(pip.starts_with("python3 -m pip install 'dask>="), "{pip}");
        for name in ["distributed", "pandas", "numpy", "cloudpickle"] {
            assert!(pip.contains(&format!(" '{name}>=")), "{name}: {pip}");
        }
        assert!(!pip.contains("=="), "no exact pin: {pip}");
        assert!(!pip.contains('\n'));
    }
}
