"""editors/: the TextMate grammar parses, is in sync with the layer registry, and gives the
expected scopes; the VS Code extension folder points at files that exist."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDITORS = ROOT / "editors"
GRAMMAR = EDITORS / "archc.tmLanguage.json"


def _grammar() -> dict:
    return json.loads(GRAMMAR.read_text())


def _scopes(line: str) -> dict[str, str]:
    """Tokenise one line as a TextMate engine does with top-level `match` rules: at each
    position the earliest match wins, the first rule on a tie; captures name their groups."""
    rules = [(re.compile(rule["match"]), rule) for rule in _grammar()["patterns"]]
    found: dict[str, str] = {}
    pos = 0
    while pos < len(line):
        best = None
        for pattern, rule in rules:
            match = pattern.search(line, pos)
            if match and match.end() > match.start() and (best is None
                                                          or match.start() < best[0].start()):
                best = (match, rule)
        if best is None:
            break
        match, rule = best
        if "captures" in rule:
            for group, capture in rule["captures"].items():
                if match.group(int(group)) is not None:
                    found[match.group(int(group))] = capture["name"]
        else:
            found[match.group()] = rule["name"]
        pos = match.end()
    return found


def test_grammar_is_json_with_a_scope_name() -> None:
    grammar = _grammar()
    assert grammar["scopeName"] == "source.arch"
    assert "arch" in grammar["fileTypes"]
    for rule in grammar["patterns"]:
        re.compile(rule["match"])  # the patterns stay within what Python and Oniguruma share


def test_grammar_matches_the_registry() -> None:
    sys.path.insert(0, str(EDITORS))
    try:
        import make_grammar
    finally:
        sys.path.remove(str(EDITORS))
    assert GRAMMAR.read_text() == make_grammar.render(), "run: python editors/make_grammar.py"
    vscode = EDITORS / "vscode" / "syntaxes" / "archc.tmLanguage.json"
    assert vscode.read_text() == GRAMMAR.read_text()


def test_scopes_of_keywords_layers_and_names() -> None:
    assert _scopes("network ResNet {  # the net") == {
        "network": "keyword.control.arch", "ResNet": "entity.name.type.arch",
        "# the net": "comment.line.number-sign.arch"}
    scopes = _scopes("    input 3x224x224")
    assert scopes["input"] == "keyword.other.input.arch"
    assert scopes["3x224x224"] == "constant.numeric.dims.arch"
    scopes = _scopes("    stem: conv(64, k=7, p=same) bn relu -> skip")
    assert scopes["stem"] == "entity.name.label.arch"
    assert scopes["conv"] == scopes["bn"] == scopes["relu"] == "support.function.layer.arch"
    assert scopes["k"] == "variable.parameter.arch"
    assert scopes["64"] == "constant.numeric.arch"
    assert scopes["same"] == "constant.language.arch"
    assert scopes["skip"] == "variable.other.tensor.arch"
    scopes = _scopes("    residual { bottleneck(c * 4) } shortcut { }")
    assert scopes["residual"] == scopes["shortcut"] == "keyword.control.arch"
    assert scopes["bottleneck"] == "entity.name.function.call.arch"
    scopes = _scopes('    "layer1.0": residual if w != 64 and in.c > 3 { relu }')
    assert scopes['"layer1.0"'] == "string.quoted.double.label.arch"
    assert scopes["if"] == "keyword.control.arch"
    assert scopes["and"] == "keyword.operator.logical.arch"
    assert scopes["!="] == scopes[">"] == "keyword.operator.comparison.arch"
    assert scopes["in"] == "variable.language.input.arch"
    assert scopes["w"] == "variable.other.arch" and scopes["c"] == "variable.other.member.arch"


def test_vscode_extension_folder() -> None:
    folder = EDITORS / "vscode"
    package = json.loads((folder / "package.json").read_text())
    (language,) = package["contributes"]["languages"]
    assert language["extensions"] == [".arch"]
    assert (folder / language["configuration"]).is_file()
    json.loads((folder / language["configuration"]).read_text())
    (grammar,) = package["contributes"]["grammars"]
    assert grammar["scopeName"] == "source.arch" and (folder / grammar["path"]).is_file()
    assert (folder / package["main"]).is_file()
