//! `samples.csv`: every sample of every series in long format, and a reader for it.
//!
//! Columns `label,time_s,measure,worker,bytes`, one header line, one row per sample; `worker`
//! is empty for whole-run readings, numbers are plain (time with microsecond resolution),
//! and a label is quoted only when it holds a comma, a quote or a line break, so
//! `pandas.read_csv` loads it as it is. The file is written to a temporary file in the target
//! directory and renamed into place, so a reader never sees half a file. The row format is
//! the one the sampler's live sink appends ([`crate::sample::series::push_csv_row`]), so
//! the reader also reads a sink left behind by a run that died.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::sample::series::{CSV_HEADER, Measure, Sample, Series, push_csv_row};

/// Reading or writing `samples.csv` failed.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file could not be written, renamed into place or read.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done ("cannot write", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A row does not have the expected shape.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line where the record starts.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Where and why a record could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line where the record starts.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed record: the line it starts on and its fields.
type Record = (usize, Vec<String>);

/// One row of the file: a sample and the label of its series.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRow {
    /// The series' label.
    pub label: String,
    /// The sample.
    pub sample: Sample,
}

/// Write the header and every sample of `series` to `out`.
pub fn write_samples<W: Write + ?Sized>(out: &mut W, series: &[Series]) -> io::Result<()> {
    let mut text = String::with_capacity(64 * 1024);
    text.push_str(CSV_HEADER);
    text.push('\n');
    for s in series {
        for sample in &s.samples {
            push_csv_row(&mut text, &s.label, sample);
            if text.len() >= 60 * 1024 {
                out.write_all(text.as_bytes())?;
                text.clear();
            }
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Write `series` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_samples_csv(path: &Path, series: &[Series]) -> Result<(), CsvError> {
    crate::output::write_file_atomically(path, |out| write_samples(out, series)).map_err(|error| {
        CsvError::Io {
            action: "cannot write",
            path: path.to_path_buf(),
            source: io::Error::other(format!("{error:#}")),
        }
    })
}

/// Read a samples CSV back into rows, in file order.
pub fn read_samples_csv(path: &Path) -> Result<Vec<SampleRow>, CsvError> {
    if let Err(crate::error::InputError::Invalid { message, .. }) =
        crate::error::refuse_endless(path)
    {
        return Err(CsvError::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source: io::Error::other(message),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| CsvError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    parse_samples(&text).map_err(|e| CsvError::Parse {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })
}

/// Parse samples CSV text; errors carry the 1-based line of the bad record.
pub fn parse_samples(text: &str) -> Result<Vec<SampleRow>, RowError> {
    let mut records = Records {
        rest: text,
        line: 1,
    };
    let (_, header) = records.next_record()?.ok_or_else(|| RowError {
        line: 1,
        message: "the file is empty".to_string(),
    })?;
    if header.join(",") != CSV_HEADER {
        return Err(RowError {
            line: 1,
            message: format!(
                "expected the header {CSV_HEADER:?}, found {:?}",
                header.join(",")
            ),
        });
    }
    let mut rows = Vec::new();
    while let Some((line, fields)) = records.next_record()? {
        if fields.len() == 1 && fields[0].is_empty() {
            continue;
        }
        rows.push(parse_row(&fields).map_err(|message| RowError { line, message })?);
    }
    Ok(rows)
}

fn parse_row(fields: &[String]) -> Result<SampleRow, String> {
    let [label, time_s, measure, worker, bytes] = fields else {
        return Err(format!("expected 5 fields, found {}", fields.len()));
    };
    let time_s: f64 = time_s
        .parse()
        .map_err(|_| format!("time_s {time_s:?} is not a number"))?;
    let measure: Measure = measure.parse().map_err(|e| format!("{e}"))?;
    let worker = match worker.as_str() {
        "" => None,
        w => Some(
            w.parse::<u32>()
                .map_err(|_| format!("worker {w:?} is not a worker number"))?,
        ),
    };
    let bytes: u64 = bytes
        .parse()
        .map_err(|_| format!("bytes {bytes:?} is not a byte count"))?;
    Ok(SampleRow {
        label: label.clone(),
        sample: Sample {
            time_s,
            measure,
            worker,
            bytes,
        },
    })
}

/// Group rows into series by label, in order of first appearance. Only the samples survive
/// a CSV: intervals, phases and overhead are left at their defaults.
pub fn rows_to_series(rows: Vec<SampleRow>) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for row in rows {
        match series.iter_mut().find(|s| s.label == row.label) {
            Some(s) => s.samples.push(row.sample),
            None => {
                let mut s = Series::new(row.label, 0.0);
                s.samples.push(row.sample);
                series.push(s);
            }
        }
    }
    series
}

/// An RFC 4180 record splitter (quoted fields may hold commas, quotes and line breaks).
struct Records<'a> {
    rest: &'a str,
    line: usize,
}

impl Records<'_> {
    fn next_record(&mut self) -> Result<Option<Record>, RowError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let start_line = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = self.rest.char_indices().peekable();
        let mut quoted = false;
        let mut at_field_start = true;
        let mut end = self.rest.len();
        while let Some((i, c)) = chars.next() {
            if quoted {
                match c {
                    '"' if chars.peek().is_some_and(|(_, n)| *n == '"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        self.line += 1;
                        field.push(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' if at_field_start => {
                    quoted = true;
                    at_field_start = false;
                }
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    at_field_start = true;
                }
                '\n' => {
                    self.line += 1;
                    end = i + 1;
                    break;
                }
                '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {}
                _ => {
                    field.push(c);
                    at_field_start = false;
                }
            }
        }
        if quoted {
            return Err(RowError {
                line: start_line,
                message: "a quoted field is not closed".to_string(),
            });
        }
        fields.push(field);
        self.rest = &self.rest[end..];
        Ok(Some((start_line, fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, samples: &[(f64, Measure, Option<u32>, u64)]) -> Series {
        let mut s = Series::new(label, 10.0);
        s.samples = samples
            .iter()
            .map(|&(time_s, measure, worker, bytes)| Sample {
                time_s,
                measure,
                worker,
                bytes,
            })
            .collect();
        s
    }

    #[test]
    fn written_rows_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("samples.csv");
        let all = vec![
            series(
                "inline",
                &[
                    (0.0, Measure::Process, None, 1 << 30),
                    (0.01, Measure::Managed, Some(3), 42),
                ],
            ),
            series(
                "my, \"odd\"\nlabel",
                &[(1.5, Measure::DaskManaged, None, u64::MAX)],
            ),
            series("empty", &[]),
        ];
        write_samples_csv(&path, &all).expect("writes");
        let rows = read_samples_csv(&path).expect("reads");
        assert_eq!(rows.len(), 3);
        let back = rows_to_series(rows);
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].samples, all[0].samples);
        assert_eq!(back[1].label, all[1].label);
        assert_eq!(back[1].samples, all[1].samples);
        // Nothing but the file is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 1);
    }

    #[test]
    fn the_text_is_plain() {
        let mut out = Vec::new();
        write_samples(
            &mut out,
            &[series("scatter", &[(0.25, Measure::Unmanaged, None, 9)])],
        )
        .expect("writes");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "label,time_s,measure,worker,bytes\nscatter,0.250000,unmanaged,,9\n"
        );
    }

    #[test]
    fn bad_rows_name_their_line() {
        let text = "label,time_s,measure,worker,bytes\na,0.1,process,,5\na,0.2,heap,,5\n";
        let err = parse_samples(text).expect_err("heap is no measure");
        assert_eq!(err.line, 3);
        assert!(err.message.contains("heap"));
        assert!(parse_samples("x,y\n").is_err());
        assert!(parse_samples("").is_err());
        let err = parse_samples("label,time_s,measure,worker,bytes\n\"open,1,process,,1\n")
            .expect_err("unclosed");
        assert_eq!(err.line, 2);
        let err = parse_samples("label,time_s,measure,worker,bytes\na,1,process,x,1\n")
            .expect_err("worker");
        assert!(err.message.contains("worker"));
    }

    #[test]
    fn crlf_and_a_missing_final_newline_are_accepted() {
        let text = "label,time_s,measure,worker,bytes\r\na,0.1,process,2,5\r\nb,0.2,rss,,6";
        let rows = parse_samples(text).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].sample.worker, Some(2));
        assert_eq!(rows[1].label, "b");
    }

    #[test]
    fn a_missing_directory_is_a_typed_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err =
            write_samples_csv(&dir.path().join("no").join("samples.csv"), &[]).expect_err("no dir");
        assert!(matches!(err, CsvError::Io { .. }));
    }
}
