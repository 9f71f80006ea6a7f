"""What `archc params --format json` spends after the model is loaded, on the flat 10,000-line
spec of issue 14 (20,000 layers): the document (receptive fields, memory estimate, the rest)
and its indented text, in one process with the loaded model frozen as the CLI freezes it.

    python bench/params_json.py [--repeat 7] [--before OLD_CHECKOUT]

Each figure is the best CPU time of N calls (time.process_time, so a busy machine inflates it
less than wall time), the collector paused as the CLI pauses it while it builds and writes the
document. With --before, the same runs on another checkout (`git archive <commit> archc
grammars | tar -x -C DIR`) in a child process first, for a before/after table. The whole
process is bench/issue14.py's figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PY, ROOT, table

CHILD = r"""
import gc, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from archc import report
from archc.api import loads
from archc.insight.memory import estimate
from archc.insight.rf import receptive_fields
from archc.insight.summary import json_document

model = loads(Path(sys.argv[2]).read_text(), "flat10k.arch")
gc.freeze()
gc.disable()
doc = json_document(model, report.View(1))

def best(call):
    times = []
    for _ in range(int(sys.argv[3])):
        started = time.process_time()
        call()
        times.append(time.process_time() - started)
    return min(times)

print(json.dumps({
    "json_document": best(lambda: json_document(model, report.View(1))),
    "json_document: receptive_fields": best(lambda: receptive_fields(model)),
    "json_document: memory estimate": best(lambda: estimate(model, 1)),
    "json_document: report.to_dict": best(lambda: report.to_dict(model.analysis, report.View(1))),
    "dumps_indented": best(lambda: report.dumps_indented(doc)),
}))
"""


def measure(checkout: Path, spec: Path, repeat: int) -> dict[str, float]:
    done = subprocess.run([PY, "-c", CHILD, str(checkout), str(spec), str(repeat)],
                          capture_output=True, text=True, check=True, cwd=checkout)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another checkout (archc/, grammars/)")
    args = parser.parse_args()
    from bench.issue14 import flat_spec

    with tempfile.TemporaryDirectory(prefix="archc-pj-") as tmp:
        spec = flat_spec(Path(tmp))
        sides = {"after": measure(ROOT, spec, args.repeat)}
        if args.before is not None:
            sides = {"before": measure(args.before.resolve(), spec, args.repeat), **sides}
    names = list(sides["after"])
    rows = [[name, *(f"{side[name]:.3f} s" for side in sides.values())] for name in names]
    print(table(["step (best CPU time)", *sides], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
