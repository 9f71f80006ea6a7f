"""archc's own start-up and whole-process targets of issue 14, side by side, pass/miss each.

    python bench/issue14.py [--repeat 5] [--before OLD_CHECKOUT]

1. `archc check examples/lenet5.arch`: archc's own share = whole process - Python start-up -
   importing every module of the third-party packages the command ends up importing (as
   bench/startup.py splits it); target <= 60 ms.
2. `archc params specs/resnet50.arch` (default table) against torchinfo's `summary` of
   torchvision's resnet50 (bench/child_tools.py: torch, torchvision, the model, a 1x3x224x224
   forward); target: archc >= 10x faster. Also shown: the same against the module archc emits
   (no torchvision import: the stricter comparison), and the ceiling any archc could reach
   while importing its required dependencies (torchinfo / (Python start-up + importing them)).
3. a flat 10,000-line spec (`conv(64, k=3, p=1) relu` a line: 20,000 layers): `archc check`
   < 2 s, `archc params --format json` < 3 s.
4. `archc build specs/resnet50.arch -o FILE --verify` < 3.5 s.

Every figure is the best of N whole processes, the commands taking turns round after round
(so a change of load hits them alike). With --before, the same commands also run on another
checkout of archc (`git archive <commit> archc grammars | tar -x -C DIR`), interleaved, for a
before/after table from one run. Children run each checkout's archc first on sys.path.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH, PY, ROOT, child_env, table
from bench.startup import IMPORT_ALL, LIST

CLI = "import sys; from archc.cli import main; sys.exit(main())"
LINE = "conv(64, k=3, p=1) relu"


def flat_spec(folder: Path, lines: int = 10_000) -> Path:
    path = folder / "flat10k.arch"
    body = "\n".join(f"    {LINE}" for _ in range(lines))
    path.write_text(f"network Flat {{\n    input 3x32x32\n{body}\n}}\n", encoding="utf-8")
    return path


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=child_env(), capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} (in {cwd}) exited {done.returncode}:\n"
                           f"{done.stderr[-2000:]}")
    return elapsed


def dependencies(cwd: Path, spec: str) -> list[str]:
    """Third-party modules `archc check SPEC` imports in that checkout (see bench/startup.py)."""
    done = subprocess.run([PY, "-c", LIST.format(spec=spec)], cwd=cwd, env=child_env(),
                          capture_output=True, text=True, check=False)
    names = json.loads(done.stderr.strip().splitlines()[-1])
    stdlib = set(sys.stdlib_module_names)
    return [n for n in names if n.split(".")[0] not in stdlib and not n.startswith("_")
            and n.split(".")[0] not in ("archc", "sitecustomize", "usercustomize")]


def commands(cwd: Path, folder: Path, flat: Path) -> dict[str, list[str]]:
    lenet = str(ROOT / "examples" / "lenet5.arch")
    r50 = str(ROOT / "specs" / "resnet50.arch")
    return {
        "python -c pass": [PY, "-c", "pass"],
        "import dependencies": [PY, "-c", IMPORT_ALL, json.dumps(dependencies(cwd, lenet))],
        "check lenet5": [PY, "-c", CLI, "check", lenet],
        "params resnet50 (table)": [PY, "-c", CLI, "params", r50],
        "check flat 10k lines": [PY, "-c", CLI, "check", str(flat)],
        "params flat 10k lines --format json": [PY, "-c", CLI, "params", str(flat), "--format",
                                                "json"],
        "build resnet50 --verify": [PY, "-c", CLI, "build", r50, "-o",
                                    str(folder / f"r50_{cwd.name}.py"), "--verify"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout (archc/, grammars/)")
    args = parser.parse_args()
    sides = {"after": ROOT} if args.before is None else {"before": args.before.resolve(),
                                                          "after": ROOT}
    with tempfile.TemporaryDirectory(prefix="archc-i14-") as tmp:
        folder = Path(tmp)
        flat = flat_spec(folder)
        emitted = folder / "resnet50_emitted.py"
        subprocess.run([PY, "-c", CLI, "build", str(ROOT / "specs" / "resnet50.arch"), "-o",
                        str(emitted), "--no-verify"], cwd=ROOT, env=child_env(), check=True,
                       capture_output=True)
        plan = {side: commands(cwd, folder, flat) for side, cwd in sides.items()}
        tools = {"torchinfo": [PY, str(BENCH / "child_tools.py"), "torchinfo",
                               "torchvision:resnet50"],
                 "torchinfo emitted": [PY, str(BENCH / "child_tools.py"), "torchinfo",
                                       str(emitted)]}
        best: dict[tuple[str, str], float] = {}
        for round_ in range(max(1, args.repeat)):
            print(f"round {round_ + 1}/{args.repeat}", file=sys.stderr, flush=True)
            for name in plan["after"]:
                for side, cwd in sides.items():
                    key = (side, name)
                    best[key] = min(best.get(key, float("inf")), timed(plan[side][name], cwd))
            for tool, command in tools.items():
                best[("tool", tool)] = min(best.get(("tool", tool), float("inf")),
                                           timed(command, ROOT))
    print(report(best, list(sides), args.repeat))
    return 0 if all(ok is not False for _, _, ok in verdicts(best, "after")) else 1


def verdicts(best: dict, side: str) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met?) per target; None for a figure shown for reference."""
    t = {name: best[(side, name)] for (s, name) in best if s == side}
    own = t["check lenet5"] - t["import dependencies"]
    ratio = best[("tool", "torchinfo")] / t["params resnet50 (table)"]
    strict = best[("tool", "torchinfo emitted")] / t["params resnet50 (table)"]
    ceiling = best[("tool", "torchinfo")] / t["import dependencies"]
    return [
        ("archc's own share of `check lenet5` <= 60 ms", f"{own * 1000:.0f} ms", own <= 0.060),
        ("`params resnet50` >= 10x faster than torchinfo (torchvision's resnet50)",
         f"{ratio:.1f}x", ratio >= 10),
        ("(for reference: against archc's emitted module, no torchvision import)",
         f"{strict:.1f}x", None),
        ("(for reference: the ceiling, torchinfo / (Python + importing the dependencies))",
         f"{ceiling:.1f}x", None),
        ("`check` flat 10k lines < 2 s", f"{t['check flat 10k lines']:.2f} s",
         t["check flat 10k lines"] < 2),
        ("`params --format json` flat 10k lines < 3 s",
         f"{t['params flat 10k lines --format json']:.2f} s",
         t["params flat 10k lines --format json"] < 3),
        ("`build resnet50 --verify` < 3.5 s", f"{t['build resnet50 --verify']:.2f} s",
         t["build resnet50 --verify"] < 3.5),
    ]


def report(best: dict, sides: list[str], repeat: int) -> str:
    names = [name for (side, name) in best if side == "after"]
    rows = [(f"`{name}`", *(f"{best[(side, name)] * 1000:,.0f} ms" for side in sides))
            for name in names]
    rows.append(("torchinfo summary of torchvision's resnet50 (child_tools.py)",
                 *(f"{best[('tool', 'torchinfo')] * 1000:,.0f} ms" for _ in sides)))
    rows.append(("torchinfo summary of the emitted ResNet-50 (child_tools.py)",
                 *(f"{best[('tool', 'torchinfo emitted')] * 1000:,.0f} ms" for _ in sides)))
    parts = [f"Whole processes, best of {repeat}, interleaved:", table(["command", *sides], rows)]
    targets = {side: verdicts(best, side) for side in sides}
    verdict = {True: " (met)", False: " (MISSED)", None: ""}
    lines = [(what, *(f"{targets[s][i][1]}{verdict[targets[s][i][2]]}" for s in sides))
             for i, (what, _, _) in enumerate(targets["after"])]
    parts += ["Targets:", table(["target", *sides], lines)]
    return "\n\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
