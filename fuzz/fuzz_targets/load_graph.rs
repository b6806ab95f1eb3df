//! The graph loader, both paths, as a differential check: the fast hand-written scanner (with the
//! production read buffer and with the smallest one, so refills land everywhere) must either
//! decline or give exactly the graph the serde_json path gives; the serde_json path must never
//! panic. What loads is then analysed and rewritten to every strategy, and each rewrite, written
//! out, must load again (through both paths, in agreement).

#![no_main]

use graphprof::analyze::{AnalyzeOptions, analyze};
use graphprof::graph::load::{read_fast_bytes, read_graph};
use graphprof::graph::rewrite::rewrite_raw;
use graphprof::graph::write::write_graph;
use graphprof::graph::{Graph, Strategy};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// Loads `bytes` through both paths; panics when they disagree. The fast path reads with a buffer
/// larger than the input (as the loader's 1 MiB buffer takes any file under 1 MiB in one read,
/// without zeroing 1 MiB per call) and with the smallest buffer the scanner takes.
fn load_both(bytes: &[u8]) -> Option<Graph> {
    let serde = read_graph(Path::new("fuzz.json"), bytes);
    for capacity in [bytes.len() + 1, 64] {
        if let Some(fast) = read_fast_bytes(bytes, capacity) {
            match &serde {
                Ok(slow) => assert_eq!(
                    format!("{fast:?}"),
                    format!("{slow:?}"),
                    "fast path (buffer {capacity}) and serde path give different graphs"
                ),
                Err(error) => panic!(
                    "fast path (buffer {capacity}) accepts what the serde path refuses: {error}"
                ),
            }
        }
    }
    serde.ok()
}

fuzz_target!(|bytes: &[u8]| {
    let Some(graph) = load_both(bytes) else {
        return;
    };
    let analysis = analyze(&graph, "fuzz.json", &AnalyzeOptions::default());
    serde_json::to_string(&analysis).expect("an analysis serialises");
    for strategy in Strategy::ALL {
        let mut written = Vec::new();
        write_graph(rewrite_raw(&graph, strategy), &mut written).expect("writes to memory");
        let rewritten = load_both(&written)
            .unwrap_or_else(|| panic!("the {strategy} rewrite of a valid graph does not load"));
        analyze(&rewritten, "rewritten.json", &AnalyzeOptions::default());
    }
});
