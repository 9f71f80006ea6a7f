"""The command line: the only package that prints or chooses an exit status.

Exit status: 0 success, 1 the spec has errors (or lint found problems), 2 usage error.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import NoReturn

import click

from archc._perf import stage
from archc._version import __version__
from archc.errors import ArchcError, Diagnostic, render, visible

EXIT_SPEC_ERROR = 1


def parse_dims(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        dims = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not like 3x224x224") from None
    if not dims or any(d < 1 for d in dims) or len(dims) > 3:
        raise click.BadParameter(f"{text!r} needs 1 to 3 positive sizes, e.g. 3x224x224")
    return dims


def use_color(stream) -> bool:
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def print_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str]) -> None:
    color = use_color(sys.stderr)
    for diag in sorted(diagnostics, key=_position):
        text = render(diag, sources)
        if color:
            head, _, rest = text.partition("\n")
            style = "red" if diag.is_error else "yellow"
            text = click.style(head, fg=style, bold=True) + ("\n" + rest if rest else "")
        click.echo(text, err=True)


def _position(diag: Diagnostic) -> tuple:
    span = diag.span
    return (span.file, span.line, span.col) if span else ("", 0, 0)


def read_spec(path: str) -> tuple[str, str]:
    """(file name for diagnostics, text); `-` reads standard input."""
    if path == "-":
        from archc.api import read_stdin

        return "<stdin>", read_stdin()
    from archc.api import read_source

    return path, read_source(path)


def load_or_exit(path: str, network: str | None, input_shape: str | None,
                 max_layers: int | None = None):
    # Importing the pipeline (pydantic models and dataclasses by the dozen) and running it
    # allocate a great deal and free nothing cyclic; with the collector running, each
    # collection rescans everything the process holds, the dependencies' modules included.
    # Once loaded, the model lives until the process exits: frozen out of the collector's
    # sight, the reports, insight and code generation that follow do not rescan its millions
    # of objects either (0.6 s of a 20,000-layer `params --format json`).
    with stage():  # the collector paused, and resumed whatever way loading ends
        model, sources = _load(path, network, input_shape, max_layers)
        gc.freeze()
    networks = [net.name for net in model.spec.networks]
    if network is None and len(networks) > 1:
        click.echo(visible(f"note: {path} defines {len(networks)} networks "
                           f"({', '.join(networks)}); using the last, {networks[-1]} "
                           "(choose with --network)"), err=True)
    return model, sources


def _load(path: str, network: str | None, input_shape: str | None, max_layers: int | None):
    """(model, sources), or the diagnostics printed and exit 1."""
    from archc.api import loads
    from archc.expand import Limits

    limits = Limits(max_layers=max_layers) if max_layers else None
    sources: dict[str, str] = {}
    try:
        name, text = read_spec(path)
        sources[name] = text
        return loads(text, name, network, parse_dims(input_shape), limits), sources
    except ArchcError as exc:
        print_diagnostics(exc.diagnostics, sources)
        count = sum(d.is_error for d in exc.diagnostics)
        click.echo(visible(f"{path}: {count} error{'s' * (count != 1)}"), err=True)
        sys.exit(EXIT_SPEC_ERROR)

# readable=False: an unreadable file is E005 (exit 1) wherever it is named, as in a folder.
spec_argument = click.argument("spec", type=click.Path(dir_okay=False, allow_dash=True,
                                                       readable=False))
network_option = click.option(
    "--network", "-n", metavar="NAME",
    help="Network to use when the file has several (default: the last; case is ignored when "
         "only one name matches).")
max_layers_option = click.option(
    "--max-layers", type=click.IntRange(min=1), default=None, metavar="N",
    help="Refuse networks that expand to more than N layers (default 250,000).")
input_option = click.option("--input", "input_shape", metavar="CxHxW",
                            help="Override the spec's input size, e.g. 3x64x64.")


def fail(message: str, status: int) -> NoReturn:
    """One line on stderr, then exit: for problems with paths rather than with specs."""
    click.echo(visible(f"archc: {message}"), err=True)
    sys.exit(status)


def _require_file(path: str) -> None:
    # Only a missing path is a usage error; one that exists but cannot be read as a spec (a
    # FIFO, a device, a symlink loop, no permission) is E005 when it is read.
    if path != "-" and not os.path.lexists(path):
        raise click.UsageError(f"no such file: {path}")


# name -> (module under archc.cli, attribute): a command's module is imported only when that
# command runs (or --help lists them all), so `archc check` does not pay for lint, lsp, diff...
_COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("check", "check"), "params": ("check", "params"), "build": ("build", "build"),
    "explain": ("explain", "explain"), "memory": ("memory", "memory"), "diff": ("diff", "diff"),
    "lint": ("lint", "lint"), "fmt": ("lint", "fmt"), "lsp": ("lsp", "lsp"),
    "render": ("render_cmd", "render"), "import": ("importer", "import_"),
}


def _command_module(name: str):
    """archc.cli.<name>, imported alone, by an ordinary import statement."""
    if name == "check":
        from archc.cli import check as module
    elif name == "build":
        from archc.cli import build as module
    elif name == "explain":
        from archc.cli import explain as module
    elif name == "memory":
        from archc.cli import memory as module
    elif name == "diff":
        from archc.cli import diff as module
    elif name == "lint":
        from archc.cli import lint as module
    elif name == "lsp":
        from archc.cli import lsp as module
    elif name == "render_cmd":
        from archc.cli import render_cmd as module
    else:
        from archc.cli import importer as module
    return module


class _LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module, attribute = _COMMANDS[cmd_name]
            command = getattr(_command_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archc")
def main() -> None:
    """archc: check, count and compile CNN architecture specs (*.arch)."""
    # archc uses no pydantic plugin; without this, pydantic looks for plugins in the entry
    # points of every installed distribution when it builds its first validator (~7 ms, more
    # in a big environment). Only the command line does this (and a user's setting wins).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
