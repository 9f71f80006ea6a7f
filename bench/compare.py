"""Before/after: the same CLI commands timed on two checkouts of archc, interleaved, on this
machine, as a Markdown table (best of N whole processes each).

    git archive <old-commit> archc grammars | tar -x -C /tmp/archc-old
    python bench/compare.py /tmp/archc-old [--repeat 7]

Each side runs with its own checkout first on sys.path (the working directory), so an
editable install of either does not interfere.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PY, ROOT, child_env, table

CLI = "import sys; from archc.cli import main; sys.exit(main())"
COMMANDS: dict[str, list[str]] = {
    "archc --version": ["--version"],
    "archc check examples/lenet5.arch": ["check", "examples/lenet5.arch"],
    "archc params specs/resnet50.arch": ["params", "specs/resnet50.arch"],
    "archc params specs/resnet50.arch --format json": ["params", "specs/resnet50.arch",
                                                       "--format", "json"],
    "archc params specs/resnet152.arch": ["params", "specs/resnet152.arch"],
    "archc params specs/googlenet.arch": ["params", "specs/googlenet.arch"],
}


def run(checkout: Path, args: list[str]) -> float:
    import subprocess

    paths = [str(ROOT / a) if a.endswith(".arch") else a for a in args]
    started = time.perf_counter()
    done = subprocess.run([PY, "-c", CLI, *paths], cwd=checkout, env=child_env(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{checkout}: {' '.join(args)}: {done.stderr[-500:]!r}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="the other checkout (archc/ and grammars/)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for name, command in COMMANDS.items():
        best = {"before": float("inf"), "after": float("inf")}
        for _ in range(args.repeat):
            for side, checkout in (("before", args.before), ("after", ROOT)):
                best[side] = min(best[side], run(checkout, command))
        rows.append((f"`{name}`", f"{best['before'] * 1000:,.0f} ms",
                     f"{best['after'] * 1000:,.0f} ms", f"{best['before'] / best['after']:.1f}x"))
    print(table(["command", "before", "after", "speed-up"], rows))


if __name__ == "__main__":
    main()
