//! What can go wrong while sampling: one error type for the sampler thread, its CSV sink and
//! the sampled command, so that each of them reports through it without importing the others.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::sample::series::Series;

/// What can go wrong while sampling.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// The interval is outside [`MIN_INTERVAL`](crate::sample::sampler::MIN_INTERVAL) ..=
    /// [`MAX_INTERVAL`](crate::sample::sampler::MAX_INTERVAL).
    #[error("sampling interval {0:?} is out of range: use 1 ms to 60 s")]
    Interval(Duration),
    /// The sink file could not be opened.
    #[error("cannot open the samples file {}", path.display())]
    SinkOpen {
        /// The sink's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Writing the sink failed mid-run; sampling went on in memory and `series` holds it all.
    #[error("writing the samples file {} failed ({} samples kept in memory)", path.display(), series.samples.len())]
    SinkWrite {
        /// The sink's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
        /// Everything sampled, including what could not be written.
        series: Box<Series>,
    },
    /// The thread could not be started.
    #[error("cannot start the sampler thread")]
    Spawn(#[source] io::Error),
    /// A source panicked inside the sampler thread (rows already in the sink are kept).
    #[error("the sampler thread panicked")]
    Panicked,
    /// `sample_command` was given no program.
    #[error("no command to run")]
    EmptyCommand,
    /// The command could not be started.
    #[error("cannot run {program:?}")]
    CommandSpawn {
        /// The program as given.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Waiting for the command failed.
    #[error("waiting for {program:?} failed")]
    CommandWait {
        /// The program as given.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}
