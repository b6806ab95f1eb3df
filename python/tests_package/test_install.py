"""The wheel itself: the binary beside the interpreter, every module, the entry point, the version,
and ``import graphprof`` in a venv without dask (``GRAPHPROF_WHEEL`` names the wheel)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from importlib import import_module, metadata
from pathlib import Path

import pytest

import graphprof
from graphprof._binary import find_graphprof_bin

REPO = Path(__file__).resolve().parents[2]
PUBLIC = ["graphprof", "graphprof.__main__", "graphprof.api", "graphprof.collect", "graphprof.run",
          "graphprof.guard", "graphprof.sampler", "graphprof.pytest", "graphprof.seed"]


def _modules(package_dir: Path) -> list[str]:
    """Every module of the package under ``package_dir`` (its ``graphprof`` folder), dotted."""
    names = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def _cargo_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO / "Cargo.toml").read_text(), re.M)
    assert match
    return match.group(1)


def test_binary_is_installed_beside_the_interpreter():
    assert "GRAPHPROF_BIN" not in os.environ
    binary = Path(find_graphprof_bin())
    assert binary.parent == Path(sysconfig.get_path("scripts"))
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith(f"graphprof {graphprof.__version__}")


def test_python_m_graphprof_is_the_binary():
    done = subprocess.run([sys.executable, "-m", "graphprof", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith(f"graphprof {graphprof.__version__}")
    bad = subprocess.run([sys.executable, "-m", "graphprof", "analyze", "/no/such/graph.json"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "/no/such/graph.json" in bad.stderr


def test_every_module_entry_point_and_version_are_in_the_wheel():
    installed = _modules(Path(graphprof.__file__).parent)
    # The wheel holds every module of the source tree (which the binary embeds, src/dask/embed.rs),
    # and nothing the source tree does not: the module paths are a contract between the two.
    assert installed == _modules(REPO / "python" / "graphprof")
    for name in PUBLIC:
        assert name in installed
    for name in installed:
        if not name.endswith("__main__"):
            assert import_module(name).__file__
    # The modules the binary starts and probes (src/dask/embed.rs) are the wheel's.
    binary = Path(find_graphprof_bin())
    text = binary.read_bytes()
    for name in ("graphprof.run.commands", "-m", "graphprof.run"):
        assert name.encode() in text, name
    assert metadata.version("graphprof") == graphprof.__version__ == _cargo_version()
    plugins = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert plugins.get("graphprof") == "graphprof.pytest.plugin"
    assert import_module(plugins["graphprof"]).pytest_configure


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory) -> Path:
    wheel = os.environ.get("GRAPHPROF_WHEEL")
    if not wheel:
        pytest.skip("GRAPHPROF_WHEEL (the built wheel) is not set; scripts/test.sh sets it")
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", "--no-index", "--no-deps", "--disable-pip-version-check",
                    wheel], check=True)
    return venv


def test_import_without_dask_works_and_names_the_pip_command(bare_venv):
    py = str(bare_venv / "bin" / "python")
    script = (
        "import sys, graphprof\n"
        "assert 'dask' not in sys.modules\n"
        "try:\n    import dask\nexcept ImportError:\n    pass\nelse:\n    raise SystemExit('dask is installed')\n"
        "try:\n    graphprof.analyze(object())\nexcept graphprof.MissingDependency as e:\n    print(e)\n"
    )
    done = subprocess.run([py, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'graphprof.analyze needs dask, which is not installed: pip install "graphprof[dask]"'
    for cmd in ([str(bare_venv / "bin" / "graphprof"), "--version"], [py, "-m", "graphprof", "--version"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        assert out.startswith(f"graphprof {graphprof.__version__}")


def test_graphguard_without_distributed_names_the_pip_command(bare_venv):
    script = (
        "import graphprof\n"
        "try:\n    graphprof.GraphGuard\nexcept graphprof.MissingDependency as e:\n    print(e)\n"
    )
    done = subprocess.run([str(bare_venv / "bin" / "python"), "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        'graphprof.GraphGuard needs distributed, which is not installed: pip install "graphprof[dask]"')


def test_the_wheel_requires_ranges_not_exact_versions():
    """A library declares the versions it supports (tested lower bounds), never pins: ``dask==X`` in
    an extra forces that version on every environment it is installed into."""
    requires = metadata.requires("graphprof") or []
    assert requires, "the wheel declares no requirements (the dask and plot extras are gone?)"
    # The version part, before the marker (`; extra == "dask"` is not a pin).
    pinned = [r for r in requires if "==" in r.split(";")[0]]
    assert not pinned, f"exact pins in the wheel's metadata: {pinned}"
    by_extra: dict[str, list[str]] = {}
    for r in requires:
        if "extra ==" in r:
            extra = r.split(";")[1].split("==")[-1].strip().strip("'\"")
            by_extra.setdefault(extra, []).append(r.split(";")[0].strip())
    # The README's notebook line, `pip install ".[dask,plot]"`, brings dask, distributed and matplotlib.
    assert any(r.startswith("distributed>=") for r in by_extra.get("dask", [])), by_extra
    assert any(r.startswith("matplotlib") for r in by_extra.get("plot", [])), by_extra


def test_a_graph_file_is_analysed_without_dask(bare_venv):
    py = str(bare_venv / "bin" / "python")
    script = (
        "import sys, graphprof\n"
        f"a = graphprof.analyze({str(REPO / 'fixtures' / 'seed-inline-64.json')!r})\n"
        "print(a.tasks, a.verdict, a.findings[0].copies)\n"
        "try:\n    a.duplicates\nexcept graphprof.MissingDependency as e:\n    print(e)\n"
    )
    done = subprocess.run([py, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "128 SILENT GROWTH 64"
    assert lines[1].endswith('pip install "graphprof[dask]"')
