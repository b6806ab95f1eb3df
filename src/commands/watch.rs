//! `graphprof watch --scheduler tcp://HOST:PORT`: the embedded Python side
//! (`python -m graphprof.run watch`) registers the live guard on the scheduler and streams its
//! events (topic `graphprof`) as JSON lines; they are printed as they come, as escaped text lines
//! or as JSON lines, until the scheduler goes away or graphprof is interrupted. Thresholds given
//! as flags (`--warn-duplicated 1GB`, ...) are set on the guard, a new one or the one already
//! there, and stay after watch exits; the first line shows the thresholds in force.

use crate::cli::{WatchArgs, WatchFormat};
use graphprof::dask::child::{self, Scratch, StdoutLine, describe_status, telling_line};
use graphprof::dask::{PythonPackage, resolve_python};
use graphprof::error::EXIT_OK;
use graphprof::units::DecimalBytes;
use std::io::Write;

/// Exit code of the Python side when the scheduler cannot be reached.
const WATCH_EXIT_UNREACHABLE: i32 = 3;

pub fn run(args: WatchArgs) -> anyhow::Result<i32> {
    let python = resolve_python(args.python.python.as_deref());
    // The package goes in a private scratch folder whose watchdog removes it, and ends the
    // watcher's process group, should graphprof be killed (SIGKILL included).
    let scratch = Scratch::new()?;
    let package = PythonPackage::write_in(scratch.path())?;
    let mut python_args = vec![
        "watch".to_string(),
        "--scheduler".to_string(),
        args.scheduler.clone(),
        "--timeout-s".to_string(),
        format!("{}", args.timeout.as_secs_f64()),
    ];
    for (name, bytes) in args.thresholds() {
        python_args.push(format!("--{}", name.replace('_', "-")));
        python_args.push(bytes.to_string());
    }
    let command = package.command(&python, python_args);
    let mut watcher = child::spawn_in(command, &scratch)
        .map_err(|error| graphprof::dask::DaskError::python_not_found(&python, &error))?;
    let stdout = std::io::stdout();
    while let Ok(StdoutLine::Line(line)) = watcher.lines.recv() {
        let Some(text) = render(&line, args.format) else {
            continue;
        };
        let mut out = stdout.lock();
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            // A closed pipe (`| head`): stop watching, quietly.
            return Ok(EXIT_OK);
        }
    }
    let status = watcher.wait();
    watcher.join_readers();
    if status.is_some_and(|s| s.success()) {
        return Ok(EXIT_OK);
    }
    let text = telling_line(&watcher.stderr_tail()).unwrap_or_else(|| "no message".to_string());
    let text = text.strip_prefix("graphprof: ").unwrap_or(&text);
    if status.and_then(|s| s.code()) == Some(WATCH_EXIT_UNREACHABLE) {
        anyhow::bail!("{text}");
    }
    anyhow::bail!("watch stopped ({}): {text}", describe_status(status))
}

/// The guard's thresholds, in the order the first line shows them.
const THRESHOLDS: [&str; 4] = [
    "warn_duplicated",
    "warn_materialised",
    "refuse_duplicated",
    "refuse_materialised",
];

/// One output line for one line of the Python side, or nothing for a line that is not an event.
fn render(line: &str, format: WatchFormat) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    if format == WatchFormat::Json {
        return serde_json::to_string(&event).ok();
    }
    let field = |name: &str| event.get(name).and_then(|v| v.as_str()).unwrap_or("");
    let text = match field("event") {
        "watching" => {
            let thresholds = event
                .get("thresholds")
                .and_then(|t| t.as_object())
                .map(|t| {
                    THRESHOLDS
                        .iter()
                        .filter_map(|name| Some((name, t.get(*name)?.as_u64()?)))
                        .map(|(name, bytes)| {
                            format!("{} {}", name.replace('_', "-"), DecimalBytes(bytes))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| "no threshold on".to_string());
            let flag = |name: &str| event.get(name).and_then(|r| r.as_bool()) == Some(true);
            // `already_registered` says what the JSON says: the guard was there before this watch.
            let how = match (flag("already_registered"), flag("changed")) {
                (false, _) => "guard registered",
                (true, true) => "guard already registered, thresholds set",
                (true, false) => "guard already registered",
            };
            format!("watching {}: {how} ({thresholds})", field("scheduler"))
        }
        _ => format!("{}: {}", field("verdict"), field("message")),
    };
    Some(graphprof::escape::control(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_print_escaped_on_one_line_or_as_json() {
        let line =
            r#"{"event":"finding","verdict":"warn","message":"graphprof: one Mapper\n\u001b[2J"}"#;
        let text = render(line, WatchFormat::Text).unwrap();
        assert_eq!(text, "warn: graphprof: one Mapper\\x0a\\x1b[2J");
        let json = render(line, WatchFormat::Json).unwrap();
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["verdict"], "warn");
        assert!(render("not json", WatchFormat::Text).is_none());
    }

    #[test]
    fn the_first_line_shows_the_thresholds_in_force() {
        let line = r#"{"event":"watching","scheduler":"tcp://h:1","registered":true,"already_registered":true,"changed":true,"thresholds":{"warn_duplicated":1000000,"refuse_materialised":8000000000}}"#;
        let text = render(line, WatchFormat::Text).unwrap();
        assert_eq!(
            text,
            "watching tcp://h:1: guard already registered, thresholds set \
             (warn-duplicated 1 MB, refuse-materialised 8 GB)"
        );
        let line = r#"{"event":"watching","scheduler":"tcp://h:1","registered":true,"already_registered":false,"thresholds":{}}"#;
        let text = render(line, WatchFormat::Text).unwrap();
        assert_eq!(
            text,
            "watching tcp://h:1: guard registered (no threshold on)"
        );
    }
}
