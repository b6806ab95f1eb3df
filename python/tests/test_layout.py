"""The package's layout (issue 24): every module in a room (a subpackage) but the public API, the
launcher and three shared ones; no module over 450 lines; imports between rooms run one way, as
each room's docstring says. Read from the source, nothing imported."""

import ast
import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "graphprof")
TOP_LEVEL = {"__init__.py", "__main__.py", "_binary.py", "_deps.py", "seed.py"}
# room -> the rooms it may import ("" is the package's top level: shared modules and the API).
ALLOWED = {
    "collect": {""},
    "guard": {"", "collect"},
    "sampler": {"", "collect"},  # the per-layer probe sizes objects as the exporter does
    "api": {"", "collect"},
    "run": {"", "collect", "sampler", "guard"},
    "pytest": {"", "api"},
    "": {"api", "collect", "run", "sampler", "guard"},  # __init__'s lazy public API
}
PUBLIC_FUNCTIONS = {"analyze", "export", "sample", "rewrite", "build_graph"}


def _modules():
    for root, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                yield os.path.relpath(path, PACKAGE), path


def _room(relpath: str) -> str:
    parts = relpath.split(os.sep)
    return parts[0] if len(parts) > 1 else ""


def _imported_rooms(relpath: str, source: str) -> set[str]:
    """The rooms a module's relative and absolute imports of graphprof name."""
    here = ["graphprof"] + relpath.split(os.sep)[:-1]
    rooms = set()
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                mod = base + (node.module.split(".") if node.module else [])
                targets = [mod] if node.module else [mod + [a.name] for a in node.names]
            elif node.module and node.module.split(".")[0] == "graphprof":
                targets = [node.module.split(".")]
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".") for a in node.names if a.name.split(".")[0] == "graphprof"]
        for target in targets:
            sub = target[1] if len(target) > 1 else ""
            rooms.add(sub if os.path.isdir(os.path.join(PACKAGE, sub)) and sub else "")
    return rooms


def test_every_module_sits_in_a_room_and_stays_small():
    for relpath, path in _modules():
        if os.sep not in relpath:
            assert relpath in TOP_LEVEL, f"{relpath} sits outside a room"
        with open(path) as f:
            lines = f.read().count("\n")
        assert lines <= 450, f"{relpath} has {lines} lines"
        with open(path) as f:
            assert ast.get_docstring(ast.parse(f.read())), f"{relpath} has no docstring"


def test_rooms_import_only_the_rooms_their_docstring_allows():
    bad = []
    for relpath, path in _modules():
        room = _room(relpath)
        with open(path) as f:
            imported = _imported_rooms(relpath, f.read()) - {room}
        for other in imported - ALLOWED[room]:
            bad.append(f"{relpath} imports {other or 'the top level'}")
    assert not bad, bad


def test_no_room_takes_a_public_functions_name():
    rooms = {d for d in os.listdir(PACKAGE) if os.path.isdir(os.path.join(PACKAGE, d)) and d != "__pycache__"}
    assert rooms == set(ALLOWED) - {""}
    assert not rooms & PUBLIC_FUNCTIONS
