//! Which copy of the Python side the binary runs (`python -m graphprof.run`): the installed
//! `graphprof` when its version is the binary's, else the copy the binary embeds, and it says
//! so. The "installed" package here is a fake on `PYTHONPATH` whose `graphprof.run` entry
//! only reports itself, so the test sees which copy really ran, beside what `GRAPHPROF_VERBOSE=1` says.

mod common;

use common::{dask_python, graphprof};
use std::path::Path;

/// A fake installed `graphprof` at `version` in `dir`: its `graphprof.run` prints a line and fails.
fn fake_package(dir: &Path, version: &str) {
    let package = dir.join("graphprof");
    std::fs::create_dir_all(&package).expect("mkdir");
    std::fs::write(
        package.join("__init__.py"),
        format!("__version__ = {version:?}\n"),
    )
    .expect("writes");
    let run = package.join("run");
    std::fs::create_dir_all(&run).expect("mkdir");
    // What the binary's probe imports, then the entry it starts.
    for name in ["__init__.py", "commands.py"] {
        std::fs::write(run.join(name), "").expect("writes");
    }
    std::fs::write(
        run.join("__main__.py"),
        "import sys\nprint('graphprof: the fake installed copy ran', file=sys.stderr)\nsys.exit(1)\n",
    )
    .expect("writes");
}

/// `graphprof dask export` of a two-task delayed collection, with `pythonpath` (if any) on
/// `PYTHONPATH`: (success, stderr).
fn export(dir: &Path, pythonpath: Option<&Path>) -> (bool, String) {
    let script = dir.join("tiny.py");
    std::fs::write(
        &script,
        "import dask\nresult = dask.delayed(sum)([dask.delayed(len)('abc'), 1])\n",
    )
    .expect("writes");
    let mut command = graphprof();
    command
        .args(["dask", "export"])
        .arg(format!("{}:result", script.display()))
        .arg("-o")
        .arg(dir.join("graph.json"))
        .env("GRAPHPROF_PYTHON", dask_python())
        .env("GRAPHPROF_VERBOSE", "1")
        .env_remove("PYTHONPATH");
    if let Some(path) = pythonpath {
        command.env("PYTHONPATH", path);
    }
    let out = command.output().expect("graphprof runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_installed_package_at_the_binarys_version_is_the_one_that_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site");
    fake_package(&site, env!("CARGO_PKG_VERSION"));
    let (ok, stderr) = export(dir.path(), Some(&site));
    assert!(!ok, "the fake dask_run fails: {stderr}");
    assert!(stderr.contains("the fake installed copy ran"), "{stderr}");
    let expected = format!(
        "Python side: installed graphprof {} ({}",
        env!("CARGO_PKG_VERSION"),
        site.join("graphprof/__init__.py").display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("embedded"), "{stderr}");
}

#[test]
fn an_installed_package_of_another_version_is_passed_over_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site");
    fake_package(&site, "0.0.1-other");
    let (ok, stderr) = export(dir.path(), Some(&site));
    assert!(ok, "the embedded exporter runs: {stderr}");
    assert!(!stderr.contains("fake installed copy"), "{stderr}");
    assert!(
        stderr.contains("is version 0.0.1-other")
            && stderr.contains("running the copy embedded in the binary instead"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Python side: the copy embedded in graphprof"),
        "{stderr}"
    );
    assert!(dir.path().join("graph.json").is_file());
}

#[test]
fn without_an_installed_package_the_embedded_copy_runs_without_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stderr) = export(dir.path(), None);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("Python side: the copy embedded in graphprof"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    let graph: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("graph.json")).expect("reads"))
            .expect("json");
    assert!(
        graph["tasks"].as_array().is_some_and(|t| t.len() >= 2),
        "{graph}"
    );
}
