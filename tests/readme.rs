//! The README's examples cannot rot: every `graphprof` line in a ```sh block runs and exits 0, and
//! every ```console block's command prints what the README shows (up to a line `...`; a shown line
//! that ends in `...` only has to start the printed line).

use assert_cmd::Command;
use std::path::Path;

struct Block {
    kind: String,
    lines: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => out.push(block),
                None => {
                    current = Some(Block {
                        kind: fence.trim().to_string(),
                        lines: Vec::new(),
                    })
                }
            }
        } else if let Some(block) = current.as_mut() {
            block.lines.push(line.to_string());
        }
    }
    out
}

fn words(command: &str) -> Vec<String> {
    let without_comment = command.split(" #").next().unwrap_or(command);
    without_comment
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::os::unix::fs::symlink(repo.join("fixtures"), dir.path().join("fixtures"))
        .expect("symlink");
    dir
}

fn graphprof(dir: &Path, args: &[String]) -> std::process::Output {
    Command::cargo_bin("graphprof")
        .expect("binary")
        .current_dir(dir)
        .args(&args[1..])
        .output()
        .expect("runs")
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

#[test]
fn every_sh_example_runs() {
    let dir = workdir();
    let mut ran = 0;
    for block in blocks(&readme()).into_iter().filter(|b| b.kind == "sh") {
        for line in block.lines.iter().filter(|l| l.starts_with("graphprof ")) {
            let args = words(line);
            let output = graphprof(dir.path(), &args);
            assert!(
                output.status.success(),
                "README example failed: {line}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 5, "only {ran} README examples found");
}

#[test]
fn every_console_example_prints_what_the_readme_shows() {
    let dir = workdir();
    let mut checked = 0;
    for block in blocks(&readme())
        .into_iter()
        .filter(|b| b.kind == "console")
    {
        let mut lines = block.lines.iter().peekable();
        while let Some(line) = lines.next() {
            let Some(command) = line.strip_prefix("$ ") else {
                continue;
            };
            let mut expected = Vec::new();
            while let Some(next) = lines.peek() {
                if next.starts_with("$ ") {
                    break;
                }
                expected.push(lines.next().unwrap().clone());
            }
            let output = graphprof(dir.path(), &words(command));
            assert!(output.status.success(), "{command} failed");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let actual: Vec<&str> = stdout.lines().collect();
            for (i, shown) in expected.iter().enumerate() {
                if shown == "..." {
                    break;
                }
                let printed = actual.get(i).copied().unwrap_or("<missing>");
                match shown.strip_suffix("...") {
                    Some(prefix) => assert!(
                        printed.starts_with(prefix.trim_end()),
                        "{command}: line {}\nREADME: {shown}\nprinted: {printed}",
                        i + 1
                    ),
                    None => assert_eq!(printed, shown, "{command}: line {}", i + 1),
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 1, "no console example found");
}
