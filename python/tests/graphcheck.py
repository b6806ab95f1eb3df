"""A structural check of graph format v1 (docs/FORMAT.md), JSON-Schema free."""

import re

TOP = {"format", "version", "name", "meta", "measured", "data", "tasks", "contents"}
TASK = {"key", "function", "args", "deps", "output_bytes", "spec_bytes", "wire_bytes"}
PAYLOAD = {"size_bytes", "digest", "bytes_b64", "object_id", "type", "sent"}
CONTENT = {"digest", "in_memory_bytes", "items", "item_objects", "arrow_strings", "role", "description",
           "variable"}
ROLES = {"argument", "function", "data"}
DATA = {"key", "size_bytes", "digest", "bytes_b64", "type"}
DIGEST = re.compile(r"^(blake3|sha256):[0-9a-f]{64}$")
TIB = 1 << 40


def _u64(v, what, limit=TIB):
    assert isinstance(v, int) and not isinstance(v, bool), f"{what}: not an integer: {v!r}"
    assert 0 <= v <= limit, f"{what}: out of range: {v}"


def _key(k, what):
    if isinstance(k, str):
        return k
    assert isinstance(k, list) and k, f"{what}: bad key {k!r}"
    assert isinstance(k[0], str), f"{what}: first element of a tuple key must be a string: {k!r}"
    for e in k[1:]:
        assert (isinstance(e, int) and not isinstance(e, bool)) or isinstance(e, str), f"{what}: bad key element {e!r}"
    return tuple(k)


def _object(p, allowed, what, need_key=False):
    assert isinstance(p, dict), what
    assert set(p) <= allowed, f"{what}: unknown fields {set(p) - allowed}"
    assert "digest" in p or "bytes_b64" in p, f"{what}: needs digest or bytes_b64"
    if "bytes_b64" not in p:
        _u64(p["size_bytes"], what + ".size_bytes")
    if "digest" in p:
        assert DIGEST.match(p["digest"]), f"{what}: bad digest {p['digest']!r}"
    if "object_id" in p:
        _u64(p["object_id"], what + ".object_id", 1 << 64)
    if "type" in p:
        assert isinstance(p["type"], str)
    if need_key:
        _key(p["key"], what)


def check_graph(doc):
    """Raise AssertionError if ``doc`` is not a valid graph v1; return the
    set of task keys."""
    assert isinstance(doc, dict)
    assert set(doc) <= TOP, f"unknown top-level fields {set(doc) - TOP}"
    assert doc["format"] == "graphprof-graph"
    assert doc["version"] == 1
    if "name" in doc:
        assert isinstance(doc["name"], str)
    if "meta" in doc:
        assert isinstance(doc["meta"], dict)
    if "measured" in doc:
        m = doc["measured"]
        assert set(m) <= {"wire_bytes", "source"}
        _u64(m["wire_bytes"], "measured.wire_bytes", 1 << 64)
        assert isinstance(m.get("source", ""), str)
    keys = set()
    for i, d in enumerate(doc.get("data", [])):
        _object(d, DATA, f"data[{i}]", need_key=True)
        k = _key(d["key"], f"data[{i}].key")
        assert k not in keys, f"duplicate key {k!r}"
        keys.add(k)
    tasks = doc["tasks"]
    assert isinstance(tasks, list) and tasks, "tasks: at least one"
    task_keys = set()
    for i, t in enumerate(tasks):
        assert set(t) <= TASK, f"tasks[{i}]: unknown fields {set(t) - TASK}"
        k = _key(t["key"], f"tasks[{i}].key")
        assert k not in keys, f"duplicate key {k!r}"
        keys.add(k)
        task_keys.add(k)
        assert isinstance(t["function"], str) and t["function"]
        for f in ("output_bytes", "spec_bytes", "wire_bytes"):
            if f in t:
                _u64(t[f], f"tasks[{i}].{f}")
    for i, t in enumerate(tasks):
        for j, a in enumerate(t.get("args", [])):
            assert isinstance(a, dict) and len(a) == 1, f"tasks[{i}].args[{j}]: exactly one of ref/payload"
            if "ref" in a:
                r = _key(a["ref"], f"tasks[{i}].args[{j}].ref")
                assert r in keys, f"tasks[{i}].args[{j}]: dangling ref {a['ref']!r}"
            else:
                _object(a["payload"], PAYLOAD, f"tasks[{i}].args[{j}].payload")
                assert a["payload"].get("sent", False) in (True, False)
        for j, d in enumerate(t.get("deps", [])):
            assert _key(d, f"tasks[{i}].deps[{j}]") in keys
    used = {a["payload"]["digest"] for t in tasks for a in t.get("args", []) if "payload" in a}
    used |= {d["digest"] for d in doc.get("data", []) if "digest" in d}
    for i, c in enumerate(doc.get("contents", [])):
        assert set(c) <= CONTENT, f"contents[{i}]: unknown fields {set(c) - CONTENT}"
        assert c["digest"] in used, f"contents[{i}]: digest used by no payload"
        for field in ("in_memory_bytes", "items", "item_objects"):
            if field in c:
                _u64(c[field], f"contents[{i}].{field}")
        assert c.get("arrow_strings", False) in (True, False), f"contents[{i}].arrow_strings: not a bool"
        assert c.get("role", "argument") in ROLES
    return task_keys


def payload_uses(doc):
    """digest -> list of (task index, object_id) for every payload argument."""
    out = {}
    for i, t in enumerate(doc["tasks"]):
        for a in t.get("args", []):
            if "payload" in a:
                p = a["payload"]
                out.setdefault(p["digest"], []).append((i, p.get("object_id"), p["size_bytes"]))
    return out


def wire_model(doc):
    """FORMAT.md's wire bytes: every task's wire_bytes (else spec_bytes) plus each payload
    object that is sent, once."""
    total = sum(t.get("wire_bytes", t.get("spec_bytes", 64)) for t in doc["tasks"])
    seen = set()
    anon = 0
    for t in doc["tasks"]:
        for a in t.get("args", []):
            if "payload" in a:
                p = a["payload"]
                if p.get("sent", True) is False:
                    continue
                oid = p.get("object_id")
                if oid is None:
                    anon += p["size_bytes"]
                elif oid not in seen:
                    seen.add(oid)
                    total += p["size_bytes"]
    return total + anon
