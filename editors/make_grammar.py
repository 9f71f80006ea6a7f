"""Write editors/archc.tmLanguage.json, the TextMate grammar for *.arch files.

    python editors/make_grammar.py

Layer kinds come from the registry (archc.layers.REGISTRY), so rerun this after adding one;
tests/test_editors.py fails while the grammar is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
OUT = HERE / "archc.tmLanguage.json"
VSCODE_COPY = HERE / "vscode" / "syntaxes" / "archc.tmLanguage.json"

STRUCTURE = ["network", "block", "defaults", "residual", "shortcut", "concat", "branch", "side",
             "again", "if", "else"]
LOGICAL = ["and", "or", "not"]
CONSTANTS = ["true", "false", "same", "valid"]


def _words(words: list[str]) -> str:
    return r"\b(?:" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + r")\b"


def grammar() -> dict:
    from archc.layers import REGISTRY

    kinds = [name for name, kind in REGISTRY.items() if not kind.internal]
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "archc",
        "scopeName": "source.arch",
        "fileTypes": ["arch"],
        "patterns": [
            {"name": "comment.line.number-sign.arch", "match": "#.*$"},
            {"name": "string.quoted.double.label.arch", "match": r'"[^"\\\n]*"'},
            {"match": r"\b(block|network)\s+([A-Za-z_][A-Za-z0-9_]*)",
             "captures": {"1": {"name": "keyword.control.arch"},
                          "2": {"name": "entity.name.type.arch"}}},
            {"match": r"\b(input)\s+([0-9]+(?:\s*x\s*[0-9]+)*)",
             "captures": {"1": {"name": "keyword.other.input.arch"},
                          "2": {"name": "constant.numeric.dims.arch"}}},
            {"name": "keyword.control.arch", "match": _words(STRUCTURE)},
            {"name": "keyword.operator.logical.arch", "match": _words(LOGICAL)},
            {"match": r"\b(in)(\.)([A-Za-z_][A-Za-z0-9_]*)",
             "captures": {"1": {"name": "variable.language.input.arch"},
                          "3": {"name": "variable.other.member.arch"}}},
            {"match": r"(->)\s*([A-Za-z_][A-Za-z0-9_]*)",
             "captures": {"1": {"name": "keyword.operator.save.arch"},
                          "2": {"name": "variable.other.tensor.arch"}}},
            {"match": r"\b([A-Za-z_][A-Za-z0-9_]*)\s*(:)(?!:)",
             "captures": {"1": {"name": "entity.name.label.arch"},
                          "2": {"name": "punctuation.separator.label.arch"}}},
            {"match": r"\b([A-Za-z_][A-Za-z0-9_]*)\s*(=)(?!=)",
             "captures": {"1": {"name": "variable.parameter.arch"},
                          "2": {"name": "keyword.operator.assignment.arch"}}},
            {"name": "support.function.layer.arch", "match": _words(kinds)},
            {"name": "constant.language.arch", "match": _words(CONSTANTS)},
            {"name": "constant.numeric.arch",
             "match": r"\b[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?\b|\.[0-9]+"},
            {"name": "keyword.operator.comparison.arch", "match": r"==|!=|<=|>=|<|>"},
            {"name": "keyword.operator.arithmetic.arch", "match": r"//|[-+*/]"},
            {"name": "entity.name.function.call.arch",
             "match": r"\b[A-Za-z_][A-Za-z0-9_]*(?=\s*\()"},
            {"name": "variable.other.arch", "match": r"\b[A-Za-z_][A-Za-z0-9_]*\b"},
        ],
    }


def render() -> str:
    return json.dumps(grammar(), indent=2) + "\n"


def main() -> None:
    text = render()
    for path in (OUT, VSCODE_COPY):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
