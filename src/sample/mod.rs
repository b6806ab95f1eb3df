//! Sampling memory while something runs: the data model, the sources and the sampler thread.

pub mod measure;
pub mod sampler;
pub mod series;

pub use measure::{Gauge, ProcessTree, Reading, Source};
pub use sampler::{CommandStatus, SampleError, Sampler, SamplerHandle, sample_command};
pub use series::{Measure, Phase, PhaseMark, Sample, SamplerOverhead, Series};
