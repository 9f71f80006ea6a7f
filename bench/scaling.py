"""Scaling: generated specs of 1k, 10k and 100k layers, each analysed in a child process that
reports per-stage times and its peak memory (ru_maxrss)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH, PY, archc_command, best_of, log, ms, run_json, table
from bench.gen_specs import SHAPES, generate

TARGET_100K_S = 10.0
TARGET_100K_MB = 1024
TARGET_10K_S = 1.0
LINEAR_SLACK = 1.6  # per-layer time may grow this much from 10k to 100k and still be "linear"


@dataclass
class Point:
    shape: str
    size: int
    layers: int
    pipeline_s: float
    process_s: float
    maxrss_mb: float
    stages: dict[str, float]

    @property
    def us_per_layer(self) -> float:
        return 1e6 * self.pipeline_s / self.layers


def measure(shape: str, size: int, folder: Path) -> Point:
    spec = folder / f"{shape}_{size}.arch"
    spec.write_text(generate(shape, size), encoding="utf-8")
    log(f"  {shape} {size:,}")
    result = run_json([PY, str(BENCH / "child_analyze.py"), str(spec)])
    process_s, _ = best_of([*archc_command(), "check", str(spec)], 1)
    return Point(shape, size, result["layers"], result["times"]["pipeline"], process_s,
                 result["maxrss_kb"] / 1024, result["times"])


def points_table(points: list[Point]) -> str:
    rows = [(p.shape, f"{p.layers:,}", ms(p.stages["parse"]), ms(p.stages["expand"]),
             ms(p.stages["graph"]), ms(p.stages["analyze"]), ms(p.pipeline_s),
             f"{p.us_per_layer:.1f}", ms(p.process_s), f"{p.maxrss_mb:,.0f} MB") for p in points]
    return table(["spec", "layers", "parse", "expand", "graph", "analyze", "pipeline",
                  "us/layer", "`archc check` process", "peak RSS"], rows)


def verdicts(points: list[Point]) -> tuple[list[str], bool]:
    lines, ok = [], True
    by = {(p.shape, p.size): p for p in points}
    for shape in SHAPES:
        small, big = by.get((shape, 10_000)), by.get((shape, 100_000))
        if small:
            good = small.pipeline_s < TARGET_10K_S
            ok &= good
            lines.append(f"- {shape}, 10k layers analysed in {ms(small.pipeline_s)} "
                         f"(target < {TARGET_10K_S:g} s): {'met' if good else 'NOT met'}")
        if small and big:
            growth = big.us_per_layer / small.us_per_layer
            good = (big.process_s < TARGET_100K_S and big.maxrss_mb < TARGET_100K_MB
                    and growth < LINEAR_SLACK)
            ok &= good
            lines.append(f"- {shape}, 100k layers: {big.process_s:.2f} s whole process, "
                         f"{big.maxrss_mb:,.0f} MB peak, per-layer time x{growth:.2f} of 10k's "
                         f"(targets < {TARGET_100K_S:g} s, < {TARGET_100K_MB} MB, linear): "
                         f"{'met' if good else 'NOT met'}")
    return lines, ok


def section(quick: bool) -> tuple[str, bool]:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    log("scaling: generated specs")
    with tempfile.TemporaryDirectory(prefix="archc-scale-") as folder:
        points = [measure(shape, size, Path(folder)) for shape in SHAPES for size in sizes]
    lines, ok = verdicts(points)
    text = "\n\n".join([
        "## Scaling: generated specs",
        "Stage times from one child process per spec (`pipeline` = parse + expand + graph + "
        "analyze, imports excluded); `archc check` is the whole process; peak RSS is the "
        "child's ru_maxrss, interpreter and imports included.",
        points_table(points), "\n".join(lines)])
    return text, ok
