"""`archc params` against torchinfo and fvcore on the zoo, whole process each, plus agreement
of the totals with the tools and with the published figures (REFERENCE below; parameters and
MACs are the ones tests/test_zoo.py pins for the zoo)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH, PY, ROOT, archc_command, best_of, log, ms, table

MODELS = ("resnet50", "resnet152", "googlenet")


@dataclass(frozen=True)
class Figures:
    """Published totals of one network (torchvision layout, batch 1): parameters and MACs as
    tests/test_zoo.py pins them, and each tool's own convention of the same network."""

    params: int
    macs: int  # conv + linear MACs: archc's convention (FlopCounterMode total / 2)
    fvcore: int  # fvcore's total: one fused MAC = one flop, BN and pooling included
    torchinfo: int  # torchinfo's mult-adds: BN and bias adds included


REFERENCE = {
    "resnet50": Figures(25_557_032, 4_089_184_256, 4_111_512_576, 4_089_238_376),
    "resnet152": Figures(60_192_808, 11_513_626_624, 11_558_835_200, 11_513_779_048),
    "googlenet": Figures(6_624_904, 1_498_376_192, 1_504_878_688, 1_498_391_752),
}


@dataclass
class ZooRow:
    model: str
    archc_s: float
    json_s: float
    torchinfo_s: float
    fvcore_s: float
    archc: dict
    torchinfo: dict
    fvcore: dict


def emit(model: str, folder: Path) -> Path:
    """`archc build SPEC -o file.py --no-verify`, outside the timing."""
    target = folder / f"{model}_emitted.py"
    best_of([*archc_command(), "build", str(ROOT / "specs" / f"{model}.arch"), "-o", str(target),
             "--no-verify"], 1)
    return target


def measure(model: str, folder: Path, repeat: int, tool_repeat: int) -> ZooRow:
    import archc

    spec = ROOT / "specs" / f"{model}.arch"
    totals = archc.load(spec).totals
    emitted = emit(model, folder)
    log(f"  {model}: archc params x{repeat}")
    archc_s, _ = best_of([*archc_command(), "params", str(spec)], repeat)
    json_s, _ = best_of([*archc_command(), "params", str(spec), "--format", "json"], repeat)
    tools = {}
    for tool in ("torchinfo", "fvcore"):
        log(f"  {model}: {tool} x{tool_repeat}")
        cmd = [PY, str(BENCH / "child_tools.py"), tool, str(emitted)]
        seconds, out = best_of(cmd, tool_repeat)
        tools[tool] = (seconds, json.loads(out.strip().splitlines()[-1]))
    return ZooRow(model, archc_s, json_s, tools["torchinfo"][0], tools["fvcore"][0],
                  {"params": totals.params, "macs": totals.macs},
                  tools["torchinfo"][1], tools["fvcore"][1])


def speed_table(rows: list[ZooRow]) -> str:
    body = [(r.model, ms(r.archc_s), ms(r.json_s), ms(r.torchinfo_s), ms(r.fvcore_s),
             f"{r.torchinfo_s / r.archc_s:.1f}x", f"{r.torchinfo_s / r.json_s:.1f}x",
             f"{r.fvcore_s / r.archc_s:.1f}x") for r in rows]
    return table(["model", "archc params (table)", "archc params --format json",
                  "torchinfo summary", "fvcore FlopCountAnalysis", "torchinfo / archc (table)",
                  "torchinfo / archc (json)", "fvcore / archc (table)"], body)


def agreement_table(rows: list[ZooRow]) -> tuple[str, bool]:
    body, ok = [], True
    for r in rows:
        ref = REFERENCE[r.model]
        checks = [
            ("archc params", r.archc["params"], ref.params),
            ("archc MACs (conv+linear)", r.archc["macs"], ref.macs),
            ("torchinfo params", r.torchinfo["params"], ref.params),
            ("torchinfo mult-adds (+BN, bias)", r.torchinfo["macs"], ref.torchinfo),
            ("fvcore params", r.fvcore["params"], ref.params),
            ("fvcore total (+BN, pooling)", r.fvcore["macs"], ref.fvcore),
        ]
        for what, got, want in checks:
            ok &= got == want
            body.append((r.model, what, f"{got:,}", f"{want:,}", "ok" if got == want else "DIFF"))
    return table(["model", "total", "measured", "reference", ""], body), ok


def section(quick: bool) -> tuple[str, bool]:
    repeat, tool_repeat = (3, 1) if quick else (7, 3)
    models = MODELS[:1] if quick else MODELS
    log("zoo: archc params vs torchinfo vs fvcore")
    with tempfile.TemporaryDirectory(prefix="archc-bench-") as folder:
        rows = [measure(m, Path(folder), repeat, tool_repeat) for m in models]
    agreement, ok = agreement_table(rows)
    r50 = rows[0]
    ratio, json_ratio = r50.torchinfo_s / r50.archc_s, r50.torchinfo_s / r50.json_s
    target = (f"target: archc >= 10x faster than torchinfo on ResNet-50: {ratio:.1f}x with the "
              f"default table, {json_ratio:.1f}x with --format json " + (
                  "(met)" if ratio >= 10 else "(NOT met: importing archc's dependencies alone "
                  "takes more than a tenth of torchinfo's time here, see bench/README.md)"))
    text = "\n\n".join([
        "## Zoo: `archc params` vs what a user would run instead",
        f"Whole process, best of {repeat} (archc) / {tool_repeat} (torchinfo, fvcore; each "
        "imports torch, builds the module archc emitted and runs on a 1x3x224x224 input).",
        speed_table(rows), target,
        "Totals: archc counts conv+linear MACs (= FlopCounterMode / 2); torchinfo's mult-adds "
        "add BN and bias terms; fvcore counts one fused MAC as one flop and adds BN and "
        "pooling. Each is compared with its own reference figure (bench/zoo.py REFERENCE; "
        "parameters and MACs as tests/test_zoo.py pins them).",
        agreement])
    return text, ok and ratio >= 10
