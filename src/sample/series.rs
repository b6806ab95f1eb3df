//! The sampled data: plain serde structs that the sampler fills and the reports read.
//!
//! A [`Series`] is one labelled run (one strategy or one command): the samples taken at a
//! fixed interval, the phase marks on the same clock, and what sampling itself cost. Times
//! are seconds since the series started, so series from different runs align at t = 0 (as
//! distributed's `MemorySampler.plot(align=True)`). The helpers answer the questions a
//! report asks: baseline, peak, the level at the end of a phase. The CSV row format shared
//! by the sampler's on-disk sink and `report::samples_csv` lives here too, so the sampler
//! never has to import a report.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a sample measures. Serialized as a snake_case string (`process`, `dask_managed`, ...).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Resident set size of the process doing the work plus all its descendant processes.
    Process,
    /// Bytes graphprof's engine itself holds in task definitions, payloads and results,
    /// counted exactly. Not Dask's `managed`: this one includes per-task argument copies.
    Managed,
    /// `process - managed` for the same tick and worker (never negative).
    Unmanaged,
    /// Real Dask: the scheduler's `process` figure (worker RSS as reported by heartbeats).
    DaskProcess,
    /// Real Dask: the scheduler's `managed` figure, the `sizeof` of the data workers hold.
    /// It cannot see per-task argument copies, hence its own name.
    DaskManaged,
    /// Real Dask: a worker process's RSS read directly from the OS (no heartbeat delay).
    Rss,
}

impl Measure {
    /// Every measure, in a stable order.
    pub const ALL: [Measure; 6] = [
        Measure::Process,
        Measure::Managed,
        Measure::Unmanaged,
        Measure::DaskProcess,
        Measure::DaskManaged,
        Measure::Rss,
    ];

    /// The snake_case name used in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Process => "process",
            Measure::Managed => "managed",
            Measure::Unmanaged => "unmanaged",
            Measure::DaskProcess => "dask_process",
            Measure::DaskManaged => "dask_managed",
            Measure::Rss => "rss",
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A measure name that is not one of [`Measure::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown measure {0:?} (expected one of process, managed, unmanaged, dask_process, dask_managed, rss)"
)]
pub struct UnknownMeasure(pub String);

impl FromStr for Measure {
    type Err = UnknownMeasure;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Measure::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMeasure(s.to_string()))
    }
}

/// One reading of one measure at one instant.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Seconds since the series started (monotonic clock).
    pub time_s: f64,
    /// What was measured.
    pub measure: Measure,
    /// The worker the reading belongs to; `None` for the whole run.
    pub worker: Option<u32>,
    /// The reading, in bytes.
    pub bytes: u64,
}

/// A phase of a run, marked on the timeline. Serialized as snake_case.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The client serializes and submits the graph.
    Submit,
    /// Workers run the tasks.
    Compute,
    /// All results are computed and kept (as with `.persist()` and live futures).
    Held,
    /// Results have been released.
    Released,
}

impl Phase {
    /// The snake_case name used in JSON and on plots.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Submit => "submit",
            Phase::Compute => "compute",
            Phase::Held => "held",
            Phase::Released => "released",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The start of a phase.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct PhaseMark {
    /// The phase that starts here.
    pub phase: Phase,
    /// Seconds since the series started, on the samples' clock.
    pub time_s: f64,
}

/// What sampling cost, measured by the sampler on itself.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct SamplerOverhead {
    /// Ticks taken (each tick reads every source once).
    pub samples_taken: u64,
    /// CPU time used by the sampler thread, in seconds.
    pub cpu_time_s: f64,
    /// `cpu_time_s` divided by the wall time sampled: the fraction of one core used.
    pub cpu_fraction: f64,
    /// Median time between consecutive ticks, in milliseconds.
    pub gap_p50_ms: f64,
    /// 99th percentile of the time between consecutive ticks, in milliseconds.
    pub gap_p99_ms: f64,
    /// Longest time between consecutive ticks, in milliseconds.
    pub gap_max_ms: f64,
}

/// One labelled run: its samples, its phases, and the sampler's own cost.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Series {
    /// The run's name: a strategy (`inline`, `scatter`, ...) or a command's label.
    pub label: String,
    /// The requested interval between ticks, in milliseconds.
    pub interval_ms: f64,
    /// Every reading, in the order taken; readings of one tick share `time_s`.
    pub samples: Vec<Sample>,
    /// Phase starts, in the order marked.
    pub phases: Vec<PhaseMark>,
    /// What sampling cost.
    pub overhead: SamplerOverhead,
    /// False when the run was cut short (failure, memory limit, Ctrl-C, command killed).
    pub complete: bool,
}

impl Series {
    /// An empty, complete series.
    pub fn new(label: impl Into<String>, interval_ms: f64) -> Self {
        Series {
            label: label.into(),
            interval_ms,
            samples: Vec::new(),
            phases: Vec::new(),
            overhead: SamplerOverhead::default(),
            complete: true,
        }
    }

    /// `(time_s, bytes)` of one measure for one worker (`None`: the whole-run readings).
    pub fn points(&self, measure: Measure, worker: Option<u32>) -> Vec<(f64, u64)> {
        self.samples
            .iter()
            .filter(|s| s.measure == measure && s.worker == worker)
            .map(|s| (s.time_s, s.bytes))
            .collect()
    }

    /// The whole-run line of a measure: the `worker = None` readings when there are any,
    /// otherwise the per-worker readings summed tick by tick.
    pub fn totals(&self, measure: Measure) -> Vec<(f64, u64)> {
        let whole = self.points(measure, None);
        if !whole.is_empty() {
            return whole;
        }
        let mut summed: Vec<(f64, u64)> = Vec::new();
        for s in self.samples.iter().filter(|s| s.measure == measure) {
            match summed.last_mut() {
                Some((t, bytes)) if *t == s.time_s => *bytes = bytes.saturating_add(s.bytes),
                _ => summed.push((s.time_s, s.bytes)),
            }
        }
        summed
    }

    /// The measures present, in [`Measure::ALL`] order.
    pub fn measures(&self) -> Vec<Measure> {
        Measure::ALL
            .into_iter()
            .filter(|m| self.samples.iter().any(|s| s.measure == *m))
            .collect()
    }

    /// The workers that have readings of `measure`, ascending.
    pub fn workers(&self, measure: Measure) -> Vec<u32> {
        let mut workers: Vec<u32> = self
            .samples
            .iter()
            .filter(|s| s.measure == measure)
            .filter_map(|s| s.worker)
            .collect();
        workers.sort_unstable();
        workers.dedup();
        workers
    }

    /// Highest reading of `measure` for `worker`.
    pub fn peak(&self, measure: Measure, worker: Option<u32>) -> Option<u64> {
        self.points(measure, worker)
            .into_iter()
            .map(|(_, b)| b)
            .max()
    }

    /// The level before the run did anything: the median of the readings taken before the
    /// first phase mark, or the first reading when no reading precedes a mark.
    pub fn baseline(&self, measure: Measure, worker: Option<u32>) -> Option<u64> {
        let points = self.points(measure, worker);
        let first_mark = self.phases.first().map(|m| m.time_s);
        let mut before: Vec<u64> = points
            .iter()
            .filter(|(t, _)| first_mark.is_none_or(|m| *t < m))
            .map(|(_, b)| *b)
            .collect();
        if before.is_empty() || first_mark.is_none() {
            return points.first().map(|(_, b)| *b);
        }
        before.sort_unstable();
        Some(before[before.len() / 2])
    }

    /// Seconds from the first to the last reading.
    pub fn duration_s(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) => b.time_s - a.time_s,
            _ => 0.0,
        }
    }

    /// Start and end of a phase: from its mark to the next mark, or to the last reading.
    /// The last mark of the phase wins when it was marked twice.
    pub fn phase_span(&self, phase: Phase) -> Option<(f64, f64)> {
        let index = self.phases.iter().rposition(|m| m.phase == phase)?;
        let start = self.phases[index].time_s;
        let end = match self.phases.get(index + 1) {
            Some(next) => next.time_s,
            None => self.samples.last().map_or(start, |s| s.time_s.max(start)),
        };
        Some((start, end))
    }

    /// Every phase with its span, in marked order.
    pub fn phase_spans(&self) -> Vec<(Phase, f64, f64)> {
        let last = self.samples.last().map(|s| s.time_s);
        self.phases
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let end = match self.phases.get(i + 1) {
                    Some(next) => next.time_s,
                    None => last.map_or(m.time_s, |t| t.max(m.time_s)),
                };
                (m.phase, m.time_s, end)
            })
            .collect()
    }

    /// The last reading taken inside a phase (at or after its mark, before the next mark):
    /// the held level is `level_at_phase_end(.., Phase::Held)`, the level after release is
    /// `level_at_phase_end(.., Phase::Released)`.
    pub fn level_at_phase_end(
        &self,
        measure: Measure,
        worker: Option<u32>,
        phase: Phase,
    ) -> Option<u64> {
        let index = self.phases.iter().rposition(|m| m.phase == phase)?;
        let start = self.phases[index].time_s;
        let next = self.phases.get(index + 1).map(|m| m.time_s);
        self.points(measure, worker)
            .into_iter()
            .filter(|(t, _)| *t >= start && next.is_none_or(|n| *t < n))
            .map(|(_, b)| b)
            .next_back()
    }

    /// Highest reading inside a phase.
    pub fn peak_in_phase(
        &self,
        measure: Measure,
        worker: Option<u32>,
        phase: Phase,
    ) -> Option<u64> {
        let (start, end) = self.phase_span(phase)?;
        self.points(measure, worker)
            .into_iter()
            .filter(|(t, _)| *t >= start && *t <= end)
            .map(|(_, b)| b)
            .max()
    }
}

/// The header of the long-format samples CSV, without a line end.
pub const CSV_HEADER: &str = "label,time_s,measure,worker,bytes";

/// Append one CSV row (with `\n`) for `sample` of the series `label` to `line`.
/// The label is quoted (RFC 4180) only when it holds a comma, a quote or a line break;
/// numbers are plain, time with microsecond resolution, worker empty when there is none.
pub fn push_csv_row(line: &mut String, label: &str, sample: &Sample) {
    push_csv_field(line, label);
    // Writing to a String cannot fail.
    let _ = write!(line, ",{:.6},{},", sample.time_s, sample.measure);
    if let Some(worker) = sample.worker {
        let _ = write!(line, "{worker}");
    }
    let _ = writeln!(line, ",{}", sample.bytes);
}

/// Append `field` to `line`, quoted only when it has to be.
pub fn push_csv_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time_s: f64, measure: Measure, worker: Option<u32>, bytes: u64) -> Sample {
        Sample {
            time_s,
            measure,
            worker,
            bytes,
        }
    }

    fn run() -> Series {
        let mut s = Series::new("inline", 10.0);
        for (t, b) in [
            (0.0, 100),
            (0.01, 100),
            (0.02, 300),
            (0.03, 500),
            (0.04, 500),
            (0.05, 120),
        ] {
            s.samples.push(sample(t, Measure::Managed, None, b));
        }
        s.phases = vec![
            PhaseMark {
                phase: Phase::Submit,
                time_s: 0.015,
            },
            PhaseMark {
                phase: Phase::Compute,
                time_s: 0.02,
            },
            PhaseMark {
                phase: Phase::Held,
                time_s: 0.035,
            },
            PhaseMark {
                phase: Phase::Released,
                time_s: 0.045,
            },
        ];
        s
    }

    #[test]
    fn names_are_snake_case_in_json_and_parse_back() {
        let json = serde_json::to_string(&Measure::DaskManaged).expect("serializes");
        assert_eq!(json, "\"dask_managed\"");
        assert_eq!(
            serde_json::to_string(&Phase::Released).expect("serializes"),
            "\"released\""
        );
        for m in Measure::ALL {
            assert_eq!(m.as_str().parse::<Measure>(), Ok(m));
        }
        assert!("Managed".parse::<Measure>().is_err());
    }

    #[test]
    fn series_round_trips_through_json() {
        let s = run();
        let back: Series =
            serde_json::from_str(&serde_json::to_string(&s).expect("serializes")).expect("parses");
        assert_eq!(back, s);
    }

    #[test]
    fn levels_follow_the_phases() {
        let s = run();
        assert_eq!(s.baseline(Measure::Managed, None), Some(100));
        assert_eq!(s.peak(Measure::Managed, None), Some(500));
        assert_eq!(
            s.level_at_phase_end(Measure::Managed, None, Phase::Held),
            Some(500)
        );
        assert_eq!(
            s.level_at_phase_end(Measure::Managed, None, Phase::Released),
            Some(120)
        );
        assert_eq!(
            s.level_at_phase_end(Measure::Process, None, Phase::Held),
            None
        );
        assert_eq!(s.phase_span(Phase::Released), Some((0.045, 0.05)));
        assert_eq!(
            s.peak_in_phase(Measure::Managed, None, Phase::Compute),
            Some(500)
        );
        assert_eq!(s.phase_spans().len(), 4);
        assert!((s.duration_s() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn totals_sum_workers_when_there_is_no_whole_run_reading() {
        let mut s = Series::new("w", 1.0);
        s.samples = vec![
            sample(0.0, Measure::Managed, Some(0), 10),
            sample(0.0, Measure::Managed, Some(1), 5),
            sample(0.001, Measure::Managed, Some(0), 20),
            sample(0.001, Measure::Managed, Some(1), 7),
        ];
        assert_eq!(s.totals(Measure::Managed), vec![(0.0, 15), (0.001, 27)]);
        assert_eq!(s.workers(Measure::Managed), vec![0, 1]);
        assert_eq!(s.measures(), vec![Measure::Managed]);
    }

    #[test]
    fn csv_rows_are_plain_and_quote_only_when_needed() {
        let mut line = String::new();
        push_csv_row(
            &mut line,
            "inline",
            &sample(0.0125, Measure::Process, None, 42),
        );
        push_csv_row(
            &mut line,
            "a,\"b\"",
            &sample(1.0, Measure::Managed, Some(3), 7),
        );
        assert_eq!(
            line,
            "inline,0.012500,process,,42\n\"a,\"\"b\"\"\",1.000000,managed,3,7\n"
        );
    }
}
