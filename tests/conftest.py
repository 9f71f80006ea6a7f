"""Shared fixtures: golden files (regenerate with `pytest --update-golden`, review the diff)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/* from the current output instead of comparing")


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
