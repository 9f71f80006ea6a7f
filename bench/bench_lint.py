"""Time `archc lint` over 1,000 spec files, as CI runs it: one whole process, cold start.

    python bench/bench_lint.py [--files 1000] [--jobs 0] [--repeat 3]

The files are copies and variants of the zoo (specs/ and examples/): each copy renames its
networks and, every other copy, doubles the input's height and width, so no two files are
identical. Prints the best wall-clock time of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_INPUT = re.compile(r"^(\s*input\s+)(\d+)x(\d+)x(\d+)", re.MULTILINE)
_NETWORK = re.compile(r"^(\s*network\s+)(\w+)", re.MULTILINE)


def variant(text: str, index: int) -> str:
    text = _NETWORK.sub(lambda m: f"{m[1]}{m[2]}_{index}", text)
    if index % 2:
        text = _INPUT.sub(lambda m: f"{m[1]}{m[2]}x{int(m[3]) * 2}x{int(m[4]) * 2}", text)
    return text


def generate(folder: Path, count: int) -> list[Path]:
    zoo = sorted([*ROOT.glob("specs/*.arch"), *ROOT.glob("examples/*.arch")])
    sources = [path.read_text(encoding="utf-8") for path in zoo]
    written = []
    for i in range(count):
        path = folder / f"group{i % 10}" / f"{zoo[i % len(zoo)].stem}_{i:04d}.arch"
        path.parent.mkdir(exist_ok=True)
        path.write_text(variant(sources[i % len(sources)], i), encoding="utf-8")
        written.append(path)
    return written


def time_lint(folder: Path, jobs: int) -> tuple[float, subprocess.CompletedProcess]:
    archc = shutil.which("archc")
    command = [archc] if archc else [sys.executable, "-m", "archc.cli"]
    command += ["lint", "--jobs", str(jobs), "--format", "json", str(folder)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=0, help="0: one worker per CPU")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="archc-bench-") as tmp:
        folder = Path(tmp)
        generate(folder, args.files)
        times = []
        for _ in range(args.repeat):
            seconds, result = time_lint(folder, args.jobs)
            if result.returncode not in (0, 1):
                sys.exit(f"archc lint failed ({result.returncode}):\n{result.stderr}")
            times.append(seconds)
        summary = json.loads(result.stdout)["summary"]
    print(f"archc lint over {summary['files']} files ({summary['errors']} errors, "
          f"{summary['warnings']} warnings), jobs={args.jobs or os.cpu_count()}: "
          f"best {min(times):.2f} s of {args.repeat} runs "
          f"({1000 * min(times) / summary['files']:.1f} ms per file)")


if __name__ == "__main__":
    main()
