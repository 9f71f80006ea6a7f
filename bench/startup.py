"""archc's own share of `archc check` on a small spec (target <= 60 ms).

    python bench/startup.py [--repeat 15] [SPEC]      # default examples/lenet5.arch

Whole processes, best of N (children as in bench/common.py: bytecode caching on):

1. `python -c pass`: the interpreter and site start-up;
2. `python -c "import <dependencies>"`: the interpreter plus exactly the third-party packages
   `archc check` ends up importing (found by running it in a child and listing sys.modules);
3. `python -c "from archc.cli import main; main()" check SPEC`: the whole command.

archc's own share = 3 - 2: its imports (including the standard-library modules only it needs)
and its work. Then a `python -X importtime` summary of the check path: archc's modules by
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
RUN = "import sys; from archc.cli import main; sys.argv = ['archc', 'check', {spec!r}]; main()"
LIST = ("import sys, json, runpy\n"
        "sys.argv = ['archc', 'check', {spec!r}]\n"
        "from archc.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "names = sorted({{m.split('.')[0] for m in sys.modules}})\n"
        "sys.stderr.write(json.dumps(names))\n")


def dependencies(spec: str) -> list[str]:
    """Top-level third-party packages `archc check SPEC` imports."""
    _, done = run_once([PY, "-c", LIST.format(spec=spec)])
    names = json.loads(done.stderr.strip().splitlines()[-1])
    stdlib = set(sys.stdlib_module_names)
    return [n for n in names if n not in stdlib and not n.startswith("_") and n != "archc"
            and n not in ("sitecustomize", "usercustomize")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default="examples/lenet5.arch")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    deps = dependencies(args.spec)
    python, _ = best_of([PY, "-c", "pass"], args.repeat)
    imports, _ = best_of([PY, "-c", "import " + ", ".join(deps)], args.repeat)
    whole, _ = best_of([PY, "-c", RUN.format(spec=args.spec)], args.repeat)
    own = whole - imports
    print(f"`archc check {args.spec}`, whole process, best of {args.repeat}:")
    print(f"  Python start-up (python -c pass)        {python * 1000:7.1f} ms")
    print(f"  importing its dependencies              {(imports - python) * 1000:7.1f} ms"
          f"  ({', '.join(deps)})")
    print(f"  archc's own (imports and work)          {own * 1000:7.1f} ms"
          f"  (target <= {TARGET_MS:.0f} ms)")
    print(f"  whole                                   {whole * 1000:7.1f} ms")
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
