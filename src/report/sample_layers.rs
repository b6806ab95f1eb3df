//! Held memory per layer in a sample report: what the workers of a real-Dask run held of each
//! layer (task prefix) once the results were held, measured on the workers themselves (summed and
//! per worker), beside `analyze`'s per-layer prediction for the graph that ran, and the short
//! table printed per run.

use super::table::Table;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// What the workers held of one layer (task prefix) while the results were held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerHeld {
    /// The layer: Dask's `key_split` of the keys.
    pub layer: String,
    /// Measured on the workers, summed over them; `None` for a layer only predicted.
    pub measured: Option<LayerFigures>,
    /// Measured, per worker that holds anything of the layer.
    pub per_worker: Vec<WorkerLayer>,
    /// `analyze`'s prediction for the layer; `None` when there is no model or it names no
    /// such layer.
    pub predicted: Option<PredictedLayer>,
}

/// Measured figures of a layer (on one worker, or summed).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct LayerFigures {
    /// Tasks in state `memory`.
    pub tasks_in_memory: u64,
    /// Their results' bytes as Dask sizes them (`sizeof`, what `managed` sums).
    pub results_bytes: u64,
    /// Tasks in another state whose run_spec a worker still keeps.
    pub released_kept: u64,
    /// In-memory bytes of the kept run_specs: the specs and the distinct objects they embed.
    pub run_spec_bytes: u64,
    /// True when part of `run_spec_bytes` is extrapolated from one measured object per group of
    /// alike objects (or a shallow size past the probe's budget).
    pub estimated: bool,
    /// Results of the layer that a worker received from another worker during the run (the
    /// scheduler moved them: work stealing, or a dependency drawing its dependents); graphprof's
    /// placement does not model these moves. Absent in reports before 2026-12-06 (read as 0).
    #[serde(default)]
    pub fetched: u64,
    /// Their bytes as Dask sized them.
    #[serde(default)]
    pub fetched_bytes: u64,
}

impl LayerFigures {
    fn add(&mut self, other: &LayerFigures) {
        self.tasks_in_memory += other.tasks_in_memory;
        self.results_bytes = self.results_bytes.saturating_add(other.results_bytes);
        self.released_kept += other.released_kept;
        self.run_spec_bytes = self.run_spec_bytes.saturating_add(other.run_spec_bytes);
        self.estimated |= other.estimated;
        self.fetched += other.fetched;
        self.fetched_bytes = self.fetched_bytes.saturating_add(other.fetched_bytes);
    }

    /// Results and run_specs together.
    pub fn total_bytes(&self) -> u64 {
        self.results_bytes.saturating_add(self.run_spec_bytes)
    }
}

/// One worker's measured figures of a layer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerLayer {
    /// graphprof's worker id (the `worker` of the measures), `None` for an unknown address.
    pub worker: Option<u32>,
    /// The worker's address.
    pub address: String,
    /// What it held of the layer.
    pub measured: LayerFigures,
}

/// `analyze`'s prediction of what the workers keep of a layer (`held_layers` of the analysis).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct PredictedLayer {
    /// Tasks held in memory with the results.
    pub tasks_in_memory: u64,
    /// Their results' bytes (known sizes only).
    pub results_bytes: u64,
    /// Results whose size the graph does not give.
    pub unknown_results: u64,
    /// Released tasks whose run_spec a worker keeps with a held result.
    pub released_kept: u64,
    /// In-memory bytes of the kept run_specs: specs and payload copies.
    pub run_spec_bytes: u64,
}

/// Per layer, the workers' figures summed beside the prediction: measured layers biggest
/// first, then the layers only predicted in the prediction's order. `workers` holds one
/// `(layer, figures on a worker)` per worker and layer.
pub fn merge_held_layers(
    workers: Vec<(String, WorkerLayer)>,
    predicted: &[(String, PredictedLayer)],
) -> Vec<LayerHeld> {
    let mut layers: Vec<LayerHeld> = Vec::new();
    for (name, on_worker) in workers {
        let index = match layers.iter().position(|l| l.layer == name) {
            Some(index) => index,
            None => {
                layers.push(LayerHeld {
                    layer: name,
                    measured: Some(LayerFigures::default()),
                    per_worker: Vec::new(),
                    predicted: None,
                });
                layers.len() - 1
            }
        };
        let layer = &mut layers[index];
        if let Some(sum) = layer.measured.as_mut() {
            sum.add(&on_worker.measured);
        }
        layer.per_worker.push(on_worker);
    }
    let total = |l: &LayerHeld| l.measured.map_or(0, |m| m.total_bytes());
    layers.sort_by(|a, b| total(b).cmp(&total(a)).then_with(|| a.layer.cmp(&b.layer)));
    for layer in &mut layers {
        layer
            .per_worker
            .sort_by_key(|w| (w.worker, w.address.clone()));
    }
    for (name, prediction) in predicted {
        match layers.iter_mut().find(|l| &l.layer == name) {
            Some(layer) => layer.predicted = Some(*prediction),
            None => layers.push(LayerHeld {
                layer: name.clone(),
                measured: None,
                per_worker: Vec::new(),
                predicted: Some(*prediction),
            }),
        }
    }
    layers
}

/// Layers shown per run; the others are summed into one line.
pub const SHOWN_LAYERS: usize = 12;

fn bytes(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| Bytes(v).to_string())
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_string(), crate::units::count)
}

/// Results moved in from another worker: `-` when none (or not measured), else the count and
/// the bytes ("3 (1.3 MiB)").
fn fetched(measured: Option<LayerFigures>) -> String {
    match measured {
        Some(m) if m.fetched > 0 => format!(
            "{} ({})",
            crate::units::count(m.fetched),
            Bytes(m.fetched_bytes)
        ),
        _ => "-".to_string(),
    }
}

/// The table of one run's layers: measured (summed over the workers) beside predicted, at most
/// [`SHOWN_LAYERS`] rows, then the rest in one row and a total.
pub fn table(layers: &[LayerHeld]) -> Table {
    let mut table = Table::new(
        &[
            "layer",
            "in memory",
            "results",
            "released kept",
            "run_specs",
            "fetched",
            "predicted results",
            "predicted run_specs",
        ],
        &[1, 2, 3, 4, 5, 6, 7],
    );
    let row = |name: String, measured: Option<LayerFigures>, predicted: Option<PredictedLayer>| {
        let run_specs = measured.map(|m| {
            let size = Bytes(m.run_spec_bytes).to_string();
            if m.estimated {
                format!("~{size}")
            } else {
                size
            }
        });
        vec![
            name,
            count(measured.map(|m| m.tasks_in_memory)),
            bytes(measured.map(|m| m.results_bytes)),
            count(measured.map(|m| m.released_kept)),
            run_specs.unwrap_or_else(|| "-".to_string()),
            fetched(measured),
            bytes(predicted.map(|p| p.results_bytes)),
            bytes(predicted.map(|p| p.run_spec_bytes)),
        ]
    };
    let sum = |layers: &[LayerHeld]| {
        let mut measured: Option<LayerFigures> = None;
        let mut predicted: Option<PredictedLayer> = None;
        for layer in layers {
            if let Some(m) = &layer.measured {
                measured.get_or_insert_with(LayerFigures::default).add(m);
            }
            if let Some(p) = &layer.predicted {
                let total = predicted.get_or_insert_with(PredictedLayer::default);
                total.results_bytes = total.results_bytes.saturating_add(p.results_bytes);
                total.run_spec_bytes = total.run_spec_bytes.saturating_add(p.run_spec_bytes);
            }
        }
        (measured, predicted)
    };
    let shown = layers.len().min(SHOWN_LAYERS);
    for layer in &layers[..shown] {
        table.row(row(
            super::table::cell(&layer.layer),
            layer.measured,
            layer.predicted,
        ));
    }
    if layers.len() > shown {
        let (measured, predicted) = sum(&layers[shown..]);
        let name = format!("({} more layers)", layers.len() - shown);
        table.row(row(name, measured, predicted));
    }
    if layers.len() > 1 {
        let (measured, predicted) = sum(layers);
        table.row(row("total".to_string(), measured, predicted));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(worker: u32, layer: &str, in_memory: u64, run_spec_bytes: u64) -> (String, WorkerLayer) {
        (
            layer.to_string(),
            WorkerLayer {
                worker: Some(worker),
                address: format!("tcp://w:{worker}"),
                measured: LayerFigures {
                    tasks_in_memory: in_memory,
                    results_bytes: 8 * in_memory,
                    released_kept: 1,
                    run_spec_bytes,
                    estimated: worker == 1,
                    fetched: u64::from(worker),
                    fetched_bytes: 1000 * u64::from(worker),
                },
            },
        )
    }

    #[test]
    fn measured_layers_are_summed_over_workers_beside_the_prediction() {
        let predicted = [
            (
                "f".to_string(),
                PredictedLayer {
                    tasks_in_memory: 5,
                    run_spec_bytes: 1000,
                    ..PredictedLayer::default()
                },
            ),
            ("g".to_string(), PredictedLayer::default()),
        ];
        let layers = merge_held_layers(
            vec![on(1, "f", 3, 600), on(0, "h", 1, 10), on(0, "f", 2, 500)],
            &predicted,
        );
        let names: Vec<&str> = layers.iter().map(|l| l.layer.as_str()).collect();
        assert_eq!(names, ["f", "h", "g"]);
        let f = &layers[0];
        let sum = f.measured.expect("measured");
        assert_eq!(
            (sum.tasks_in_memory, sum.results_bytes, sum.released_kept),
            (5, 40, 2)
        );
        assert_eq!(sum.run_spec_bytes, 1100);
        assert!(sum.estimated, "one worker's figure is an estimate");
        assert_eq!(
            (sum.fetched, sum.fetched_bytes),
            (1, 1000),
            "worker 1 fetched one"
        );
        let workers: Vec<Option<u32>> = f.per_worker.iter().map(|w| w.worker).collect();
        assert_eq!(workers, [Some(0), Some(1)]);
        assert_eq!(f.predicted.map(|p| p.run_spec_bytes), Some(1000));
        assert!(layers[1].predicted.is_none());
        assert!(layers[2].measured.is_none() && layers[2].per_worker.is_empty());
    }

    #[test]
    fn the_table_marks_estimates_sums_the_rest_and_totals() {
        let workers = (0..SHOWN_LAYERS as u32 + 2)
            .map(|i| on(i % 2, &format!("layer{i:02}"), 1, 1000 - u64::from(i)))
            .collect();
        let layers = merge_held_layers(workers, &[]);
        let text = table(&layers).to_text(0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + SHOWN_LAYERS + 2, "{text}");
        assert!(lines[0].starts_with("layer") && lines[0].contains("predicted run_specs"));
        assert!(lines[0].contains("fetched"), "{text}");
        let moved = |name: &str| {
            let line = lines.iter().find(|l| l.starts_with(name)).expect("row");
            line.contains(&format!("1 ({})", Bytes(1000)))
        };
        assert!(moved("layer01") && !moved("layer00"), "{text}");
        assert!(
            lines[1].starts_with("layer00") && lines[1].contains(" 1000 B"),
            "{text}"
        );
        assert!(
            lines[2].contains("~999 B"),
            "worker 1's figures are estimates: {text}"
        );
        assert!(
            lines[SHOWN_LAYERS + 1].starts_with("(2 more layers)"),
            "{text}"
        );
        let total = lines[SHOWN_LAYERS + 2];
        assert!(
            total.starts_with("total") && total.contains(" 14 "),
            "{text}"
        );
        assert!(total.ends_with('-'), "no prediction: {text}");
    }
}
