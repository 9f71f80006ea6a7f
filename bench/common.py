"""Helpers shared by the benchmark sections: whole-process timing, JSON children, tables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable


def archc_command() -> list[str]:
    """The installed `archc` script next to this interpreter (not a pyenv shim, whose bash
    wrapper would add its own start-up to every measurement)."""
    local = Path(PY).parent / "archc"
    if local.exists():
        return [str(local)]
    found = shutil.which("archc")
    return [found] if found else [PY, "-c", "import sys; from archc.cli import main; "
                                  "sys.exit(main())"]


def child_env() -> dict[str, str]:
    """The environment of every timed child. Bytecode caching stays on (as in any pip
    install, which compiles .pyc files), even where the caller disabled it."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("NO_COLOR", "1")
    return env


def run_once(cmd: Sequence[str], timeout: float = 600) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                          env=child_env(), cwd=ROOT, check=False)
    return time.perf_counter() - started, done


def best_of(cmd: Sequence[str], repeat: int, timeout: float = 600) -> tuple[float, str]:
    """Fastest wall time of `repeat` whole-process runs, and the last run's stdout. A failing
    command raises, so a broken tool never passes as a fast one."""
    best, out = float("inf"), ""
    for _ in range(max(1, repeat)):
        elapsed, done = run_once(cmd, timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-2000:]}")
        best, out = min(best, elapsed), done.stdout
    return best, out


def run_json(cmd: Sequence[str], timeout: float = 600) -> dict:
    _, out = best_of(cmd, 1, timeout)
    return json.loads(out.strip().splitlines()[-1])


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned by the `---:` marker."""
    align = ["---:" if rows and _numeric(rows[0][i]) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float)) or str(value)[:1].isdigit()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
