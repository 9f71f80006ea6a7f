"""Shared fixtures: golden files (regenerate with `pytest --update-golden`, review the diff).

Also the suite's two rules about itself:
- after the README's set-up (`pip install -e ".[test]"` beside torch) nothing may skip but a
  test marked `hardware` whose hardware is absent: any other skip is reported as a failure
  of the set-up (`--allow-skips` lets a deliberately partial environment run);
- a test that checks numbers against an independent source is marked `independent`, a fuzz or
  property case `fuzz` (markers below); the last line of a run counts them, and the README's
  count comes from that line.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"

MARKERS = {
    "independent": "checks numbers against an independent source: published figures, hand "
                   "arithmetic written in the test, or PyTorch counting or running the emitted "
                   "module",
    "fuzz": "random, generated or mutated input (property and fuzz cases)",
    "hardware": "needs hardware that may be absent (CUDA); the only tests that may skip",
}
KINDS = Counter()  # independent / fuzz / other -> collected tests


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/* from the current output instead of comparing")
    parser.addoption("--allow-skips", action="store_true",
                     help="report skips of non-hardware tests instead of failing them "
                          "(an environment without the README's set-up, e.g. without torch)")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def pytest_collection_finish(session: pytest.Session) -> None:
    KINDS.clear()
    for item in session.items:  # what runs, after -k/-m deselection
        kinds = [k for k in ("independent", "fuzz") if item.get_closest_marker(k)]
        KINDS[kinds[0] if kinds else "other"] += 1


def _set_up_failure(reason: str) -> str:
    return (f"skipped ({reason}), but after the README's set-up only hardware-dependent tests "
            "may skip: install what is missing (pip install -e \".[test]\" beside torch), or "
            "mark the test `hardware` if it needs a device; --allow-skips for a partial "
            "environment")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker("hardware") is None
            and not item.config.getoption("--allow-skips")):
        report.outcome = "failed"
        report.longrepr = _set_up_failure(_skip_reason(report))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """A whole module skipped at import (`pytest.importorskip` at the top) is a failure too."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not collector.config.getoption("--allow-skips"):
        report.outcome = "failed"
        report.longrepr = _set_up_failure(_skip_reason(report))


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    for report in terminalreporter.stats.get("skipped", []):
        if not hasattr(report, "wasxfail"):
            terminalreporter.write_line(f"skipped: {report.nodeid}: {_skip_reason(report)}")
    if KINDS:
        terminalreporter.write_line(
            f"tests by kind: {KINDS['independent']} check numbers against independent "
            f"sources, {KINDS['fuzz']} fuzz or property cases, {KINDS['other']} other "
            "(errors, formats, lint rules, CLI, limits)")


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """`golden("codegen/lenet5.py", text)` compares text with the stored file."""
    update = request.config.getoption("--update-golden")

    def check(relative: str, text: str) -> None:
        path = GOLDEN / relative
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8"), (
            f"{relative} differs from its golden file; if the change is intended, run "
            "`pytest --update-golden` and review the diff")

    return check


def spec_paths(with_test_data: bool = False) -> list[Path]:
    """The zoo and the examples; with_test_data adds tests/data/*.arch (not linted)."""
    data = sorted((ROOT / "tests/data").glob("*.arch")) if with_test_data else []
    return sorted([*ROOT.glob("specs/*.arch"), *ROOT.glob("examples/*.arch")]) + data
