"""`archc lint` (many files, CI output formats, budgets) and `archc fmt` (canonical layout)."""

from __future__ import annotations

import difflib
import sys

import click

from archc.cli import EXIT_SPEC_ERROR, print_diagnostics, use_color
from archc.config import ConfigError
from archc.errors import ArchcError, visible

FORMATS = ("text", "json", "github", "sarif", "junit")  # = archc.lint.output.FORMATS (kept
# here so that `archc --help` does not import the output module)


def _files(paths: tuple[str, ...]) -> list[str]:
    """The files to work on. A folder without any *.arch file is a usage error: a mistyped
    path in CI must not pass as "no problems"."""
    from archc.lint import collect_files

    found: dict[str, None] = {}
    for path in paths or (".",):
        try:
            files = collect_files((path,))
        except FileNotFoundError:
            raise click.UsageError(f"no such file or folder: {path}") from None
        if not files:
            raise click.UsageError(f"no *.arch files in {path}")
        found.update(dict.fromkeys(files))
    return list(found)


def _codes(value: str | None) -> list[str] | None:
    return None if value is None else [c for c in value.split(",") if c.strip()]


# ---- archc lint -------------------------------------------------------------------------------

@click.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, readable=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for people; json, github (workflow commands), sarif (code scanning), "
                   "junit (CI dashboards) for machines.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--max-params", metavar="N", help="Parameter budget, e.g. 30M (E501).")
@click.option("--max-macs", metavar="N", help="MAC budget, e.g. 5G (E502).")
@click.option("--max-activation-mib", "--max-activation-mb", "max_activation_mib", metavar="N",
              help="Activation memory budget per sample, in MiB (2**20 bytes) of float32 "
                   "(E503); --max-activation-mb is its old name.")
@click.option("--max-layers", metavar="N",
              help="Cap on the expanded layer count (E301); the compiler's default is 250,000, "
                   "which a pyproject.toml beside the specs can lower but not raise.")
@click.option("--select", metavar="CODES", help="Only these rules: codes or prefixes, "
                                                "comma-separated (ALL for every rule).")
@click.option("--extend-select", metavar="CODES", help="Rules to add to the selection.")
@click.option("--ignore", metavar="CODES", help="Rules to leave out.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="Read [tool.archc] from this file instead of searching for pyproject.toml.")
@click.option("--isolated", is_flag=True, help="Ignore every pyproject.toml.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes for many files (0: one per CPU).")
@click.option("--list-rules", is_flag=True, help="Print the rules and exit.")
def lint(paths: tuple[str, ...], fmt: str, strict: bool, max_params: str | None,
         max_macs: str | None, max_activation_mib: str | None, max_layers: str | None,
         select: str | None,
         extend_select: str | None, ignore: str | None, config_file: str | None,
         isolated: bool, jobs: int, list_rules: bool) -> None:
    """Lint every *.arch file under PATHS (files or folders; `-` reads stdin).

    Exit status: 0 clean (warnings allowed unless --strict), 1 problems found, 2 usage error.
    """
    from archc.lint import known_codes

    if list_rules:
        _print_rules()
        return
    options = {"max-params": max_params, "max-macs": max_macs,
               "max-activation-mib": max_activation_mib, "max-layers": max_layers,
               "select": _codes(select),
               "extend-select": _codes(extend_select), "ignore": _codes(ignore)}
    options = {key: value for key, value in options.items() if value is not None}
    files = _files(paths)
    try:
        from archc.config import resolve

        tasks = [(f, resolve(f, options, known_codes(), config_file, isolated)) for f in files]
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    results = _run(tasks, jobs)
    _report(results, fmt, strict)


def _run(tasks: list, jobs: int) -> list:
    from archc.lint import lint_files

    stdin = {i for i, (path, _) in enumerate(tasks) if path == "-"}
    on_disk = iter(lint_files([t for i, t in enumerate(tasks) if i not in stdin], jobs))
    results = []
    for index, (_, config) in enumerate(tasks):
        if index in stdin:
            results.append(_lint_stdin(config))
        else:
            results.append(next(on_disk))
    return results


def _lint_stdin(config):
    from archc.api import read_stdin
    from archc.lint import FileResult, lint_file

    try:
        text = read_stdin()
    except ArchcError as exc:
        return FileResult("<stdin>", None, exc.diagnostics)
    return lint_file("<stdin>", config, text)


def _report(results: list, fmt: str, strict: bool) -> None:
    from archc.lint.output import failed, render_results

    click.echo(render_results(fmt, results, strict=strict, color=use_color(sys.stdout)),
               nl=False)
    if any(failed(result, strict) for result in results):
        sys.exit(EXIT_SPEC_ERROR)


def _print_rules() -> None:
    from archc.lint import rules

    for code, rule in rules().items():
        state = "on " if rule.default_enabled else "off"
        click.echo(f"{code}  {state}  {rule.severity:<7}  {rule.name:<28} {rule.summary}")


# ---- archc fmt --------------------------------------------------------------------------------

@click.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, readable=False))
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 and print a diff when a file is not formatted.")
@click.option("--diff", is_flag=True, help="Write nothing; print a unified diff of the changes.")
def fmt(paths: tuple[str, ...], check: bool, diff: bool) -> None:
    """Rewrite *.arch files under PATHS in the canonical layout (`-`: stdin to stdout).

    Exit status: 0 done (or nothing to change), 1 a spec does not parse or (--check/--diff)
    would change, 2 usage error.
    """
    dry_run = check or diff
    changed, unchanged, broken = [], 0, 0
    for path in _files(paths):
        outcome = _format_one(path, dry_run)
        if outcome is None:
            broken += 1
        elif outcome:
            changed.append(path)
        else:
            unchanged += 1
    _fmt_summary(len(changed), unchanged, broken, dry_run)
    if broken or (dry_run and changed):
        sys.exit(EXIT_SPEC_ERROR)


def _format_one(path: str, dry_run: bool) -> bool | None:
    """Format one file: True changed (or would), False already formatted, None not parsed."""
    from archc.cli import read_spec
    from archc.fmt import format_text

    sources: dict[str, str] = {}
    try:
        name, text = read_spec(path)
        sources[name] = text
        formatted = format_text(text, name)
    except ArchcError as exc:
        print_diagnostics(exc.diagnostics, sources)
        return None
    if path == "-" and not dry_run:
        click.echo(formatted, nl=False)
        return formatted != text
    if formatted == text:
        return False
    if dry_run:
        click.echo(_unified_diff(name, text, formatted), nl=False)
    elif not _write(path, formatted):
        return None
    return True


def _write(path: str, text: str) -> bool:
    from archc.fileio import write_file

    try:
        write_file(path, text)
    except OSError as exc:
        click.echo(visible(f"archc: cannot write {path}: {exc.strerror or exc}"), err=True)
        return False
    click.echo(visible(f"reformatted {path}"), err=True)
    return True


def _unified_diff(name: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"{name} (original)", f"{name} (formatted)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def _fmt_summary(changed: int, unchanged: int, broken: int, dry_run: bool) -> None:
    parts = []
    if changed:
        parts.append(f"{_n_files(changed)} {'would be ' if dry_run else ''}reformatted")
    if unchanged:
        kept = "already formatted" if dry_run else "left unchanged"
        parts.append(f"{_n_files(unchanged)} {kept}")
    if broken:
        parts.append(f"{_n_files(broken)} not formatted (errors)")
    click.echo(", ".join(parts) or "no *.arch files found", err=True)


def _n_files(n: int) -> str:
    return f"{n} file{'s' * (n != 1)}"
