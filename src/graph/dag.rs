//! The dependency DAG of a graph as two compressed adjacency arrays: for each node its distinct
//! dependencies, and for each node its distinct dependents, each list in one flat array indexed
//! by a prefix sum. A node's neighbours are one contiguous slice and their count is known at
//! once: with petgraph's linked lists of edges, counting a node's dependents walked them all, so
//! a pass that counted the dependents of each dependency took time in edges x fan-out (40 s on a
//! 3,000-task all-to-all shuffle: docs/BENCHMARKS.md).
//!
//! Each list runs from the highest id to the lowest: the order in which petgraph's
//! `neighbors_directed` yielded them from the graph the loader built before (edges added for each
//! node in id order, its dependencies in id order, each list yielding its newest edge first), so
//! the topological order and every pass that follows a list decide as they did with petgraph.
//! Ids are plain `u32` (the graph's `NodeId`), so this file needs nothing from the model.

/// The graph has more dependency edges than a `u32` counts (4,294,967,295).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyEdges;

/// Distinct dependencies and dependents of every node, highest id first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dag {
    /// Node `n`'s dependencies are `dependencies[dependency_starts[n]..dependency_starts[n + 1]]`.
    dependency_starts: Vec<u32>,
    dependencies: Vec<u32>,
    /// Node `n`'s dependents are `dependents[dependent_starts[n]..dependent_starts[n + 1]]`.
    dependent_starts: Vec<u32>,
    dependents: Vec<u32>,
}

impl Dag {
    /// Builds the DAG of `node_count` nodes. `dependencies_of(id, list)` appends node `id`'s
    /// dependencies to `list` (empty on entry), repeats allowed and in any order; each is below
    /// `node_count`.
    pub fn build(
        node_count: usize,
        mut dependencies_of: impl FnMut(u32, &mut Vec<u32>),
    ) -> Result<Dag, TooManyEdges> {
        let mut dependency_starts = Vec::with_capacity(node_count + 1);
        let mut dependencies: Vec<u32> = Vec::with_capacity(node_count);
        // First each node's dependent count, then (turned into the end of its list) where the
        // next dependent goes, filled from the end so that the highest id comes first.
        let mut cursor = vec![0u32; node_count];
        let mut list: Vec<u32> = Vec::new();
        dependency_starts.push(0);
        for id in 0..node_count as u32 {
            list.clear();
            dependencies_of(id, &mut list);
            if list.len() > 1 {
                list.sort_unstable();
                list.dedup();
            }
            let total = dependencies.len() + list.len();
            if total > u32::MAX as usize {
                return Err(TooManyEdges);
            }
            for &dep in list.iter().rev() {
                dependencies.push(dep);
                cursor[dep as usize] += 1;
            }
            dependency_starts.push(total as u32);
        }
        let mut dependent_starts = Vec::with_capacity(node_count + 1);
        dependent_starts.push(0u32);
        let mut end = 0u32;
        for count in &mut cursor {
            end += *count;
            *count = end;
            dependent_starts.push(end);
        }
        let mut dependents = vec![0u32; dependencies.len()];
        for id in 0..node_count {
            let (start, stop) = (dependency_starts[id], dependency_starts[id + 1]);
            for &dep in &dependencies[start as usize..stop as usize] {
                let at = &mut cursor[dep as usize];
                *at -= 1;
                dependents[*at as usize] = id as u32;
            }
        }
        Ok(Dag {
            dependency_starts,
            dependencies,
            dependent_starts,
            dependents,
        })
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.dependency_starts.len().saturating_sub(1)
    }

    /// Number of edges (distinct dependency, dependent pairs).
    pub fn edge_count(&self) -> usize {
        self.dependencies.len()
    }

    /// The distinct dependencies of node `id`, highest id first.
    pub fn dependencies(&self, id: u32) -> &[u32] {
        let id = id as usize;
        &self.dependencies
            [self.dependency_starts[id] as usize..self.dependency_starts[id + 1] as usize]
    }

    /// The distinct dependents of node `id`, highest id first.
    pub fn dependents(&self, id: u32) -> &[u32] {
        let id = id as usize;
        &self.dependents[self.dependent_starts[id] as usize..self.dependent_starts[id + 1] as usize]
    }

    /// Every edge as (dependency, dependent), by dependent, highest dependency first.
    pub fn edges(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.node_count() as u32)
            .flat_map(move |id| self.dependencies(id).iter().map(move |&dep| (dep, id)))
    }

    /// The same graph in petgraph, edges added in the order the loader added them before this
    /// type existed: for the rare graph with a cycle, which petgraph's `toposort` names.
    pub fn to_petgraph(&self) -> petgraph::graph::DiGraph<(), (), u32> {
        use petgraph::graph::NodeIndex;
        let mut graph =
            petgraph::graph::DiGraph::with_capacity(self.node_count(), self.edge_count());
        for _ in 0..self.node_count() {
            graph.add_node(());
        }
        for id in 0..self.node_count() as u32 {
            for &dep in self.dependencies(id).iter().rev() {
                graph.add_edge(
                    NodeIndex::new(dep as usize),
                    NodeIndex::new(id as usize),
                    (),
                );
            }
        }
        graph
    }
}

/// What the DAG's tests and the order's share: random graphs, and petgraph's graph as the loader
/// built it before [`Dag`].
#[cfg(test)]
pub(crate) mod testing {
    use petgraph::graph::{DiGraph, NodeIndex};

    /// A small deterministic generator (xorshift), so the graphs are the same on every run.
    pub(crate) fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// petgraph's graph of these dependency lists as the loader built it before [`super::Dag`],
    /// straight from the lists (not through `Dag::to_petgraph`): per node in id order, its
    /// dependencies sorted, without repeats.
    pub(crate) fn petgraph_as_loaded(lists: &[Vec<u32>]) -> DiGraph<(), (), u32> {
        let mut graph = DiGraph::<(), (), u32>::default();
        for _ in 0..lists.len() {
            graph.add_node(());
        }
        for (id, list) in lists.iter().enumerate() {
            let mut deps = list.clone();
            deps.sort_unstable();
            deps.dedup();
            for dep in deps {
                graph.add_edge(NodeIndex::new(dep as usize), NodeIndex::new(id), ());
            }
        }
        graph
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{next, petgraph_as_loaded};
    use super::*;
    use petgraph::Direction;
    use petgraph::graph::NodeIndex;

    /// Random dependency lists (repeats, self-loops and cycles included): every neighbour list is
    /// petgraph's, in petgraph's order, for the graph the loader built before.
    #[test]
    fn neighbour_lists_are_petgraphs_in_its_order() {
        let mut state = 0x2545_f491_4f6c_dd1d;
        let mut edges_seen = 0;
        for round in 0..300 {
            let nodes = 1 + (next(&mut state) % 30) as usize;
            let lists: Vec<Vec<u32>> = (0..nodes)
                .map(|_| {
                    let count = next(&mut state) % 5;
                    (0..count)
                        .map(|_| (next(&mut state) % nodes as u64) as u32)
                        .collect()
                })
                .collect();
            let dag =
                Dag::build(nodes, |id, list| list.extend(&lists[id as usize])).expect("few edges");
            let expected = petgraph_as_loaded(&lists);
            assert_eq!(dag.node_count(), nodes, "round {round}");
            assert_eq!(dag.edge_count(), expected.edge_count(), "round {round}");
            edges_seen += dag.edge_count();
            for id in 0..nodes {
                let petgraph_list = |direction| {
                    expected
                        .neighbors_directed(NodeIndex::new(id), direction)
                        .map(|n| n.index() as u32)
                        .collect::<Vec<u32>>()
                };
                assert_eq!(
                    dag.dependencies(id as u32),
                    petgraph_list(Direction::Incoming),
                    "round {round}, node {id}"
                );
                assert_eq!(
                    dag.dependents(id as u32),
                    petgraph_list(Direction::Outgoing),
                    "round {round}, node {id}"
                );
            }
            let edge_list = |g: &petgraph::graph::DiGraph<(), (), u32>| {
                g.raw_edges()
                    .iter()
                    .map(|e| (e.source().index() as u32, e.target().index() as u32))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                edge_list(&dag.to_petgraph()),
                edge_list(&expected),
                "round {round}"
            );
            let mut from_edges: Vec<(u32, u32)> = dag.edges().collect();
            let mut from_petgraph = edge_list(&expected);
            from_edges.sort_unstable();
            from_petgraph.sort_unstable();
            assert_eq!(from_edges, from_petgraph, "round {round}");
        }
        assert!(edges_seen > 1000, "{edges_seen} edges");
    }

    #[test]
    fn an_empty_graph_has_no_nodes_and_no_edges() {
        let dag = Dag::build(0, |_, _| {}).expect("no edges");
        assert_eq!((dag.node_count(), dag.edge_count()), (0, 0));
        assert_eq!(Dag::default().node_count(), 0);
    }
}
