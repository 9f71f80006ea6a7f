"""`archc render`: a picture of the network (svg, html, png, dot, mermaid)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archc.cli import (
    EXIT_SPEC_ERROR,
    _require_file,
    input_option,
    max_layers_option,
    network_option,
    parse_dims,
    print_diagnostics,
    read_spec,
    spec_argument,
)

FORMATS = ("svg", "html", "png", "dot", "mermaid")  # = archc.render.FORMATS, without importing it
SUFFIXES = {".svg": "svg", ".html": "html", ".htm": "html", ".png": "png", ".dot": "dot",
            ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}


@click.command()
@spec_argument
@click.option("-o", "--output", metavar="FILE",
              help="Where to write the picture (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Default: from the output file's suffix, else svg.")
@click.option("--expand", "expand", metavar="NAMES", default=None,
              help="Open blocks: `all`, or comma-separated names of block instances "
                   "(layer3, inception4a) or block definitions (bottleneck).")
@click.option("--direction", type=click.Choice(["TB", "LR"], case_sensitive=False),
              default="TB", show_default=True, help="Top to bottom, or left to right.")
@network_option
@input_option
@max_layers_option
def render(spec: str, output: str | None, fmt: str | None, expand: str | None, direction: str,
           network: str | None, input_shape: str | None, max_layers: int | None) -> None:
    """Draw SPEC: layers with shapes, parameters and MACs; blocks collapsed unless --expand.

    A spec with errors is drawn up to them, the failing layers marked, and exits 1.
    """
    from archc.errors import ArchcError, visible
    from archc.expand import Limits
    from archc.render import render_source

    _require_file(spec)
    if output not in (None, "-"):
        from archc.cli.build import _check_output

        _check_output(output)
    fmt = fmt or SUFFIXES.get(Path(output).suffix.lower(), "svg") if output else fmt or "svg"
    if fmt == "png" and not output:
        raise click.UsageError("png is binary: write it to a file with -o FILE")
    names = None if expand is None else [n.strip() for n in expand.split(",") if n.strip()]
    limits = Limits(max_layers=max_layers) if max_layers else None
    try:
        name, text = read_spec(spec)
    except ArchcError as exc:
        print_diagnostics(exc.diagnostics, {})
        sys.exit(EXIT_SPEC_ERROR)
    try:
        result = render_source(text, name, fmt, names, direction.upper(), network,
                               parse_dims(input_shape), limits)
    except (RuntimeError, ValueError) as exc:  # png without its library; --expand unknown
        raise click.UsageError(str(exc)) from None
    print_diagnostics(result.diagnostics, {name: text})
    _write(result.text, output)
    if not result.ok:
        count = sum(d.is_error for d in result.diagnostics)
        where = output or "the picture"
        click.echo(visible(f"{spec}: {count} error{'s' * (count != 1)} "
                           f"(drawn up to them in {where})"), err=True)
        sys.exit(EXIT_SPEC_ERROR)


def _write(data: str | bytes, output: str | None) -> None:
    if output is None or output == "-":
        click.echo(data, nl=False)
        return
    from archc.cli import fail
    from archc.fileio import write_file

    try:  # the same rules as build -o: devices and FIFOs written through, never replaced
        write_file(output, data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", EXIT_SPEC_ERROR)
