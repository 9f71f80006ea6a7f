"""`archc lint`: linting files (in parallel when many), pragmas, and the rule table.

The rules themselves live in `archc.lint_rules`; output formats in `archc.lint_output`. Heavy
stages (parse, expand, graph, analyze) are imported inside functions, so that importing this
module for `--list-rules` or the CLI stays cheap.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from archc.config import LintConfig
from archc.errors import ArchcError, Diagnostic
from archc.lint_rules import (  # noqa: F401  (known_codes and rules are this module's API too)
    FileContext,
    NetworkContext,
    Rule,
    known_codes,
    rules,
    write_docs,
)

PARALLEL_THRESHOLD = 48  # below this many files a process pool costs more than it saves


# ---- inline pragmas --------------------------------------------------------------------------

# The language has no string literals, so every '#' starts a comment that runs to the line end.
_PRAGMA = re.compile(r"#.*?\barchc:\s*(ignore-file|ignore)\b(?:\s*\[([^\]]*)\])?")


@dataclass
class Suppressions:
    """`# archc: ignore[CODES]` (this line, or the next code line when alone on its line) and
    `# archc: ignore-file[CODES]`. Codes may be prefixes; no brackets means every code."""

    whole_file: list[str] = field(default_factory=list)
    lines: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def scan(cls, text: str) -> Suppressions:
        found, pending = cls(), []
        for number, line in enumerate(text.splitlines(), start=1):
            hash_at = line.find("#")
            code_part = line if hash_at < 0 else line[:hash_at]
            if code_part.strip() and pending:
                found.lines.setdefault(number, []).extend(pending)
                pending = []
            match = _PRAGMA.search(line, hash_at) if hash_at >= 0 else None
            if match is None:
                continue
            selectors = [c.strip().upper() for c in (match.group(2) or "ALL").split(",")]
            selectors = [s for s in selectors if s]
            if match.group(1) == "ignore-file":
                found.whole_file += selectors
            elif code_part.strip():
                found.lines.setdefault(number, []).extend(selectors)
            else:
                pending += selectors
        return found

    def suppresses(self, diag: Diagnostic) -> bool:
        selectors = list(self.whole_file)
        if diag.span is not None:
            selectors += self.lines.get(diag.span.line, [])
        return any(s == "ALL" or diag.code.value.startswith(s) for s in selectors)


# ---- linting one file ------------------------------------------------------------------------

def lint_text(text: str, file: str = "<string>",
              config: LintConfig | None = None) -> list[Diagnostic]:
    """Every enabled diagnostic for one spec, deduplicated, pragmas applied, in line order."""
    config = config or LintConfig()
    active = {code: rule for code, rule in rules().items()
              if config.enabled(code, rule.default_enabled)}
    found = [d for d in _collect(text, file, config, active) if d.code.value in active]
    suppressions = Suppressions.scan(text)
    return sorted((d for d in _dedupe(found) if not suppressions.suppresses(d)), key=_order)


def _collect(text: str, file: str, config: LintConfig,
             active: dict[str, Rule]) -> Iterator[Diagnostic]:
    from archc.analyze import analyze
    from archc.expand import Limits, expand, find_network
    from archc.graph import build_graph
    from archc.include import resolve_includes
    from archc.parse import parse_text

    checks = [rule for rule in active.values() if rule.check is not None]
    try:
        spec = parse_text(text, file)
    except ArchcError as exc:
        yield from exc.diagnostics
        return
    try:
        resolved = resolve_includes(spec)  # included blocks, for expansion only
    except ArchcError as exc:
        yield from exc.diagnostics
        return
    if not spec.networks:
        try:
            find_network(spec, None)  # raises E110, as `archc check` reports it
        except ArchcError as exc:
            yield from exc.diagnostics
    file_ctx = FileContext(spec, config)
    for rule in checks:
        if rule.scope == "file":
            yield from rule.check(file_ctx)
    limits = Limits() if config.max_layers is None else Limits(max_layers=config.max_layers)
    for network in spec.networks:  # every network: a file may define several
        try:
            expanded = expand(resolved, network.name, limits)
            built = build_graph(expanded)
            analysis = analyze(expanded, built, limits)
        except ArchcError as exc:
            yield from exc.diagnostics
            continue
        yield from analysis.warnings
        ctx = NetworkContext(spec, expanded, built, analysis, config)
        for rule in checks:
            if rule.scope == "network":
                yield from rule.check(ctx)


def _dedupe(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Block bodies expand once per call and a file's networks share blocks: report a finding
    once per place. Compiler messages are kept whole, as `archc check` prints them."""
    seen: set[tuple] = set()
    kept = []
    for diag in diagnostics:
        rule = rules().get(diag.code.value)
        lint_only = rule is not None and rule.check is not None
        key = (diag.code, diag.span) if lint_only else (diag.code, diag.span, diag.message)
        if key not in seen:
            seen.add(key)
            kept.append(diag)
    return kept


def _order(diag: Diagnostic) -> tuple:
    span = diag.span
    return (span.line, span.col, diag.code.value) if span else (0, 0, diag.code.value)


# ---- linting many files ----------------------------------------------------------------------

@dataclass
class FileResult:
    path: str  # as displayed (and as diagnostics name it)
    source: str | None  # None when unreadable
    diagnostics: list[Diagnostic]
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return sum(d.is_error for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors


def collect_files(paths: Iterable[str]) -> list[str]:
    """Files as given plus every `*.arch` under given folders (sorted, hidden folders skipped).
    Raises FileNotFoundError naming the first path that does not exist."""
    found: dict[str, None] = {}
    for raw in paths:
        if raw == "-":
            found.setdefault("-")
            continue
        path = Path(raw)
        if path.is_dir():
            for file in sorted(_walk(path)):
                found.setdefault(str(file))
        elif path.exists():
            found.setdefault(raw)
        else:
            raise FileNotFoundError(raw)
    return list(found)


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        yield from (Path(root) / f for f in files if f.endswith(".arch"))


def lint_file(path: str, config: LintConfig, text: str | None = None) -> FileResult:
    """Lint one file (`text` given: lint that instead of reading, e.g. stdin)."""
    import time

    from archc.api import read_source

    start = time.perf_counter()
    if text is None:
        try:
            text = read_source(path)
        except ArchcError as exc:
            return FileResult(path, None, _enabled_only(exc.diagnostics, config))
    diagnostics = lint_text(text, path, config)
    return FileResult(path, text, diagnostics, time.perf_counter() - start)


def _enabled_only(diagnostics: list[Diagnostic], config: LintConfig) -> list[Diagnostic]:
    return [d for d in diagnostics if config.enabled(d.code.value, True)]


def _lint_task(task: tuple[str, LintConfig]) -> FileResult:
    return lint_file(*task)


def lint_files(tasks: list[tuple[str, LintConfig]], jobs: int = 0) -> list[FileResult]:
    """Lint files in order; with many files, in a process pool (`jobs` 0: one per CPU)."""
    workers = jobs or os.cpu_count() or 1
    if workers < 2 or len(tasks) < PARALLEL_THRESHOLD:
        return [_lint_task(task) for task in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import archc.api  # noqa: F401 - warm the pipeline so forked workers start with it loaded
    from archc.parse import parser

    parser()  # ... and the compiled grammar
    method = "fork" if sys.platform == "linux" else None
    context = multiprocessing.get_context(method)
    chunk = max(1, len(tasks) // (workers * 8))
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(_lint_task, tasks, chunksize=chunk))


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    if sys.argv[1:] == ["--write-docs"]:
        print(write_docs())
    else:
        sys.exit("usage: python -m archc.lint --write-docs")
