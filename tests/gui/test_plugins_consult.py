"""Plugins bound to the one consult context: their panels and note sections hold the consult's patient
only, and nothing of it once the consult ends (closed, switched, signed out, locked). pytest-qt."""

from __future__ import annotations

import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QTableWidget, QWidget

from app.plugin_host import PluginHost, QtPluginsPanel
from core.config.roles import Role
from core.consult.patient import Patient
from plugins.api import ConsultInfo
from plugins.manager import PluginState
from plugins.oncology.logic import Lesion
from tests.gui.test_plugins_gui import workstation
from tests.plugin_fixtures.factory import entry_points_in, on_sys_path, plugin_source, write_plugin

pytestmark = pytest.mark.gui

WANG = Patient("P-4711", "Wang Wei", "M", date(1950, 3, 1))
LI = Patient("P-0815", "Li Na", "F", date(1972, 8, 9))
STUDY = "1.2.840.99.4711"
BUILT_IN = {"cardiology", "oncology", "stroke", "ultrasound"}
PANELS = ("cardiology.ecg12", "oncology.recist", "stroke.nihss", "ultrasound.fast")


def built(panel: QtPluginsPanel) -> dict[str, Any]:
    widgets = {panel_id: panel.page_widget(panel_id) for panel_id in PANELS}
    assert all(isinstance(w, QWidget) for w in widgets.values()), widgets
    return widgets


def consult_labels(widgets: dict[str, Any]) -> set[str]:
    return {w.findChild(QLabel, "pluginConsult").text() for w in widgets.values()}


def shown_text(widget: QWidget) -> str:
    """Everything a panel shows as text: labels, fields, table cells."""
    parts = [label.text() for label in widget.findChildren(QLabel)]
    parts += [field.text() for field in widget.findChildren(QLineEdit)]
    for table in widget.findChildren(QTableWidget):
        for row in range(table.rowCount()):
            for col in range(table.columnCount()):
                item = table.item(row, col)
                parts.append(item.text() if item is not None else "")
    return "\n".join(parts)


def fill(widgets: dict[str, Any]) -> None:
    widgets["oncology.recist"].add_lesion(Lesion("T1", "liver", False, (42.0, 25.0)))
    stroke = widgets["stroke.nihss"]
    for code, score in {"1a": 2, "4": 2, "5a": 3}.items():
        stroke.set_score(code, score)
    stroke.door_button.click()
    fast = widgets["ultrasound.fast"]
    fast.findChild(QPushButton, "ruq_positive").click()
    fast.findChild(QPushButton, "subxiphoid_negative").click()


def assert_empty(widgets: dict[str, Any], panel: QtPluginsPanel) -> None:
    recist, stroke, fast = widgets["oncology.recist"], widgets["stroke.nihss"], widgets["ultrasound.fast"]
    assert recist.table.rowCount() == 0 and recist.response.text() == ""
    assert recist.sums.text() == "Enter every target lesion's baseline diameter."
    assert all(box.currentIndex() == 0 for box in stroke.boxes.values())
    assert all(stamp.text() == "" for stamp in stroke.item_stamps.values())
    assert stroke.elapsed.text() == "--:--" and stroke.total.text().startswith("NIHSS 0 / 42")
    assert not any(b.isChecked() for g in fast.groups.values() for b in g.buttons())
    assert not any(b.isChecked() for b in fast.depth_buttons.values())
    assert all(stamp.text() == "" for stamp in fast.stamps.values())
    assert fast.depth_label.text() == "Depth: not set"
    records = panel.host.manager.records
    assert records["oncology"].obj.lesions == []
    assert records["stroke"].obj.exam.scores == {} and records["stroke"].obj.timer.door_at is None
    assert records["ultrasound"].obj.exam.ticks == {} and records["ultrasound"].obj.exam.depth_cm is None
    assert panel.host.note_sections() == []


def test_sign_out_leaves_nothing_of_the_patient_in_plugin_panels_or_the_note(
    open_window: Any, qtbot: Any
) -> None:
    ws = workstation()
    ws.context.open(WANG, consult_id=42, study_uid=STUDY)
    window, panel = open_window(ws)
    widgets = built(panel)
    assert consult_labels(widgets) == {"Consult 42 · patient P-4711"}
    recist = widgets["oncology.recist"]
    assert recist.baseline_label.text() == STUDY and recist.body.isEnabled()
    fill(widgets)
    assert recist.sums.text().startswith("Sum of diameters: baseline 42 mm, follow-up 25 mm")
    titles = {title for _pid, title, _text in panel.host.note_sections()}
    assert titles == {"Tumour response (RECIST 1.1)", "Stroke assessment", "Point-of-care ultrasound"}

    ws.context.end("signed_out")
    qtbot.waitUntil(lambda: consult_labels(widgets) == {"No consult open"})
    assert_empty(widgets, panel)
    for widget in widgets.values():
        text = shown_text(widget)
        assert "P-4711" not in text and "liver" not in text and STUDY not in text
    for panel_id in ("oncology.recist", "stroke.nihss", "ultrasound.fast"):
        assert not widgets[panel_id].body.isEnabled()  # nothing to enter for nobody
    assert all(r.state is PluginState.ACTIVE for r in panel.host.manager.active())
    window.close()


def test_switching_and_locking_empty_the_panels_and_a_trainee_sees_a_pseudonym(
    open_window: Any, qtbot: Any
) -> None:
    ws = workstation()
    window, panel = open_window(ws)
    widgets = built(panel)
    assert consult_labels(widgets) == {"No consult open"}
    ws.context.open(WANG, consult_id=42, study_uid=STUDY)
    qtbot.waitUntil(lambda: consult_labels(widgets) == {"Consult 42 · patient P-4711"})
    fill(widgets)
    ws.context.open(LI, consult_id=43)  # switched: the old consult ends first
    qtbot.waitUntil(lambda: consult_labels(widgets) == {"Consult 43 · patient P-0815"})
    assert widgets["stroke.nihss"].exam.scores == {} and widgets["oncology.recist"].table.rowCount() == 0
    assert widgets["oncology.recist"].baseline_label.text() == ""  # consult 43 has no study
    record = panel.host.manager.records["stroke"]
    assert record.context is not None and record.context.consult() == ConsultInfo(43, "P-0815")
    fill(widgets)
    assert ws.context.lock() is not None
    qtbot.waitUntil(lambda: consult_labels(widgets) == {"No consult open"})
    assert_empty(widgets, panel)
    window.close()

    # a trainee's layout has no plugins dock, but a host for the role pseudonymises all the same
    trainee = workstation(Role.TRAINEE)
    trainee.context.open(WANG, consult_id=42, study_uid=STUDY)
    host = PluginHost(trainee)
    host.start()
    trainee_panel = QtPluginsPanel(host)
    qtbot.addWidget(trainee_panel)
    seen = built(trainee_panel)
    salt = trainee.pseudonym_salt
    assert salt is not None
    pseudonym = WANG.pseudonymised(salt).patient_id
    assert pseudonym.startswith("ANON-")
    assert consult_labels(seen) == {f"Consult 42 · patient {pseudonym}"}
    ctx = trainee_panel.host.manager.records["oncology"].context
    assert ctx is not None and ctx.consult() == ConsultInfo(42, pseudonym, (STUDY,))
    assert all("P-4711" not in shown_text(w) and "Wang" not in shown_text(w) for w in seen.values())
    trainee_panel.close_model()


def test_a_plugin_raising_in_its_consult_callback_is_disabled_and_the_workstation_goes_on(
    open_window: Any, qtbot: Any, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    boom = "def boom(info):\n    if info is not None:\n        raise RuntimeError('consult boom')"
    grumpy = plugin_source("grumpy", prelude=boom, activate="ctx.subscribe_consult(boom)")
    write_plugin(root, "grumpy", grumpy)
    with on_sys_path(root):
        ws = workstation()
        window, panel = open_window(ws)
        widgets = built(panel)
        assert panel.host.manager.records["grumpy"].state is PluginState.ACTIVE
        ws.context.open(WANG, consult_id=42)  # returns: the fault stays with the plugin
        record = panel.host.manager.records["grumpy"]
        qtbot.waitUntil(lambda: record.state is PluginState.FAILED)
        assert record.error is not None
        assert "consult callback raised RuntimeError: consult boom" in record.error.detail
        assert "Plugin 'Fixture grumpy' was disabled" in window.statusBar().currentMessage()
        assert "consult boom" in panel.manager_view.notice.text()
        assert {r.plugin_id for r in panel.host.manager.active()} == BUILT_IN
        assert consult_labels(widgets) == {"Consult 42 · patient P-4711"}
        fill(widgets)
        ws.context.end("signed_out")
        qtbot.waitUntil(lambda: consult_labels(widgets) == {"No consult open"})
        assert_empty(widgets, panel)
        window.close()


def test_a_consult_ending_on_another_thread_reaches_plugins_on_the_ui_thread(
    qtbot: Any, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    prelude = "HEARD = []\n\ndef heard(info):\n    HEARD.append((info, __import__('threading').get_ident()))"
    ears = plugin_source("ears", prelude=prelude, activate="ctx.subscribe_consult(heard)")
    write_plugin(root, "ears", ears)
    with on_sys_path(root):
        ws = workstation()
        ws.context.open(WANG, consult_id=42)
        host = PluginHost(ws, entry_points=entry_points_in(root))
        host.start()
        heard = sys.modules["tcfix_ears"].HEARD
        worker = threading.Thread(target=ws.context.sign_out)
        worker.start()
        worker.join(5)
        qtbot.waitUntil(lambda: len(heard) == 1)
        assert heard == [(None, threading.get_ident())]
        ws.context.open(LI, consult_id=43, study_uid=STUDY)  # on the UI thread: delivered at once
        assert heard[-1] == (ConsultInfo(43, "P-0815", (STUDY,)), threading.get_ident())
        host.close()
        ws.context.end()  # a closed host hears nothing more
        assert len(heard) == 2 and len(ws.context.ended) == 0
