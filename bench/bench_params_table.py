"""How long `archc params` takes to format a deep network's table (goal: a couple of seconds
for 20,000 layers; rich's table took 22 s). Not a test: prints timings.

    PYTHONPATH=. python3 bench/bench_params_table.py [LAYERS]
"""

from __future__ import annotations

import sys
import time

import archc
from archc.insight.summary import params_table
from bench.gen_specs import generate


def main(layers: int = 20_000) -> None:
    model = archc.loads(generate("residual", layers))
    for label, options in (("full, 80 columns", {"width": 80}), ("--depth 1", {"depth": 1}),
                           ("--rf", {"rf": True})):
        start = time.perf_counter()
        text = params_table(model, **options)
        elapsed = time.perf_counter() - start
        print(f"{len(model.analysis.layers):,} layers, {label}: {elapsed:.2f} s, "
              f"{text.count(chr(10)):,} lines")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
