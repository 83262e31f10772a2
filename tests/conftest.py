"""Test isolation: every test gets its own user folders, no site file, English, and the right Qt platform."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from backend.server import EmbeddedServer

# VTK views need a real X server (make test runs pytest under xvfb-run); plain widgets run anywhere.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Skips a run may report. Any other skip, and any xfail that is not strict, fails the run (SkipPolicy
# below): under `make test` nothing a user needs may go untested without a word. Each entry is a
# regular expression the skip's reason must match in full, with why it can never apply to a run here.
ALLOWED_SKIPS: tuple[str, ...] = (
    # tests/unit/test_dicom_fuzz.py caps the child's memory with setrlimit(RLIMIT_AS), which Windows
    # has not; on Linux and macOS the test always runs.
    r"RLIMIT_AS is POSIX",
    # tests/unit/test_dicom_compressed.py: the shared-memory decoder pool is built on /dev/shm and
    # /proc/PID/fd, which only Linux has; on Linux the tests always run.
    r"the shared-memory decoder pool is Linux-only",
)


def skip_reason(longrepr: object) -> str:
    """The reason pytest recorded for a skip (``(path, line, "Skipped: reason")``)."""
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return str(text).removeprefix("Skipped: ")


def allowed_skip(reason: str, allowed: tuple[str, ...] = ALLOWED_SKIPS) -> bool:
    return any(re.fullmatch(pattern, reason) for pattern in allowed)


class SkipPolicy:
    """Fails the session when a test was skipped for a reason not in ``allowed``, or marked xfail
    without ``strict=True`` (an xfail that is not strict passes either way, so it checks nothing);
    lists each with its reason at the end of the run."""

    def __init__(self, allowed: tuple[str, ...] = ALLOWED_SKIPS) -> None:
        self.allowed = allowed
        self.unexpected: list[tuple[str, str]] = []

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield  # tryfirst: the outermost wrapper, so pytest's xfail handling has run
        if hasattr(report, "wasxfail"):
            marker = item.get_closest_marker("xfail")
            strict = marker is not None and bool(
                marker.kwargs.get("strict", item.config.getini("xfail_strict"))
            )
            if not strict:
                outcome = "XPASS" if report.passed else "XFAIL"
                self.unexpected.append((report.nodeid, f"{outcome} not strict: {report.wasxfail}"))
        elif report.skipped:
            self._skipped(report.nodeid, skip_reason(report.longrepr))
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:  # a whole module: pytest.skip(allow_module_level=True), importorskip
            self._skipped(report.nodeid, skip_reason(report.longrepr))

    def _skipped(self, nodeid: str, reason: str) -> None:
        if not allowed_skip(reason, self.allowed):
            self.unexpected.append((nodeid, reason))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.unexpected and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.unexpected:
            return
        terminalreporter.section("unexpected skips", sep="=", red=True, bold=True)
        for nodeid, reason in self.unexpected:
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)
        terminalreporter.line(
            f"{len(self.unexpected)} test(s) skipped or xfailed unexpectedly: the run fails. Install or "
            "provide what the reason names, or, only for a skip that can never apply here, add its "
            "reason to ALLOWED_SKIPS in tests/conftest.py with a comment saying why.",
            red=True,
        )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipPolicy(), "teleconsult-skip-policy")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("xvfb") is not None and not os.environ.get("DISPLAY"):
        pytest.fail(
            "VTK in Qt needs an X display: run under xvfb-run (make test does), "
            "e.g. dbus-run-session -- xvfb-run -a .venv/bin/pytest ...; Xvfb: apt install xvfb xauth "
            "(scripts/system-deps.sh)",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "teleconsult-home"
    monkeypatch.setenv("TELECONSULT_HOME", str(home))
    monkeypatch.delenv("TELECONSULT_SITE_CONFIG", raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """The real backend with the demo users, on SQLite, on a fixed loopback port (so it can restart there)."""
    from backend.server import EmbeddedServer
    from tests.helpers import free_port

    srv = EmbeddedServer(f"sqlite:///{tmp_path / 'backend.sqlite3'}", port=free_port(), seed_demo=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def alsa_default_to_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ALSA's default device, for the programs this test starts (aplay), writes what it plays to a WAV
    file (ALSA's file plugin over its null device) instead of a sound card: the path returned."""
    played = tmp_path / "played.wav"
    home = tmp_path / "alsa-home"
    home.mkdir()
    (home / ".asoundrc").write_text(
        f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{played}"\n  format "wav"\n}}\n'
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for var in ("ALSA_CONFIG_PATH", "ALSA_PCM_NAME"):
        monkeypatch.delenv(var, raising=False)
    return played


def read_played_wav(path: Path) -> tuple[int, int, bytes]:
    """(rate, channels, PCM bytes) of what ALSA's file plugin wrote; the data runs to the end of the
    file whatever the header says (a player stopped by a signal may leave its lengths unset)."""
    import struct

    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt ", data[:16]
    channels, rate = struct.unpack_from("<HI", data, 22)
    (bits,) = struct.unpack_from("<H", data, 34)
    assert bits == 16 and data[36:40] == b"data"
    return rate, channels, data[44:]


# SimpleITK 2.5 (ITK 5.4) can spin for ever in a C exit handler of its own after a long run in one
# process: seen here after a full `make test`, pytest at 100 % CPU in _SimpleITK's atexit code once the
# summary was printed, so `make test` never returned. The session's result is known and written by
# then; end the process without running the C exit handlers.
_EXIT_STATUS: list[int] = []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _EXIT_STATUS.append(int(session.exitstatus))  # as SkipPolicy left it


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _EXIT_STATUS and "SimpleITK" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
