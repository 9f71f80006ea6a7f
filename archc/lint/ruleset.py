"""Lint rules: the registry (`Rule`: code, name, default, rationale, fix), the checks, the docs.

A lint-only rule has a check function over one analysed network or one parsed file. The
compiler's own diagnostics (the E codes and W101) are rules without a check function: the
pipeline reports them, and `archc.lint` passes them on exactly as `archc check` prints them.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from archc.config import LintConfig
from archc.errors import DESCRIPTIONS, Code, Diagnostic

if TYPE_CHECKING:
    from archc.analyze import Analysis, LayerStats
    from archc.ast import SpecFile
    from archc.expand import ExpandedNetwork, LayerNode
    from archc.graph import Built


# ---- contexts the checks read ----------------------------------------------------------------

@dataclass
class FileContext:
    spec: SpecFile
    config: LintConfig


@dataclass
class NetworkContext:
    spec: SpecFile
    expanded: ExpandedNetwork
    built: Built
    analysis: Analysis
    config: LintConfig
    _rows: list[tuple[int, LayerNode, LayerStats]] | None = field(default=None, repr=False)
    _by_node: dict[int, LayerStats] | None = field(default=None, repr=False)

    def layers(self) -> list[tuple[int, LayerNode, LayerStats]]:
        """(graph node, expanded layer, analysed stats) for every layer, in dataflow order."""
        if self._rows is None:
            graph = self.built.graph
            nodes = [node for node in graph.nodes if node != 0]
            # The analyzer walks the graph in node order and, when it succeeds, keeps a row
            # for every node; so rows and nodes pair up one to one (else: match by name).
            rows = self.analysis.layers
            if len(rows) != len(nodes):
                by_name = {row.name: row for row in rows}
                rows = [by_name[graph.nodes[node]["name"]] for node in nodes]
            self._rows = [(node, graph.nodes[node]["layer"], row)
                          for node, row in zip(nodes, rows, strict=True)]
        return self._rows

    def row(self, node: int) -> LayerStats | None:
        if self._by_node is None:
            self._by_node = {n: row for n, _, row in self.layers()}
        return self._by_node.get(node)


Check = Callable[[Any], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Rule:
    code: Code
    name: str  # kebab-case, stable like the code
    default_enabled: bool
    rationale: str  # why it matters
    fix: str  # what to do about it
    check: Check | None = None  # None: the compiler pipeline reports it
    scope: Literal["file", "network"] = "network"  # file: runs even when a network fails

    @property
    def severity(self) -> str:
        return "error" if self.code.value.startswith("E") else "warning"

    @property
    def summary(self) -> str:
        return DESCRIPTIONS.get(self.code, self.name).removeprefix("lint: ").removeprefix(
            "warning: ")


# ---- lint-only checks ------------------------------------------------------------------------

def _exact_scale(size_in: int, size_out: int) -> bool:
    """The output is the input scaled by a whole factor (a patch embedding or a k=4, s=2, p=1
    up/down-sampler): then an even kernel is deliberate."""
    low, high = sorted((size_in, size_out))
    return low != high and high % low == 0


def check_even_kernel(ctx: NetworkContext) -> Iterator[Diagnostic]:
    from archc.layers.base import fmt_shape

    for _, layer, row in ctx.layers():
        kernel = layer.kind.kernel(layer.args)
        if not kernel or len(row.inputs[0]) != len(kernel) + 1:
            continue
        sizes = zip(kernel, row.inputs[0][1:], row.output[1:], strict=True)
        if any(k % 2 == 0 and not _exact_scale(n_in, n_out) for k, n_in, n_out in sizes):
            yield Diagnostic(
                Code.EVEN_KERNEL,
                f"{row.name}: even kernel {fmt_shape(kernel)} has no centre pixel; its output "
                f"is shifted half a pixel against {fmt_shape(row.inputs[0])}",
                layer.span,
                "use an odd kernel (3, 5, 7); even kernels fit when the stride tiles the input "
                "exactly (a patch embedding with s=k)")


def _called_blocks(items: list) -> Iterator[str]:
    from archc import ast as syntax

    for item in items:
        if isinstance(item, syntax.Call):
            yield item.name
        elif isinstance(item, syntax.Repeat):
            yield item.call.name
        elif isinstance(item, syntax.Residual):
            yield from _called_blocks(item.body + (item.shortcut or []))
        elif isinstance(item, syntax.ConcatBlock):
            for branch in item.branches:
                yield from _called_blocks(branch.items)
        elif isinstance(item, (syntax.Group, syntax.Side, syntax.Shortcut)):
            yield from _called_blocks(item.items)
        elif isinstance(item, syntax.If):  # either arm counts as a use
            yield from _called_blocks(item.then + (item.otherwise or []))


def check_unused_block(ctx: FileContext) -> Iterator[Diagnostic]:
    spec = ctx.spec
    if not spec.networks:  # a file without a network is E110 already; every block would fire
        return
    blocks = {}
    for block in spec.blocks:
        blocks.setdefault(block.name, block)
    reached: set[str] = set()
    todo = [name for net in spec.networks for name in _called_blocks(net.body)]
    while todo:
        name = todo.pop()
        if name in blocks and name not in reached:
            reached.add(name)
            todo.extend(_called_blocks(blocks[name].body))
    for name, block in blocks.items():
        if name not in reached:
            yield Diagnostic(Code.UNUSED_BLOCK, f"block `{name}` is defined but no network uses it",
                             block.span, "call it from a network, or delete it")


def check_unused_tensor(ctx: NetworkContext) -> Iterator[Diagnostic]:
    for name, span in ctx.built.unused_saves:
        yield Diagnostic(Code.UNUSED_TENSOR, f"tensor `{name}` is saved but never read", span,
                         f"read it with e.g. `add({name})` or `concat({name})`, or remove "
                         f"`-> {name}`")


@cache
def symbols() -> frozenset[str]:
    """Names an argument expression reads as a symbol: true/false and every Literal string a
    layer argument accepts (same, valid, nearest, ...), straight from the registry."""
    from archc.expand import _SYMBOLS
    from archc.layers import REGISTRY

    found = set(_SYMBOLS)
    for kind in REGISTRY.values():
        for info in kind.Args.model_fields.values():
            found.update(_literal_strings(info.annotation))
    return frozenset(found)


def _literal_strings(annotation: Any) -> Iterator[str]:
    if typing.get_origin(annotation) is typing.Literal:
        yield from (v for v in typing.get_args(annotation) if isinstance(v, str))
        return
    for arg in typing.get_args(annotation):
        yield from _literal_strings(arg)


def check_shadowed_parameter(ctx: FileContext) -> Iterator[Diagnostic]:
    from archc.layers import REGISTRY

    kinds = {name for name, kind in REGISTRY.items() if not kind.internal}
    blocks = {block.name for block in ctx.spec.blocks}
    for block in ctx.spec.blocks:
        for param in block.params:
            if param.name in symbols():
                what, why = "the symbol", f"`{param.name}` in an argument now means this parameter"
            elif param.name in kinds:
                what, why = "the layer kind", "readers will take it for the layer"
            elif param.name in blocks:
                what, why = "the block", "readers will take it for the block"
            else:
                continue
            yield Diagnostic(Code.SHADOWED_PARAMETER,
                             f"parameter `{param.name}` of block `{block.name}` shadows "
                             f"{what} `{param.name}`: {why}", param.span,
                             "rename the parameter")


def _output_nodes(ctx: NetworkContext) -> set[int]:
    return {ctx.built.output, *ctx.built.sides.values()}


def check_channels_multiple_of_8(ctx: NetworkContext) -> Iterator[Diagnostic]:
    from archc.layers.base import channels

    outputs = _output_nodes(ctx)
    for node, layer, row in ctx.layers():
        if node in outputs or not row.params:
            continue
        chooses_width = (layer.kind.kernel(layer.args) is not None
                         or tuple(row.output) != tuple(row.inputs[0]))
        width = channels(row.output)  # the last axis of a channels-last map
        if chooses_width and width % 8:
            yield Diagnostic(Code.CHANNELS_NOT_MULTIPLE_OF_8,
                             f"{row.name}: {width} output channels is not a multiple "
                             "of 8", layer.span,
                             f"tensor cores work on multiples of 8: try {_round8(width)}")


def _round8(n: int) -> int:
    return max(8, (n + 4) // 8 * 8)


def check_spatial_collapse(ctx: NetworkContext) -> Iterator[Diagnostic]:
    from archc.layers.base import ChannelsLast

    for node, layer, row in ctx.layers():
        shape_in, shape_out = row.inputs[0], row.output
        if len(shape_out) < 2 or len(shape_in) != len(shape_out) or any(
                isinstance(s, ChannelsLast) for s in (shape_in, shape_out)):
            continue
        axes = [a for a in range(1, len(shape_out)) if shape_out[a] == 1 and shape_in[a] > 1]
        victim = _kernel_over_collapsed(ctx, node, axes) if axes else None
        if victim is None:
            continue
        v_layer, v_row = victim
        yield Diagnostic(
            Code.SPATIAL_COLLAPSE,
            f"{row.name}: the map shrinks to {'x'.join(map(str, shape_out[1:]))} here, but "
            f"{v_row.name} still slides a kernel over it (most of its weights see padding)",
            layer.span,
            "downsample less (or later), or end the feature extractor here and go to the head",
            ((f"{v_row.name} is here", v_layer.span),))


def _kernel_over_collapsed(ctx: NetworkContext, node: int, axes: list[int]):
    """The first layer after `node` whose kernel is > 1 on an axis that is 1 wide at its input."""
    import networkx as nx

    graph = ctx.built.graph
    for later in sorted(nx.descendants(graph, node)):
        layer: LayerNode = graph.nodes[later]["layer"]
        kernel = layer.kind.kernel(layer.args) if layer.kind else None
        row = ctx.row(later)
        if not kernel or row is None or len(row.inputs[0]) != len(kernel) + 1:
            continue
        if any(kernel[a - 1] > 1 and row.inputs[0][a] == 1 for a in axes):
            return layer, row
    return None


def check_fc_dominates(ctx: NetworkContext) -> Iterator[Diagnostic]:
    total = ctx.analysis.totals.params
    share = ctx.config.fc_param_share
    for _, layer, row in ctx.layers():
        if len(row.inputs[0]) == 1 and total and row.params > share * total:
            yield Diagnostic(
                Code.FC_DOMINATES,
                f"{row.name}: this fully connected layer holds {row.params / total:.0%} of all "
                f"{total:,} parameters ({row.params:,}; threshold {share:.0%})", layer.span,
                "shrink its input first (global pooling, fewer channels) or its width; the "
                "threshold is `fc-param-share` in [tool.archc]")


def check_final_activation(ctx: NetworkContext) -> Iterator[Diagnostic]:
    graph = ctx.built.graph
    for node in sorted(_output_nodes(ctx)):
        layer = graph.nodes[node]["layer"]
        # Registry attribute (see the report): True for softmax/sigmoid, which
        # CrossEntropyLoss / BCEWithLogitsLoss apply to the logits themselves.
        if layer is not None and getattr(layer.kind, "loss_activation", False):
            yield Diagnostic(Code.FINAL_ACTIVATION,
                             f"{layer.name}: `{layer.kind.name}` is the last layer; "
                             "cross-entropy style losses apply it again to what they receive",
                             layer.span,
                             "end with the logits (the last linear/conv) and apply "
                             f"`{layer.kind.name}` only at inference")


def check_repeated_activation(ctx: NetworkContext) -> Iterator[Diagnostic]:
    graph = ctx.built.graph
    for node, layer, _ in ctx.layers():
        if not layer.kind.elementwise:
            continue
        inputs = graph.nodes[node]["inputs"]
        if len(inputs) != 1 or inputs[0] == 0 or graph.out_degree(inputs[0]) != 1:
            continue
        previous: LayerNode = graph.nodes[inputs[0]]["layer"]
        if previous.kind is layer.kind and previous.args == layer.args:
            yield Diagnostic(Code.REPEATED_ACTIVATION,
                             f"{layer.name}: `{layer.kind.name}` directly follows another "
                             f"`{layer.kind.name}`", layer.span,
                             "delete one of them (for relu the second is a no-op)")


def _budget(code: Code, what: str, option: str, measure: Callable[[Analysis], float],
            unit: str = "") -> Check:
    def check(ctx: NetworkContext) -> Iterator[Diagnostic]:
        limit = getattr(ctx.config, option.replace("-", "_"))
        value = measure(ctx.analysis)
        if limit is not None and value > limit:
            yield Diagnostic(code, f"network `{ctx.analysis.network}` has {_num(value)}{unit} "
                             f"{what}, over the budget of {_num(limit)}{unit} ({option})",
                             ctx.expanded.span,
                             f"make the network smaller, or raise `{option}` (command line, "
                             "[tool.archc], or a [[tool.archc.overrides]] entry for this path)")
    return check


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.2f}"


# ---- the registry ----------------------------------------------------------------------------

_E = ("The spec does not describe a network that can be built, so nothing downstream (counts, "
      "code generation) can be trusted.")

# Why and how-to-fix of the compiler's diagnostics; their one-line summary is DESCRIPTIONS.
_COMPILER: dict[str, tuple[str, str]] = {
    "E001": (_E, "Fix the syntax at the caret; the message lists what may appear there."),
    "E002": (_E, "Close the brace or parenthesis that is still open at the end of the file."),
    "E003": (_E, "Remove the character; specs are plain text with `#` comments."),
    "E004": (_E, "Write the input as CxHxW, CxL or F with positive sizes: `input 3x224x224`."),
    "E005": ("archc cannot read the file, so it cannot check it.",
             "Check the path and permissions, and save the file as UTF-8."),
    "E101": (_E, "Use a layer kind from the registry or a block defined in the file; the hint "
                 "suggests the nearest name."),
    "E102": (_E, "Use one of the arguments the hint lists."),
    "E103": (_E, "Give the argument; the hint shows an example call."),
    "E104": (_E, "Give a value of the right type and range (the message says which)."),
    "E105": (_E, "Declare the name as a block parameter, or use a number."),
    "E106": (_E, "Rename one of the two definitions."),
    "E107": (_E, "Give each network exactly one `input` line, before its layers."),
    "E108": (_E, "Save the tensor with `-> name` before the layer that reads it."),
    "E110": (_E, "Add `network Name { input ... }`, or name an existing network."),
    "E111": (_E, "Quote a name PyTorch can register (`\"block1-0\":`, no `.`); save tensors "
                 "under another name than `_`."),
    "E112": (_E, "Compare the value, e.g. `if t != 1 { ... }`."),
    "E113": (_E, "Use `in.c` inside a block body (or a block parameter's default); `in.h` and "
                 "`in.w` need a CxHxW input, `in.l` a CxL one."),
    "E114": ("An include must name an existing spec file inside the directory of the spec "
             "being checked, and files must not include each other in a cycle.",
             "Fix the path (it is relative to the including file), or move the shared blocks "
             "into one file that the others include."),
    "E115": (_E, "Label the module (`conv1: conv(...)`) before `again conv1`, in the same network, "
                 "block body or container."),
    "E201": (_E, "Pad the input, use a smaller kernel, or downsample less before this layer."),
    "E202": (_E, "Make `groups` divide both channel counts."),
    "E203": (_E, "Add a `shortcut { conv(C, k=1, s=S) bn }` projection, or keep the body's "
                 "shape."),
    "E204": (_E, "Make the branches agree on H and W (same strides and paddings)."),
    "E205": ("`p=same` promises an output as large as the input; with an even kernel or a "
             "stride above 1 no symmetric padding keeps that promise.",
             "Give the padding as a number, or use an odd kernel at stride 1."),
    "E206": (_E, "Insert `flatten` (or global pooling) before layers that need a vector."),
    "E207": (_E, "Make every axis match or be 1 (e.g. a Cx1x1 gate on a CxHxW map)."),
    "E208": (_E, "Apply `again` where the input has the shape the module was built for, or write "
                 "a new layer (with its own weights) instead."),
    "E301": ("A hostile or mistaken spec (nested repeats) would otherwise hang the compiler.",
             "Check the repeat counts; the cap is a compiler limit."),
    "E302": (_E, "Blocks cannot recurse; repeat with `* N` instead."),
    "E303": ("Absurd nesting would exhaust the compiler's stack.",
             "Flatten the structure with blocks and `* N`."),
    "E304": ("Sizes beyond the cap are almost always typos (an extra zero).",
             "Check the number; the cap is a compiler limit."),
    "E401": ("Code generation cannot express the construct; `archc lint` never reports it "
             "(it comes from `archc build`).", "See the message; restructure the spec."),
    "E402": ("The generated module disagrees with the analyzer: a bug in archc; `archc lint` "
             "never reports it.", "Report it with the spec attached."),
    "W101": ("With floor division the last rows/columns of the input never reach the output: "
             "information is silently dropped, and shapes drift from what was intended.",
             "Adjust padding or the input size so the windows tile the input (or use "
             "`ceil=true` on pooling)."),
    "W102": ("Images on disk are often height x width x channels; archc (like PyTorch) reads "
             "CxHxW, so 32x32x3 is 32 channels of 32x3 and every count after it is wrong.",
             "Write the channels first: `input 3x32x32`."),
}

_BUDGET_WHY = ("Teams review architecture changes like code: a budget turns 'the model got "
               "bigger' into a failing check instead of a surprise at deployment.")


def _lint_rules() -> list[Rule]:
    return [
        Rule(Code.PARAMS_BUDGET, "params-budget", True, _BUDGET_WHY,
             "Shrink the network, or raise `--max-params` / `max-params`.",
             _budget(Code.PARAMS_BUDGET, "parameters", "max-params",
                     lambda a: a.totals.params)),
        Rule(Code.MACS_BUDGET, "macs-budget", True, _BUDGET_WHY,
             "Shrink the network or its input, or raise `--max-macs` / `max-macs`.",
             _budget(Code.MACS_BUDGET, "MACs", "max-macs", lambda a: a.totals.macs)),
        Rule(Code.ACTIVATION_BUDGET, "activation-budget", True, _BUDGET_WHY,
             "Downsample earlier or use fewer channels, or raise `--max-activation-mib`.",
             _budget(Code.ACTIVATION_BUDGET, "of activations per sample", "max-activation-mib",
                     lambda a: a.totals.activation_bytes / 2**20, " MiB")),
        Rule(Code.EVEN_KERNEL, "even-kernel", True,
             "An even kernel has no centre pixel: no symmetric padding keeps the size, and "
             "every output is shifted half a pixel against its input, so features drift "
             "between layers and skip connections misalign. It is usually a typo for an odd "
             "size. Kernels whose stride tiles the input exactly (patch embeddings, k=4 s=2 "
             "p=1 down/up-samplers) are not reported.",
             "Use an odd kernel (1, 3, 5, 7).", check_even_kernel),
        Rule(Code.UNUSED_BLOCK, "unused-block", True,
             "Dead definitions rot: they are not checked against any input shape, so they "
             "silently stop fitting, and readers assume they matter.",
             "Call the block from a network, or delete it.", check_unused_block, "file"),
        Rule(Code.UNUSED_TENSOR, "unused-tensor", True,
             "A saved tensor nobody reads is usually a forgotten skip connection (U-Net, "
             "DenseNet): the network compiles but lacks the connection the author meant.",
             "Read it (`add(x)`, `concat(x)`, `mul(x)`), or remove the `-> x`.",
             check_unused_tensor),
        Rule(Code.SHADOWED_PARAMETER, "shadowed-parameter", True,
             "Inside a block, a parameter replaces any symbol of the same name in arguments: "
             "a parameter called `same` turns `p=same` into that parameter's value. Names of "
             "layer kinds and blocks mislead readers the same way.",
             "Rename the parameter.", check_shadowed_parameter, "file"),
        Rule(Code.CHANNELS_NOT_MULTIPLE_OF_8, "channels-multiple-of-8", False,
             "GPU tensor cores (fp16/bf16) run at full speed on channel counts that are "
             "multiples of 8; other counts fall back to padded or slower kernels. Off by "
             "default: it is a deployment concern, and classic networks (LeNet) ignore it. "
             "The network's output layers are exempt (their width is the task's).",
             "Round the channel count to a multiple of 8, or enable only where it matters "
             "(`extend-select = [\"L005\"]`).", check_channels_multiple_of_8),
        Rule(Code.SPATIAL_COLLAPSE, "spatial-collapse", True,
             "Once a map is 1 pixel wide, a kernel larger than 1 mostly multiplies padding: "
             "its parameters and MACs are wasted, and the input was downsampled too much (or "
             "the head came too late).",
             "Downsample less, use a smaller input stride, or move to the head (flatten / "
             "global pooling) where the map collapses.", check_spatial_collapse),
        Rule(Code.FC_DOMINATES, "fc-dominates", True,
             "Fully connected layers on a flattened map hold most of a classic CNN's "
             "parameters (VGG16: 74% in its first FC layer) while doing little of its work; "
             "they dominate model size and overfit. The threshold is `fc-param-share` (default "
             "50%).",
             "Pool globally before the classifier (as ResNet does), or narrow the FC layer.",
             check_fc_dominates),
        Rule(Code.FINAL_ACTIVATION, "final-activation", True,
             "Losses such as CrossEntropyLoss and BCEWithLogitsLoss apply softmax/sigmoid "
             "themselves; a network that already ends in one is squashed twice, which "
             "flattens gradients and slows or stalls training.",
             "End the network with the logits; apply softmax/sigmoid only at inference.",
             check_final_activation),
        Rule(Code.REPEATED_ACTIVATION, "repeated-activation", True,
             "The same activation twice in a row is a copy-paste slip: relu(relu(x)) is "
             "relu(x), and for other activations the double squashing is rarely meant.",
             "Delete one of them.", check_repeated_activation),
    ]


@cache
def rules() -> dict[str, Rule]:
    """Every rule by code: the compiler's diagnostics first, then budgets and lint rules."""
    table: dict[str, Rule] = {}
    for rule in _lint_rules():
        table[rule.code.value] = rule
    for code in Code:
        if code.value not in table:
            why, fix = _COMPILER.get(code.value, (_E, "See the message and hint."))
            name = code.name.lower().replace("_", "-")
            table[code.value] = Rule(code, name, True, why, fix)
    return dict(sorted(table.items()))


def known_codes() -> tuple[str, ...]:
    return tuple(rules())


# ---- documentation ---------------------------------------------------------------------------

def rules_markdown(examples: dict[str, tuple[str, str]]) -> str:
    """docs/lint-rules.md: one section per rule; `examples` maps codes to an example spec and
    the command-line options it needs."""
    out = [_DOC_INTRO, "| Code | Name | Default | Severity | Summary |", "|---|---|---|---|---|"]
    for code, rule in rules().items():
        on = "on" if rule.default_enabled else "off"
        out.append(f"| [{code}](#{code.lower()}-{rule.name}) | {rule.name} | {on} | "
                   f"{rule.severity} | {rule.summary} |")
    for code, rule in rules().items():
        out += ["", f"## {code} {rule.name}", "",
                f"- Default: {'on' if rule.default_enabled else 'off'}",
                f"- Severity: {rule.severity}", f"- Summary: {rule.summary}", "",
                f"**Why.** {rule.rationale}", "", f"**Fix.** {rule.fix}"]
        if code in examples:
            body, args = examples[code]
            run = f" (run with `archc lint {args} FILE`)" if args else ""
            out += ["", f"**Example**{run}:", "", "```", body.rstrip(), "```"]
    return "\n".join(out) + "\n"


_DOC_INTRO = """# archc lint rules

Generated from the rule registry in `archc/lint/ruleset.py` and the cases in `tests/lint_cases/`;
regenerate with `python -m archc.lint --write-docs`. Codes are stable.

- `E...` codes are errors (`archc lint` exits 1); `E0xx`-`E3xx` are the compiler's own
  diagnostics, reported exactly as `archc check` prints them; `E5xx` are budgets.
- `W...` and `L...` codes are warnings (exit 1 only with `--strict`).
- Every network of a file is linted (`archc check` analyses one: the last, or `--network`);
  a finding inside a block is reported once, at its line in the block.
- Select rules like ruff: `--select`, `--extend-select`, `--ignore` (codes or prefixes such as
  `L`, `E2`, or `ALL`), or `select` / `extend-select` / `ignore` in `[tool.archc]` of
  pyproject.toml, with `[[tool.archc.overrides]] paths = ["specs/big/*.arch"]` tables per path.
- Silence one line with `# archc: ignore[L001]` (or `[L001,W101]`) at its end, or alone on the
  line before it; a whole file with `# archc: ignore-file[L007]`.

```toml
[tool.archc]
max-params = "30M"          # E501
max-macs = "5G"             # E502
max-activation-mib = 200    # E503, MiB (2**20 bytes) of float32 activations per sample
fc-param-share = "50%"      # L007 threshold
extend-select = ["L005"]    # turn on an off-by-default rule
ignore = ["L007"]

[[tool.archc.overrides]]
paths = ["specs/big/*.arch"]
max-params = "200M"
```
"""


# The source checkout (archc/lint/ruleset.py -> the repository root): docs/ and tests/ live there.
REPO_ROOT = Path(__file__).resolve().parents[2]


def write_docs(root: Path | None = None) -> Path:
    root = root or REPO_ROOT
    examples = {}
    for case in sorted((root / "tests" / "lint_cases").glob("*.arch")):
        code = case.name.split("_", 1)[0]
        text = case.read_bytes().decode("utf-8", errors="replace")
        lines = text.splitlines()
        body = [line for line in lines if not line.startswith(("# expect:", "# args:"))]
        args = [line.removeprefix("# args:").strip() for line in lines
                if line.startswith("# args:")]
        examples.setdefault(code, ("\n".join(body).strip("\n"), " ".join(args)))
    target = root / "docs" / "lint-rules.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(rules_markdown(examples), encoding="utf-8")
    return target
