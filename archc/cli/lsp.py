"""`archc lsp`: the language server over stdio (pygls is imported only when it runs)."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only mode).")
def lsp(stdio: bool) -> None:
    """Run the language server for *.arch files on stdin/stdout (for editors)."""
    try:
        from archc.lsp.server import main as serve
    except ImportError as exc:
        click.echo(f"archc lsp needs pygls: pip install 'archc-cnn[lsp]' ({exc})", err=True)
        sys.exit(2)
    serve()
