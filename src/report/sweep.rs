//! The sweep of `graphprof sample --chunks 256,1024,4096`: per strategy, held memory against the
//! chunk count, the least-squares line `held = a + b x chunks` through it with its fit quality
//! (R^2), and the answer to "how big can I go": at this slope, how many chunks fit under the
//! memory a worker may use. Serialised as the `sweep` field of report.json and printed under
//! the table. The fit from the runs' reports is in [`super::sweep_fit`].

use crate::sample::Measure;
use crate::units::{Bytes, count};
use serde::{Deserialize, Serialize};

/// The sweep: chunk counts, where the worker memory came from, one fit per strategy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepReport {
    /// The chunk counts, in run order.
    pub chunks: Vec<u64>,
    /// The memory one worker may use, in bytes, when known.
    pub worker_memory_bytes: Option<u64>,
    /// Where `worker_memory_bytes` came from: `--worker-memory`, `memory limit` (the built-in
    /// engine's), `cluster memory_limit` (the Dask workers' own), or `unknown`. With both
    /// engines and no --worker-memory, the Dask workers' figure is the one given here; the
    /// built-in runs' budget uses the built-in engine's memory limit.
    pub worker_memory_source: String,
    /// One line per strategy (and engine), in run order.
    pub fits: Vec<SweepFit>,
    /// What was swept: `generated: map-blocks --chunks 256,1024,4096 ...`, or for a graph file
    /// or a collection `graph.json, first 12/24/48 of 48 outputs` (each count ran the graph
    /// culled to its first that many outputs and what they depend on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swept: Option<String>,
    /// For a graph file or a collection culled by `--chunks`: its outputs (tasks nothing depends
    /// on), of which each run took the first `chunks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_of: Option<u64>,
}

/// One strategy's held memory against the chunk count, and the fitted line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepFit {
    /// The strategy's label without the chunk count (`inline`, `dask/scatter`).
    pub label: String,
    /// The engine that ran it: `builtin` or `dask`.
    pub engine: String,
    /// The measure fitted: `managed` for the built-in engine, worker RSS for Dask.
    pub measure: Measure,
    /// Held memory above the baseline, one point per complete run.
    pub points: Vec<SweepPoint>,
    /// `a`: held memory at no chunks, in bytes (may be negative).
    pub intercept_bytes: Option<f64>,
    /// `b`: held memory per chunk, in bytes.
    pub slope_bytes_per_chunk: Option<f64>,
    /// Fit quality: 1 - residual / total sum of squares (1 is a straight line); absent when the
    /// points do not vary or the line rests on one point.
    pub r_squared: Option<f64>,
    /// How the line was found: `least squares` over two or more chunk counts, or `one point`
    /// (one count: slope = held / chunks, intercept 0; no line when that run did not complete).
    #[serde(default = "least_squares_method")]
    pub method: String,
    /// What held memory may reach: the worker memory for the built-in engine, workers x worker
    /// memory less the workers' baseline RSS for Dask.
    pub budget_bytes: Option<u64>,
    /// `floor((budget - a) / b)`: the chunks that fit at this slope; absent without a budget or
    /// a positive slope.
    pub fits_chunks: Option<u64>,
}

/// One run of the sweep.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct SweepPoint {
    /// The run's chunk count.
    pub chunks: u64,
    /// Held memory of the fitted measure above its baseline, in bytes.
    pub held_bytes: u64,
}

/// The least-squares line through `points`: `(a, b, R^2)`; `None` with fewer than two distinct
/// chunk counts. R^2 is `None` when every held figure is the same.
pub fn least_squares(points: &[(f64, f64)]) -> Option<(f64, f64, Option<f64>)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let b = sxy / sxx;
    let a = mean_y - b * mean_x;
    let total: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let residual: f64 = points.iter().map(|p| (p.1 - a - b * p.0).powi(2)).sum();
    let r_squared = (total > 0.0).then(|| 1.0 - residual / total);
    Some((a, b, r_squared))
}

fn least_squares_method() -> String {
    LEAST_SQUARES.to_string()
}

/// [`SweepFit::method`] of a line through two or more chunk counts.
pub const LEAST_SQUARES: &str = "least squares";
/// [`SweepFit::method`] of a line from one run through zero.
pub const ONE_POINT: &str = "one point";

/// The line through one run and zero: `(0, held / chunks)`; `None` without chunks.
pub fn through_zero(point: &SweepPoint) -> Option<(f64, f64, Option<f64>)> {
    (point.chunks > 0).then(|| (0.0, point.held_bytes as f64 / point.chunks as f64, None))
}

/// `floor((budget - a) / b)`, or `None` when the slope is not positive; 0 when even no chunks fit.
pub fn chunks_that_fit(budget_bytes: u64, intercept: f64, slope: f64) -> Option<u64> {
    if slope <= 0.0 || !slope.is_finite() {
        return None;
    }
    let room = (budget_bytes as f64 - intercept) / slope;
    Some(if room <= 0.0 { 0 } else { room.floor() as u64 })
}

/// The label of a sweep run without its chunk count: `inline@256` -> `inline`.
pub fn strategy_label(label: &str) -> &str {
    label
        .rsplit_once('@')
        .map_or(label, |(strategy, _)| strategy)
}

/// Signed bytes, human-formatted.
fn signed(bytes: f64) -> String {
    let magnitude = Bytes(bytes.abs().round() as u64);
    if bytes < 0.0 {
        format!("-{magnitude}")
    } else {
        magnitude.to_string()
    }
}

/// The lines printed under the table: per strategy the slope, intercept, R^2 and the answer.
pub fn sweep_text(sweep: &SweepReport) -> String {
    let counts: Vec<String> = sweep.chunks.iter().map(|&c| count(c)).collect();
    let one_point = sweep.fits.iter().all(|fit| fit.method == ONE_POINT);
    let mut out = sweep
        .swept
        .as_ref()
        .map_or(String::new(), |swept| format!("Swept: {swept}.\n"));
    out += &if one_point {
        let noun = if sweep.chunks == [1] {
            "chunk"
        } else {
            "chunks"
        };
        format!(
            "Held memory per chunk (this run's {} {noun}, the tasks nothing depends on; fit from \
             one point, through zero: held = b x chunks):\n",
            counts.join(", ")
        )
    } else {
        format!(
            "Held memory against chunks (least squares over {} chunks; held = a + b x chunks):\n",
            counts.join(", ")
        )
    };
    for fit in &sweep.fits {
        let Some((a, b)) = fit.intercept_bytes.zip(fit.slope_bytes_per_chunk) else {
            let why = if one_point {
                "the run did not complete"
            } else {
                "fewer than two complete runs"
            };
            out.push_str(&format!("  {:<16} {why}: no fit\n", fit.label));
            continue;
        };
        let r_squared = match fit.r_squared {
            Some(r) => format!("R^2 {r:.3}"),
            None if fit.method == ONE_POINT => "one point".to_string(),
            None => "R^2 -".to_string(),
        };
        let answer = match (fit.fits_chunks, fit.budget_bytes) {
            (Some(n), Some(budget)) => format!("fits {} chunks in {}", count(n), Bytes(budget)),
            (None, Some(_)) => "no limit at this slope".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  {:<16} b {}/chunk  a {}  {r_squared}  ({})  {answer}\n",
            fit.label,
            signed(b),
            signed(a),
            fit.measure
        ));
    }
    let dask = sweep.fits.iter().any(|fit| fit.engine == "dask");
    match sweep.worker_memory_bytes {
        Some(bytes) => out.push_str(&format!(
            "Worker memory {} ({}){}.\n",
            Bytes(bytes),
            sweep.worker_memory_source,
            if dask {
                "; for Dask the budget is the workers' memory together less their RSS before \
                 the run"
            } else {
                ""
            }
        )),
        None => out.push_str("No worker memory known: give --worker-memory for the answer.\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_line_is_recovered_with_r_squared_one() {
        let points = [
            (16.0, 1000.0 + 16.0 * 250.0),
            (32.0, 9000.0),
            (64.0, 17000.0),
        ];
        let (a, b, r) = least_squares(&points).expect("a fit");
        assert!((a - 1000.0).abs() < 1e-6, "{a}");
        assert!((b - 250.0).abs() < 1e-9, "{b}");
        assert!((r.expect("r2") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn noise_lowers_r_squared_and_one_count_gives_no_fit() {
        let (_, b, r) = least_squares(&[(1.0, 10.0), (2.0, 30.0), (3.0, 20.0)]).expect("fit");
        assert!((b - 5.0).abs() < 1e-9);
        assert!(r.expect("r2") < 0.5);
        assert!(least_squares(&[(4.0, 1.0), (4.0, 2.0)]).is_none());
        assert!(least_squares(&[(4.0, 1.0)]).is_none());
        assert!(
            least_squares(&[(1.0, 5.0), (2.0, 5.0)])
                .expect("fit")
                .2
                .is_none()
        );
    }

    #[test]
    fn the_answer_is_the_floor_of_the_room_over_the_slope() {
        assert_eq!(chunks_that_fit(10_000, 1000.0, 300.0), Some(30));
        assert_eq!(chunks_that_fit(10_000, -500.0, 300.0), Some(35));
        assert_eq!(chunks_that_fit(500, 1000.0, 300.0), Some(0));
        assert_eq!(chunks_that_fit(500, 1000.0, 0.0), None);
        assert_eq!(chunks_that_fit(500, 1000.0, -2.0), None);
    }

    #[test]
    fn one_run_gives_a_line_through_zero_marked_one_point() {
        let point = SweepPoint {
            chunks: 256,
            held_bytes: 256 * 1000,
        };
        assert_eq!(through_zero(&point), Some((0.0, 1000.0, None)));
        assert_eq!(
            through_zero(&SweepPoint {
                chunks: 0,
                held_bytes: 5
            }),
            None
        );
        // 2 workers x 1 MB, less 48 kB of baseline, at 1 kB per chunk: 1,952 chunks.
        assert_eq!(chunks_that_fit(2_000_000 - 48_000, 0.0, 1000.0), Some(1952));
    }

    #[test]
    fn labels_lose_their_chunk_count() {
        assert_eq!(strategy_label("inline@256"), "inline");
        assert_eq!(strategy_label("dask/scatter@4096"), "dask/scatter");
        assert_eq!(strategy_label("scatter"), "scatter");
    }
}
