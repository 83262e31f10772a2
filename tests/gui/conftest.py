"""GUI fixtures: ``make_workstation`` builds a main window for a role and closes everything it made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from app.context import Workstation
from app.gui import LanguageManager
from app.main_window import MainWindow
from core.config.paths import app_paths
from core.config.roles import Role
from core.config.settings import SiteConfig, UserSettingsStore

MakeWorkstation = Callable[..., MainWindow]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where a test writes its screenshots: its own temporary folder (no fixed name that two runs
    share), or $TELECONSULT_SHOTS when someone wants to look at them."""
    import os

    folder = Path(os.environ.get("TELECONSULT_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def languages(qapp: QApplication) -> Iterator[LanguageManager]:
    manager = LanguageManager(qapp)
    yield manager
    manager.apply("en")


@pytest.fixture
def make_workstation(qtbot, isolated_home: Path) -> Iterator[MakeWorkstation]:  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []

    def make(role: Role = Role.SPECIALIST, site: SiteConfig | None = None, **kwargs: object) -> MainWindow:
        paths = app_paths().ensure()
        store = UserSettingsStore(paths.user_settings_file)
        ws = Workstation(
            paths=paths,
            site=site or SiteConfig(),
            site_file=None,
            settings_store=store,
            settings=store.load(),
            role=role,
            language="en",
            **kwargs,  # type: ignore[arg-type]
        )
        window = MainWindow(ws)
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.objectName() == "mainWindow"]
    assert not leaked, f"main windows left open: {leaked}"


@pytest.fixture
def open_window(qtbot: Any) -> Iterator[Any]:
    """A main window with the PLUGINS dock (and any other panel factories): ``make(ws, **factories)``
    returns (window, plugins panel); every window made is closed afterwards."""
    from app.plugin_host import QtPluginsPanel
    from app.wiring.plugins import build_plugins_panel
    from core.config.roles import PanelId

    made: list[MainWindow] = []

    def make(ws: Workstation, **factories: Any) -> tuple[MainWindow, QtPluginsPanel]:
        window = MainWindow(ws, {PanelId.PLUGINS: build_plugins_panel, **factories})
        qtbot.addWidget(window)
        made.append(window)
        panel = window.docks[PanelId.PLUGINS].widget()
        assert isinstance(panel, QtPluginsPanel)
        return window, panel

    yield make
    for window in made:
        window.close()
