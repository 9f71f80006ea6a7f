"""`archc lsp`: the language server over stdio (pygls).

State is one `DocumentIndex` per open document, rebuilt when the text changed: on open at
once, on change after a short pause (typing does not queue one analysis per keystroke), and
on demand when a request arrives before the pause ends. Every handler is wrapped so that an
unexpected exception is logged and answered with an empty result: the server never exits
because of what a document holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import traceback
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from archc import __version__
from archc.lsp import features
from archc.lsp.document import DocumentIndex, analyse
from archc.lsp.incremental import IncrementalParser

log = logging.getLogger("archc.lsp")
DEBOUNCE_S = 0.15  # diagnostics wait for a pause in typing this long
CACHE_SIZE = 32  # analysed texts kept (undo/redo and switching back answer from here)

_F = TypeVar("_F", bound=Callable[..., Any])


class ArchcServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("archc", __version__)
        self.cache: OrderedDict[tuple[str, str], DocumentIndex] = OrderedDict()
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.inlay_hints_enabled = True
        self.configs: dict[str, Any] = {}  # uri -> lint configuration (pyproject.toml read once)
        self.parser = IncrementalParser()  # unchanged networks and blocks are not parsed again

    def index(self, uri: str) -> DocumentIndex:
        """The analysis of the document's current text (from the cache when unchanged)."""
        text = self.workspace.get_text_document(uri).source
        key = (uri, text)
        found = self.cache.get(key)
        if found is None:
            config = self.configs.get(uri)
            if config is None:
                config = self.configs[uri] = _lint_config(uri)
            found = analyse(text, _file_name(uri), config, self.parser)
            self.cache[key] = found
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(key)
        return found

    def publish(self, uri: str) -> None:
        self.pending.pop(uri, None)
        try:
            document = self.workspace.get_text_document(uri)
            found = features.diagnostics(self.index(uri), uri)
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri, found, version=document.version))
        except Exception:
            _log_failure(self, "publishing diagnostics")

    def schedule(self, uri: str) -> None:
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self.pending[uri] = loop.call_later(DEBOUNCE_S, self.publish, uri)


def _file_name(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def _lint_config(uri: str):
    """The project's lint configuration for this file (pyproject.toml), as `archc lint` uses."""
    from archc.config import LintConfig, resolve
    from archc.lint import known_codes

    path = _file_name(uri)
    if not Path(path).is_absolute():
        return LintConfig()
    try:
        return resolve(path, {}, known_codes())
    except Exception:  # a broken pyproject.toml must not stop the editor's diagnostics
        log.warning("archc lsp: cannot read the lint configuration for %s", path)
        return LintConfig()


def _log_failure(server: LanguageServer, what: str) -> None:
    message = f"archc lsp: {what} failed:\n{traceback.format_exc()}"
    log.error(message)
    with contextlib.suppress(Exception):  # the client may be gone: stderr has it anyway
        server.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, message))


def safe(default: Any = None) -> Callable[[_F], _F]:
    """Answer `default` (and log) instead of letting an exception escape a handler."""

    def wrap(handler: _F) -> _F:
        @functools.wraps(handler)
        def run(server: ArchcServer, params: Any) -> Any:
            try:
                return handler(server, params)
            except Exception:
                _log_failure(server, handler.__name__)
                return default

        return run  # type: ignore[return-value]

    return wrap


def _pos(position: lsp.Position) -> tuple[int, int]:
    return (position.line, position.character)


server = ArchcServer()


@server.feature(lsp.INITIALIZE)
@safe()
def initialize(ls: ArchcServer, params: lsp.InitializeParams) -> None:
    """initializationOptions {"inlayHints": false} turns the shape hints off."""
    options = params.initialization_options
    if isinstance(options, dict):
        ls.inlay_hints_enabled = bool(options.get("inlayHints", True))


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@safe()
def did_open(ls: ArchcServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
@safe()
def did_change(ls: ArchcServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
@safe()
def did_save(ls: ArchcServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.configs.clear()  # a saved pyproject.toml may have changed the lint rules
    ls.publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@safe()
def did_close(ls: ArchcServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    pending = ls.pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    for key in [k for k in ls.cache if k[0] == uri]:
        del ls.cache[key]
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
@safe()
def did_change_configuration(ls: ArchcServer, params: lsp.DidChangeConfigurationParams) -> None:
    settings = params.settings
    section = settings.get("archc", settings) if isinstance(settings, dict) else None
    ls.configs.clear()
    if isinstance(section, dict) and "inlayHints" in section:
        ls.inlay_hints_enabled = bool(section["inlayHints"])


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@safe()
def hover(ls: ArchcServer, params: lsp.HoverParams) -> lsp.Hover | None:
    text = features.hover(ls.index(params.text_document.uri), _pos(params.position))
    if text is None:
        return None
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text))


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
@safe(default=[])
def inlay_hint(ls: ArchcServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
    if not ls.inlay_hints_enabled:
        return []
    rng = params.range
    return features.inlay_hints(ls.index(params.text_document.uri), rng.start.line, rng.end.line)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@safe(default=[])
def definition(ls: ArchcServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    uri = params.text_document.uri
    return [lsp.Location(uri, r) for r in features.definition(ls.index(uri),
                                                              _pos(params.position))]


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@safe(default=[])
def references(ls: ArchcServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    uri = params.text_document.uri
    include = params.context.include_declaration if params.context else True
    found = features.references(ls.index(uri), _pos(params.position), include)
    return [lsp.Location(uri, r) for r in found]


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@safe(default=[])
def document_symbol(ls: ArchcServer, params: lsp.DocumentSymbolParams
                    ) -> list[lsp.DocumentSymbol]:
    return features.symbols(ls.index(params.text_document.uri))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["(", ","]))
@safe(default=[])
def completion(ls: ArchcServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    items = features.completion(ls.index(params.text_document.uri), _pos(params.position))
    return lsp.CompletionList(is_incomplete=False, items=items)


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
@safe()
def formatting(ls: ArchcServer, params: lsp.DocumentFormattingParams
               ) -> list[lsp.TextEdit] | None:
    return features.formatting(ls.index(params.text_document.uri))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # stderr: the client log
    server.start_io()
