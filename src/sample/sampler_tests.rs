//! Tests of the sampler thread, kept beside it (`sampler.rs` includes this file as its `tests`
//! module). None asserts on timing: the machines are shared and noisy.

use super::*;
use crate::sample::measure::Gauge;
use crate::sample::series::CSV_HEADER;

#[test]
fn intervals_outside_one_ms_to_a_minute_are_refused() {
    assert!(matches!(
        validate_interval(Duration::from_micros(999)),
        Err(SampleError::Interval(_))
    ));
    assert!(matches!(
        validate_interval(Duration::from_secs(61)),
        Err(SampleError::Interval(_))
    ));
    assert!(validate_interval(Duration::from_millis(1)).is_ok());
    assert!(validate_interval(Duration::from_secs(60)).is_ok());
    let refused = Sampler::start("x", Duration::ZERO, Vec::new(), None);
    assert!(matches!(refused, Err(SampleError::Interval(_))));
}

#[test]
fn samples_gauges_derives_unmanaged_and_marks_phases() {
    let managed = Gauge::new(Measure::Managed, None);
    let process = Gauge::new(Measure::Process, None);
    let (m, p) = (managed.handle(), process.handle());
    m.store(100, Ordering::Relaxed);
    p.store(1000, Ordering::Relaxed);
    let sources: Vec<Box<dyn Source>> = vec![Box::new(managed), Box::new(process)];
    let handle = Sampler::start("gauges", Duration::from_millis(2), sources, None).expect("starts");
    handle.mark(Phase::Compute);
    thread::sleep(Duration::from_millis(30));
    m.store(400, Ordering::Relaxed);
    handle.mark(Phase::Held);
    // Wait for a tick to see the new value (no timed assertion: the machine may be slow).
    let waited = Instant::now();
    while handle.latest(Measure::Managed) != Some(400) && waited.elapsed() < Duration::from_secs(20)
    {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(handle.latest(Measure::Managed), Some(400));
    let series = handle.stop().expect("stops");
    assert!(series.complete);
    assert_eq!(series.phases.len(), 2);
    assert_eq!(series.peak(Measure::Unmanaged, None), Some(900));
    assert_eq!(
        series.level_at_phase_end(Measure::Unmanaged, None, Phase::Held),
        Some(600)
    );
    let ticks = series.overhead.samples_taken;
    assert!(ticks >= 2, "{ticks} ticks");
    assert_eq!(series.samples.len() as u64, ticks * 3);
}

#[test]
fn ticks_keep_a_fixed_rate() {
    let gauge = Gauge::new(Measure::Managed, None);
    let handle = Sampler::start(
        "rate",
        Duration::from_millis(5),
        vec![Box::new(gauge)],
        None,
    )
    .expect("starts");
    thread::sleep(Duration::from_millis(300));
    let series = handle.stop().expect("stops");
    // No timed assertion (shared, noisy machines): the sampler ticked, and its sample times
    // only move forward.
    let ticks = series.overhead.samples_taken;
    assert!(ticks >= 2, "{ticks} ticks");
    assert!(
        series
            .samples
            .windows(2)
            .all(|w| w[0].time_s <= w[1].time_s),
        "sample times go backwards"
    );
}

#[test]
fn stop_does_not_wait_for_a_long_interval() {
    let handle = Sampler::start("slow", Duration::from_secs(60), Vec::new(), None).expect("starts");
    let asked = Instant::now();
    let series = handle.stop().expect("stops");
    // A liveness check, not a speed goal: only a stop that waited for the next 60 s tick fails.
    assert!(asked.elapsed() < Duration::from_secs(30));
    assert!(series.overhead.samples_taken >= 1);
}

#[test]
fn the_sink_holds_the_rows_while_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("samples.csv");
    let gauge = Gauge::new(Measure::Managed, Some(1));
    gauge.handle().store(77, Ordering::Relaxed);
    let handle = Sampler::start(
        "sink",
        Duration::from_millis(1),
        vec![Box::new(gauge)],
        Some(path.clone()),
    )
    .expect("starts");
    // Still running: rows reach the disk (wait for them, without a timed assertion).
    let waited = Instant::now();
    let mut text = String::new();
    while text.lines().count() < 2 && waited.elapsed() < Duration::from_secs(20) {
        thread::sleep(Duration::from_millis(10));
        text = std::fs::read_to_string(&path).unwrap_or_default();
    }
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    let first = lines.next().expect("a row was written while running");
    assert!(
        first.starts_with("sink,") && first.ends_with(",managed,1,77"),
        "{first}"
    );
    let series = handle.stop().expect("stops");
    let rows = std::fs::read_to_string(&path)
        .expect("sink exists")
        .lines()
        .count();
    assert_eq!(rows as u64, series.overhead.samples_taken + 1);
    // A second series appends without a second header.
    let again = Sampler::start(
        "again",
        Duration::from_millis(5),
        Vec::new(),
        Some(path.clone()),
    )
    .expect("starts");
    again.stop().expect("stops");
    let text = std::fs::read_to_string(&path).expect("sink exists");
    assert_eq!(text.matches("label,").count(), 1);
}

#[test]
fn an_unwritable_sink_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing").join("samples.csv");
    let refused = Sampler::start("x", Duration::from_millis(5), Vec::new(), Some(path));
    assert!(matches!(refused, Err(SampleError::SinkOpen { .. })));
}

#[test]
fn thread_cpu_time_is_read() {
    let before = thread_cpu_ns().expect("readable");
    let mut x = 0u64;
    for i in 0..5_000_000u64 {
        x = x.wrapping_add(std::hint::black_box(i) * i);
    }
    std::hint::black_box(x);
    assert!(thread_cpu_ns().expect("readable") > before);
}
