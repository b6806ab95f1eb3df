//! The task-graph model and everything that makes one: the file format, the streaming loader, the
//! validating builder, the writer and the generators.

pub mod build;
pub mod cull;
pub mod dag;
pub mod generate;
pub mod held;
pub mod intern;
pub mod key;
pub mod load;
pub mod model;
pub mod parts;
pub mod placement;
pub mod raw;
pub mod rewrite;
pub mod scan;
pub mod split;
pub mod strategy;
#[cfg(test)]
pub(crate) mod test_graphs;
pub mod visit;
pub mod write;

pub use build::{BuildError, GraphBuilder};
pub use key::Key;
pub use load::load_graph;
pub use model::{Arg, Content, Digest, DigestAlgo, Graph, NodeId, NodeKind, PayloadUse};
pub use strategy::Strategy;
pub use write::RawGraph;

/// Builds a graph from raw parts (a generator's output or a rewrite).
pub fn build_raw(raw: RawGraph<'_>) -> Result<Graph, BuildError> {
    let mut builder = GraphBuilder::new();
    builder.set_header(raw.header);
    for data in raw.data {
        builder.add_data(data)?;
    }
    for task in raw.tasks {
        builder.add_task(task)?;
    }
    builder.finish()
}
