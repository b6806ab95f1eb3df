//! Tests of `cull.rs`, kept beside it (it includes this file as its `tests` module).

use super::*;
use crate::graph::generate::{GenerateOptions, GeneratorKind, generate_graph};
use crate::graph::load::read_graph;
use crate::graph::strategy::Strategy;
use std::path::Path;

fn graph(json: &str) -> Graph {
    read_graph(Path::new("test.json"), json.as_bytes()).expect("a valid graph")
}

/// Ten outputs `out-0` .. `out-9` written in a scrambled order, each reading `load-i` and a data
/// object shared by the even ones; each `out-i` embeds the same 2,000-byte object (id 7), and
/// `load-i` reads a common `source`.
fn scrambled() -> Graph {
    let digest = format!("blake3:{}", "ab".repeat(32));
    let mut tasks = vec![r#"{"key":"source","function":"read","output_bytes":100}"#.to_string()];
    for i in 0..10 {
        tasks.push(format!(
            r#"{{"key":"load-{i}","function":"load","args":[{{"ref":"source"}}],"output_bytes":10}}"#
        ));
    }
    for i in [3, 10, 1, 7, 0, 9, 2, 5, 8, 4, 6]
        .into_iter()
        .filter(|&i| i < 10)
    {
        let shared = if i % 2 == 0 {
            r#",{"ref":"table"}"#
        } else {
            ""
        };
        tasks.push(format!(
            r#"{{"key":"out-{i}","function":"use","args":[{{"ref":"load-{i}"}},{{"payload":{{"size_bytes":2000,"digest":"{digest}","object_id":7,"type":"dict"}}}}{shared}],"output_bytes":1000}}"#
        ));
    }
    let data = format!(
        r#"{{"key":"table","size_bytes":500,"digest":"blake3:{}"}}"#,
        "cd".repeat(32)
    );
    graph(&format!(
        r#"{{"format":"graphprof-graph","version":1,"measured":{{"wire_bytes":99999}},"contents":[{{"digest":"{digest}","in_memory_bytes":9000}}],"data":[{data}],"tasks":[{}]}}"#,
        tasks.join(",")
    ))
}

fn keys(graph: &Graph) -> Vec<String> {
    let mut keys: Vec<String> = graph.node_ids().map(|id| graph.key_display(id)).collect();
    keys.sort();
    keys
}

#[test]
fn outputs_come_in_natural_key_order() {
    let g = scrambled();
    let names: Vec<String> = outputs(&g).iter().map(|&id| g.key_display(id)).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("out-{i}")).collect();
    assert_eq!(names, expected);
    // Digit runs by value, tuple indices by value, text before nothing else by character.
    assert_eq!(natural_cmp("sout-2", "sout-10"), Ordering::Less);
    assert_eq!(natural_cmp(r#"t["x",2]"#, r#"t["x",10]"#), Ordering::Less);
    assert_eq!(
        natural_cmp(r#"t["x",10,0]"#, r#"t["x",2,5]"#),
        Ordering::Greater
    );
    assert_eq!(natural_cmp(r#"t["a",9]"#, r#"t["b",0]"#), Ordering::Less);
}

#[test]
fn the_first_outputs_keep_their_ancestors_and_nothing_else() {
    let g = scrambled();
    let culled = cull_to_outputs(&g, 3).expect("culls");
    assert_eq!(
        keys(&culled),
        [
            "load-0", "load-1", "load-2", "out-0", "out-1", "out-2", "source", "table"
        ]
    );
    assert_eq!(culled.task_count(), 7);
    let data = culled
        .node_ids()
        .filter(|&id| matches!(culled.node(id).kind, NodeKind::Data { .. }))
        .count();
    assert_eq!(data, 1);
    // One output, odd: the data object only the even ones read is dropped.
    let one = cull_to_outputs(&g, 1).expect("culls");
    assert_eq!(keys(&one), ["load-0", "out-0", "source", "table"]);
    let odd = cull_to_outputs(&g, 2).expect("culls");
    assert!(keys(&odd).contains(&"table".to_string()));
    // The measured wire size was the whole graph's; the culling is said in meta.
    assert!(culled.measured.is_none());
    assert_eq!(
        culled.meta.get("culled"),
        Some(&serde_json::json!("first 3 of 10 outputs"))
    );
    // All of them: the same graph.
    let all = cull_to_outputs(&g, 10).expect("culls");
    assert_eq!(keys(&all), keys(&g));
    assert_eq!(all.task_count(), g.task_count());
}

#[test]
fn a_shared_object_stays_one_object_and_its_description_stays() {
    let g = scrambled();
    let culled = cull_to_outputs(&g, 4).expect("culls");
    // One content, embedded four times, all with the one object id.
    assert_eq!(culled.contents.len(), 2, "the payload and the data object");
    let ids: HashSet<Option<u64>> = culled
        .node_ids()
        .flat_map(|id| {
            culled
                .payloads(id)
                .map(|p| p.object_id())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids, HashSet::from([Some(7)]));
    let payload = culled
        .contents
        .iter()
        .find(|c| c.size_bytes == 2000)
        .expect("the payload content");
    assert_eq!(payload.info.in_memory_bytes, Some(9000));
    let uses: usize = culled
        .node_ids()
        .map(|id| culled.payloads(id).count())
        .sum();
    assert_eq!(uses, 4, "embedded in each of the four outputs kept");
}

#[test]
fn the_seed_case_culled_is_the_smaller_seed_case() {
    let options = |chunks| GenerateOptions {
        kind: GeneratorKind::MapBlocks,
        chunks,
        payload_bytes: 1000,
        strategy: Strategy::Inline,
        ..GenerateOptions::default()
    };
    let big = generate_graph(&options(64)).expect("generates");
    let small = generate_graph(&options(16)).expect("generates");
    let culled = cull_to_outputs(&big, 16).expect("culls");
    assert_eq!(culled.task_count(), small.task_count());
    assert_eq!(culled.contents.len(), 1);
    let firsts: Vec<String> = outputs(&culled)
        .iter()
        .map(|&id| crate::graph::key::index_of(&culled.tagged_key(id)))
        .collect();
    let expected: Vec<String> = (0..16).map(|i| i.to_string()).collect();
    assert_eq!(firsts, expected);
    assert_eq!(
        output_keys(&big, 16),
        outputs(&culled)
            .iter()
            .map(|&id| culled.key(id))
            .collect::<Vec<_>>()
    );
}

#[test]
fn zero_or_more_than_the_outputs_is_refused_with_the_count() {
    let g = scrambled();
    assert_eq!(
        cull_to_outputs(&g, 0).map(|_| ()),
        Err(CullError::Zero { available: 10 })
    );
    let error = cull_to_outputs(&g, 11).map(|_| ()).expect_err("too many");
    assert_eq!(
        error.to_string(),
        "11 outputs asked for; the graph has 10 (give 1 to 10)"
    );
}
