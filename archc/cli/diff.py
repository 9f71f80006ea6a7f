"""`archc diff OLD NEW` (or `--git REV SPEC`): what a change to a spec costs; CI budgets.

Exit status: 0 no limit exceeded, 1 a spec has errors or a `--fail-on` limit is exceeded,
2 usage error (bad option, unknown revision)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

from archc.cli import (
    EXIT_SPEC_ERROR,
    input_option,
    max_layers_option,
    network_option,
    parse_dims,
    print_diagnostics,
)
from archc.errors import ArchcError, visible


@click.command("diff")
@click.argument("old")
@click.argument("new", required=False)
@click.option("--git", "rev", metavar="REV",
              help="Compare SPEC (the one argument) with its version at git revision REV.")
@network_option
@input_option
@max_layers_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True,
              help="text for people, markdown for a pull-request comment, json for tools.")
@click.option("--fail-on", "limits", multiple=True, metavar="METRIC+LIMIT",
              help="Exit 1 when params, macs or memory (saved activations) grows by more than "
                   "LIMIT: a percentage or a count, e.g. params+10%, macs+50M. Repeatable.")
@click.option("--width", type=click.IntRange(min=40), default=None, metavar="COLS",
              help="Wrap names to fit COLS columns (default: the terminal's width).")
def diff(old: str, new: str | None, rev: str | None, network: str | None,
         input_shape: str | None, max_layers: int | None, fmt: str, limits: tuple[str, ...],
         width: int | None) -> None:
    """Per-layer and total changes from OLD to NEW (layers aligned by name)."""
    from archc.insight import diff as d

    for limit in limits:
        try:
            d.parse_limit(limit)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--fail-on") from None
    if rev is not None:
        if new is not None:
            raise click.UsageError("with --git give one SPEC: archc diff --git REV SPEC")
        old_name, old_text = f"{rev}:{old}", _git_show(rev, old)
        new_name, new_text = old, _read(old)
    else:
        if new is None:
            raise click.UsageError("give OLD and NEW specs, or --git REV SPEC")
        old_name, old_text, new_name, new_text = old, _read(old), new, _read(new)
    dims = parse_dims(input_shape)
    before = _load(old_name, old_text, network, dims, max_layers)
    after = _load(new_name, new_text, network, dims, max_layers)
    result = d.diff(before, after, old_name, new_name)
    if fmt == "json":
        click.echo(d.to_json(result))
    elif fmt == "markdown":
        click.echo(d.to_markdown(result), nl=False)
    else:
        if width is None and sys.stdout.isatty():
            width = shutil.get_terminal_size().columns
        click.echo(d.to_text(result, width), nl=False)
    broken = d.exceeded(result, list(limits))
    for sentence in broken:
        click.echo(f"archc diff: {sentence}", err=True)
    if broken:
        sys.exit(EXIT_SPEC_ERROR)


def _read(path: str) -> str:
    if not Path(path).is_file():
        raise click.UsageError(f"no such file: {path}")
    from archc.api import read_source

    try:
        return read_source(path)
    except ArchcError as exc:
        print_diagnostics(exc.diagnostics, {})
        sys.exit(EXIT_SPEC_ERROR)


def _git_show(rev: str, path: str) -> str:
    """The file at a revision, read with `git show REV:./PATH` from the file's folder."""
    target = Path(path)
    if not target.is_file():
        raise click.UsageError(f"no such file: {path}")
    try:
        done = subprocess.run(["git", "show", f"{rev}:./{target.name}"], cwd=target.parent,
                              capture_output=True, check=False)
    except OSError as exc:
        raise click.UsageError(f"cannot run git: {exc.strerror}") from None
    if done.returncode:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise click.UsageError(f"git show {rev}:{path}: {message[-1] if message else 'failed'}")
    return done.stdout.decode("utf-8", "replace")


def _load(name: str, text: str, network, dims, max_layers):
    from archc.api import loads
    from archc.expand import Limits

    limits = Limits(max_layers=max_layers) if max_layers else None
    try:
        return loads(text, name, network, dims, limits)
    except ArchcError as exc:
        print_diagnostics(exc.diagnostics, {name: text})
        click.echo(visible(f"{name}: the spec has errors"), err=True)
        sys.exit(EXIT_SPEC_ERROR)
