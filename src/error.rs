//! Typed errors for everything a user can get wrong, each naming the file and the place, and the
//! exit codes that the binary maps them to.

use std::path::{Path, PathBuf};

/// Exit code: success, and for `check`, within every budget.
pub const EXIT_OK: i32 = 0;
/// Exit code: a budget or a regression check failed (`check`), or a sampled run did not complete.
pub const EXIT_FAILED_CHECK: i32 = 1;
/// Exit code: bad input or usage: malformed files, invalid options, unreadable paths.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: `sample` stopped by Ctrl-C (what was sampled is written), as shells report SIGINT.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A line and column (1-based), as JSON parsers report them.
    LineColumn { line: usize, column: usize },
    /// A task or data key, for problems found after parsing (cycles, missing dependencies);
    /// displayed bounded ([`crate::escape::quote`]).
    Key(String),
    /// The whole file.
    File,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::LineColumn { line, column } => write!(f, "line {line}, column {column}"),
            Place::Key(key) => write!(f, "key {}", crate::escape::quote(key)),
            Place::File => Ok(()),
        }
    }
}

/// A problem with an input file: graph, baseline, budget or report.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be opened or read.
    #[error("{}: cannot read", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but its content is wrong at a place.
    #[error("{}: {}{}", path.display(), place_prefix(place), message)]
    Invalid {
        path: PathBuf,
        place: Place,
        message: String,
    },
}

fn place_prefix(place: &Place) -> String {
    match place {
        Place::File => String::new(),
        other => format!("{other}: "),
    }
}

impl InputError {
    /// An error about the whole file or a key in it.
    pub fn invalid(path: &Path, place: Place, message: impl Into<String>) -> Self {
        InputError::Invalid {
            path: path.to_path_buf(),
            place,
            message: message.into(),
        }
    }

    /// Turns a serde_json error into one line naming the file, line and column. serde_json's own
    /// message ends with " at line L column C"; that suffix is moved to the front.
    pub fn from_json(path: &Path, error: &serde_json::Error) -> Self {
        let text = error.to_string();
        let message = match text.rfind(" at line ") {
            Some(at) => &text[..at],
            None => &text,
        };
        // What the parser quotes from the file (a string, a field name) is bounded.
        let message = crate::escape::quote_within(message).into_owned();
        let message = if error.is_eof() {
            format!("truncated file: {message}")
        } else if message.starts_with("invalid type: floating point") && message.ends_with("u64") {
            // serde_json reads an integer too large for 64 bits as a float: say what it means.
            format!("{message} (a whole number from 0 to 18446744073709551615)")
        } else {
            message
        };
        let place = if error.line() == 0 {
            Place::File
        } else {
            Place::LineColumn {
                line: error.line(),
                column: error.column(),
            }
        };
        InputError::invalid(path, place, message)
    }
}

/// Refuses to read `path` as a whole text file when it is a device, a socket or a folder: reading
/// `/dev/zero` never ends. A regular file and a FIFO (`--baseline <(...)`) are read; a missing
/// file is left to the read, whose error names it.
pub fn refuse_endless(path: &Path) -> Result<(), InputError> {
    match std::fs::metadata(path) {
        Ok(meta)
            if !meta.is_file() && !std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()) =>
        {
            Err(InputError::invalid(
                path,
                Place::File,
                format!("is {}, not a regular file", file_kind(meta.file_type())),
            ))
        }
        _ => Ok(()),
    }
}

/// What a file that is not a regular one is, in words ("a FIFO", "a character device").
pub fn file_kind(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_file_line_and_column() {
        let err = serde_json::from_str::<serde_json::Value>("{\n  \"a\": trux\n}").unwrap_err();
        let line = InputError::from_json(Path::new("g.json"), &err).to_string();
        assert!(line.starts_with("g.json: line 2, column "), "{line}");
        assert!(!line.contains(" at line "), "{line}");
    }

    #[test]
    fn truncated_json_says_so() {
        let err = serde_json::from_str::<serde_json::Value>("{\"tasks\": [").unwrap_err();
        let line = InputError::from_json(Path::new("g.json"), &err).to_string();
        assert!(line.contains("truncated file"), "{line}");
    }
}
