"""archc benchmarks, side by side on one machine, as one Markdown report on stdout.

    python bench/run.py            # everything (several minutes on a laptop CPU)
    python bench/run.py --quick    # fewer repetitions and sizes (about a minute)
    python bench/run.py --only zoo,coldstart

Sections: zoo (archc params vs torchinfo and fvcore, totals agreement), scaling (1k-100k layer
specs, time and peak memory), coldstart (CLI start-up, import summary), lint (bench/bench_lint.py),
throughput (emitted ResNet-50 vs the hand-written one). Exit status 1 if a target is missed.
Not part of the unit tests; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import coldstart, scaling, zoo
from bench.common import BENCH, PY, best_of, log, ms, run_once, table

THROUGHPUT_TARGET = 0.98


def lint_section(quick: bool) -> tuple[str, bool]:
    script = BENCH / "bench_lint.py"
    if not script.exists():
        return ("## Lint over 1,000 files\n\nskipped: bench/bench_lint.py does not exist yet "
                "(owned by the lint work)."), True
    log("lint: bench/bench_lint.py")
    elapsed, done = run_once([PY, str(script), *(["--repeat", "1"] if quick else [])],
                             timeout=900)
    output = done.stdout.strip() or done.stderr.strip()[-3000:]
    return (f"## Lint over 1,000 files (bench/bench_lint.py)\n\nexit {done.returncode}, "
            f"{ms(elapsed)} for the whole script.\n\n{output}"), done.returncode == 0


def throughput_section(quick: bool) -> tuple[str, bool]:
    batch, rounds = (8, 3) if quick else (32, 9)
    log(f"throughput: batch {batch}, {rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="archc-tp-") as folder:
        emitted = zoo.emit("resnet50", Path(folder))
        _, out = best_of([PY, str(BENCH / "child_throughput.py"), str(emitted),
                          "--batch", str(batch), "--rounds", str(rounds)], 1, timeout=1800)
    result = json.loads(out.strip().splitlines()[-1])
    ratio = result["ratio"]
    rows = [(name, f"{result['median_s'][name] * 1000:,.0f} ms",
             f"{result['images_per_s'][name]:.1f}") for name in ("emitted", "reference")]
    verdict = "met" if ratio >= THROUGHPUT_TARGET else "NOT met"
    text = "\n\n".join([
        "## Forward throughput: emitted ResNet-50 vs hand-written (tests/reference_models.py)",
        f"Device {result['device']} ({result['threads']} threads), batch {batch}, the same "
        f"weights in both (outputs equal: {result['same_output']}), torch.inference_mode, "
        f"warm-up then {rounds} alternating rounds, median.",
        table(["model", "median forward", "images/s"], rows),
        f"emitted / reference throughput: {ratio:.3f} (target >= {THROUGHPUT_TARGET}): {verdict}"])
    return text, ratio >= THROUGHPUT_TARGET and result["same_output"]


SECTIONS: dict[str, Callable[[bool], tuple[str, bool]]] = {
    "zoo": zoo.section, "scaling": scaling.section, "coldstart": coldstart.section,
    "lint": lint_section, "throughput": throughput_section,
}


def header(quick: bool) -> str:
    import archc

    return (f"# archc benchmark report\n\narchc {archc.__version__}, Python "
            f"{platform.python_version()}, {platform.machine()} {platform.system()}, "
            f"{_cpus()} CPUs{' (--quick)' if quick else ''}.")


def _cpus() -> str:
    import os

    return str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and sizes")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    print(header(args.quick), flush=True)
    results = []
    for name in chosen:
        text, ok = SECTIONS[name](args.quick)
        results.append((name, ok))
        print("\n" + text, flush=True)
    print("\n## Summary\n\n" + table(["section", "targets"],
                                     [(n, "met" if ok else "NOT met") for n, ok in results]))
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
