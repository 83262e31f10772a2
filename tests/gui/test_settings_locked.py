"""The Settings dialog shows a setting IT locked as managed, and it cannot be changed there."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.context import Workstation
from app.main_window import MainWindow
from core.config.paths import app_paths
from core.config.roles import Role
from core.config.settings import LockedSettings, SiteConfig, UserSettingsStore, apply_locks
from widgets.settings_dialog import QtSettingsDialog

pytestmark = pytest.mark.gui


@pytest.fixture
def window_for(qtbot, isolated_home: Path) -> Iterator:  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []

    def make(site: SiteConfig) -> MainWindow:
        paths = app_paths().ensure()
        store = UserSettingsStore(paths.user_settings_file)
        store.save(store.load().model_copy(update={"language": "en"}))
        ws = Workstation(
            paths=paths,
            site=site,
            site_file=Path("/etc/xdg/teleconsult/site.toml"),
            settings_store=store,
            settings=apply_locks(store.load(), site),  # as app.cli does
            role=Role.SPECIALIST,
            language="en",
        )
        window = MainWindow(ws)
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


def test_locked_language_is_shown_as_managed_and_cannot_change(window_for, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = window_for(SiteConfig(locked=LockedSettings(language="zh_CN")))
    dialog = window.show_settings()
    assert isinstance(dialog, QtSettingsDialog)
    qtbot.waitExposed(dialog)
    assert not dialog.language.isEnabled()
    assert dialog.chosen_language() == "zh_CN"  # the site's value, not the user's "en"
    assert dialog.language_managed.isVisible()
    assert dialog.language_managed.text() == "Managed by your IT department"
    if os.environ.get("TELECONSULT_SHOTS"):
        Path(os.environ["TELECONSULT_SHOTS"]).mkdir(parents=True, exist_ok=True)
        dialog.grab().save(os.path.join(os.environ["TELECONSULT_SHOTS"], "settings-locked.png"))
    requested: list[str] = []
    window.sig_language_requested.connect(requested.append)
    window.apply_language_choice("en")  # even if something asks, the lock holds
    assert requested == [] and window.ws.settings.language == "zh_CN"
    saved = json.loads(window.ws.settings_store.path.read_text(encoding="utf-8"))
    assert saved["language"] == "en"  # the user's own file is not rewritten by the lock
    dialog.reject()


def test_unlocked_language_can_be_changed(window_for, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = window_for(SiteConfig())
    dialog = window.show_settings()
    qtbot.waitExposed(dialog)
    assert dialog.language.isEnabled() and not dialog.language_managed.isVisible()
    dialog.language.setCurrentIndex(dialog.language.findData("zh_CN"))
    requested: list[str] = []
    window.sig_language_requested.connect(requested.append)
    dialog.accept()
    assert requested == ["zh_CN"] and window.ws.settings.language == "zh_CN"
    assert QApplication.instance() is not None
