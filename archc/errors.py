"""Diagnostics: source spans, stable error codes and compiler-style rendering.

The core never prints or exits: it raises `ArchcError` carrying one or more
`Diagnostic`s, and the CLI renders them with `render()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; `str(span)` is `file:line:col` (1-based)."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class Code(str, Enum):
    """Stable diagnostic codes. The README's error table is generated from `DESCRIPTIONS`."""

    SYNTAX = "E001"
    UNEXPECTED_EOF = "E002"
    BAD_CHARACTER = "E003"
    BAD_DIMS = "E004"
    UNREADABLE = "E005"
    UNKNOWN_LAYER = "E101"
    UNKNOWN_ARGUMENT = "E102"
    MISSING_ARGUMENT = "E103"
    BAD_ARGUMENT = "E104"
    UNDEFINED_NAME = "E105"
    DUPLICATE = "E106"
    INPUT = "E107"
    UNDEFINED_TENSOR = "E108"
    NO_NETWORK = "E110"
    BAD_NAME = "E111"
    BAD_CONDITION = "E112"
    NO_INPUT_SHAPE = "E113"
    INCLUDE = "E114"
    KERNEL_TOO_LARGE = "E201"
    CHANNEL_MISMATCH = "E202"
    RESIDUAL_MISMATCH = "E203"
    CONCAT_MISMATCH = "E204"
    SAME_IMPOSSIBLE = "E205"
    RANK_MISMATCH = "E206"
    BROADCAST_MISMATCH = "E207"
    TOO_LARGE = "E301"
    RECURSION = "E302"
    TOO_DEEP = "E303"
    VALUE_TOO_LARGE = "E304"
    CODEGEN = "E401"
    VERIFY = "E402"
    FLOOR_DROPS = "W101"
    CHANNELS_LAST = "W102"
    # budgets and lint rules (`archc lint`; docs/lint-rules.md)
    PARAMS_BUDGET = "E501"  # E5xx: budgets
    MACS_BUDGET = "E502"
    ACTIVATION_BUDGET = "E503"
    EVEN_KERNEL = "L001"
    UNUSED_BLOCK = "L002"
    UNUSED_TENSOR = "L003"
    SHADOWED_PARAMETER = "L004"
    CHANNELS_NOT_MULTIPLE_OF_8 = "L005"
    SPATIAL_COLLAPSE = "L006"
    FC_DOMINATES = "L007"
    FINAL_ACTIVATION = "L008"
    REPEATED_ACTIVATION = "L009"


DESCRIPTIONS: dict[Code, str] = {
    Code.SYNTAX: "syntax error: a token that cannot appear here",
    Code.UNEXPECTED_EOF: "the file ends inside a construct (unclosed brace or parenthesis)",
    Code.BAD_CHARACTER: "a character that is not part of the language",
    Code.BAD_DIMS: "malformed `input` dimensions",
    Code.UNREADABLE: "the file cannot be read or is not UTF-8 text",
    Code.UNKNOWN_LAYER: "unknown layer kind or block (with a did-you-mean suggestion)",
    Code.UNKNOWN_ARGUMENT: "a layer or block has no argument of that name",
    Code.MISSING_ARGUMENT: "a required argument is missing",
    Code.BAD_ARGUMENT: "an argument has the wrong type or an out-of-range value",
    Code.UNDEFINED_NAME: "an expression names something that is not a block parameter",
    Code.DUPLICATE: "a block, network, label or argument defined twice",
    Code.INPUT: "a network without exactly one `input`, or `input` in the wrong place",
    Code.UNDEFINED_TENSOR: ("a named tensor used before `-> name` defined it, or saved only "
                            "inside a `side` head"),
    Code.NO_NETWORK: "the file defines no network, or the requested network does not exist",
    Code.BAD_NAME: "a quoted label that cannot name a module (empty, or holding `.`), or `_` "
                   "saved as a tensor name (it stands for the current tensor)",
    Code.BAD_CONDITION: "an `if` condition that is not true or false (e.g. a number)",
    Code.NO_INPUT_SHAPE: "`in.c`/`in.h`/`in.w`/`in.l` outside a block, or a size the block's "
                         "input does not have",
    Code.INCLUDE: "an `include` that is missing, unreadable, cyclic or outside the spec's folder",
    Code.KERNEL_TOO_LARGE: "the window is larger than the padded input: no output position",
    Code.CHANNEL_MISMATCH: "channel counts do not fit (groups, features, explicit in-channels)",
    Code.RESIDUAL_MISMATCH: "the residual body changes the shape and no shortcut fixes it",
    Code.CONCAT_MISMATCH: "concatenated tensors disagree on spatial size or rank",
    Code.SAME_IMPOSSIBLE: "`p=same` cannot keep the size (even kernel or stride > 1)",
    Code.RANK_MISMATCH: "a layer got a tensor of the wrong rank (e.g. linear before flatten)",
    Code.BROADCAST_MISMATCH: ("add/mul of tensors whose shapes do not broadcast (as the batched "
                              "tensors: equal ranks)"),
    Code.TOO_LARGE: "the expanded network exceeds the layer limit (expansion bomb)",
    Code.RECURSION: "a block calls itself, directly or through other blocks",
    Code.TOO_DEEP: "nesting deeper than the limit",
    Code.VALUE_TOO_LARGE: "a size or count beyond the configured cap",
    Code.CODEGEN: ("the PyTorch backend cannot express this construct (a side output in a "
                   "block, a `layer_scale` inside a container)"),
    Code.VERIFY: "the emitted module disagrees with the analyzer (a bug: please report it)",
    Code.FLOOR_DROPS: "warning: the stride does not divide the input; border rows are dropped",
    Code.CHANNELS_LAST: "warning: `input` looks like HxWxC (e.g. 32x32x3); archc reads CxHxW",
    Code.PARAMS_BUDGET: "the network has more parameters than the configured budget",
    Code.MACS_BUDGET: "the network needs more MACs than the configured budget",
    Code.ACTIVATION_BUDGET: "the activations of one sample exceed the configured memory budget",
    Code.EVEN_KERNEL: "lint: an even kernel that cannot be centred (an odd size was likely meant)",
    Code.UNUSED_BLOCK: "lint: a block that no network uses",
    Code.UNUSED_TENSOR: "lint: a named tensor (`-> name`) that nothing reads",
    Code.SHADOWED_PARAMETER: "lint: a block parameter named like a layer kind, block or symbol",
    Code.CHANNELS_NOT_MULTIPLE_OF_8: "lint: channels not a multiple of 8 (off by default)",
    Code.SPATIAL_COLLAPSE: "lint: the map shrinks to 1 on an axis, then kernels still slide on it",
    Code.FC_DOMINATES: "lint: one fully connected layer holds most of the parameters",
    Code.FINAL_ACTIVATION: "lint: softmax/sigmoid as the last layer; the loss applies it again",
    Code.REPEATED_ACTIVATION: "lint: the same activation twice in a row",
}


@dataclass(frozen=True)
class Diagnostic:
    code: Code
    message: str
    span: Span | None
    hint: str | None = None
    notes: tuple[tuple[str, Span], ...] = ()

    @property
    def is_error(self) -> bool:
        return self.code.value.startswith("E")

    @property
    def severity(self) -> str:
        return "error" if self.is_error else "warning"


@dataclass
class ArchcError(Exception):
    """One or more diagnostics that stop compilation."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(f"{d.span}: {d.severity}[{d.code.value}]: {d.message}"
                         for d in self.diagnostics)


def fail(code: Code, message: str, span: Span | None, hint: str | None = None) -> ArchcError:
    return ArchcError([Diagnostic(code, message, span, hint)])


# Control characters from a spec or a file name would reach the user's terminal (an escape
# sequence can retitle it, hide text or fake output) or a CI log: each is shown as one visible
# character instead (U+2400 control pictures; U+FFFD for C1 controls and the bidirectional
# overrides of "Trojan Source"), one for one so that the caret stays under its column.
_VISIBLE = {code: 0x2400 + code for code in range(0x20) if code != 0x0A}
_VISIBLE |= {0x7F: 0x2421} | {code: 0xFFFD for code in range(0x80, 0xA0)}
_VISIBLE |= {code: 0xFFFD for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def visible(text: str) -> str:
    """`text` with every control character (but newlines) replaced by a visible stand-in."""
    return text.translate(_VISIBLE)


def render(diag: Diagnostic, sources: dict[str, str]) -> str:
    """`file:line:col: error[CODE]: message`, the source line, a caret, then notes and hint."""
    return visible(_render(diag, sources))


def _render(diag: Diagnostic, sources: dict[str, str]) -> str:
    where = str(diag.span) if diag.span else "<unknown>"
    lines = [f"{where}: {diag.severity}[{diag.code.value}]: {diag.message}"]
    if diag.span is not None:
        lines += _excerpt(diag.span, sources.get(diag.span.file))
    for text, span in diag.notes:
        lines.append(f"  = note: {text} at {span}")
    if diag.hint:
        lines.append(f"  = hint: {diag.hint}")
    return "\n".join(lines)


def _excerpt(span: Span, text: str | None) -> list[str]:
    if text is None:
        return []
    source_lines = text.split("\n")  # the parser counts lines by "\n" alone (not \f, \u2028)
    if not 1 <= span.line <= len(source_lines):
        return []
    line = source_lines[span.line - 1].rstrip("\r").replace("\t", " ")
    if len(line) > 200:  # keep huge one-line files readable: show a window around the column
        start = max(0, span.col - 80)
        line, col = line[start:start + 160], span.col - start
    else:
        col = span.col
    width = span.end_col - span.col if span.end_line == span.line else len(line) - col + 1
    width = max(1, min(width, len(line) - col + 1))
    gutter = " " * len(str(span.line))
    return [f"{gutter} |", f"{span.line} | {line}", f"{gutter} | {' ' * (col - 1)}{'^' * width}"]
