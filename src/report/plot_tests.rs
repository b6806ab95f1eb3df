//! Tests of the plots, kept beside them (`plot.rs` includes this file as its `tests` module).

use super::*;
use crate::sample::series::{PhaseMark, Sample};

/// A run that climbs during compute, holds, and falls back after release.
fn run(label: &str, held_bytes: u64, start_s: f64) -> Series {
    let mut s = Series::new(label, 10.0);
    let base = 50 << 20;
    for i in 0..=300 {
        let t = start_s + i as f64 * 0.01;
        let bytes = match i {
            0..=49 => base,
            50..=149 => base + held_bytes * (i - 50) / 100,
            150..=249 => base + held_bytes,
            _ => base,
        };
        s.samples.push(Sample {
            time_s: t,
            measure: Measure::Process,
            worker: None,
            bytes,
        });
    }
    for (phase, i) in [
        (Phase::Submit, 40),
        (Phase::Compute, 50),
        (Phase::Held, 150),
        (Phase::Released, 250),
    ] {
        s.phases.push(PhaseMark {
            phase,
            time_s: start_s + i as f64 * 0.01,
        });
    }
    s
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (word(16), word(20))
}

#[test]
fn draws_png_and_svg_with_labels_and_title() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (png, svg) = (dir.path().join("memory.png"), dir.path().join("memory.svg"));
    let series = vec![
        run("inline", 900 << 20, 0.002),
        run("delayed", 60 << 20, 0.0),
        run("scatter", 30 << 20, 0.5),
    ];
    let title = "seed case: 2048 chunks, payload 240 KiB, 4 workers";
    plot_memory(&series, title, Measure::Process, &png, &svg).expect("draws");

    let bytes = std::fs::read(&png).expect("png exists");
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
    assert_eq!(png_size(&bytes), (WIDTH, HEIGHT));
    // The file decodes, and holds the drawing: the three line colours are among its pixels.
    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .expect("a PNG header");
    let mut pixels = vec![0u8; reader.output_buffer_size()];
    reader.next_frame(&mut pixels).expect("decodes");
    let has = |c: &RGBColor| pixels.chunks_exact(3).any(|p| p == [c.0, c.1, c.2]);
    assert!(COLOURS[..3].iter().all(has), "a line colour is missing");
    let text = std::fs::read_to_string(&svg).expect("svg exists");
    for needle in [
        "inline",
        "delayed",
        "scatter",
        title,
        "held",
        "process memory (MiB)",
    ] {
        assert!(text.contains(needle), "svg lacks {needle:?}");
    }
    // Only the two files: no temporary files left behind.
    assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 2);
}

#[test]
fn gib_axis_when_the_peak_reaches_a_gib() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (png, svg) = (dir.path().join("m.png"), dir.path().join("m.svg"));
    plot_memory(
        &[run("big", 3 << 30, 0.0)],
        "big",
        Measure::Process,
        &png,
        &svg,
    )
    .expect("draws");
    let text = std::fs::read_to_string(&svg).expect("svg exists");
    assert!(text.contains("process memory (GiB)"));
}

#[test]
fn no_samples_of_the_measure_is_a_typed_error_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (png, svg) = (dir.path().join("m.png"), dir.path().join("m.svg"));
    let err = plot_memory(&[run("a", 1, 0.0)], "t", Measure::Managed, &png, &svg)
        .expect_err("no managed");
    assert!(matches!(err, PlotError::NoSamples(Measure::Managed)));
    assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 0);
}

#[test]
fn a_missing_directory_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("no").join("m.png");
    let err = plot_memory(
        &[run("a", 1, 0.0)],
        "t",
        Measure::Process,
        &png,
        &png.with_extension("svg"),
    );
    assert!(matches!(err, Err(PlotError::Io { .. })));
}

#[test]
fn y_labels_a_tenth_of_the_axis_apart_read_apart() {
    for y_max in [0.003, 0.05, 0.4, 1.0, 3.7, 9.99, 12.0, 257.0, 4096.0] {
        let decimals = label_decimals(y_max);
        let labels: Vec<String> = (0..=10)
            .map(|k| format!("{:.decimals$}", y_max * k as f64 / 10.0))
            .collect();
        let mut distinct = labels.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), labels.len(), "{y_max}: {labels:?}");
    }
    assert_eq!(label_decimals(0.0), 0);
    assert_eq!(label_decimals(300.0), 0);
}
