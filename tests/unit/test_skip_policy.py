"""The skip policy of tests/conftest.py: a run that skips a test for a reason not on the allow-list, or
xfails one without strict=True, exits non-zero and names it; an allow-listed skip and a strict xfail pass."""

from __future__ import annotations

import pytest

from tests.conftest import ALLOWED_SKIPS, SkipPolicy, allowed_skip

pytest_plugins = ["pytester"]

ALLOWED = (r"RLIMIT_AS is POSIX",)


def _run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(test_sample=source)
    return pytester.runpytest("-rs", plugins=[SkipPolicy(ALLOWED)])


def test_an_unexpected_skip_fails_the_run_and_is_named(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import pytest

def test_fine():
    pass

def test_needs_orthanc():
    pytest.skip("Orthanc is not installed")
""",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*= unexpected skips =*",
            "SKIPPED test_sample.py::test_needs_orthanc: Orthanc is not installed",
            "1 test(s) skipped or xfailed unexpectedly: the run fails.*",
        ]
    )


def test_a_skip_in_a_fixture_or_a_skipif_is_caught_too(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import pytest

@pytest.fixture
def display():
    pytest.skip("no DISPLAY")

def test_view(display):
    pass

@pytest.mark.skipif(True, reason="needs root")
def test_namespace():
    pass
""",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "SKIPPED test_sample.py::test_view: no DISPLAY",
            "SKIPPED test_sample.py::test_namespace: needs root",
        ]
    )


def test_a_skipped_module_fails_the_run(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import pytest

schemathesis_like = pytest.importorskip("no_such_module_here")

def test_never_collected():
    pass
""",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SKIPPED test_sample.py: could not import 'no_such_module_here'*"])


def test_an_allow_listed_skip_passes(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import pytest

def test_fine():
    pass

@pytest.mark.skipif(True, reason="RLIMIT_AS is POSIX")
def test_fuzz():
    pass
""",
    )
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)
    assert "unexpected skips" not in result.stdout.str()


def test_an_xfail_that_is_not_strict_fails_the_run_and_a_strict_one_passes(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import pytest

@pytest.mark.xfail(reason="known bug")
def test_loose_fails():
    assert False

@pytest.mark.xfail(reason="maybe fixed")
def test_loose_passes():
    pass

def test_imperative():
    pytest.xfail("not done")

@pytest.mark.xfail(strict=True, reason="pinned")
def test_strict():
    assert False
""",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "SKIPPED test_sample.py::test_loose_fails: XFAIL not strict: known bug",
            "SKIPPED test_sample.py::test_loose_passes: XPASS not strict: maybe fixed",
            "SKIPPED test_sample.py::test_imperative: XFAIL not strict: not done",
            "3 test(s) skipped or xfailed unexpectedly*",
        ]
    )
    assert "test_strict:" not in result.stdout.str()

    only_strict = _run(
        pytester,
        """
import pytest

@pytest.mark.xfail(strict=True, reason="pinned")
def test_strict():
    assert False
""",
    )
    assert only_strict.ret == pytest.ExitCode.OK


def test_a_real_failure_keeps_its_exit_status(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
import pytest

def test_broken():
    assert False

def test_skipped():
    pytest.skip("Orthanc is not installed")
""",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SKIPPED test_sample.py::test_skipped: Orthanc is not installed"])


def test_the_project_allow_list_is_tiny_and_matches_whole_reasons() -> None:
    assert len(ALLOWED_SKIPS) <= 3
    assert allowed_skip("RLIMIT_AS is POSIX")
    assert not allowed_skip("RLIMIT_AS is POSIX, and Orthanc is not installed")
    assert not allowed_skip("Orthanc is not installed (Debian package orthanc)")
