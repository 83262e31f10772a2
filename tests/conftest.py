"""Test isolation: every test gets its own user folders, no site file, English, and the right Qt platform."""

from __future__ import annotations

import os
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
