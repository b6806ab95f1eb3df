//! The three ways a large object reaches the tasks that use it: embedded in every task (`inline`),
//! sent once to every worker and passed by reference (`scatter`), or built by one task that the
//! others depend on (`delayed`). Shared by the generators, the rewrite and the engines.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a shared object reaches its tasks.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// A pickled copy embedded in every task that uses it (`map_blocks(f, obj)`).
    Inline,
    /// One copy per worker, sent once and referenced (`client.scatter(obj, broadcast=True)`).
    Scatter,
    /// Built inside one task that the users depend on (`dask.delayed(make_obj)()`).
    Delayed,
}

impl Strategy {
    /// All strategies, in the order reports list them.
    pub const ALL: [Strategy; 3] = [Strategy::Inline, Strategy::Delayed, Strategy::Scatter];

    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Inline => "inline",
            Strategy::Scatter => "scatter",
            Strategy::Delayed => "delayed",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
