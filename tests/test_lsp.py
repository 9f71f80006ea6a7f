"""`archc lsp` driven over stdio by a real LSP client (pytest-lsp), as an editor drives it.

Expected numbers are hand arithmetic: LeNet-5's first conv(6, k=5) on 1x32x32 gives 6x28x28,
6*1*5*5 + 6 = 156 parameters and 6*28*28 * 1*5*5 = 117,600 MACs (seed-notes.md).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LENET = (ROOT / "specs" / "lenet5.arch").read_text()
URI = (ROOT / "specs" / "lenet5_edit.arch").as_uri()  # never written: an editor buffer

BLOCKS = """\
block unit(c) {
    conv(c, k=3, p=1) relu -> skip
    add(skip)
}
network Net {
    input 3x32x32
    conv(8, k=3, p=1)
    unit(8) * 2
    flatten
    linear(10)
}
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "archc",
                                                              "lsp"]), scope="module")
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def _open(client: LanguageClient, uri: str, text: str, version: int = 1) -> list:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri, "arch", version, text)))
    return await _diagnostics(client, uri, version)


async def _change(client: LanguageClient, uri: str, text: str, version: int) -> list:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [lsp.TextDocumentContentChangeWholeDocument(text)]))
    return await _diagnostics(client, uri, version)


async def _diagnostics(client: LanguageClient, uri: str, version: int) -> list:
    """The diagnostics published for this version of the document."""
    for _ in range(100):
        params = await asyncio.wait_for(
            client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 20)
        if params.uri == uri and params.version == version:
            return list(params.diagnostics)
    raise AssertionError("no diagnostics for this version")


def _at(text: str, needle: str, offset: int = 0) -> lsp.Position:
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    return lsp.Position(line, index - (text.rfind("\n", 0, index) + 1))


@pytest.mark.asyncio(loop_scope="module")
async def test_diagnostics_appear_and_disappear(client: LanguageClient):
    assert await _open(client, URI, LENET) == []
    broken = LENET.replace("flatten", "")  # linear on a 16x5x5 map: E206
    found = await _change(client, URI, broken, 2)
    assert [d.code for d in found] == ["E206"]
    (diag,) = found
    line = broken.split("\n")[diag.range.start.line]
    assert line[diag.range.start.character:diag.range.end.character] == "linear(120)"
    assert "hint: add `flatten` before it" in diag.message
    assert diag.severity == lsp.DiagnosticSeverity.Error
    assert await _change(client, URI, LENET, 3) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_error_in_block_shown_at_call_site(client: LanguageClient):
    uri = URI.replace("lenet5_edit", "blocks_edit")
    text = BLOCKS.replace("add(skip)", "add(skip) linear(4)")
    found = await _open(client, uri, text)
    assert {d.code for d in found} == {"E206"}
    lines = {d.range.start.line for d in found}
    assert text.split("\n").index("    unit(8) * 2") in lines  # the call site
    assert 2 in lines  # and the layer inside the block
    assert await _change(client, uri, BLOCKS, 2) == []


@pytest.mark.independent
@pytest.mark.asyncio(loop_scope="module")
async def test_hover_shows_shapes_params_and_macs(client: LanguageClient):
    await _open(client, URI, LENET, 4)
    result = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(URI), _at(LENET, "conv(6", 1)))
    text = result.contents.value
    assert "1x32x32 → **6x28x28**" in text
    assert "params 156" in text and "117,600" in text


@pytest.mark.independent
@pytest.mark.asyncio(loop_scope="module")
async def test_block_call_hover_and_definition(client: LanguageClient):
    uri = URI.replace("lenet5_edit", "blocks_nav")
    await _open(client, uri, BLOCKS)
    call = _at(BLOCKS, "unit(8)", 1)
    result = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), call))
    # two repeats of conv(8, k=3, p=1) on 8 channels: 2 * (8*8*9 + 8) parameters
    assert "(1,168)" in result.contents.value
    assert "8x32x32 → **8x32x32**" in result.contents.value
    found = await client.text_document_definition_async(lsp.DefinitionParams(
        lsp.TextDocumentIdentifier(uri), call))
    assert [(loc.range.start.line, loc.range.start.character) for loc in found] == [(0, 6)]
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=lsp.TextDocumentIdentifier(uri), position=_at(BLOCKS, "skip)"),
        context=lsp.ReferenceContext(include_declaration=True)))
    assert sorted(r.range.start.line for r in refs) == [1, 2]
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        lsp.TextDocumentIdentifier(uri)))
    assert [s.name for s in symbols] == ["unit", "Net"]


@pytest.mark.asyncio(loop_scope="module")
async def test_completion_offers_kinds_arguments_and_tensors(client: LanguageClient):
    uri = URI.replace("lenet5_edit", "complete")
    text = BLOCKS.replace("add(skip)", "add(")
    await _open(client, uri, text)
    where = _at(text, "add(", 4)
    result = await client.text_document_completion_async(lsp.CompletionParams(
        lsp.TextDocumentIdentifier(uri), where))
    assert "skip" in [item.label for item in result.items]
    conv_args = _at(text, "conv(8, ", 8)
    result = await client.text_document_completion_async(lsp.CompletionParams(
        lsp.TextDocumentIdentifier(uri), conv_args))
    by_label = {item.label: item for item in result.items}
    assert "k=" in by_label and "s=" in by_label and "p=" in by_label
    assert "default 1" in by_label["s="].detail
    start = _at(text, "    flatten", 4)
    result = await client.text_document_completion_async(lsp.CompletionParams(
        lsp.TextDocumentIdentifier(uri), start))
    labels = {item.label for item in result.items}
    assert {"conv", "maxpool", "residual", "unit"} <= labels


@pytest.mark.independent
@pytest.mark.asyncio(loop_scope="module")
async def test_formatting_and_inlay_hints(client: LanguageClient):
    uri = URI.replace("lenet5_edit", "fmt")
    messy = "network  N {input 1x28x28\nconv(4,k=3)   relu flatten linear(10)}\n"
    await _open(client, uri, messy)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(4, True)))
    from archc.fmt import format_text

    assert [e.new_text for e in edits] == [format_text(messy)]
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        lsp.TextDocumentIdentifier(uri), lsp.Range(lsp.Position(0, 0), lsp.Position(5, 0))))
    # conv(4, k=3) on 1x28x28 -> 4x26x26 -> flatten 2704 -> linear 10: the line ends in 10
    assert [h.label for h in hints] == ["→ 1x28x28", "→ 10"]
    ask = lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri),
                              lsp.Range(lsp.Position(0, 0), lsp.Position(5, 0)))
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        {"archc": {"inlayHints": False}}))
    assert len(await client.text_document_inlay_hint_async(ask)) == 0
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        {"archc": {"inlayHints": True}}))
    assert len(await client.text_document_inlay_hint_async(ask)) == 2


@pytest.mark.fuzz
@pytest.mark.asyncio(loop_scope="module")
async def test_half_typed_text_never_kills_the_server(client: LanguageClient):
    uri = URI.replace("lenet5_edit", "half")
    await _open(client, uri, "")
    for version, cut in enumerate(range(0, len(BLOCKS), 7), start=2):
        text = BLOCKS[:cut]
        await _change(client, uri, text, version)
        end = _at(text + "\0", "\0")
        await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(uri), end))
        await client.text_document_completion_async(lsp.CompletionParams(
            lsp.TextDocumentIdentifier(uri), end))
        await client.text_document_formatting_async(lsp.DocumentFormattingParams(
            lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(4, True)))
    # still alive and right
    result = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(URI), _at(LENET, "conv(6", 1)))
    assert "6x28x28" in result.contents.value
