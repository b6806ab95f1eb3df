//! The comparison at the heart of `check`: a graph's figures now against its baseline entry (exact
//! figures exactly, sampled medians within a tolerance) and against its budget limits, giving one
//! [`CheckOutcome`] per check (a JUnit test case) and one [`FigureRow`] per figure (a table row).
//! The result, [`CheckReport`], is the JSON report; the other formats render it.

use super::baseline::GraphFigures;
use super::budget::{GraphLimits, Limit};
use super::changes::{Changes, changes};
use super::sample::{SampledFigure, Spread, Tolerance, beyond_tolerance};
use crate::graph::Strategy;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// Value of the `schema` field of a check report.
pub const CHECK_SCHEMA: &str = "graphprof-check";
/// Version of the check report schema.
pub const CHECK_VERSION: u32 = 1;

/// A figure's value: a whole number (bytes or a count) or a ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    /// Bytes or a count.
    Whole(u64),
    /// A ratio.
    Ratio(f64),
}

impl Amount {
    /// As a float, for percentages.
    pub fn as_f64(self) -> f64 {
        match self {
            Amount::Whole(n) => n as f64,
            Amount::Ratio(r) => r,
        }
    }

    /// Whether this is larger than `other`; whole numbers compare exactly, ratios beyond
    /// [`ratios_equal`].
    pub fn exceeds(self, other: Amount) -> bool {
        match (self, other) {
            (Amount::Whole(a), Amount::Whole(b)) => a > b,
            _ => {
                let (a, b) = (self.as_f64(), other.as_f64());
                a > b && !ratios_equal(a, b)
            }
        }
    }
}

/// Whether two ratios are the same figure: equal to within one part in 10^9. A ratio written to
/// JSON and read back may differ from the original in its last bit.
pub fn ratios_equal(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// What a figure counts, so reports format it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// A count.
    Count,
    /// A ratio.
    Ratio,
}

/// One row of a graph's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureRow {
    /// The figure: `wire_bytes`, or `peak_bytes` with a strategy.
    pub figure: String,
    /// The strategy of a sampled figure.
    pub strategy: Option<Strategy>,
    /// What it counts.
    pub unit: Unit,
    /// The baseline's value (the median for sampled figures), if the baseline has one.
    pub baseline: Option<Amount>,
    /// The value now (the median for sampled figures).
    pub now: Amount,
    /// Spread of the baseline's runs (sampled figures).
    pub baseline_spread: Option<Spread>,
    /// Spread of this run's repeats (sampled figures).
    pub now_spread: Option<Spread>,
    /// The budget limit, if any.
    pub budget: Option<Amount>,
    /// Tolerance in percent against the baseline (sampled figures; exact ones have none).
    pub tolerance_percent: Option<f64>,
    /// Whether every check on this figure passed.
    pub passed: bool,
    /// The check against the baseline alone: `None` when this figure is not compared with it.
    #[serde(default)]
    pub baseline_passed: Option<bool>,
    /// The budget check alone: `None` when no budget limits this figure.
    #[serde(default)]
    pub budget_passed: Option<bool>,
}

/// One check: a JUnit test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check: `regression: wire_bytes`, `budget: max_wire_bytes`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, in one line.
    pub message: String,
}

/// Everything found about one graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphCheck {
    /// The graph path, normalised.
    pub path: String,
    /// The graph's name.
    pub name: Option<String>,
    /// Whether the baseline has this graph.
    pub in_baseline: bool,
    /// Whether every check passed.
    pub passed: bool,
    /// The table rows.
    pub rows: Vec<FigureRow>,
    /// The checks.
    pub checks: Vec<CheckOutcome>,
    /// Payloads and layers that changed against the baseline (the top offenders are the grown ones).
    pub changes: Changes,
}

/// The report of one `check` run; its JSON form is this struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Always `graphprof-check`.
    pub schema: String,
    /// Schema version, 1.
    pub version: u32,
    /// Whether every graph passed.
    pub passed: bool,
    /// The baseline file.
    pub baseline: String,
    /// The budget file, if any.
    pub budget: Option<String>,
    /// Whether sampled figures were measured.
    pub sampled: bool,
    /// One entry per graph, in the order given.
    pub graphs: Vec<GraphCheck>,
}

impl CheckReport {
    /// A report of these graphs.
    pub fn new(
        baseline: &str,
        budget: Option<&str>,
        sampled: bool,
        graphs: Vec<GraphCheck>,
    ) -> Self {
        CheckReport {
            schema: CHECK_SCHEMA.to_string(),
            version: CHECK_VERSION,
            passed: graphs.iter().all(|g| g.passed),
            baseline: baseline.to_string(),
            budget: budget.map(str::to_string),
            sampled,
            graphs,
        }
    }

    /// Every failed check, with its graph.
    pub fn failures(&self) -> impl Iterator<Item = (&GraphCheck, &CheckOutcome)> {
        self.graphs
            .iter()
            .flat_map(|g| g.checks.iter().filter(|c| !c.passed).map(move |c| (g, c)))
    }
}

/// Formats an amount of a unit for messages and tables.
pub fn format_amount(amount: Amount, unit: Unit) -> String {
    match (amount, unit) {
        (Amount::Whole(n), Unit::Bytes) => Bytes(n).to_string(),
        (Amount::Whole(n), _) => crate::units::count(n),
        (Amount::Ratio(r), _) => format!("{r:.3}"),
    }
}

struct Exact {
    figure: &'static str,
    unit: Unit,
    now: Amount,
    baseline: Option<Amount>,
    limit: Option<(&'static str, Amount, String)>,
    /// Growth against the baseline fails.
    regression_checked: bool,
}

fn whole_limit(
    name: &'static str,
    limit: &Option<Limit<u64>>,
) -> Option<(&'static str, Amount, String)> {
    limit
        .as_ref()
        .map(|l| (name, Amount::Whole(l.value), l.origin.clone()))
}

/// Compares one graph's figures now with its baseline entry and its limits. Sampled figures are
/// compared only for the strategies present in `now.sampled`.
pub fn compare_graph(
    now: &GraphFigures,
    baseline: Option<&GraphFigures>,
    limits: &GraphLimits,
) -> GraphCheck {
    let f = &now.figures;
    let b = baseline.map(|b| &b.figures);
    let exact = [
        Exact {
            figure: "wire_bytes",
            unit: Unit::Bytes,
            now: Amount::Whole(f.wire_bytes),
            baseline: b.map(|b| Amount::Whole(b.wire_bytes)),
            limit: whole_limit("max_wire_bytes", &limits.max_wire_bytes),
            regression_checked: true,
        },
        Exact {
            figure: "materialised_bytes",
            unit: Unit::Bytes,
            now: Amount::Whole(f.materialised_bytes),
            baseline: b.map(|b| Amount::Whole(b.materialised_bytes)),
            limit: whole_limit("max_materialised_bytes", &limits.max_materialised_bytes),
            regression_checked: true,
        },
        Exact {
            figure: "duplicated_bytes",
            unit: Unit::Bytes,
            now: Amount::Whole(f.duplicated_bytes),
            baseline: b.map(|b| Amount::Whole(b.duplicated_bytes)),
            limit: whole_limit("max_duplicated_bytes", &limits.max_duplicated_bytes),
            regression_checked: true,
        },
        Exact {
            figure: "duplication_ratio",
            unit: Unit::Ratio,
            now: Amount::Ratio(f.duplication_ratio),
            baseline: b.map(|b| Amount::Ratio(b.duplication_ratio)),
            limit: limits.max_duplication_ratio.as_ref().map(|l| {
                (
                    "max_duplication_ratio",
                    Amount::Ratio(l.value),
                    l.origin.clone(),
                )
            }),
            regression_checked: false,
        },
        Exact {
            figure: "tasks",
            unit: Unit::Count,
            now: Amount::Whole(f.tasks),
            baseline: b.map(|b| Amount::Whole(b.tasks)),
            limit: whole_limit("max_tasks", &limits.max_tasks),
            regression_checked: false,
        },
    ];
    let mut rows = Vec::new();
    let mut checks = Vec::new();
    for figure in exact {
        let mut passed = true;
        let (mut baseline_passed, mut budget_passed) = (None, None);
        if figure.regression_checked
            && let Some(base) = figure.baseline
        {
            let grew = figure.now.exceeds(base);
            passed &= !grew;
            baseline_passed = Some(!grew);
            checks.push(CheckOutcome {
                name: format!("regression: {}", figure.figure),
                passed: !grew,
                message: format!(
                    "{} {} {} (baseline {})",
                    figure.figure,
                    if grew { "grew to" } else { "is" },
                    format_amount(figure.now, figure.unit),
                    format_amount(base, figure.unit)
                ),
            });
        }
        if let Some((name, limit, origin)) = &figure.limit {
            checks.push(budget_check(
                name,
                figure.figure,
                figure.now,
                *limit,
                figure.unit,
                origin,
                &mut passed,
            ));
            budget_passed = checks.last().map(|check| check.passed);
        }
        rows.push(FigureRow {
            figure: figure.figure.to_string(),
            strategy: None,
            unit: figure.unit,
            baseline: figure.baseline,
            now: figure.now,
            baseline_spread: None,
            now_spread: None,
            budget: figure.limit.map(|(_, limit, _)| limit),
            tolerance_percent: None,
            passed,
            baseline_passed,
            budget_passed,
        });
    }
    let changes = baseline.map_or_else(Changes::default, |b| changes(b, now));
    if baseline.is_some() {
        let new: Vec<String> = changes
            .new_payloads
            .iter()
            .map(|p| {
                format!(
                    "{} ({}, {} copies of {} in {})",
                    p.digest,
                    p.type_name.as_deref().unwrap_or("untyped"),
                    p.copies_now,
                    Bytes(p.size_bytes),
                    p.layers.join(", ")
                )
            })
            .collect();
        checks.push(CheckOutcome {
            name: "regression: new duplicated payloads".to_string(),
            passed: new.is_empty(),
            message: if new.is_empty() {
                "no new duplicated payload".to_string()
            } else {
                format!("new duplicated payload: {}", new.join("; "))
            },
        });
    }
    for (&strategy, sampled) in &now.sampled {
        let base = baseline.and_then(|b| b.sampled.get(&strategy));
        for figure in SampledFigure::ALL {
            let spread = sampled.figure(figure);
            let base_spread = base.map(|b| b.figure(figure));
            let tolerance = limits.tolerance();
            let noise_floor = limits.noise_floor();
            let mut passed = true;
            let (mut baseline_passed, mut budget_passed) = (None, None);
            let label = format!("{strategy} {}", figure.name());
            if let Some(base_spread) = base_spread {
                let regressed = beyond_tolerance(
                    base_spread.median,
                    spread.median,
                    Tolerance {
                        percent: tolerance,
                        noise_floor_bytes: noise_floor,
                    },
                );
                passed &= !regressed;
                baseline_passed = Some(!regressed);
                checks.push(CheckOutcome {
                    name: format!("regression: {label}"),
                    passed: !regressed,
                    message: format!(
                        "{label} median {} (runs {}..{}) {} baseline median {} (runs {}..{}) {}",
                        Bytes(spread.median),
                        Bytes(spread.min),
                        Bytes(spread.max),
                        if regressed { "exceeds" } else { "is within" },
                        Bytes(base_spread.median),
                        Bytes(base_spread.min),
                        Bytes(base_spread.max),
                        if regressed {
                            format!("by more than {tolerance}% and {}", Bytes(noise_floor))
                        } else {
                            format!("plus {tolerance}% or {}", Bytes(noise_floor))
                        },
                    ),
                });
            }
            let limit = limits.sampled(strategy, figure);
            if let Some(limit) = limit {
                let name = format!("max_{}", figure.name());
                checks.push(budget_check(
                    &format!("{strategy} {name}"),
                    &format!("{label} median"),
                    Amount::Whole(spread.median),
                    Amount::Whole(limit.value),
                    Unit::Bytes,
                    &limit.origin,
                    &mut passed,
                ));
                budget_passed = checks.last().map(|check| check.passed);
            }
            rows.push(FigureRow {
                figure: figure.name().to_string(),
                strategy: Some(strategy),
                unit: Unit::Bytes,
                baseline: base_spread.map(|s| Amount::Whole(s.median)),
                now: Amount::Whole(spread.median),
                baseline_spread: base_spread,
                now_spread: Some(spread),
                budget: limit.map(|l| Amount::Whole(l.value)),
                tolerance_percent: Some(tolerance),
                passed,
                baseline_passed,
                budget_passed,
            });
        }
    }
    GraphCheck {
        path: now.path.clone(),
        name: now.name.clone(),
        in_baseline: baseline.is_some(),
        passed: checks.iter().all(|c| c.passed),
        rows,
        checks,
        changes,
    }
}

fn budget_check(
    limit_name: &str,
    figure: &str,
    now: Amount,
    limit: Amount,
    unit: Unit,
    origin: &str,
    passed: &mut bool,
) -> CheckOutcome {
    let over = now.exceeds(limit);
    *passed &= !over;
    CheckOutcome {
        name: format!("budget: {limit_name}"),
        passed: !over,
        message: format!(
            "{figure} {} {} {limit_name} {} ({origin})",
            format_amount(now, unit),
            if over { "exceeds" } else { "is within" },
            format_amount(limit, unit),
        ),
    }
}
