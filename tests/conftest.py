"""Test isolation: every test gets its own user folders, no site file, English, and the right Qt platform."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from backend.server import EmbeddedServer

# VTK views need a real X server (make test runs pytest under xvfb-run); plain widgets run anywhere.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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


# SimpleITK 2.5 (ITK 5.4) can spin for ever in a C exit handler of its own after a long run in one
# process: seen here after a full `make test`, pytest at 100 % CPU in _SimpleITK's atexit code once the
# summary was printed, so `make test` never returned. The session's result is known and written by
# then; end the process without running the C exit handlers.
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _EXIT_STATUS and "SimpleITK" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
