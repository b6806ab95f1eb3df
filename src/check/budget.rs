//! The budget file (TOML, documented in docs/CHECK.md): `[defaults]` and `[[graph]]` entries
//! chosen by `path` or `glob`, with limits on the exact figures, a tolerance for sampled memory and
//! per-strategy sampled limits. Reading it (every error names the file and the line), resolving
//! each entry to the graph files it names, and merging the limits that apply to one graph.

use super::baseline::{clean, normalise_path, not_a_graph_file};
use super::glob_walk::{GlobError, MAX_GLOB_ENTRIES, matching_paths};
use super::sample::SampledFigure;
use crate::error::{InputError, Place};
use crate::escape::quote;
use crate::graph::Strategy;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// Tolerance for sampled memory against the baseline when the budget does not set one.
pub const DEFAULT_TOLERANCE_PERCENT: f64 = 10.0;
/// Growth of a sampled median over the baseline's that never fails, whatever the percentage,
/// when the budget does not set `noise_floor_bytes`: 1 MiB. The engine's peak depends on how its
/// threads interleave (in-flight arguments, intermediate results): on a small graph it moved by
/// 78 KiB (10%) between identical runs.
pub const DEFAULT_NOISE_FLOOR_BYTES: u64 = 1 << 20;

/// A size in bytes, written as an integer or a string such as `"240KiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: bytes as an integer, or a string such as \"240KiB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                crate::units::parse_size(v)
                    .map(Size)
                    .map_err(|e| E::custom(e.to_string()))
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Limits on one strategy's sampled memory.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyLimits {
    /// Limit on the median peak.
    pub max_peak_bytes: Option<Size>,
    /// Limit on the median held memory.
    pub max_held_bytes: Option<Size>,
    /// Limit on the median memory after release.
    pub max_after_release_bytes: Option<Size>,
}

impl StrategyLimits {
    /// The limit on a sampled figure.
    pub fn limit(&self, figure: SampledFigure) -> Option<u64> {
        match figure {
            SampledFigure::Peak => self.max_peak_bytes,
            SampledFigure::Held => self.max_held_bytes,
            SampledFigure::AfterRelease => self.max_after_release_bytes,
        }
        .map(|size| size.0)
    }
}

/// Per-strategy sampled limits: `[graph.sample.inline]` and so on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleLimits {
    inline: Option<StrategyLimits>,
    scatter: Option<StrategyLimits>,
    delayed: Option<StrategyLimits>,
}

/// The limits of `[defaults]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_wire_bytes: Option<Size>,
    max_materialised_bytes: Option<Size>,
    max_duplicated_bytes: Option<Size>,
    max_duplication_ratio: Option<Spanned<f64>>,
    max_tasks: Option<u64>,
    tolerance_percent: Option<Spanned<f64>>,
    noise_floor_bytes: Option<Size>,
    sample: Option<SampleLimits>,
}

/// One `[[graph]]` entry (the limits repeated: serde cannot flatten with deny_unknown_fields).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    path: Option<Spanned<String>>,
    glob: Option<Spanned<String>>,
    max_wire_bytes: Option<Size>,
    max_materialised_bytes: Option<Size>,
    max_duplicated_bytes: Option<Size>,
    max_duplication_ratio: Option<Spanned<f64>>,
    max_tasks: Option<u64>,
    tolerance_percent: Option<Spanned<f64>>,
    noise_floor_bytes: Option<Size>,
    sample: Option<SampleLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    defaults: Option<Spanned<RawLimits>>,
    #[serde(default)]
    graph: Vec<Spanned<RawEntry>>,
}

/// One limit and the budget line that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limit<T> {
    /// The limit.
    pub value: T,
    /// Where it was set: `graphprof.toml:7`.
    pub origin: String,
}

/// The limits that apply to one graph, merged from `[defaults]` and every matching entry in order
/// (a later entry overrides an earlier one, field by field).
#[derive(Debug, Clone, Default)]
pub struct GraphLimits {
    /// Limit on wire bytes.
    pub max_wire_bytes: Option<Limit<u64>>,
    /// Limit on materialised bytes.
    pub max_materialised_bytes: Option<Limit<u64>>,
    /// Limit on duplicated bytes.
    pub max_duplicated_bytes: Option<Limit<u64>>,
    /// Limit on the duplication ratio.
    pub max_duplication_ratio: Option<Limit<f64>>,
    /// Limit on the task count.
    pub max_tasks: Option<Limit<u64>>,
    /// Tolerated growth of sampled medians over the baseline, percent.
    pub tolerance_percent: Option<Limit<f64>>,
    /// Growth of sampled medians over the baseline that is never a regression, in bytes.
    pub noise_floor_bytes: Option<Limit<u64>>,
    /// Sampled limits per strategy and figure.
    pub sample: BTreeMap<(Strategy, SampledFigure), Limit<u64>>,
}

impl GraphLimits {
    /// The tolerance in percent (the default when unset).
    pub fn tolerance(&self) -> f64 {
        self.tolerance_percent
            .as_ref()
            .map_or(DEFAULT_TOLERANCE_PERCENT, |l| l.value)
    }

    /// The noise floor in bytes (the default when unset).
    pub fn noise_floor(&self) -> u64 {
        self.noise_floor_bytes
            .as_ref()
            .map_or(DEFAULT_NOISE_FLOOR_BYTES, |l| l.value)
    }

    /// The limit on a sampled figure of a strategy.
    pub fn sampled(&self, strategy: Strategy, figure: SampledFigure) -> Option<&Limit<u64>> {
        self.sample.get(&(strategy, figure))
    }

    fn apply(&mut self, limits: &LimitFields, origin: &str) {
        let set_u64 = |slot: &mut Option<Limit<u64>>, value: Option<u64>| {
            if let Some(value) = value {
                *slot = Some(Limit {
                    value,
                    origin: origin.to_string(),
                });
            }
        };
        set_u64(&mut self.max_wire_bytes, limits.max_wire_bytes);
        set_u64(
            &mut self.max_materialised_bytes,
            limits.max_materialised_bytes,
        );
        set_u64(&mut self.max_duplicated_bytes, limits.max_duplicated_bytes);
        set_u64(&mut self.max_tasks, limits.max_tasks);
        set_u64(&mut self.noise_floor_bytes, limits.noise_floor_bytes);
        if let Some(value) = limits.max_duplication_ratio {
            self.max_duplication_ratio = Some(Limit {
                value,
                origin: origin.to_string(),
            });
        }
        if let Some(value) = limits.tolerance_percent {
            self.tolerance_percent = Some(Limit {
                value,
                origin: origin.to_string(),
            });
        }
        if let Some(sample) = &limits.sample {
            for (strategy, strategy_limits) in [
                (Strategy::Inline, &sample.inline),
                (Strategy::Scatter, &sample.scatter),
                (Strategy::Delayed, &sample.delayed),
            ] {
                let Some(strategy_limits) = strategy_limits else {
                    continue;
                };
                for figure in SampledFigure::ALL {
                    if let Some(value) = strategy_limits.limit(figure) {
                        self.sample.insert(
                            (strategy, figure),
                            Limit {
                                value,
                                origin: origin.to_string(),
                            },
                        );
                    }
                }
            }
        }
    }
}

/// The limit fields shared by `[defaults]` and `[[graph]]`, with sizes resolved.
#[derive(Debug, Clone, Default)]
struct LimitFields {
    max_wire_bytes: Option<u64>,
    max_materialised_bytes: Option<u64>,
    max_duplicated_bytes: Option<u64>,
    max_duplication_ratio: Option<f64>,
    max_tasks: Option<u64>,
    tolerance_percent: Option<f64>,
    noise_floor_bytes: Option<u64>,
    sample: Option<SampleLimits>,
}

/// A `[[graph]]` entry: where it is and its limits.
#[derive(Debug, Clone)]
struct Entry {
    origin: String,
    limits: LimitFields,
}

/// A budget file, read and resolved against the file system.
#[derive(Debug, Clone)]
pub struct Budget {
    defaults: Option<(String, LimitFields)>,
    entries: Vec<Entry>,
    /// For each normalised graph path, the entries that name it, in file order: built once, so
    /// finding a graph's limits does not scan every entry.
    by_path: HashMap<String, Vec<usize>>,
}

impl Budget {
    /// No limits at all (no `--budget`).
    pub fn none() -> Self {
        Budget {
            defaults: None,
            entries: Vec::new(),
            by_path: HashMap::new(),
        }
    }

    /// The limits for a graph, by its normalised path.
    pub fn limits_for(&self, path: &str) -> GraphLimits {
        let mut limits = GraphLimits::default();
        if let Some((origin, defaults)) = &self.defaults {
            limits.apply(defaults, origin);
        }
        for &index in self.by_path.get(path).into_iter().flatten() {
            let entry = &self.entries[index];
            limits.apply(&entry.limits, &entry.origin);
        }
        limits
    }
}

/// Where each line of a text starts, found once: a budget with many entries asks for many places.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn of(text: &str) -> Self {
        let newlines = text.bytes().enumerate().filter(|&(_, b)| b == b'\n');
        Lines {
            starts: std::iter::once(0)
                .chain(newlines.map(|(i, _)| i + 1))
                .collect(),
        }
    }

    /// 1-based line and column (in bytes) of a byte offset.
    fn line_column(&self, offset: usize) -> (usize, usize) {
        // starts[0] is 0, so at least one start is at or before any offset.
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    Lines::of(&text[..offset.min(text.len())]).line_column(offset.min(text.len()))
}

/// Reads a budget and resolves its entries: paths and globs are relative to the budget file's
/// folder; a path that is not a file or a glob that matches no file is an error at its line.
pub fn read_budget(path: &Path, cwd: &Path) -> Result<Budget, InputError> {
    crate::error::refuse_endless(path)?;
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_budget(path, &text, cwd)
}

/// [`read_budget`] on text already read; `path` names the file and its folder anchors the entries.
/// For the fuzz targets.
#[doc(hidden)]
pub fn parse_budget(path: &Path, text: &str, cwd: &Path) -> Result<Budget, InputError> {
    let raw: RawBudget = toml::from_str(text).map_err(|error| {
        let place = match error.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                Place::LineColumn { line, column }
            }
            None => Place::File,
        };
        InputError::invalid(
            path,
            place,
            crate::escape::quote_within(&error.message().trim().replace('\n', " ")),
        )
    })?;
    let name = path.display().to_string();
    let lines = Lines::of(text);
    let at = |offset: usize| {
        let (line, column) = lines.line_column(offset.min(text.len()));
        (Place::LineColumn { line, column }, format!("{name}:{line}"))
    };
    let folder = path.parent().unwrap_or(Path::new(""));
    let defaults = match raw.defaults {
        Some(spanned) => {
            let raw = spanned.get_ref();
            check_numbers(
                path,
                text,
                &raw.max_duplication_ratio,
                &raw.tolerance_percent,
            )?;
            let fields = limit_fields_of_defaults(raw);
            Some((format!("{name} [defaults]"), fields))
        }
        None => None,
    };
    let mut entries = Vec::new();
    let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
    for spanned in &raw.graph {
        let entry = spanned.get_ref();
        let (place, origin) = at(spanned.span().start);
        check_numbers(
            path,
            text,
            &entry.max_duplication_ratio,
            &entry.tolerance_percent,
        )?;
        let fields = limit_fields_of_entry(entry);
        let files = match (&entry.path, &entry.glob) {
            (Some(file), None) => {
                let (place, _) = at(file.span().start);
                let joined = clean(&folder.join(file.get_ref()));
                if let Some(reason) = not_a_graph_file(&joined) {
                    return Err(InputError::invalid(
                        path,
                        place,
                        format!("graph {} {reason}", quote(&joined.display().to_string())),
                    ));
                }
                BTreeSet::from([normalise_path(&joined, cwd)])
            }
            (None, Some(pattern)) => {
                let (place, _) = at(pattern.span().start);
                let full = format!(
                    "{}{}",
                    match folder.to_str() {
                        Some("") | None => String::new(),
                        Some(dir) => format!("{}/", glob::Pattern::escape(dir)),
                    },
                    pattern.get_ref()
                );
                let matches = matching_paths(&full, MAX_GLOB_ENTRIES).map_err(|error| {
                    let message = match error {
                        GlobError::Invalid(error) => {
                            format!("invalid glob '{}': {error}", quote(pattern.get_ref()))
                        }
                        GlobError::TooManyEntries(limit) => format!(
                            "glob '{}' stopped after reading {} folder entries; \
                             name a narrower folder",
                            quote(&full),
                            crate::units::count(limit as u64)
                        ),
                    };
                    InputError::invalid(path, place.clone(), message)
                })?;
                let files: BTreeSet<String> = matches
                    .into_iter()
                    .filter(|file| file.is_file())
                    .map(|file| normalise_path(&file, cwd))
                    .collect();
                if files.is_empty() {
                    return Err(InputError::invalid(
                        path,
                        place,
                        format!("glob '{}' matches no graph file", quote(&full)),
                    ));
                }
                files
            }
            (Some(_), Some(second)) => {
                return Err(InputError::invalid(
                    path,
                    at(second.span().start).0,
                    "a [[graph]] entry needs exactly one of `path` or `glob`, not both",
                ));
            }
            (None, None) => {
                return Err(InputError::invalid(
                    path,
                    place,
                    "a [[graph]] entry needs exactly one of `path` or `glob`",
                ));
            }
        };
        for file in files {
            by_path.entry(file).or_default().push(entries.len());
        }
        entries.push(Entry {
            origin,
            limits: fields,
        });
    }
    Ok(Budget {
        defaults,
        entries,
        by_path,
    })
}

fn limit_fields_of_defaults(raw: &RawLimits) -> LimitFields {
    LimitFields {
        max_wire_bytes: raw.max_wire_bytes.map(|s| s.0),
        max_materialised_bytes: raw.max_materialised_bytes.map(|s| s.0),
        max_duplicated_bytes: raw.max_duplicated_bytes.map(|s| s.0),
        max_duplication_ratio: raw.max_duplication_ratio.as_ref().map(|r| *r.get_ref()),
        max_tasks: raw.max_tasks,
        tolerance_percent: raw.tolerance_percent.as_ref().map(|t| *t.get_ref()),
        noise_floor_bytes: raw.noise_floor_bytes.map(|s| s.0),
        sample: raw.sample.clone(),
    }
}

fn limit_fields_of_entry(raw: &RawEntry) -> LimitFields {
    LimitFields {
        max_wire_bytes: raw.max_wire_bytes.map(|s| s.0),
        max_materialised_bytes: raw.max_materialised_bytes.map(|s| s.0),
        max_duplicated_bytes: raw.max_duplicated_bytes.map(|s| s.0),
        max_duplication_ratio: raw.max_duplication_ratio.as_ref().map(|r| *r.get_ref()),
        max_tasks: raw.max_tasks,
        tolerance_percent: raw.tolerance_percent.as_ref().map(|t| *t.get_ref()),
        noise_floor_bytes: raw.noise_floor_bytes.map(|s| s.0),
        sample: raw.sample.clone(),
    }
}

/// Refuses a ratio limit below 1 and a negative tolerance, at the line of the offending value.
fn check_numbers(
    path: &Path,
    text: &str,
    ratio: &Option<Spanned<f64>>,
    tolerance: &Option<Spanned<f64>>,
) -> Result<(), InputError> {
    let checks = [
        (
            ratio,
            (|r: f64| r.is_finite() && r >= 1.0) as fn(f64) -> bool,
            "max_duplication_ratio must be a number of at least 1.0",
        ),
        (
            tolerance,
            |t: f64| t.is_finite() && t >= 0.0,
            "tolerance_percent must be a non-negative number",
        ),
    ];
    for (value, valid, message) in checks {
        if let Some(value) = value
            && !valid(*value.get_ref())
        {
            let (line, column) = line_column(text, value.span().start);
            return Err(InputError::invalid(
                path,
                Place::LineColumn { line, column },
                message,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
