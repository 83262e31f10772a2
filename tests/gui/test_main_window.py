from __future__ import annotations

import sys
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel

from app.gui import CrashReporter, LanguageManager
from core.client.connection import LinkState
from core.config.roles import LAYOUTS, PanelId, Role
from core.consult.patient import Patient
from widgets.crash_dialog import QtCrashDialog
from widgets.empty_state import QtEmptyState

from .conftest import MakeWorkstation

PATIENT = Patient("CT-2026-0042", "Zhang Wei", "M", date(1961, 3, 14))


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_its_panels(make_workstation: MakeWorkstation, role: Role) -> None:
    window = make_workstation(role)
    window.show()
    expected = [place.panel for place in LAYOUTS[role]]
    assert list(window.docks) == expected
    docks = window.findChildren(QDockWidget)
    assert {d.objectName() for d in docks} == {f"dock_{p.value}" for p in expected}
    assert all(not d.isFloating() for d in docks)
    view_menu_actions = {a.text() for a in window.menu_view.actions()}
    for panel in expected:
        assert window.docks[panel].windowTitle() in view_menu_actions


def test_empty_panels_say_what_is_missing(make_workstation: MakeWorkstation) -> None:
    window = make_workstation(Role.SPECIALIST)
    imaging = window.docks[PanelId.IMAGING].widget()
    assert isinstance(imaging, QtEmptyState)
    assert imaging.title.text() == "No study open"


def test_it_admin_sees_diagnostics_not_patients(make_workstation: MakeWorkstation) -> None:
    window = make_workstation(Role.IT_ADMIN)
    assert PanelId.IMAGING not in window.docks and PanelId.VITALS not in window.docks
    texts = [label.text() for label in window.docks[PanelId.DIAGNOSTICS].findChildren(QLabel)]
    assert any("teleconsult.log" in t for t in texts)
    assert any(t.startswith("embedded") for t in texts)


def test_patient_banner_follows_the_open_patient(make_workstation: MakeWorkstation) -> None:
    window = make_workstation(Role.SPECIALIST)
    window.show()
    assert not window.banner.isVisible()
    window.ws.context.open(PATIENT)
    assert window.banner.isVisible()
    assert window.banner.name.text() == "Zhang Wei"
    assert "CT-2026-0042" in window.banner.patient_id.text()
    assert window.banner.sex.text() == "Male"
    assert "1961-03-14" in window.banner.birth.text()
    window.ws.context.close()
    assert not window.banner.isVisible()


def test_trainee_banner_shows_a_pseudonym(make_workstation: MakeWorkstation) -> None:
    window = make_workstation(Role.TRAINEE)
    window.show()
    window.ws.context.open(PATIENT)
    assert window.banner.isVisible()
    shown = " ".join(label.text() for label in window.banner.findChildren(QLabel))
    assert "Zhang" not in shown and "CT-2026-0042" not in shown and "1961" not in shown
    assert "ANON-" in shown and "De-identified" in shown


def test_status_bar_shows_the_backend_link(make_workstation: MakeWorkstation) -> None:
    window = make_workstation()
    assert "offline" in window.link_label.text()
    window.ws.connection.update(state=LinkState.UNREACHABLE, queued=3, url="http://127.0.0.1:1")
    assert "unreachable" in window.link_label.text() and "3 waiting" in window.link_label.text()
    window.ws.connection.update(state=LinkState.CONNECTED, queued=0)
    assert "connected" in window.link_label.text()


def test_language_switches_live(make_workstation: MakeWorkstation, languages: LanguageManager) -> None:
    window = make_workstation()
    window.ws.context.open(PATIENT)
    assert window.menu_file.title() == "&File"
    languages.apply("zh_CN")
    QApplication.processEvents()
    assert window.menu_file.title() == "文件(&F)"
    assert window.docks[PanelId.WORKLIST].windowTitle() == "工作列表"
    assert window.banner.sex.text() == "男"
    imaging = window.docks[PanelId.IMAGING].widget()
    assert isinstance(imaging, QtEmptyState) and imaging.title.text() == "未打开检查"
    assert "离线" in window.link_label.text()
    languages.apply("en")
    QApplication.processEvents()
    assert window.menu_file.title() == "&File"
    assert window.docks[PanelId.WORKLIST].windowTitle() == "Worklist"


def test_settings_dialog_changes_and_saves_language(make_workstation: MakeWorkstation, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_workstation()
    dialog = window.show_settings()
    dialog.language.setCurrentIndex(dialog.language.findData("zh_CN"))
    with qtbot.waitSignal(window.sig_language_requested) as requested:
        dialog.accept()
    assert requested.args == ["zh_CN"]
    assert window.ws.settings_store.load().language == "zh_CN"


def test_dock_state_persists_per_role(make_workstation: MakeWorkstation) -> None:
    window = make_workstation(Role.SPECIALIST)
    window.show()
    window.docks[PanelId.VITALS].hide()
    window.docks[PanelId.CHAT].setFloating(True)
    window.close()

    again = make_workstation(Role.SPECIALIST)
    again.show()
    assert again.docks[PanelId.VITALS].isHidden()
    assert again.docks[PanelId.CHAT].isFloating()
    # Another role's layout is its own.
    other = make_workstation(Role.COUNTY_DOCTOR)
    other.show()
    assert not other.docks[PanelId.VITALS].isHidden()
    # Reset layout brings the default back.
    again.reset_layout()
    assert not again.docks[PanelId.VITALS].isHidden()
    assert not again.docks[PanelId.CHAT].isFloating()


def test_damaged_saved_layout_falls_back_to_default(make_workstation: MakeWorkstation) -> None:
    window = make_workstation()
    from core.config.settings import WindowState

    window.ws.settings.windows = {"specialist": WindowState(geometry="!!notbase64", state="AAAA")}
    window.ws.save_settings()
    again = make_workstation()
    again.show()
    assert all(not d.isHidden() for p, d in again.docks.items() if p is not PanelId.PLUGINS)


def test_about_lists_component_versions(make_workstation: MakeWorkstation) -> None:
    window = make_workstation()
    dialog = window.show_about()
    versions = dialog.versions()
    for component in ("Qt", "PySide6", "VTK", "aiortc", "pydicom", "Python"):
        assert versions[component] not in ("", "not installed"), component
    assert versions["Qt"].startswith("6.11")
    dialog.close()


def test_shortcuts_exist(make_workstation: MakeWorkstation) -> None:
    window = make_workstation()
    assert not window.act_quit.shortcut().isEmpty()
    assert not window.act_settings.shortcut().isEmpty()
    assert window.docks[PanelId.WORKLIST].toggleViewAction().shortcut().toString() == "Ctrl+1"


@pytest.mark.qt_no_exception_capture
def test_unhandled_exception_shows_dialog_with_log_path(
    make_workstation: MakeWorkstation, qtbot, qapp
) -> None:  # type: ignore[no-untyped-def]
    window = make_workstation()
    window.show()
    reporter = CrashReporter(window.ws.paths.log_file, qapp)
    reporter.install()
    try:
        try:
            raise RuntimeError("decoder exploded")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())  # what Qt does with an exception escaping a slot
        qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible())
        dialog = reporter.dialog
        assert isinstance(dialog, QtCrashDialog)
        assert "decoder exploded" in dialog.text()
        assert str(window.ws.paths.log_file) in dialog.informativeText()
        assert "RuntimeError" in dialog.detailedText()
        # A second error while the dialog is up is appended, not stacked.
        try:
            raise ValueError("second")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: "second" in dialog.detailedText())
        assert reporter.count == 2
        dialog.continue_button.click()
        qtbot.waitUntil(lambda: not dialog.isVisible())
        assert window.isVisible(), "continuing keeps the workstation running"
    finally:
        reporter.uninstall()
    # The traceback is in the log file for support.
    for handler in __import__("logging").getLogger().handlers:
        handler.flush()


@pytest.mark.qt_no_exception_capture
def test_exception_in_worker_thread_reaches_the_ui(
    make_workstation: MakeWorkstation, qtbot, qapp, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import threading

    import app.gui

    exits: list[int] = []
    monkeypatch.setattr(app.gui.QApplication, "exit", staticmethod(exits.append))

    window = make_workstation()
    reporter = CrashReporter(window.ws.paths.log_file, qapp)
    reporter.install()
    try:
        worker = threading.Thread(target=lambda: 1 / 0, name="loader")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible())
        assert reporter.dialog is not None
        assert "ZeroDivisionError" in reporter.dialog.text()
        reporter.dialog.quit_button.click()
        assert exits == [1], "Quit ends the application with a failure code"
    finally:
        reporter.uninstall()


def test_window_reports_first_paint(make_workstation: MakeWorkstation, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = make_workstation()
    with qtbot.waitSignal(window.sig_first_paint, timeout=5000):
        window.show()
    assert window.windowTitle().startswith("Teleconsult Workstation")
    assert window.isVisible()
    assert window.testAttribute(Qt.WidgetAttribute.WA_WState_Visible)


def test_heavy_panels_are_built_after_the_first_paint(qtbot, isolated_home) -> None:  # type: ignore[no-untyped-def]
    from app.context import Workstation
    from app.main_window import MainWindow
    from core.config.paths import app_paths
    from core.config.settings import SiteConfig, UserSettingsStore
    from widgets.deferred_panel import QtDeferredPanel

    built: list[QLabel] = []

    def heavy() -> QLabel:
        built.append(QLabel("monitor"))
        return built[-1]

    paths = app_paths().ensure()
    store = UserSettingsStore(paths.user_settings_file)
    ws = Workstation(paths=paths, site=SiteConfig(), site_file=None, settings_store=store,
                     settings=store.load(), role=Role.SPECIALIST, language="en")  # fmt: skip
    window = MainWindow(ws, {PanelId.VITALS: lambda _w: QtDeferredPanel(heavy, QLabel("waiting"))})
    qtbot.addWidget(window)
    assert built == [], "nothing heavy before the window is on screen"
    window.show()
    qtbot.waitUntil(lambda: len(built) == 1)
    panel = window.docks[PanelId.VITALS].widget()
    assert isinstance(panel, QtDeferredPanel) and panel.content is built[0]
    panel.build()
    assert len(built) == 1
    window.close()
