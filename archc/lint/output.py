"""Output formats of `archc lint`: text, json, github, sarif, junit. Formatting only: the
results come from `archc.lint`, and nothing here decides what is a problem."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree as ET

from archc._version import __version__
from archc.errors import Diagnostic, Span, render
from archc.lint import FileResult, Rule, rules

FORMATS = ("text", "json", "github", "sarif", "junit")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_results(fmt: str, results: list[FileResult], *, strict: bool = False,
                   color: bool = False) -> str:
    """The whole report in one format, ending with a newline."""
    renderers: dict[str, Callable[[], str]] = {
        "text": lambda: render_text(results, color),
        "json": lambda: render_json(results),
        "github": lambda: render_github(results),
        "sarif": lambda: render_sarif(results),
        "junit": lambda: render_junit(results, strict),
    }
    return renderers[fmt]().rstrip("\n") + "\n"


def failed(result: FileResult, strict: bool) -> bool:
    return bool(result.errors or (strict and result.warnings))


def summary(results: list[FileResult]) -> str:
    errors = sum(r.errors for r in results)
    warnings = sum(r.warnings for r in results)
    files = _plural(len(results), "file")
    if not errors and not warnings:
        return f"{files} checked: no problems"
    dirty = sum(bool(r.diagnostics) for r in results)
    return (f"{files} checked: {_plural(errors, 'error')}, {_plural(warnings, 'warning')} "
            f"(in {_plural(dirty, 'file')})")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


# ---- text: the compiler-style rendering ------------------------------------------------------

def render_text(results: list[FileResult], color: bool = False) -> str:
    lines = [_render_one(diag, result, color) for result in results
             for diag in result.diagnostics]
    return "\n".join([*lines, summary(results)])


def _render_one(diag: Diagnostic, result: FileResult, color: bool) -> str:
    text = render(diag, {result.path: result.source} if result.source is not None else {})
    if not color:
        return text
    import click

    head, _, rest = text.partition("\n")
    head = click.style(head, fg="red" if diag.is_error else "yellow", bold=True)
    return head + ("\n" + rest if rest else "")


# ---- json ------------------------------------------------------------------------------------

def render_json(results: list[FileResult]) -> str:
    diagnostics = [_json_diagnostic(d) for r in results for d in r.diagnostics]
    payload = {
        "version": 1,
        "summary": {"files": len(results), "errors": sum(r.errors for r in results),
                    "warnings": sum(r.warnings for r in results)},
        "diagnostics": diagnostics,
    }
    return json.dumps(payload, indent=2)


def _json_diagnostic(diag: Diagnostic) -> dict:
    span = diag.span
    where = ({"file": span.file, "line": span.line, "column": span.col,
              "end_line": span.end_line, "end_column": span.end_col} if span else
             {"file": None, "line": None, "column": None, "end_line": None, "end_column": None})
    return {**where, "code": diag.code.value, "severity": diag.severity,
            "message": diag.message, "hint": diag.hint,
            "notes": [{"message": text, "file": s.file, "line": s.line, "column": s.col}
                      for text, s in diag.notes]}


# ---- GitHub Actions workflow commands ---------------------------------------------------------

def render_github(results: list[FileResult]) -> str:
    lines = [_github_line(d) for r in results for d in r.diagnostics]
    return "\n".join([*lines, summary(results)])


def _github_line(diag: Diagnostic) -> str:
    props = []
    if diag.span is not None:
        s = diag.span
        props = [f"file={_gh_prop(s.file)}", f"line={s.line}", f"col={s.col}"]
        if s.end_line >= s.line:
            props += [f"endLine={s.end_line}", f"endColumn={s.end_col}"]
    props.append(f"title={_gh_prop(diag.code.value)}")
    message = diag.message + (f"\nhint: {diag.hint}" if diag.hint else "")
    return f"::{diag.severity} {','.join(props)}::{_gh_data(message)}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


# ---- SARIF 2.1.0 ------------------------------------------------------------------------------

def render_sarif(results: list[FileResult]) -> str:
    table = rules()
    index = {code: i for i, code in enumerate(table)}
    sarif_rules = [_sarif_rule(rule) for rule in table.values()]
    sarif_results = [_sarif_result(d, index) for r in results for d in r.diagnostics]
    run = {
        "tool": {"driver": {"name": "archc", "version": __version__, "rules": sarif_rules}},
        "columnKind": "unicodeCodePoints",
        "results": sarif_results,
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def _sarif_rule(rule: Rule) -> dict:
    level = rule.severity if rule.default_enabled else "none"
    return {
        "id": rule.code.value,
        "name": "".join(part.title() for part in rule.name.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": f"{rule.rationale}\nFix: {rule.fix}",
                 "markdown": f"{rule.rationale}\n\n**Fix.** {rule.fix}"},
        "defaultConfiguration": {"level": level, "enabled": rule.default_enabled},
    }


def _sarif_result(diag: Diagnostic, index: dict[str, int]) -> dict:
    message = diag.message + (f" (hint: {diag.hint})" if diag.hint else "")
    result: dict = {"ruleId": diag.code.value, "level": diag.severity,
                    "message": {"text": message}}
    if diag.code.value in index:
        result["ruleIndex"] = index[diag.code.value]
    if diag.span is not None:
        result["locations"] = [_sarif_location(diag.span)]
    if diag.notes:
        result["relatedLocations"] = [{**_sarif_location(span), "id": i,
                                       "message": {"text": text}}
                                      for i, (text, span) in enumerate(diag.notes)]
    return result


def _sarif_location(span: Span) -> dict:
    region = {"startLine": span.line, "startColumn": span.col}
    if span.end_line >= span.line and (span.end_line, span.end_col) > (span.line, span.col):
        region.update(endLine=span.end_line, endColumn=span.end_col)
    return {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(span.file)},
                                 "region": region}}


def artifact_uri(path: str) -> str:
    """A relative URI for files under the working directory (what code scanning expects),
    an absolute file URI otherwise."""
    if path.startswith("<"):  # <stdin>, <string>
        return quote(path.strip("<>"))
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(Path.cwd())
        except ValueError:
            return candidate.as_uri()
    return quote(candidate.as_posix())


# ---- JUnit XML --------------------------------------------------------------------------------

def render_junit(results: list[FileResult], strict: bool = False) -> str:
    """One testsuite, one testcase per file; a file with problems that fail the run gets a
    <failure> listing them (warnings alone go to <system-out> unless --strict)."""
    failures = sum(failed(r, strict) for r in results)
    total_time = f"{sum(r.seconds for r in results):.3f}"
    root = ET.Element("testsuites", name="archc lint", tests=str(len(results)),
                      failures=str(failures), errors="0", time=total_time)
    suite = ET.SubElement(root, "testsuite", name="archc lint", tests=str(len(results)),
                          failures=str(failures), errors="0", skipped="0", time=total_time,
                          hostname=os.uname().nodename if hasattr(os, "uname") else "")
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="archc.lint", name=result.path,
                             file=result.path, time=f"{result.seconds:.3f}")
        body = "\n".join(_render_one(d, result, False) for d in result.diagnostics)
        if failed(result, strict):
            message = f"{_plural(result.errors, 'error')}, {_plural(result.warnings, 'warning')}"
            ET.SubElement(case, "failure", message=message, type="archc.lint").text = body
        elif body:
            ET.SubElement(case, "system-out").text = body
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
