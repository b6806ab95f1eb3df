//! `graphprof watch --scheduler tcp://HOST:PORT`: the embedded Python side
//! (`python -m graphprof.dask_run watch`) registers the live guard on the scheduler and streams its
//! events (topic `graphprof`) as JSON lines; they are printed as they come, as escaped text lines
//! or as JSON lines, until the scheduler goes away or graphprof is interrupted.

use crate::cli::{WatchArgs, WatchFormat};
use graphprof::dask::child::{self, StdoutLine, describe_status, telling_line};
use graphprof::dask::{PythonPackage, resolve_python};
use graphprof::error::EXIT_OK;
use std::io::Write;

/// Exit code of the Python side when the scheduler cannot be reached.
const WATCH_EXIT_UNREACHABLE: i32 = 3;

pub fn run(args: WatchArgs) -> anyhow::Result<i32> {
    let python = resolve_python(args.python.python.as_deref());
    let package = PythonPackage::write()?;
    let command = package.command(
        &python,
        [
            "watch".to_string(),
            "--scheduler".to_string(),
            args.scheduler.clone(),
            "--timeout-s".to_string(),
            format!("{}", args.timeout.as_secs_f64()),
        ],
    );
    let mut watcher = child::spawn(command)
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
    let text = text
        .strip_prefix("graphprof: ")
        .or_else(|| text.strip_prefix("graphprof_dask: "))
        .unwrap_or(&text);
    if status.and_then(|s| s.code()) == Some(WATCH_EXIT_UNREACHABLE) {
        anyhow::bail!("{text}");
    }
    anyhow::bail!("watch stopped ({}): {text}", describe_status(status))
}

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
                    t.iter()
                        .map(|(k, v)| format!("{k} {v} B"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let how = if event.get("registered").and_then(|r| r.as_bool()) == Some(true) {
                "guard registered"
            } else {
                "guard already registered"
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
}
