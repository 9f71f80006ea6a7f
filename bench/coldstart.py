"""CLI cold start: `archc --version` and `archc check examples/lenet5.arch`, whole process, and
a summary of `python -X importtime` on the check path (no torch or numpy allowed)."""

from __future__ import annotations

import re
from collections import defaultdict

from bench.common import PY, ROOT, archc_command, best_of, log, ms, run_once, table

TARGET_S = 0.3
FORBIDDEN = ("torch", "numpy")
CHECK_PATH = ("import sys; from archc.cli import main; "
              "sys.argv = ['archc', 'check', 'examples/lenet5.arch']; main()")
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def importtime(code: str) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) for every import `code` makes."""
    _, done = run_once([PY, "-X", "importtime", "-c", code])
    rows = []
    for line in done.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            depth = len(match.group(3)) // 2
            rows.append((match.group(4), int(match.group(1)), int(match.group(2)), depth))
    return rows


def by_package(rows: list[tuple[str, int, int, int]]) -> list[tuple[str, int]]:
    """Self time summed per top-level package, largest first."""
    totals: dict[str, int] = defaultdict(int)
    for module, self_us, _, _ in rows:
        totals[module.split(".")[0]] += self_us
    return sorted(totals.items(), key=lambda kv: -kv[1])


def import_summary(code: str, what: str) -> tuple[str, bool]:
    rows = importtime(code)
    modules = {module for module, *_ in rows}
    leaked = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    total = sum(self_us for _, self_us, _, _ in rows)
    top = by_package(rows)[:12]
    body = [(name, f"{us / 1000:.1f} ms", f"{100 * us / total:.0f}%") for name, us in top]
    archc_rows = sorted((r for r in rows if r[0].startswith("archc")), key=lambda r: -r[1])[:8]
    own = [(m, f"{s / 1000:.1f} ms") for m, s, _, _ in archc_rows]
    verdict = ("no torch or numpy imported" if not leaked
               else "FORBIDDEN imports: " + ", ".join(leaked[:10]))
    text = "\n\n".join([
        f"`python -X importtime` on {what}: {len(rows)} modules, "
        f"{total / 1000:.0f} ms of import time (self times summed, as measured under "
        f"-X importtime, which inflates them); {verdict}.",
        table(["top-level package", "self import time", "share"], body),
        table(["archc module", "self import time"], own)])
    return text, not leaked


def section(quick: bool) -> tuple[str, bool]:
    repeat = 5 if quick else 15
    log("cold start")
    commands = {
        "archc --version": [*archc_command(), "--version"],
        "archc check examples/lenet5.arch": [*archc_command(), "check",
                                             str(ROOT / "examples" / "lenet5.arch")],
        "python -c pass (interpreter alone)": [PY, "-c", "pass"],
    }
    timed = {name: best_of(cmd, repeat)[0] for name, cmd in commands.items()}
    ok = all(t < TARGET_S for name, t in timed.items() if name.startswith("archc"))
    rows = [(name, ms(t), "" if name.startswith("python") else
             ("met" if t < TARGET_S else "NOT met")) for name, t in timed.items()]
    cli, clean_cli = import_summary("from archc.cli import main",
                                    "`from archc.cli import main`")
    check, clean = import_summary(CHECK_PATH, "`archc check examples/lenet5.arch`")
    text = "\n\n".join([
        "## CLI cold start",
        f"Whole process, best of {repeat}; target < {TARGET_S * 1000:.0f} ms.",
        table(["command", "wall time", "target"], rows), cli, check])
    return text, ok and clean and clean_cli
