//! Puts the git commit the binary is built from in `GRAPHPROF_GIT_COMMIT` (shown by `--version`):
//! `git rev-parse --short HEAD`, or `unknown commit` when git or the checkout is missing (a source
//! tarball, a crate package), so the build never fails for want of git.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GRAPHPROF_GIT_COMMIT");
    let commit = std::env::var("GRAPHPROF_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]));
    if commit.is_some() {
        // Rebuild when HEAD moves: HEAD itself, and the branch it points to (loose or packed).
        for path in ["HEAD", "packed-refs"] {
            if let Some(file) = git(&["rev-parse", "--git-path", path]) {
                println!("cargo:rerun-if-changed={file}");
            }
        }
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
            && let Some(file) = git(&["rev-parse", "--git-path", &branch])
        {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    let commit = commit.unwrap_or_else(|| "unknown commit".to_string());
    println!("cargo:rustc-env=GRAPHPROF_GIT_COMMIT={commit}");
}
