"""The suite's rules about itself (tests/conftest.py), run on a throw-away suite: a skip for
anything but absent hardware fails, and the summary counts tests by kind."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

pytest_plugins = ["pytester"]

SUITE = """
import pytest

def test_needs_a_missing_package():
    pytest.importorskip("archc_no_such_package")

@pytest.mark.skipif(True, reason="an optional tool is not installed")
def test_skipif_for_a_tool():
    pass

@pytest.mark.hardware
@pytest.mark.skipif(True, reason="no CUDA device")
def test_needs_a_gpu():
    pass

@pytest.mark.xfail(strict=True, reason="waits for another change")
def test_expected_failure():
    assert False

@pytest.mark.independent
@pytest.mark.parametrize("n", [1, 2])
def test_hand_arithmetic(n):
    assert n * 2 == n + n

@pytest.mark.fuzz
def test_a_property():
    pass
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest((ROOT / "tests/conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_inner=SUITE)
    return pytester


def test_only_hardware_may_skip(inner: pytest.Pytester):
    result = inner.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, skipped=1, failed=1, errors=1, xfailed=1)
    result.stdout.fnmatch_lines([
        "*only hardware-dependent tests may skip*",
        "skipped: test_inner.py::test_needs_a_gpu: no CUDA device",
        "tests by kind: 2 check numbers against independent sources, 1 fuzz or property cases, "
        "4 other*",
    ])
    assert "archc_no_such_package" in result.stdout.str()


def test_allow_skips_reports_instead(inner: pytest.Pytester):
    result = inner.runpytest("-p", "no:randomly", "-p", "no:cacheprovider", "--allow-skips")
    result.assert_outcomes(passed=3, skipped=3, xfailed=1)


def test_a_module_skipped_at_import_fails(pytester: pytest.Pytester):
    pytester.makeconftest((ROOT / "tests/conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_module='import pytest\npytest.importorskip("archc_nothing")\n'
                                    "def test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
