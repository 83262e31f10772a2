"""The consultation panel in the composed workstation on the real backend: accepting a consult offers
the call, joining reaches the county doctor through the backend room; in demo mode the simulated county
doctor (app/demo.py DemoBedside) joins with ultrasound video by herself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from app.demo import LIVE_REQUEST, DemoBedside
from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.roles import PanelId, Role
from rtc.session import CallState
from tests.helpers import compose_workstation
from widgets.call_panel import QtCallPanel

pytestmark = pytest.mark.gui


def _compose(server: EmbeddedServer, qtbot, demo: bool) -> Composed:  # type: ignore[no-untyped-def]
    made: Composed = compose_workstation(
        qtbot, Role.SPECIALIST, {"backend": {"url": server.base_url}}, demo=demo
    )  # type: ignore[assignment]
    made.window.resize(1400, 900)
    made.window.show()
    return made


@pytest.fixture
def demo_workstation(server: EmbeddedServer, qtbot) -> Iterator[Composed]:  # type: ignore[no-untyped-def]
    made = _compose(server, qtbot, demo=True)
    yield made
    made.window.close()
    made.shutdown()


def _call_panel(made: Composed) -> QtCallPanel:
    panel = made.window.docks[PanelId.CONSULTATION].widget()
    assert isinstance(panel, QtCallPanel)
    return panel


def test_demo_accepting_the_request_starts_the_call(demo_workstation: Composed, qtbot) -> None:  # type: ignore[no-untyped-def]
    made = demo_workstation
    link, panel = made.link, _call_panel(made)
    assert panel.state == "idle" and not panel.join_button.isVisible()
    link.start()  # demo: signs in as dr.chen; the county doctor then sends her request
    qtbot.waitUntil(lambda: link.sign_in_state.user is not None, timeout=15_000)
    # Not accepted yet, the request is a summary without the patient's identity: found by its question.
    live = LIVE_REQUEST["question"]
    qtbot.waitUntil(lambda: any(i.question == live for i in link.worklist.items), timeout=30_000)
    item = next(i for i in link.worklist.items if i.question == live)
    assert item.withheld and item.patient.name == "" and item.participants == frozenset({"dr.li"})
    link.transition(item.id, "accept")
    qtbot.waitUntil(lambda: panel.state == "connected", timeout=40_000)
    qtbot.waitUntil(lambda: panel.remote_view.frames_shown >= 5, timeout=20_000)
    assert "Liu Fang" in made.link.conversation.title
    size = panel.remote_view.frame_size
    assert size is not None and (size.width(), size.height()) == (640, 480)
    wiring_bedside = next(c for c in panel.children() if hasattr(c, "bedside")).bedside
    assert isinstance(wiring_bedside, DemoBedside) and wiring_bedside.session is not None
    assert wiring_bedside.session.state is CallState.CONNECTED
    qtbot.waitUntil(lambda: panel.quality.bars > 0, timeout=20_000)

    # her bedside monitor streams over the call's vitals channel: the specialist's monitor shows it,
    # evaluates its own alarms on what arrives (the tamponade story: pressure falling) and its age
    from widgets.deferred_panel import QtDeferredPanel
    from widgets.vitals import QtVitalsPanel

    deferred = made.window.docks[PanelId.VITALS].widget()
    assert isinstance(deferred, QtDeferredPanel)
    qtbot.waitUntil(lambda: deferred.built, timeout=10_000)
    vitals = deferred.content
    assert isinstance(vitals, QtVitalsPanel) and vitals.sources is None  # remote: no source picker
    from core.vitals.signals import Numeric, Wave

    qtbot.waitUntil(lambda: vitals.store.rings[Wave.ECG].total > 1000, timeout=20_000)
    qtbot.waitUntil(lambda: vitals.store.numeric(Numeric.ABP_SYS) is not None, timeout=10_000)
    qtbot.waitUntil(lambda: "Systolic pressure low" in vitals.banner.message.text(), timeout=20_000)
    age = vitals.store.newest_age()
    assert age is not None and age < 2.0
    # An emergency with a live alarm: hanging up asks first (No is the default), Yes leaves.
    from PySide6.QtWidgets import QApplication, QMessageBox

    def confirm() -> QMessageBox | None:
        boxes = [
            w for w in QApplication.topLevelWidgets() if w.objectName() == "leaveConfirm" and w.isVisible()
        ]
        return boxes[0] if boxes and isinstance(boxes[0], QMessageBox) else None

    panel.hang_up_button.click()
    qtbot.waitUntil(lambda: confirm() is not None, timeout=10_000)
    box = confirm()
    assert box is not None and "emergency" in box.text() and panel.state == "connected"
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: panel.state == "ended", timeout=10_000)
    # The last values stay as history, said to be no longer live.
    qtbot.waitUntil(lambda: "Call ended at" in vitals.context_bar.state.text(), timeout=10_000)


def test_joining_an_accepted_consult_reaches_the_county_doctor(server: EmbeddedServer, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert server.base_url is not None
    base = server.base_url
    made = _compose(server, qtbot, demo=False)
    bedside = DemoBedside(base, size=(320, 240), fps=10)
    try:
        link, panel = made.link, _call_panel(made)

        async def request() -> int:
            doctor = BackendClient(base)
            await doctor.login("dr.li", "demo")
            created = await doctor.create_consult(LIVE_REQUEST)
            await doctor.aclose()
            return int(created["id"])

        consult_id = asyncio.run(request())
        link.start()
        qtbot.waitUntil(lambda: link.client is not None, timeout=10_000)
        link.sign_in("dr.chen", "demo")
        qtbot.waitUntil(lambda: link.sign_in_state.user is not None, timeout=15_000)
        link.transition(consult_id, "accept")
        qtbot.waitUntil(lambda: panel.join_button.isVisible(), timeout=15_000)
        assert "Ready to call" in panel.banner.text() and panel.state == "idle"  # not in demo: offered only
        bedside.join(consult_id, delay_s=0.0)
        panel.join_button.click()
        qtbot.waitUntil(lambda: panel.state == "connected", timeout=40_000)
        qtbot.waitUntil(lambda: panel.remote_view.frames_shown >= 3, timeout=20_000)
        size = panel.remote_view.frame_size
        assert size is not None and (size.width(), size.height()) == (320, 240)
        link.sign_out()  # signing out hangs up
        qtbot.waitUntil(lambda: panel.state == "ended", timeout=10_000)
        assert not panel.join_button.isVisible()
    finally:
        bedside.close()
        bedside.close()
        made.window.close()
        made.shutdown()
