"""`include "file.arch"`: blocks shared between spec files (archc/include.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import archc
from archc.cli import main
from archc.errors import ArchcError
from archc.fmt import format_text

BLOCKS = "block unit(c) {\n    conv(c, k=3, p=1) relu\n}\n"
NET = "network N {{\n    input 3x8x8\n    {body}\n}}\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes(exc: pytest.ExceptionInfo) -> list[tuple[str, str, int, int]]:
    return [(d.code.value, Path(d.span.file).name, d.span.line, d.span.col)
            for d in exc.value.diagnostics]


def test_included_blocks_count_like_local_ones(tmp_path):
    write(tmp_path, "lib/blocks.arch", BLOCKS)
    spec = write(tmp_path, "net.arch", 'include "lib/blocks.arch"\n\n'
                 + NET.format(body="unit(4) unit(8)"))
    model = archc.load(spec)
    # conv 3->4: 3*9*4+4 = 112; conv 4->8: 4*9*8+8 = 296 (hand arithmetic)
    assert model.totals.params == 112 + 296
    assert [row.name for row in model.layers][:2] == ["unit1.conv1", "unit1.relu1"]


def test_includes_are_transitive_and_each_file_counts_once(tmp_path):
    write(tmp_path, "base.arch", BLOCKS)
    write(tmp_path, "a.arch", 'include "base.arch"\nblock a(c) { unit(c) }\n')
    write(tmp_path, "b.arch", 'include "base.arch"\nblock b(c) { unit(c) }\n')
    spec = write(tmp_path, "net.arch", 'include "a.arch"\ninclude "b.arch"\n\n'
                 + NET.format(body="a(4) b(4)"))
    assert archc.load(spec).totals.params == 112 + (4 * 9 * 4 + 4)  # a diamond: no E106


def test_blocks_come_in_with_their_defaults_networks_do_not(tmp_path):
    write(tmp_path, "lib.arch", "defaults { conv(bias=false) }\n" + BLOCKS
          + NET.format(body="unit(4)").replace("network N", "network Lib"))
    spec = write(tmp_path, "net.arch", 'include "lib.arch"\n\n'
                 + NET.format(body="unit(4) conv(2, k=1)"))
    model = archc.load(spec)
    assert model.expanded.name == "N"
    # unit's conv keeps lib's bias=false (3*9*4 = 108); net's own conv keeps its bias (4*2+2)
    assert model.totals.params == 108 + 10
    both = write(tmp_path, "both.arch", 'include "lib.arch"\ndefaults { conv(bias=true) }\n'
                 + NET.format(body="unit(4)"))
    assert archc.load(both).totals.params == 108  # lib's bias=false wins inside its block
    with pytest.raises(ArchcError) as exc:
        archc.load(spec, network="Lib")
    assert codes(exc)[0][0] == "E110"


@pytest.mark.parametrize(("line", "message"), [
    ('include "missing.arch"', "no such file"),
    ('include "../outside.arch"', "leaves the spec's directory"),
    ('include "/etc/passwd"', "not a relative path"),
    ('include ""', "not a relative path"),
])
def test_bad_includes_are_located_errors(tmp_path, line, message):
    write(tmp_path, "outside.arch", BLOCKS)
    spec = write(tmp_path, "inner/net.arch", f"# header\n{line}\n" + NET.format(body="relu"))
    with pytest.raises(ArchcError) as exc:
        archc.load(spec)
    assert codes(exc) == [("E114", "net.arch", 2, 1)]
    assert message in exc.value.diagnostics[0].message


def test_symlink_cannot_escape(tmp_path):
    write(tmp_path, "secret.arch", BLOCKS)
    (tmp_path / "inner").mkdir()
    os.symlink(tmp_path / "secret.arch", tmp_path / "inner" / "link.arch")
    spec = write(tmp_path, "inner/net.arch", 'include "link.arch"\n' + NET.format(body="unit(4)"))
    with pytest.raises(ArchcError) as exc:
        archc.load(spec)
    assert codes(exc) == [("E114", "net.arch", 1, 1)]


def test_an_included_file_cannot_escape_either(tmp_path):
    write(tmp_path, "top/lib/blocks.arch", 'include "../../outside.arch"\n')
    write(tmp_path, "outside.arch", BLOCKS)
    spec = write(tmp_path, "top/net.arch", 'include "lib/blocks.arch"\n' + NET.format(body="relu"))
    with pytest.raises(ArchcError) as exc:
        archc.load(spec)
    assert codes(exc) == [("E114", "blocks.arch", 1, 1)]


def test_cycles_are_errors(tmp_path):
    write(tmp_path, "a.arch", 'include "b.arch"\n' + BLOCKS)
    write(tmp_path, "b.arch", 'include "a.arch"\n')
    spec = write(tmp_path, "net.arch", 'include "a.arch"\n' + NET.format(body="unit(4)"))
    with pytest.raises(ArchcError) as exc:
        archc.load(spec)
    assert codes(exc) == [("E114", "b.arch", 1, 1)]
    assert "a.arch -> b.arch -> a.arch" in exc.value.diagnostics[0].message
    itself = write(tmp_path, "self.arch", 'include "self.arch"\n' + NET.format(body="relu"))
    with pytest.raises(ArchcError) as exc:
        archc.load(itself)
    assert codes(exc) == [("E114", "self.arch", 1, 1)]


def test_syntax_errors_point_into_the_included_file(tmp_path):
    write(tmp_path, "lib.arch", "block unit(c) {\n    conv(c k=3)\n}\n")
    spec = write(tmp_path, "net.arch", 'include "lib.arch"\n' + NET.format(body="unit(4)"))
    with pytest.raises(ArchcError) as exc:
        archc.load(spec)
    assert codes(exc)[0][:3] == ("E001", "lib.arch", 2)


def test_cli_check_lint_and_fmt(tmp_path):
    write(tmp_path, "lib.arch", BLOCKS + NET.format(body="unit(4)").replace("N {", "Lib {"))
    text = 'include "lib.arch"\ninclude  "lib.arch"\nnetwork N { input 3x8x8 unit(4) }\n'
    spec = write(tmp_path, "net.arch", text)
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(spec)])
    assert result.exit_code == 0 and "112 params" in result.output, result.output
    result = runner.invoke(main, ["lint", str(spec), str(tmp_path / "lib.arch")])
    assert result.exit_code == 0, result.output  # no L002 for blocks used by an includer
    assert format_text(text) == ('include "lib.arch"\ninclude "lib.arch"\n\n'
                                 "network N {\n    input 3x8x8\n    unit(4)\n}\n")
    missing = write(tmp_path, "bad.arch", 'include "nope.arch"\n' + NET.format(body="relu"))
    result = runner.invoke(main, ["lint", str(missing)])
    assert result.exit_code == 1 and "bad.arch:1:1: error[E114]" in result.output


def test_zoo_families_share_their_blocks():
    """The family members hold no block of their own: they include the family's file."""
    specs = Path(__file__).resolve().parent.parent / "specs"
    for name in ("resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2"):
        spec = archc.parse.parse_text((specs / f"{name}.arch").read_text(), name)
        assert spec.blocks == [] and [i.path for i in spec.includes] == ["resnet50.arch"]
