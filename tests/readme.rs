//! The README's examples cannot rot: every `graphprof` line in a ```sh block runs and exits 0, and
//! every ```console block's command prints what the README shows (up to a line `...`; a shown line
//! that ends in `...` only has to start the printed line). The same holds for the docs pages the
//! manual and the benchmarks moved to (`PAGES`). And the README stays a front door: short, with an
//! install line near the top whose notebook extras bring what the notebook cells use.

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
    for name in ["fixtures", "reports", "graphprof.toml"] {
        std::os::unix::fs::symlink(repo.join(name), dir.path().join(name)).expect("symlink");
    }
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

/// The pages whose examples run: the README and the docs pages its manual and benchmarks moved to.
const PAGES: [&str; 4] = [
    "README.md",
    "docs/MANUAL.md",
    "docs/BENCHMARKS.md",
    "docs/ARCHITECTURE.md",
];

fn page(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).expect(name)
}

fn readme() -> String {
    page("README.md")
}

/// Every block of every page, with the page's name.
fn all_blocks() -> Vec<(&'static str, Block)> {
    PAGES
        .iter()
        .flat_map(|name| blocks(&page(name)).into_iter().map(move |b| (*name, b)))
        .collect()
}

#[test]
fn every_sh_example_runs() {
    let dir = workdir();
    let mut ran = 0;
    for (name, block) in all_blocks().into_iter().filter(|(_, b)| b.kind == "sh") {
        for line in block.lines.iter().filter(|l| l.starts_with("graphprof ")) {
            let args = words(line);
            let output = graphprof(dir.path(), &args);
            assert!(
                output.status.success(),
                "{name} example failed: {line}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 5, "only {ran} examples found");
}

#[test]
fn every_console_example_prints_what_the_readme_shows() {
    let dir = workdir();
    let mut checked = 0;
    for (name, block) in all_blocks()
        .into_iter()
        .filter(|(_, b)| b.kind == "console")
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
            let args = words(command);
            assert_eq!(
                args[0], "graphprof",
                "{name}: a console example runs graphprof: {command}"
            );
            let output = graphprof(dir.path(), &args);
            assert!(output.status.success(), "{name}: {command} failed");
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
                        "{name}: {command}: line {}\nshown: {shown}\nprinted: {printed}",
                        i + 1
                    ),
                    None => assert_eq!(printed, shown, "{name}: {command}: line {}", i + 1),
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} console examples found");
}

#[test]
fn the_readme_is_a_front_door() {
    let text = readme();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() <= 300,
        "README.md has {} lines (at most 300: move details to docs/)",
        lines.len()
    );
    let install = lines
        .iter()
        .position(|l| l.starts_with("pip install "))
        .expect("an install line");
    assert!(
        install < 40,
        "the first install line is line {}",
        install + 1
    );
    // The notebook install line brings what the notebook cells use: dask and matplotlib (.plot()).
    assert!(
        lines[install].starts_with(r#"pip install ".[dask,plot]""#),
        "{}",
        lines[install]
    );
    for needed in [
        "Rust toolchain 1.95",
        "C compiler",
        "pip install -v",
        "scripts/test.sh",
        "## Architecture",
    ] {
        assert!(text.contains(needed), "the README does not say {needed:?}");
    }
    // The short Architecture names both houses: the Rust stages and the Python package's rooms.
    let architecture = &text[text.find("## Architecture").unwrap()..];
    for room in [
        "src/commands/",
        "api/",
        "collect/",
        "run/",
        "guard/",
        "sampler/",
        "pytest/",
    ] {
        assert!(
            architecture.contains(room),
            "Architecture does not name {room}"
        );
    }
    // Every docs page the README links to exists.
    for link in text.split("](").skip(1) {
        let target = link.split([')', '#']).next().unwrap_or("");
        if target.starts_with("docs/") || target.ends_with(".md") {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(target);
            assert!(
                path.exists(),
                "README links to {target}, which does not exist"
            );
        }
    }
}
