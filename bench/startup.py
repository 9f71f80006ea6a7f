"""archc's own share of `archc check` on a small spec (target <= 60 ms).

    python bench/startup.py [--repeat 15] [SPEC]      # default examples/lenet5.arch

Whole processes, best of N rounds (children as in bench/common.py: bytecode caching on):

1. `python -c pass`: the interpreter and site start-up;
2. `python -c "import <dependencies>"`: the interpreter plus exactly the third-party packages
   `archc check` ends up importing (found by running it in a child and listing sys.modules);
3. the same plus `import archc.cli, archc.api, archc.report`: archc's modules, no work;
4. `python -c "from archc.cli import main; main()" check SPEC`: the whole command.

The commands take turns, round after round (a change of load hits them alike). archc's own
share = 4 - 2: its imports (3 - 2, with the standard-library modules only it needs) and its
work (4 - 3). Then a `python -X importtime` summary of the check path: archc's modules by
self import time (inflated by -X importtime itself, so read it as proportions).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.coldstart import importtime
from bench.common import PY, best_of, run_once

TARGET_MS = 60.0
ARCHC_MODULES = "archc.cli, archc.cli.check, archc.api, archc.report"  # what check imports
RUN = "import sys; from archc.cli import main; sys.argv = ['archc', 'check', {spec!r}]; main()"
LIST = ("import sys, json\n"
        "sys.argv = ['archc', 'check', {spec!r}]\n"
        "from archc.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(list(sys.modules)))\n")
IMPORT_ALL = ("import importlib, json, sys\n"
              "for name in json.loads(sys.argv[1]):\n"
              "    try:\n        importlib.import_module(name)\n"
              "    except Exception:\n        pass\n")


def dependencies(spec: str) -> list[str]:
    """Every module of a third-party package that `archc check SPEC` imports, in import order
    (pydantic and networkx import submodules lazily, on archc's first use: those count as the
    dependency's cost, not archc's)."""
    _, done = run_once([PY, "-c", LIST.format(spec=spec)])
    names = json.loads(done.stderr.strip().splitlines()[-1])
    stdlib = set(sys.stdlib_module_names)
    return [n for n in names if n.split(".")[0] not in stdlib and not n.startswith("_")
            and n.split(".")[0] not in ("archc", "sitecustomize", "usercustomize")]


def interleaved(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Best wall time of each command, the commands taking turns in every round, so that a
    change in the machine's load during the run affects them alike."""
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(max(1, repeat)):
        for name, cmd in commands.items():
            elapsed, _ = best_of(cmd, 1)
            best[name] = min(best[name], elapsed)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default="examples/lenet5.arch")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    deps = dependencies(args.spec)
    modules = json.dumps(deps)
    packages = sorted({d.split(".")[0] for d in deps})
    commands = {"python": [PY, "-c", "pass"],
                "packages": [PY, "-c", "import " + ", ".join(packages)],
                "imports": [PY, "-c", IMPORT_ALL, modules],
                "loaded": [PY, "-c", IMPORT_ALL + f"import {ARCHC_MODULES}\n", modules],
                "whole": [PY, "-c", RUN.format(spec=args.spec)]}
    best = interleaved(commands, args.repeat)
    python, packages_only, imports, loaded, whole = (best[k] for k in commands)
    own = whole - imports
    print(f"`archc check {args.spec}`, whole process, best of {args.repeat}:")
    print(f"  Python start-up (python -c pass)        {python * 1000:7.1f} ms")
    print(f"  importing its dependencies              {(imports - python) * 1000:7.1f} ms"
          f"  (every one of their {len(deps)} modules it ends up importing: "
          f"{', '.join(packages)})")
    print(f"  archc's own (imports and work)          {own * 1000:7.1f} ms"
          f"  (target <= {TARGET_MS:.0f} ms)")
    print(f"    of which importing archc              {(loaded - imports) * 1000:7.1f} ms")
    print(f"    of which the command's work           {(whole - loaded) * 1000:7.1f} ms")
    print(f"  whole                                   {whole * 1000:7.1f} ms")
    print(f"  (counting only `import {', '.join(packages)}` as the dependencies, archc's own "
          f"would be {(whole - packages_only) * 1000:.1f} ms: pydantic and networkx load "
          "submodules lazily, on archc's first use)")
    fastest: dict[str, int] = {}  # module -> least self time over the runs (noise is additive)
    for _ in range(max(3, args.repeat // 3)):
        for module, self_us, _, _ in importtime(RUN.format(spec=args.spec)):
            fastest[module] = min(self_us, fastest.get(module, self_us))
    mine = sorted(((m, us) for m, us in fastest.items() if m.startswith("archc")),
                  key=lambda r: -r[1])
    total = sum(us for _, us in mine)
    everything = sum(fastest.values())
    print(f"-X importtime (least of several runs): {everything / 1000:.1f} ms of imports in "
          f"{len(fastest)} modules; archc's {len(mine)} modules {total / 1000:.1f} ms; largest:")
    for module, self_us in mine[:10]:
        print(f"  {module:32s} {self_us / 1000:6.1f} ms")
    ok = own * 1000 <= TARGET_MS
    print(f"target: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
