//! The baseline JSON loader (`check --baseline`): any input gives a baseline or an error, never a
//! panic; a baseline it accepts, written back as graphprof writes baselines, is accepted again.

#![no_main]

use graphprof::check::baseline::parse_baseline;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return; // read_baseline reads with read_to_string, which refuses non-UTF-8 first
    };
    let path = Path::new("baseline.json");
    let Ok(baseline) = parse_baseline(path, text) else {
        return;
    };
    let written = baseline.to_json();
    if let Err(error) = parse_baseline(path, &written) {
        panic!("a baseline graphprof wrote is refused: {error}\n{written}");
    }
});
