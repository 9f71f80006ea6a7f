"""The HTML page as a person sees it: Debian's chromium, driven by playwright, opens the page
offline, a block is clicked open, a node hovered, a name searched, screenshots taken.

Needs `chromium` (apt-get install chromium; .ci/run installs it) and playwright (the test
extra). Playwright's own browser download cannot work here, so the system binary is used; when
either is missing these tests FAIL, they do not skip. ARCHC_CHROMIUM names another binary;
ARCHC_SCREENSHOTS names a folder to keep the screenshots in.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import archc
from tests.conftest import ROOT


def _chromium() -> str:
    found = os.environ.get("ARCHC_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium not found: `apt-get install -y chromium` (or set ARCHC_CHROMIUM);"
                    " the HTML page must be tested in a real browser", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright missing: pip install -e '.[test]'", pytrace=False)
    binary = _chromium()
    with sync_playwright() as p:
        # --headless=new: the old headless mode of this chromium hangs on screenshots
        launched = p.chromium.launch(executable_path=binary,
                                     args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path):
    keep = os.environ.get("ARCHC_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, spec: str, tmp_path, **options):
    html = archc.render(archc.load(ROOT / spec), "html", **options)
    path = tmp_path / (Path(spec).stem + ".html")
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("g[data-id]")
    return page, requests, errors


def boxes(page) -> dict[str, dict]:
    """Every drawn box: its screen rectangle, open or not, and its widest text."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '#viewport g[data-id]')].map(g => {
            const r = g.querySelector('rect.f').getBoundingClientRect();
            const texts = [...g.querySelectorAll(':scope > text')].map(
                t => t.getBoundingClientRect());
            return [g.dataset.id, {x: r.x, y: r.y, w: r.width, h: r.height,
                open: g.classList.contains('open'),
                text: g.querySelector('text').textContent,
                textLeft: Math.min(...texts.map(t => t.x)),
                textRight: Math.max(...texts.map(t => t.x + t.width))}];
        }))""")


def assert_readable(found: dict[str, dict]) -> None:
    """As the browser measured it: no text sticks out of its box, no two closed boxes
    overlap (open groups hold their children)."""
    for ident, b in found.items():
        assert b["textLeft"] >= b["x"] - 0.5 and b["textRight"] <= b["x"] + b["w"] + 0.5, (
            f"text of {ident} ({b['text']!r}) is cut")
    closed = sorted((b for b in found.values() if not b["open"]), key=lambda b: b["x"])
    for i, a in enumerate(closed):
        for b in closed[i + 1:]:
            if b["x"] >= a["x"] + a["w"]:
                break
            overlap = (a["x"] < b["x"] + b["w"] - 0.5 and b["x"] < a["x"] + a["w"] - 0.5
                       and a["y"] < b["y"] + b["h"] - 0.5 and b["y"] < a["y"] + a["h"] - 0.5)
            assert not overlap, f"{a['text']!r} overlaps {b['text']!r}"


def test_click_opens_a_block_and_hover_shows_its_row(browser, tmp_path, shots):
    page, requests, errors = open_page(browser, "specs/googlenet_aux.arch", tmp_path)
    before = boxes(page)
    assert not any(b["open"] for b in before.values())
    assert any(b["text"].startswith("▸ inception4a") for b in before.values())
    assert_readable(before)
    page.screenshot(path=str(shots / "googlenet_aux_collapsed.png"))

    page.click("#viewport g.block >> text=inception4a")
    after = boxes(page)
    assert len(after) > len(before) + 4  # the module's branches are drawn now
    group = next(b for b in after.values() if b["text"].startswith("▾ inception4a"))
    assert group["open"]
    branches = [b for b in after.values() if "branch" in b["text"]]
    assert len(branches) >= 4
    for b in branches:  # drawn inside the opened block
        assert group["x"] <= b["x"] and b["x"] + b["w"] <= group["x"] + group["w"] + 0.5
        assert group["y"] <= b["y"] and b["y"] + b["h"] <= group["y"] + group["h"] + 0.5
    assert_readable(after)

    page.hover("#viewport g.block >> text=conv1")
    tip = page.inner_text("#tip")
    assert page.is_visible("#tip")
    # torchvision's BasicConv2d(3, 64, k=7): 7*7*3*64 + BN 2*64 = 9,536 parameters; MACs
    # 112*112*64*7*7*3 = 118,013,952 (the conv; BN and ReLU count none)
    assert "params: 9,536" in tip and "MACs: 118,013,952" in tip
    assert "output: 64ch · 112\N{MULTIPLICATION SIGN}112" in tip and "line: " in tip
    page.screenshot(path=str(shots / "googlenet_aux_inception4a_open.png"))

    page.click("#viewport g.block.open >> text=inception4a")  # and closed again
    assert len(boxes(page)) == len(before)
    assert errors == []
    assert all(url.startswith("file:") for url in requests)  # offline: nothing fetched


def test_search_finds_names_inside_closed_blocks(browser, tmp_path, shots):
    page, _, errors = open_page(browser, "specs/resnet50.arch", tmp_path)
    page.fill("#search", "layer3.4.conv2")
    assert page.inner_text("#found") == "1 found, 0 shown"
    page.press("#search", "Enter")  # opens the blocks around it
    assert page.inner_text("#found") == "1 found, 1 shown"
    hit = page.query_selector("#viewport g.hit")
    assert hit is not None and "conv2" in hit.text_content()
    box = hit.bounding_box()
    assert 0 <= box["x"] <= 1400 and 0 <= box["y"] <= 900  # centred in view
    assert_readable(boxes(page))
    page.screenshot(path=str(shots / "resnet50_search.png"))
    assert errors == []


def test_zoom_and_pan(browser, tmp_path):
    page, _, _ = open_page(browser, "specs/resnet152.arch", tmp_path, expand="all")
    start = page.evaluate("window.archc.view()")
    page.mouse.move(700, 500)
    page.mouse.wheel(0, -400)
    zoomed = page.evaluate("window.archc.view()")
    assert zoomed["k"] > start["k"]
    page.mouse.move(700, 500)
    page.mouse.down()
    page.mouse.move(600, 400, steps=4)
    page.mouse.up()
    panned = page.evaluate("window.archc.view()")
    assert (panned["x"], panned["y"]) == pytest.approx((zoomed["x"] - 100, zoomed["y"] - 100))


def test_an_error_is_shown_on_the_page(browser, tmp_path, shots):
    from archc.render import render_source

    text = "network Broken {\n  input 3x32x32\n  conv(16, k=3) relu\n  conv(8, k=40)\n}\n"
    path = tmp_path / "broken.html"
    path.write_text(render_source(text, "broken.arch", "html").text, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1000, "height": 600})
    page.goto(path.as_uri())
    page.wait_for_selector("g.error")
    assert "conv kernel 40 is larger" in page.text_content("g.banner")
    assert "conv2" in page.text_content("g.error")
    page.screenshot(path=str(shots / "broken.png"))
    page.set_content("")  # a syntax error: nothing to draw but the message
    path.write_text(render_source("network S {\n  input 3x8x8\n  conv(4 k=3)\n}\n", "s.arch",
                                  "html").text, encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_selector("g.banner")
    assert "error[E001]" in page.text_content("g.banner")


@pytest.mark.parametrize("spec,direction,expand", [
    ("specs/googlenet_aux.arch", "TB", ["aux1", "inception3a"]),
    ("examples/unet_small.arch", "LR", "all"),
    ("specs/resnet18.arch", "TB", "all"),
])
def test_the_page_places_boxes_where_the_svg_does(browser, tmp_path, spec, direction, expand):
    """page.js re-implements layout.py's placement: same boxes, same places."""
    import re

    model = archc.load(ROOT / spec)
    svg = archc.render(model, "svg", expand, direction)
    want = {m[0]: (float(m[1]), float(m[2])) for m in re.findall(
        r'<g class="box [^"]*" data-id="([^"]+)" transform="translate\(([-\d.]+),([-\d.]+)\)"',
        svg)}
    page, _, errors = open_page(browser, spec, tmp_path, expand=expand, direction=direction)
    got = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '#viewport g[data-id]')].map(g => [g.dataset.id,
        g.getAttribute('transform').match(/[-\\d.]+/g).map(Number)]))""")
    assert set(got) == set(want) and errors == []
    for ident, (x, y) in want.items():
        assert got[ident] == pytest.approx([x, y], abs=0.2), ident
