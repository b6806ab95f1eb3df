//! Two pieces of work at once on two cores: the one helper the passes that run side by side
//! share (the loader's order beside the order-free passes, the analysis passes beside each other).

/// Runs `beside` on a second thread while `here` runs on this one, and returns both results. A
/// panic on the second thread is raised again here, with its own payload.
pub fn both<A: Send, B>(beside: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let beside = scope.spawn(beside);
        let here = here();
        let beside = beside
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (beside, here)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_results_come_back_and_the_work_runs_on_two_threads() {
        let here = std::thread::current().id();
        let (beside, mine) = both(
            || (std::thread::current().id(), 6 * 7),
            || (std::thread::current().id(), "here"),
        );
        assert_eq!(beside.1, 42);
        assert_eq!(mine, (here, "here"));
        assert_ne!(beside.0, here);
    }

    #[test]
    #[should_panic(expected = "the pass beside failed")]
    fn a_panic_beside_is_raised_here() {
        both(|| panic!("the pass beside failed"), || 1);
    }
}
