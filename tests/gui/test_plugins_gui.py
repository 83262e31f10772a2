"""The plugin manager, the PLUGINS dock in the main window and the specialty panels (pytest-qt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QWidget

from app.context import Workstation
from app.main_window import MainWindow
from app.plugin_host import QtPluginsPanel
from core.config.paths import app_paths
from core.config.roles import PanelId, Role
from core.config.settings import SiteConfig, UserSettingsStore
from core.consult.patient import Patient
from core.vitals.simulator import Scenario, run_for
from plugins.api import ConsultInfo, PluginContext
from plugins.manager import PluginManager, PluginState
from plugins.oncology import OncologyPlugin
from plugins.oncology.logic import Lesion
from plugins.stroke.logic import DoorToNeedle, NihssExam
from plugins.ultrasound.logic import FastExam
from tests.plugin_fixtures.factory import (
    entry_points_in,
    install_hello,
    on_sys_path,
    plugin_source,
    write_plugin,
)
from widgets.deferred_panel import QtDeferredPanel
from widgets.plugin_manager import COL_ON, COL_REASON, COL_STATE, QtPluginManager

pytestmark = pytest.mark.gui


def workstation(role: Role = Role.SPECIALIST, site: SiteConfig | None = None) -> Workstation:
    paths = app_paths().ensure()
    store = UserSettingsStore(paths.user_settings_file)
    return Workstation(
        paths=paths,
        site=site or SiteConfig(),
        site_file=None,
        settings_store=store,
        settings=store.load(),
        role=role,
        language="en",
    )


def plugin_id_at(view: QtPluginManager, row: int) -> str:
    return str(view.table.item(row, COL_ON).data(Qt.ItemDataRole.UserRole))


def tab_titles(panel: QtPluginsPanel) -> list[str]:
    return [panel.tabs.tabText(i) for i in range(panel.tabs.count())]


def test_manager_lists_plugins_with_state_and_reason_and_toggles(qtbot: Any, tmp_path: Path) -> None:
    root = tmp_path / "site"
    write_plugin(root, "good", plugin_source("good"))
    write_plugin(root, "raises", plugin_source("raises", activate="raise RuntimeError('boom in activate')"))
    write_plugin(root, "banned", plugin_source("banned"))
    saved: list[set[str]] = []
    with on_sys_path(root):
        manager = PluginManager(
            "specialist",
            lambda pid: PluginContext(plugin_id=pid, role="specialist"),
            deny=["banned"],
            save_disabled=saved.append,
            entry_points=entry_points_in(root),
        )
        manager.load_all()
        view = QtPluginManager(manager)
        qtbot.addWidget(view)
        rows = {plugin_id_at(view, r): r for r in range(view.table.rowCount())}
        assert set(rows) == {"good", "raises", "banned"}
        assert view.table.item(rows["good"], COL_STATE).text() == "Active"
        assert view.table.item(rows["raises"], COL_STATE).text() == "Failed"
        reason = view.table.item(rows["raises"], COL_REASON).text()
        assert "activate() raised RuntimeError: boom in activate" in reason
        assert view.table.item(rows["banned"], COL_STATE).text() == "Denied by site"
        assert not view.table.item(rows["banned"], COL_ON).flags() & Qt.ItemFlag.ItemIsUserCheckable
        assert not view.notice.isHidden()
        assert "Plugin 'Fixture raises' was disabled" in view.notice.text()
        view.table.item(rows["good"], COL_ON).setCheckState(Qt.CheckState.Unchecked)
        assert manager.records["good"].state is PluginState.DISABLED and saved[-1] == {"good"}
        row = next(r for r in range(view.table.rowCount()) if plugin_id_at(view, r) == "good")
        assert view.table.item(row, COL_STATE).text() == "Disabled"
        view.close_model()
        view.close_model()
        manager.close()


def test_plugins_dock_hosts_builtin_panels_and_persists_choices(open_window: Any, qtbot: Any) -> None:
    ws = workstation()
    window, panel = open_window(ws)
    assert tab_titles(panel) == ["Installed", "12-lead ECG", "RECIST 1.1", "Stroke", "FAST exam"]
    # panels are built lazily, when first shown
    assert not panel._built
    panel.tabs.setCurrentIndex(tab_titles(panel).index("Stroke"))
    assert panel.page_widget("stroke.nihss").objectName() == "strokePanel"
    qtbot.waitUntil(lambda: window.findChild(QMenu, "pluginsMenu") is not None)
    menu = window.findChild(QMenu, "pluginsMenu")
    assert menu.actions()[0].text() == "Plugin manager"
    assert menu.menuAction() in window.menuBar().actions()
    panel.host.manager.set_enabled("oncology", False)
    assert "RECIST 1.1" not in tab_titles(panel)
    assert UserSettingsStore(ws.paths.user_settings_file).load().disabled_plugins == ["oncology"]
    tools = {tool.tool_id: dict(tool.params) for _pid, tool in panel.host.imaging_tools()}
    assert tools == {"stroke.ct_brain_window": {"width": 80.0, "level": 40.0}}


def test_denied_by_site_and_other_roles(open_window: Any) -> None:
    site = SiteConfig.model_validate({"plugins": {"deny": ["stroke"]}})
    _window, panel = open_window(workstation(site=site))
    assert "Stroke" not in tab_titles(panel)
    assert panel.host.manager.records["stroke"].state is PluginState.DENIED
    _it_window, it_panel = open_window(workstation(Role.IT_ADMIN))
    assert tab_titles(it_panel) == ["Installed"]  # IT manages plugins, runs no clinical ones
    assert it_panel.manager_view.table.rowCount() >= 4


def test_analyser_results_reach_the_cardiology_panel(open_window: Any, qtbot: Any) -> None:
    _sim, store = run_for(12, Scenario.ST_ELEVATION, seed=1)

    def vitals_panel(_window: MainWindow) -> QWidget:
        def build() -> QWidget:
            monitor = QLabel("monitor")
            monitor.store = store  # type: ignore[attr-defined]  # what the vitals panel exposes
            return monitor

        return QtDeferredPanel(build, QLabel("not built yet"))

    ws = workstation()
    ws.context.open(Patient("P-ECG", "Zhao Lei", "M", None), consult_id=7)  # results are kept per consult
    window, panel = open_window(ws, **{PanelId.VITALS: vitals_panel})
    window.docks[PanelId.VITALS].widget().build()  # the main window does this after its first paint
    qtbot.waitUntil(lambda: panel.host._store is store, timeout=10000)
    ecg = panel.page_widget("cardiology.ecg12")
    assert ecg is not None
    qtbot.waitUntil(lambda: getattr(ecg, "measurements", None) is not None, timeout=20000)
    assert ecg.values["hr"].text() == "92 /min"
    assert "ST elevation" in ecg.flags.text()
    assert "ST elevation in anterior leads" in ecg.report.toPlainText()
    sections = {title: text for _pid, title, text in panel.host.note_sections()}
    assert "QTc Bazett" in sections["12-lead ECG"]
    ws.context.close()
    assert ecg.measurements is None and ecg.values["hr"].text() == "-"
    assert panel.host.note_sections() == []


def test_failing_panel_and_slow_analyser_are_disabled_and_announced(
    open_window: Any, qtbot: Any, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    write_plugin(
        root,
        "badpanel",
        plugin_source(
            "badpanel",
            prelude="def explode(ctx):\n    raise RuntimeError('panel exploded')",
            contributions="panels=[PanelContribution('bad.panel', 'Bad panel', explode)]",
        ),
    )
    write_plugin(
        root,
        "sloth",
        plugin_source(
            "sloth",
            prelude="def crawl(frame):\n    time.sleep(3)\n    return AnalyserResult()",
            contributions="analysers=[VitalsAnalyser('crawl', 'Crawl', crawl, period_s=0.1, budget_s=0.3)]",
        ),
    )
    with on_sys_path(root):
        window, panel = open_window(workstation())
        assert "Bad panel" in tab_titles(panel)
        panel.tabs.setCurrentIndex(tab_titles(panel).index("Bad panel"))
        record = panel.host.manager.records["badpanel"]
        assert record.state is PluginState.FAILED and "panel exploded" in record.error.detail  # type: ignore[union-attr]
        assert "Bad panel" not in tab_titles(panel)
        assert "Plugin 'Fixture badpanel' was disabled" in window.statusBar().currentMessage()
        _sim, store = run_for(6, Scenario.NORMAL, seed=1)
        panel.host.set_vitals_store(store)
        # the UI keeps processing events while the analyser sleeps, and the analyser is cut off
        qtbot.waitUntil(
            lambda: panel.host.manager.records["sloth"].state is PluginState.FAILED, timeout=15000
        )
        error = panel.host.manager.records["sloth"].error
        assert error is not None and "0.3 s time budget" in error.detail
        assert "was too slow" in panel.manager_view.notice.text()
        assert panel.host.manager.records["cardiology"].state is PluginState.ACTIVE
        window.close()


def test_specialty_panels_drive_their_logic(qtbot: Any) -> None:
    from plugins.oncology.widget import QtRecistPanel
    from plugins.stroke.widget import QtStrokePanel
    from plugins.ultrasound.widget import QtFastPanel

    sent: list[dict[str, Any]] = []
    ctx = PluginContext(
        plugin_id="x",
        role="specialist",
        send_control=lambda m: sent.append(dict(m)),
        consult=lambda: ConsultInfo(3, "P-3", ("1.2.3",)),
    )

    stroke = QtStrokePanel(ctx, NihssExam(), DoorToNeedle())
    qtbot.addWidget(stroke)
    for code, score in {"1a": 1, "2": 1, "4": 2, "5a": 3, "6a": 2, "10": "UN"}.items():
        stroke.set_score(code, score)
    assert stroke.exam.total == 9 and stroke.total.text().startswith("NIHSS 9 / 42")
    assert stroke.item_stamps["4"].text() != "" and stroke.item_stamps["3"].text() == ""
    stroke.door_button.click()
    assert stroke.timer.state == "running" and stroke.elapsed.text() == "00:00"
    stroke.close_model()
    stroke.close_model()

    plugin = OncologyPlugin()
    plugin.lesions = [Lesion("T1", "liver", False, (42, 25)), Lesion("N1", "mediastinum", True, (18, 11))]
    recist = QtRecistPanel(ctx, plugin)
    qtbot.addWidget(recist)
    assert recist.response.text() == "Partial response (PR)"
    recist.new_lesions.setChecked(True)
    assert recist.response.text() == "Progressive disease (PD)"
    assert plugin.timepoints[1].new_lesions
    recist.new_lesions.setChecked(False)
    recist.add_lesion(Lesion("T3", "liver", False, (8, 8)))
    assert "T3: longest diameter 8 mm < 10 mm" in recist.problems.text()

    fast = QtFastPanel(ctx, FastExam())
    qtbot.addWidget(fast)
    for window in ("ruq", "luq", "pelvis", "subxiphoid"):
        fast.findChild(type(fast.depth_buttons["lung"]), f"{window}_negative").click()
    assert fast.exam.result == "negative" and fast.result.text().startswith("Negative")
    assert sent[-1] == {"type": "ultrasound.depth", "depth_cm": 18.0}
    fast.extended.setChecked(True)
    assert "2 window(s) to go" in fast.result.text()
    QApplication.processEvents()
    assert isinstance(fast.stamps["ruq"], QLabel) and fast.stamps["ruq"].text() != ""


def test_pip_installed_third_party_plugin_appears_in_the_workstation(
    open_window: Any, qtbot: Any, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    install_hello(target)
    with on_sys_path(target):
        window, panel = open_window(workstation())
        assert "Hello" in tab_titles(panel)
        hello = panel.page_widget("hello.panel")
        assert isinstance(hello, QLabel) and hello.text() == "Hello from a third-party plugin (specialist)"
        row = next(
            r for r in range(panel.manager_view.table.rowCount())
            if plugin_id_at(panel.manager_view, r) == "hello"
        )
        assert panel.manager_view.table.item(row, 3).text() == "teleconsult-hello-plugin"
        qtbot.waitUntil(lambda: window.findChild(QMenu, "pluginsMenu") is not None)
        greet = next(a for a in window.findChild(QMenu, "pluginsMenu").actions() if a.text() == "Say hello")
        greet.trigger()
        assert panel.host.manager.records["hello"].obj.greetings == 1
        window.close()
