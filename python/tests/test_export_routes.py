"""One object, one digest, whichever way it was exported (issue 9): a script that calls
``graphprof.export`` on its collection while it runs as ``__main__``, and ``graphprof dask export
SCRIPT.py:result`` (the binary, which imports the script as a module), must give every payload
the same digest, or a baseline recorded one way breaks when checked the other.

Programs cover each kind of payload that pickles by value or not: a bound method of a class of
the script (its instance inside), a closure over a list, an instance of a class of the script, a
partial holding a function of the script and a dict (with DataFrame partitions beside it), a
dict argument and an ndarray argument.
"""

import json
import os
import re
import subprocess
from collections import Counter

import pytest

import fidelity

# program -> how the description of its copied payload starts (the kind each one covers)
PROGRAMS = {"bound_method.py": "bound method Model.predict",
            "closure_list.py": "function make_scaler",
            "lookup_table.py": "Mapper", "partial_dict.py": "partial",
            os.path.join("held", "dict_arg.py"): "dict of 50,000 items",
            os.path.join("held", "ndarray_arg.py"): "ndarray"}
_MAIN_GUARD = re.compile(r"^if __name__ == [\"']__main__[\"']:", re.M)

EXPORT_IN_SCRIPT = """

if __name__ == "__main__":
    import sys

    import graphprof

    graphprof.export(result, sys.argv[1])
"""


def _script(program: str, tmp_path) -> str:
    """The program as a user's script that exports its own collection when run (its own
    ``__main__`` block, a compute, left out)."""
    with open(os.path.join(fidelity.PROGRAMS, program), encoding="utf-8") as fh:
        source = fh.read()
    source = _MAIN_GUARD.split(source)[0]
    path = tmp_path / os.path.basename(program)
    path.write_text(source + EXPORT_IN_SCRIPT, encoding="utf-8")
    return str(path)


def _payload_digests(doc: dict) -> Counter:
    """How many task arguments carry each digest."""
    return Counter(a["payload"]["digest"] for t in doc["tasks"] for a in t.get("args", ())
                   if "payload" in a)


@pytest.mark.parametrize("program", PROGRAMS,
                         ids=[os.path.splitext(os.path.basename(p))[0] for p in PROGRAMS])
def test_in_process_and_cli_exports_give_one_digest_per_payload(program, tmp_path):
    script = _script(program, tmp_path)
    in_process, cli = tmp_path / "in_process.json", tmp_path / "cli.json"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(fidelity.HERE))
    run = subprocess.run([fidelity.python(), script, str(in_process)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    subprocess.run([fidelity.binary(), "dask", "export", f"{script}:result", "-o", str(cli)],
                   env=dict(env, GRAPHPROF_PYTHON=fidelity.python()), capture_output=True,
                   text=True, timeout=300, check=True)
    first, second = (json.loads(p.read_text()) for p in (in_process, cli))
    digests = _payload_digests(first)
    assert digests, "the program embeds payloads"
    assert digests == _payload_digests(second), (
        f"{program}: payload digests differ between graphprof.export and `graphprof dask export`: "
        f"{sorted(set(digests) ^ set(_payload_digests(second)))}")
    contents = {c["digest"]: c.get("description", "") for c in first.get("contents", [])}
    assert contents.keys() == {c["digest"] for c in second.get("contents", [])}
    # The payload this program is here for is among them (dask.array puts a large ndarray
    # argument in the graph once, as a key of its own; the others are copied into every task).
    kind = [d for d, text in contents.items() if text.startswith(PROGRAMS[program])]
    assert kind and all(digests[d] >= 1 for d in kind), (PROGRAMS[program], contents)

