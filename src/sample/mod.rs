//! Sampling memory while something runs: the data model, the sources and the sampler thread.

pub mod builtin;
pub mod command;
pub mod error;
pub mod measure;
pub mod sampler;
pub mod series;
mod sink;
pub mod watchdog;

pub use command::{CommandLimits, CommandStatus, Stopped, sample_command};
pub use error::SampleError;
pub use measure::{Gauge, ProcessTree, Reading, Source};
pub use sampler::{Sampler, SamplerHandle};
pub use series::{Measure, Phase, PhaseMark, Sample, SamplerOverhead, Series};
