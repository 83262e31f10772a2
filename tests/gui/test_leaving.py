"""Leaving safely: hanging up during an emergency with an active alarm asks first (No is the default);
an empty outcome is not saved and the dialog says why; overlays leave the video when the call ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from core.annotations.model import AnnotationDocument
from core.worklist.model import WorklistModel
from rtc.runtime import AsyncRuntime
from rtc.signalling import memory_pair
from tests.helpers import CONSULT_REQUEST, far_side_call
from widgets.call_controller import QtCallController
from widgets.call_panel import QtCallPanel
from widgets.worklist_panel import QtWorklistPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def runtime() -> Iterator[AsyncRuntime]:
    rt = AsyncRuntime("test-loop").start()
    yield rt
    rt.stop()


def leave_box() -> QMessageBox | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.objectName() == "leaveConfirm" and widget.isVisible():
            return widget
    return None


def test_hang_up_in_an_alarming_emergency_asks_and_no_keeps_the_call(qtbot, runtime: AsyncRuntime) -> None:  # type: ignore[no-untyped-def]
    ours, county = runtime.run(far_side_call(), 10)
    controller = QtCallController(runtime, size=(160, 120), fps=10)
    panel = QtCallPanel(controller)
    qtbot.addWidget(panel)
    panel.attach_annotations(AnnotationDocument("here", "Dr. Chen"))
    panel.show()
    warning: list[str | None] = ["Emergency consult; the monitor has 1 active alarm."]
    panel.leave_warning = lambda: warning[0]
    try:
        controller.start(signalling=ours)
        qtbot.waitUntil(lambda: panel.state == "connected", timeout=30_000)
        assert panel.overlay is not None and panel.overlay.isVisible()
        panel.hang_up_button.click()
        qtbot.waitUntil(lambda: leave_box() is not None, timeout=5_000)
        box = leave_box()
        assert box is not None and "active alarm" in box.text()
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.No).click()
        qtbot.waitUntil(lambda: leave_box() is None, timeout=5_000)
        assert panel.state == "connected"  # No: still in the call
        panel.hang_up_button.click()
        qtbot.waitUntil(lambda: leave_box() is not None, timeout=5_000)
        box = leave_box()
        assert box is not None
        box.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: panel.state == "ended", timeout=10_000)
        assert not panel.overlay.isVisible()  # the guidance leaves the video with the call
        warning[0] = None  # not an emergency any more: a hang-up asks nothing
        controller.start(signalling=memory_pair()[0])
        panel.hang_up_button.click()
        qtbot.waitUntil(lambda: panel.state == "ended", timeout=10_000)
        assert leave_box() is None
    finally:
        panel.close_panel()
        runtime.run(county.close(), 10)


def test_an_empty_outcome_is_not_saved_and_says_why(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = WorklistModel()
    panel = QtWorklistPanel(model, can_accept=True, can_close=True)
    qtbot.addWidget(panel)
    consult = {
        "id": 5, "state": "accepted", "identity": "full", "patient": CONSULT_REQUEST["patient"],
        "question": "q", "urgency": "routine", "specialty": "radiology",
        "requested_by": {"username": "dr.li"}, "accepted_by": {"username": "dr.chen"},
        "waiting_seconds": 60.0, "target_seconds": 900.0,
        "outcome": None, "study": None,
    }  # fmt: skip
    model.replace([consult])
    panel.select(5)
    closed: list[tuple[int, str]] = []
    panel.sig_close.connect(lambda cid, text: closed.append((cid, text)))
    panel.close_button.click()
    first = panel.outcome_dialog
    assert first is not None and first.isVisible()
    first.setTextValue("   ")
    first.accept()
    second = panel.outcome_dialog
    assert second is not None and second is not first and second.isVisible()
    assert "empty outcome cannot be saved" in second.labelText()
    assert closed == []
    second.setTextValue("Treated locally; echo in 2 weeks.")
    second.accept()
    assert closed == [(5, "Treated locally; echo in 2 weeks.")]
    panel.close_model()
