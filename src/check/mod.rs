//! `graphprof check` as library code: measuring graphs into baseline figures, reading baselines
//! and budgets, sampling memory through a pluggable [`MemoryProbe`], comparing figures against the
//! baseline and the budget, and what changed between two measurements (shared with `diff`).
//! Nothing here prints or writes files; `report` renders a [`CheckReport`] and `commands` wires it.

pub mod baseline;
pub mod budget;
pub mod changes;
pub mod compare;
pub mod diff;
pub mod glob_walk;
pub mod sample;

pub use baseline::{Baseline, GraphFigures, measure, normalise_path, read_baseline};
pub use budget::{Budget, GraphLimits, read_budget};
pub use changes::{Changes, LayerChange, PayloadChange, changes};
pub use compare::{CheckOutcome, CheckReport, FigureRow, GraphCheck, compare_graph};
pub use sample::{MemoryProbe, MemorySample, SampledFigures, ScriptedProbe, Spread};
