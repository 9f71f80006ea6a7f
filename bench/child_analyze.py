"""Child process of the scaling benchmark: load one spec, time each pipeline stage, report the
process's peak memory. Prints one JSON object on stdout.

    python bench/child_analyze.py SPEC
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(path: str) -> dict:
    started = time.perf_counter()
    from archc.analyze import analyze
    from archc.api import read_source
    from archc.expand import expand
    from archc.graph import build_graph
    from archc.parse import parse_text

    times: dict[str, float] = {"import": time.perf_counter() - started}
    text = read_source(path)
    spec = _timed(times, "parse", parse_text, text, path)
    expanded = _timed(times, "expand", expand, spec)
    built = _timed(times, "graph", build_graph, expanded)
    analysis = _timed(times, "analyze", analyze, expanded, built)
    times["pipeline"] = sum(v for k, v in times.items() if k != "import")
    return {"layers": len(analysis.layers), "params": analysis.totals.params,
            "macs": analysis.totals.macs, "times": times,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _timed(times: dict[str, float], name: str, func, *args):
    started = time.perf_counter()
    result = func(*args)
    times[name] = time.perf_counter() - started
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
