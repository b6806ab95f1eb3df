//! `graphprof dask export`: a real Dask collection's graph, exported with the user's Python by
//! the `graphprof` Python package (installed or embedded) and validated by the graph loader.

use crate::cli::{DaskArgs, DaskCommand, DaskExportArgs};
use graphprof::dask::{ExportOptions, resolve_python, run_export};
use graphprof::error::EXIT_OK;

pub fn run(args: DaskArgs) -> anyhow::Result<i32> {
    match args.command {
        DaskCommand::Export(args) => export(args),
    }
}

fn export(args: DaskExportArgs) -> anyhow::Result<i32> {
    let options = ExportOptions {
        python: resolve_python(args.python.python.as_deref()),
        target: args.target,
        output: args.output,
        measure_wire: args.measure_wire,
        scheduler: args.scheduler,
        connect_timeout: args.timeout,
        name: args.name,
        min_payload_bytes: None,
        run_outputs: !args.no_run_outputs,
    };
    let outcome = run_export(&options)?;
    let graph = &outcome.graph;
    super::progress::note(&format!(
        "wrote {}: {} tasks, {} data objects; next: graphprof analyze {}",
        options.output.display(),
        graph.task_count(),
        graph.node_count() - graph.task_count(),
        options.output.display()
    ));
    Ok(EXIT_OK)
}
