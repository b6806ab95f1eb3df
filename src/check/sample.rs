//! Sampled memory figures for `check --sample`: the [`MemoryProbe`] trait that the engine plugs
//! into, the summary of K repeated runs (median, min, max), and the comparison of a median against
//! the baseline's median with a tolerance (a percentage and an absolute noise floor). A probe may
//! be noisy, so nothing here compares single runs.

use crate::graph::{Graph, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one run of a graph with one strategy measured, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySample {
    /// Highest memory seen during the run.
    pub peak_bytes: u64,
    /// Memory held while the results are kept (persisted).
    pub held_bytes: u64,
    /// Memory left once the results are released.
    pub after_release_bytes: u64,
}

/// Runs a graph with a strategy and measures its memory. The sampling engine implements this;
/// `check` only needs the three figures of one run and calls it K times per strategy.
pub trait MemoryProbe {
    /// Runs `graph` once, its shared objects reaching the tasks as `strategy` says, and returns
    /// the figures of that run.
    fn sample(&self, graph: &Graph, strategy: Strategy) -> anyhow::Result<MemorySample>;
}

/// Median and spread of one figure over K runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// The median (the mean of the two middle runs when K is even), in bytes.
    pub median: u64,
    /// The smallest run, in bytes.
    pub min: u64,
    /// The largest run, in bytes.
    pub max: u64,
}

impl Spread {
    /// The median, min and max of the values; `None` for no values.
    pub fn of(values: &[u64]) -> Option<Spread> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let (first, last) = (*sorted.first()?, *sorted.last()?);
        let middle = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            let (low, high) = (sorted[middle - 1] as u128, sorted[middle] as u128);
            ((low + high) / 2) as u64
        };
        Some(Spread {
            median,
            min: first,
            max: last,
        })
    }
}

/// The sampled figures of one strategy over K runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampledFigures {
    /// How many runs the figures summarise.
    pub repeats: u32,
    /// Peak memory.
    pub peak_bytes: Spread,
    /// Memory held while results are kept.
    pub held_bytes: Spread,
    /// Memory after release.
    pub after_release_bytes: Spread,
}

impl SampledFigures {
    /// Summarises runs; `None` for no runs.
    pub fn of(runs: &[MemorySample]) -> Option<SampledFigures> {
        let pick = |f: fn(&MemorySample) -> u64| runs.iter().map(f).collect::<Vec<u64>>();
        Some(SampledFigures {
            repeats: u32::try_from(runs.len()).unwrap_or(u32::MAX),
            peak_bytes: Spread::of(&pick(|r| r.peak_bytes))?,
            held_bytes: Spread::of(&pick(|r| r.held_bytes))?,
            after_release_bytes: Spread::of(&pick(|r| r.after_release_bytes))?,
        })
    }

    /// The figure by name.
    pub fn figure(&self, figure: SampledFigure) -> Spread {
        match figure {
            SampledFigure::Peak => self.peak_bytes,
            SampledFigure::Held => self.held_bytes,
            SampledFigure::AfterRelease => self.after_release_bytes,
        }
    }
}

/// One of the three sampled figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampledFigure {
    /// Peak memory.
    Peak,
    /// Held memory.
    Held,
    /// Memory after release.
    AfterRelease,
}

impl SampledFigure {
    /// All three, in report order.
    pub const ALL: [SampledFigure; 3] = [
        SampledFigure::Peak,
        SampledFigure::Held,
        SampledFigure::AfterRelease,
    ];

    /// The field name used in baselines and budgets (without `max_`).
    pub fn name(self) -> &'static str {
        match self {
            SampledFigure::Peak => "peak_bytes",
            SampledFigure::Held => "held_bytes",
            SampledFigure::AfterRelease => "after_release_bytes",
        }
    }
}

/// Runs every strategy `repeats` times through the probe and summarises the runs.
pub fn sample_strategies(
    probe: &dyn MemoryProbe,
    graph: &Graph,
    strategies: &[Strategy],
    repeats: u32,
) -> anyhow::Result<BTreeMap<Strategy, SampledFigures>> {
    let mut figures = BTreeMap::new();
    for &strategy in strategies {
        let runs = (0..repeats.max(1))
            .map(|_| probe.sample(graph, strategy))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(summary) = SampledFigures::of(&runs) {
            figures.insert(strategy, summary);
        }
    }
    Ok(figures)
}

/// How far a sampled median may exceed the baseline's median before it is a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Growth tolerated as a percentage of the baseline median.
    pub percent: f64,
    /// Growth tolerated in bytes, whatever the percentage: a regression needs more than both.
    pub noise_floor_bytes: u64,
}

/// Whether a sampled median is a regression: above the baseline median by more than
/// `tolerance.percent` percent and by more than `tolerance.noise_floor_bytes`.
pub fn beyond_tolerance(baseline_median: u64, now_median: u64, tolerance: Tolerance) -> bool {
    let allowed = baseline_median as f64 * (1.0 + tolerance.percent / 100.0);
    now_median as f64 > allowed
        && now_median.saturating_sub(baseline_median) > tolerance.noise_floor_bytes
}

/// A deterministic probe for tests: each call returns the next sample of a fixed list for that
/// strategy, cycling; strategies without samples fail.
#[derive(Debug, Default)]
pub struct ScriptedProbe {
    samples: BTreeMap<Strategy, Vec<MemorySample>>,
    calls: std::cell::RefCell<BTreeMap<Strategy, usize>>,
}

impl ScriptedProbe {
    /// A probe returning `samples` in turn for `strategy`.
    pub fn with(mut self, strategy: Strategy, samples: Vec<MemorySample>) -> Self {
        self.samples.insert(strategy, samples);
        self
    }
}

impl MemoryProbe for ScriptedProbe {
    fn sample(&self, _graph: &Graph, strategy: Strategy) -> anyhow::Result<MemorySample> {
        let samples = self
            .samples
            .get(&strategy)
            .filter(|samples| !samples.is_empty())
            .ok_or_else(|| anyhow::anyhow!("no scripted samples for strategy {strategy}"))?;
        let mut calls = self.calls.borrow_mut();
        let call = calls.entry(strategy).or_default();
        let sample = samples[*call % samples.len()];
        *call += 1;
        Ok(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(peak: u64) -> MemorySample {
        MemorySample {
            peak_bytes: peak,
            held_bytes: peak / 2,
            after_release_bytes: 10,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts_with_spread() {
        assert_eq!(
            Spread::of(&[5, 1, 9]),
            Some(Spread {
                median: 5,
                min: 1,
                max: 9
            })
        );
        assert_eq!(Spread::of(&[4, 1, 9, 6]).map(|s| s.median), Some(5));
        assert_eq!(Spread::of(&[]), None);
    }

    fn percent(percent: f64) -> Tolerance {
        Tolerance {
            percent,
            noise_floor_bytes: 0,
        }
    }

    #[test]
    fn tolerance_is_a_percentage_of_the_baseline_median() {
        assert!(!beyond_tolerance(1000, 1100, percent(10.0)));
        assert!(beyond_tolerance(1000, 1101, percent(10.0)));
        assert!(beyond_tolerance(1000, 1001, percent(0.0)));
        assert!(!beyond_tolerance(1000, 500, percent(0.0)));
    }

    #[test]
    fn growth_within_the_noise_floor_never_fails() {
        let floor = Tolerance {
            percent: 10.0,
            noise_floor_bytes: 64 * 1024,
        };
        // From nothing to a little: infinitely many percent, but only a few bytes.
        assert!(!beyond_tolerance(0, 4096, floor));
        assert!(!beyond_tolerance(1000, 1000 + 64 * 1024, floor));
        assert!(beyond_tolerance(1000, 1001 + 64 * 1024, floor));
        // Above the floor but within the percentage: still not a regression.
        assert!(!beyond_tolerance(10 << 20, (10 << 20) + (1 << 20), floor));
        assert!(beyond_tolerance(
            10 << 20,
            (10 << 20) + (1 << 20) + 1,
            floor
        ));
    }

    #[test]
    fn one_outlier_run_does_not_move_the_median() {
        let probe = ScriptedProbe::default()
            .with(Strategy::Inline, vec![run(1000), run(5000), run(1010)])
            .with(Strategy::Scatter, vec![run(300)]);
        let graph =
            crate::graph::generate::generate_graph(&crate::graph::generate::GenerateOptions {
                chunks: 4,
                ..Default::default()
            })
            .unwrap();
        let figures =
            sample_strategies(&probe, &graph, &[Strategy::Inline, Strategy::Scatter], 3).unwrap();
        let inline = figures[&Strategy::Inline];
        assert_eq!(inline.repeats, 3);
        assert_eq!(
            inline.peak_bytes,
            Spread {
                median: 1010,
                min: 1000,
                max: 5000
            }
        );
        assert!(!beyond_tolerance(
            1000,
            inline.peak_bytes.median,
            percent(10.0)
        ));
        assert_eq!(figures[&Strategy::Scatter].peak_bytes.median, 300);
        let failing = sample_strategies(&probe, &graph, &[Strategy::Delayed], 2);
        assert!(failing.is_err());
    }
}
