"""`archc render`: geometry (nothing overlaps, nothing cut), values in the picture from the
specs' published and hand-worked figures, errors drawn up to the failure, golden DOT/Mermaid."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import archc
from archc.cli import main
from archc.layers import REGISTRY
from archc.layers.base import LayerKind
from archc.render import expanded_ids, render_source
from archc.render.layout import CHAR_W, PAD, Layout
from archc.render.scene import build_scene
from archc.render.svg import lines
from tests.conftest import ROOT, spec_paths

SPECS = spec_paths()
X = "\N{MULTIPLICATION SIGN}"  # as the pictures write 56x56


def scene_of(path, direction="TB"):
    model = archc.load(path)
    return build_scene(model.expanded, model.built, model.analysis, direction=direction)


def layout_of(scene, expand=None):
    lay = Layout(scene, expanded_ids(scene, expand), lines)
    return lay, lay.picture()


def _overlap(a, b, eps=0.5) -> bool:
    return (a[0] < b[0] + b[2] - eps and b[0] < a[0] + a[2] - eps
            and a[1] < b[1] + b[3] - eps and b[1] < a[1] + a[3] - eps)


def _contains(outer, inner, eps=0.5) -> bool:
    return (outer[0] - eps <= inner[0] and outer[1] - eps <= inner[1]
            and inner[0] + inner[2] <= outer[0] + outer[2] + eps
            and inner[1] + inner[3] <= outer[1] + outer[3] + eps)


def geometry_problems(pic) -> list[str]:
    """Pairs of rectangles (boxes, tensor labels) that overlap without one being an open group
    that holds the other; text lines wider than their box."""
    rects = [((b.x, b.y - 6, b.w + 6, b.h + 6) if b.item.repeat and not b.expanded  # the stack
              else (b.x, b.y, b.w, b.h), b.expanded, b.item.id) for b in pic.boxes]
    rects += [((lb.x - lb.w / 2, lb.y - lb.h / 2, lb.w, lb.h), False, f"label {lb.text}")
              for lb in pic.labels]
    rects.sort(key=lambda r: r[0][0])
    problems = []
    for i, (a, a_open, a_id) in enumerate(rects):
        for b, b_open, b_id in rects[i + 1:]:
            if b[0] >= a[0] + a[2]:
                break  # sorted by left edge: nothing further right can touch `a`
            if _overlap(a, b) and not (a_open and _contains(a, b)) \
                    and not (b_open and _contains(b, a)):
                problems.append(f"{a_id} overlaps {b_id}")
    for box in pic.boxes:
        for text, _ in lines(box.item, box.expanded):
            if len(text) * CHAR_W + PAD > box.w + 0.01:
                problems.append(f"{box.item.id}: {text!r} is cut")
    return problems


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
@pytest.mark.parametrize("expand", [None, "all"])
def test_every_spec_lays_out_without_overlaps(path, expand):
    scene = scene_of(path)
    drawn = [i for i in scene.root.walk() if i.node is not None and i.role != "input"]
    assert len(drawn) == len(archc.load(path).layers)  # every layer has its box
    _, pic = layout_of(scene, expand)
    assert pic.boxes
    assert geometry_problems(pic) == []


@pytest.mark.parametrize("name", ["googlenet_aux", "resnet18", "unet_small"])
def test_left_to_right_lays_out_without_overlaps(name):
    path = next(p for p in SPECS if p.stem == name)
    for expand in (None, "all"):
        _, pic = layout_of(scene_of(path, "LR"), expand)
        assert geometry_problems(pic) == []
        assert pic.width > pic.height  # it does run left to right


def test_geometry_check_catches_an_overlap():
    """The check above can fail: move one box onto its neighbour."""
    _, pic = layout_of(scene_of(ROOT / "examples/lenet5.arch"))
    pic.boxes[2].y = pic.boxes[1].y
    assert any("overlaps" in p for p in geometry_problems(pic))


def test_resnet152_collapsed_fits_on_one_screen():
    svg = archc.render(archc.load(ROOT / "specs/resnet152.arch"), "svg")
    width, height = map(float, re.search(r'width="(\d+)" height="(\d+)"', svg).groups())
    assert width <= 1920 and height <= 1080
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        assert f"▸ {stage}" in svg


def test_inception_subtotals_are_the_seed_figures():
    """examples/inception.arch's header: 163,696 parameters and 128,049,152 MACs (seeds E46);
    the 1x1 in front of the 5x5 saves 120,422,400 / 12,443,648 = 9.7x (seeds E44/E45)."""
    scene = scene_of(ROOT / "examples/inception.arch")
    block = next(i for i in scene.root.walk() if i.role == "block")
    assert (block.params, block.macs) == (163_696, 128_049_152)
    assert block.bottlenecks == 2
    svg = archc.render(archc.load(ROOT / "examples/inception.arch"), "svg", expand="all")
    assert f"1{X}1 bottleneck: 9.7{X} fewer MACs" in svg
    assert f"192ch · 28{X}28" in svg and f"256ch · 28{X}28" in svg


def test_repeats_collapse_to_one_box_with_subtotals():
    """ResNet-50's layer1 = bottleneck_down(64, s=1) + bottleneck(64) x 2. By hand, one
    bottleneck(64): 1x1 256->64 (16,384) + BN 128 + 3x3 64->64 (36,864) + BN 128
    + 1x1 64->256 (16,384) + BN 512 = 70,400 parameters; two of them 140,800."""
    scene = scene_of(ROOT / "specs/resnet50.arch")
    layer1 = next(i for i in scene.root.children if i.name == "layer1")
    repeat = next(i for i in layer1.children if i.role == "repeat")
    assert repeat.repeat == 2 and repeat.kind == "bottleneck"
    assert repeat.params == 140_800
    svg = archc.render(archc.load(ROOT / "specs/resnet50.arch"), "svg", expand="layer1")
    assert f"bottleneck {X} 2" in svg
    # all 16 residual sums (3 + 4 + 6 + 3 blocks) are merges, whatever their kind is called
    merges = [i for i in scene.root.walk() if i.role == "merge"]
    assert len(merges) == 16 and all(len(m.inputs) == 2 for m in merges)


def test_totals_match_the_published_figures():
    scene = scene_of(ROOT / "specs/resnet50.arch")  # reference-figures.md
    assert (scene.root.params, scene.root.macs) == (25_557_032, 4_089_184_256)


def test_side_outputs_are_distinct():
    svg = archc.render(archc.load(ROOT / "specs/googlenet_aux.arch"), "svg", expand="aux1")
    assert svg.count('class="edge side"') >= 2  # into aux1 (open) and aux2 (closed)
    assert "aux1 (side output)" in svg
    assert 'class="box side' in svg


def test_expand_by_instance_or_by_block_definition():
    scene = scene_of(ROOT / "specs/resnet50.arch")
    by_name = {scene.items[i].name for i in expanded_ids(scene, ["layer3"])}
    assert by_name == {"layer3", scene.root.name}
    by_block = {scene.items[i].name for i in expanded_ids(scene, ["bottleneck_down"])}
    assert {"layer1.0", "layer2.0", "layer3.0", "layer4.0"} <= by_block
    assert {"layer1", "layer4"} <= by_block  # opened around them, to be seen


def test_a_new_layer_kind_is_drawn_without_special_cases(monkeypatch):
    """A kind the renderer has never heard of: its name, its counts, merge by input count."""

    class Twist(LayerKind):
        name = "twist"
        takes_tensors = True

        def params(self, args, inputs):
            return 7

    monkeypatch.setitem(REGISTRY, "twist", Twist())
    model = archc.loads("network T {\n input 4x8x8\n conv(4, k=1) -> a\n relu\n twist(a)\n}\n")
    svg = archc.render(model, "svg")
    assert "twist" in svg and "7 params" in svg
    assert 'class="box merge' in svg


BROKEN = "network Broken {\n  input 3x32x32\n  conv(16, k=3) relu\n  conv(8, k=40)\n  relu\n" \
         "  linear(10)\n}\n"


def test_a_broken_spec_is_drawn_up_to_the_error():
    result = render_source(BROKEN, "broken.arch", "svg")
    assert not result.ok
    assert "conv kernel 40 is larger than the padded input" in result.text
    assert 'class="box layer error"' in result.text
    assert "relu1" in result.text and "linear" not in result.text  # nothing after the error
    mermaid = render_source(BROKEN, "broken.arch", "mermaid").text
    assert "E201" in mermaid and "linear" not in mermaid


def test_cli_render_writes_the_picture_and_exits_1_on_errors(tmp_path):
    spec = tmp_path / "broken.arch"
    spec.write_text(BROKEN)
    out = tmp_path / "broken.svg"
    result = CliRunner().invoke(main, ["render", str(spec), "-o", str(out)])
    assert result.exit_code == 1
    assert "error[E201]" in result.output and "Traceback" not in result.output
    assert "conv kernel 40" in out.read_text()
    syntax = tmp_path / "syntax.arch"
    syntax.write_text("network S {\n  input 3x8x8\n  conv(4 k=3)\n}\n")
    for fmt in ("dot", "mermaid", "svg", "html"):  # nothing to draw but the message
        result = CliRunner().invoke(main, ["render", str(syntax), "--format", fmt])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.output.count("E001") == 2, fmt  # on stderr, and in the picture


def test_cli_formats_from_the_suffix(tmp_path):
    spec = str(ROOT / "examples/lenet5.arch")
    for suffix, start in ((".svg", "<svg"), (".html", "<!DOCTYPE html>"), (".dot", "digraph"),
                          (".mmd", "flowchart TB")):
        out = tmp_path / f"lenet{suffix}"
        result = CliRunner().invoke(main, ["render", spec, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_text().startswith(start)
    result = CliRunner().invoke(main, ["render", spec, "--direction", "LR", "--format", "dot"])
    assert "rankdir=LR;" in result.output


def test_png_needs_no_system_package(tmp_path):
    out = tmp_path / "lenet.png"
    result = CliRunner().invoke(main, ["render", str(ROOT / "examples/lenet5.arch"), "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    # the text is drawn (resvg finds a font): the same picture without its text differs
    from archc.render import svg_to_png

    svg = archc.render(archc.load(ROOT / "examples/lenet5.arch"), "svg")
    assert svg_to_png(re.sub(r"<text[^>]*>[^<]*</text>", "", svg)) != data


def test_html_is_self_contained():
    page = archc.render(archc.load(ROOT / "specs/googlenet.arch"), "html")
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}


def test_notebook_gets_the_svg_inline():
    model = archc.load(ROOT / "examples/lenet5.arch")
    assert model._repr_svg_().startswith("<svg")
    assert "<svg" in model._repr_html_()
    assert archc.render(model, "svg") == model._repr_svg_()


@pytest.mark.parametrize("spec,fmt,expand", [
    ("examples/inception", "dot", "all"), ("examples/inception", "mermaid", "all"),
    ("examples/unet_small", "dot", None), ("examples/unet_small", "mermaid", None),
    ("examples/resnet", "mermaid", None),
    ("specs/googlenet_aux", "dot", "aux1"), ("specs/googlenet_aux", "mermaid", "aux1"),
])
def test_golden_text_diagrams(golden, spec, fmt, expand):
    model = archc.load(ROOT / f"{spec}.arch")
    suffix = {"dot": "dot", "mermaid": "mmd"}[fmt]
    name = spec.split("/")[1] + (f"_{expand}" if expand else "")
    golden(f"render/{name}.{suffix}", archc.render(model, fmt, expand))


def test_mermaid_escapes_what_it_would_parse():
    from archc.render.text import _mermaid_text

    assert _mermaid_text('a"b<c>&') == "a#quot;b#lt;c#gt;#amp;"


def test_readme_picture_is_what_the_documented_command_makes(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"`archc render (\S+) -o docs/googlenet\.svg([^`]*)`", readme)
    assert command is not None and "(docs/googlenet.svg)" in readme
    out = tmp_path / "googlenet.svg"
    args = ["render", str(ROOT / command.group(1)), "-o", str(out), *command.group(2).split()]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert out.read_text() == (ROOT / "docs/googlenet.svg").read_text(), (
        "docs/googlenet.svg is stale: run the command in the README's render section")


def test_an_error_inside_a_closed_block_marks_the_block():
    text = ("block b(c) {\n  conv(c, k=3)\n  conv(c, k=9)\n}\n"
            "network N {\n  input 3x8x8\n  stem: b(4)\n  fc: linear(2)\n}\n")
    result = render_source(text, "n.arch", "svg")
    assert not result.ok
    assert '<g class="box block error"' in result.text
    assert "conv kernel 9 is larger" in result.text and "fc" not in result.text.split("</style>")[1]
    opened = render_source(text, "n.arch", "svg", expand="stem").text
    assert '<g class="box layer error"' in opened  # the failing layer itself, once opened


def test_expanding_an_unknown_block_is_a_usage_error():
    result = CliRunner().invoke(main, ["render", str(ROOT / "specs/resnet50.arch"), "--expand",
                                       "layer9"])
    assert result.exit_code == 2
    assert "no block named layer9" in result.output and "layer4" in result.output
