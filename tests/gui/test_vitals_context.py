"""The vitals panel bound to one patient context, looked at as a user would: whose vitals these are, old
data never looking live (grey numerics with their age, a gap in the strips, the technical alarm), the
call-ended state, clearing when the context ends, no alarm before a patient is attached, an HL7 feed for
another patient on screen, and the lock screen's alarm line. Screenshots go to the
test's own folder (the ``shots`` fixture)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hl7.client import MLLPClient
from PySide6.QtWidgets import QDockWidget, QLabel

from app.wiring.vitals import alarm_summary
from core.config.roles import PanelId
from core.consult.context import ConsultContext
from core.consult.patient import Patient
from core.vitals.bed import Bed, Feed
from core.vitals.buffer import VitalsStore
from core.vitals.hl7 import MllpListener
from core.vitals.signals import Numeric, Wave
from core.vitals.simulator import Scenario, SimulatorSource
from core.vitals.sources import SourceKind
from widgets.deferred_panel import QtDeferredPanel
from widgets.vitals import QtVitalsPanel, create_remote_vitals_panel, create_vitals_panel
from widgets.vitals.context_bar import STALE_GREY

pytestmark = pytest.mark.gui

LIU = Patient("US-2026-0107", "Liu Fang", "F", date(1968, 3, 14), issuer="COUNTY-H")
WANG = Patient("P-2", "Wang Lei", "M", date(1980, 1, 1))


class Bedside:
    """A bed following a consult context, with the store the wiring (app/wiring/vitals.py) gives it."""

    def __init__(self) -> None:
        self.context, self.bed, self.store = ConsultContext(), Bed("ICU-3"), VitalsStore(seconds=60)
        self.bed.changed.connect(lambda _patient: self.store.clear())
        self.bed.follow(self.context)


@pytest.fixture
def panels(qtbot) -> Iterator[list[QtVitalsPanel]]:  # type: ignore[no-untyped-def]
    made: list[QtVitalsPanel] = []
    yield made
    for panel in made:
        panel.close_model()


def show(qtbot, panels: list[QtVitalsPanel], panel: QtVitalsPanel) -> QtVitalsPanel:  # type: ignore[no-untyped-def]
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    panels.append(panel)
    return panel


def shoot(shots: Path, panel: QtVitalsPanel, name: str) -> None:
    assert panel.grab().save(str(shots / name))


def points(curve: Any) -> int:
    xs = curve.getData()[0]
    return 0 if xs is None else len(xs)


def grey(panel: QtVitalsPanel, key: str) -> bool:
    tile = panel.tiles[key]
    return tile.stale and STALE_GREY in tile.styleSheet()


def test_stale_data_turns_grey_with_its_age_a_gap_and_a_technical_alarm(qtbot, panels, shots) -> None:  # type: ignore[no-untyped-def]
    side = Bedside()
    side.context.open(LIU, consult_id=7)
    panel = show(
        qtbot,
        panels,
        create_vitals_panel(scenario=Scenario.NORMAL, bed=side.bed, store=side.store, stale_s=3.0),
    )
    assert panel.context_bar.who.text() == "Vitals of Liu Fang (ID US-2026-0107)"
    qtbot.waitUntil(lambda: panel.tiles["spo2"].value.text() != "---" and panel.context_bar.feed is Feed.LIVE)
    qtbot.waitUntil(lambda: panel.tiles["hr"].value.text() != "---", timeout=8000)
    assert not grey(panel, "hr") and not grey(panel, "spo2") and panel.context_bar.state.text() == "Live"
    hr_before = panel.tiles["hr"].value.text()

    assert panel.sources is not None
    panel.sources.use_none()  # the monitor stops sending
    stopped = time.monotonic()

    def stale_on_screen() -> bool:
        top = (
            panel.banner.snapshot.alarms[0]
            if panel.banner.snapshot and panel.banner.snapshot.alarms
            else None
        )
        return (
            grey(panel, "hr")
            and grey(panel, "spo2")
            and top is not None
            and top.alarm_id == "stale"
            and "No data from the bedside" in panel.banner.message.text()
        )

    qtbot.waitUntil(stale_on_screen, timeout=5000)
    assert time.monotonic() - stopped < 5.0
    alarm = panel.banner.snapshot.alarms[0]  # type: ignore[union-attr]
    assert alarm.kind.value == "technical" and alarm.priority.name == "MEDIUM"
    # the last value stays readable, grey, with its age instead of pretending to be live
    assert panel.tiles["hr"].value.text() == hr_before
    assert panel.tiles["hr"].detail.text().endswith("s ago")
    assert panel.context_bar.state.text().startswith("No data from the bedside for ")
    assert "values not live" in panel.context_bar.state.text()
    assert "old" in panel.age.text()  # "Newest sample is N s old" stays
    # the strips show a gap growing where the sweep would be, not a frozen trace
    ecg = panel.strips.traces[0]
    qtbot.waitUntil(lambda: np.isnan(ecg.y).sum() >= 1.5 * 500, timeout=3000)
    shoot(shots, panel, "vitals-stale.png")


def test_after_the_call_ends_the_last_values_are_history(qtbot, panels, shots) -> None:  # type: ignore[no-untyped-def]
    side = Bedside()
    side.bed.attach(LIU, 7)  # the specialist's side: the consult in context
    panel = show(
        qtbot,
        panels,
        create_remote_vitals_panel(bed=side.bed, store=side.store, stale_s=5.0, pseudonym_salt=None),
    )
    assert panel.sources is None
    stream = SimulatorSource(side.store, Scenario.HYPOTENSION, seed=3)  # stands in for the call's channel
    stream.step()
    stream.start()
    try:
        qtbot.waitUntil(lambda: "Systolic pressure low" in panel.banner.message.text(), timeout=8000)
        qtbot.waitUntil(lambda: panel.tiles["abp"].value.text() == "78/42")
    finally:
        stream.close()
    side.bed.call_ended(at=time.mktime((2026, 11, 23, 14, 2, 0, 0, 0, -1)))
    qtbot.waitUntil(
        lambda: panel.context_bar.state.text() == "Call ended at 14:02 — last values, not live", timeout=2000
    )
    qtbot.waitUntil(lambda: grey(panel, "abp") and grey(panel, "nibp") and grey(panel, "spo2"), timeout=2000)
    assert panel.tiles["abp"].value.text() == "78/42"  # the last values, shown as history
    qtbot.waitUntil(lambda: panel.engine.alarms.snapshot().alarms == (), timeout=2000)  # no alarm on history
    qtbot.waitUntil(lambda: panel.banner.message.text() == "No active alarms", timeout=1000)
    assert panel.context_bar.who.text() == "Vitals of Liu Fang (ID US-2026-0107)"
    shoot(shots, panel, "vitals-call-ended.png")
    side.bed.call_started()  # the next call: live again
    qtbot.waitUntil(lambda: panel.context_bar.feed is not Feed.ENDED, timeout=2000)


def test_the_panel_clears_when_the_context_ends_and_a_lock_silences_nothing(qtbot, panels) -> None:  # type: ignore[no-untyped-def]
    side = Bedside()
    side.context.open(LIU, consult_id=7)
    panel = show(
        qtbot, panels, create_vitals_panel(scenario=Scenario.ASYSTOLE, bed=side.bed, store=side.store)
    )
    deferred = QtDeferredPanel(lambda: panel, QLabel("waiting"))
    dock = QDockWidget()
    qtbot.addWidget(dock)
    dock.setWidget(deferred)
    window = type("Window", (), {"docks": {PanelId.VITALS: dock}})()
    assert alarm_summary(window) is None  # not built yet: nothing to say
    deferred.build()
    qtbot.waitUntil(
        lambda: alarm_summary(window) is not None and alarm_summary(window)[0] == "high", timeout=8000
    )  # type: ignore[index]
    priority, count = alarm_summary(window)  # type: ignore[misc]
    assert count == len(panel.engine.alarms.snapshot().alarms)
    panel.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: points(panel.trend_curves[Numeric.NEWS2]) > 0, timeout=5000)
    panel.tabs.setCurrentIndex(0)

    # the lock: identity hidden, the monitor, its alarms and their sound go on
    side.context.end("locked")
    qtbot.waitUntil(lambda: panel.context_bar.who.text() == "Locked: monitoring goes on", timeout=2000)
    assert "Liu" not in panel.context_bar.who.text()
    assert alarm_summary(window) == ("high", count) and panel.engine.alarms.snapshot().audio_on
    assert side.store.newest_age() is not None
    side.context.open(LIU, consult_id=7)  # unlocked: the same consult reopens, nothing was lost
    assert "Liu Fang" in panel.context_bar.who.text() and alarm_summary(window) is not None

    # the consult closes: nothing of the patient stays
    side.context.close()
    assert alarm_summary(window) is None and panel.engine.alarms.snapshot().alarms == ()
    assert side.store.newest_age() is None and side.store.numeric(Numeric.HR) is None
    assert all(panel.tiles[k].value.text().strip("-/") == "" for k in panel.tiles)
    assert all(points(c) == 0 for c in panel.trend_curves.values())
    assert panel.context_bar.who.text() == "Consult closed: its vitals were cleared."
    qtbot.wait(600)  # a few frames and engine evaluations with no patient at the bed
    assert side.store.rings[Wave.ECG].newest_time() is None  # the simulator writes nothing for nobody
    assert np.isnan(panel.strips.traces[0].y).all()
    assert panel.engine.alarms.snapshot().alarms == ()

    # another patient: a fresh monitor; sign-out clears it too (no patient data without a user)
    side.context.open(WANG, consult_id=9)
    assert panel.context_bar.who.text() == "Vitals of Wang Lei (ID P-2)"
    qtbot.waitUntil(lambda: side.store.newest_age() is not None, timeout=3000)
    side.context.sign_out()
    assert side.store.newest_age() is None and panel.context_bar.who.text().startswith("Signed out")
    assert priority == "high"


def test_no_alarm_before_a_patient_is_attached_and_the_scenario_label_matches(qtbot, panels) -> None:  # type: ignore[no-untyped-def]
    side = Bedside()
    panel = show(
        qtbot, panels, create_vitals_panel(scenario=Scenario.HYPOTENSION, bed=side.bed, store=side.store)
    )
    assert panel.scenario.currentData() == Scenario.HYPOTENSION.value  # the label is what the simulator runs
    assert panel.scenario.currentText() == "Hypotension"
    assert panel.context_bar.who.text().startswith("No patient at this bed")
    qtbot.wait(1500)  # three engine evaluations and plenty of frames
    assert panel.engine.alarms.snapshot().alarms == () and side.store.newest_age() is None
    assert panel.tiles["abp"].value.text() == "---/---"
    side.context.open(LIU, consult_id=7)
    qtbot.waitUntil(lambda: "Systolic pressure low" in panel.banner.message.text(), timeout=8000)
    # the tile repaints on its own timer: the alarm can come first on a loaded machine
    qtbot.waitUntil(lambda: panel.tiles["abp"].value.text() == "78/42", timeout=8000)


def test_an_hl7_feed_for_another_patient_shows_a_technical_alarm(qtbot, panels, shots) -> None:  # type: ignore[no-untyped-def]
    side = Bedside()
    side.context.open(LIU, consult_id=7)
    audited: list[tuple[str, dict[str, object]]] = []
    panel = show(
        qtbot,
        panels,
        create_vitals_panel(
            bed=side.bed,
            store=side.store,
            hl7_port=0,  # the listener binds a free port itself and reports it
            start=SourceKind.HL7,
            audit=lambda action, details: audited.append((action, details)),
        ),
    )
    assert panel.sources is not None
    listener = panel.sources.active.handle
    assert isinstance(listener, MllpListener) and listener.port != 0
    port = listener.port
    message = (
        "MSH|^~\\&|MONITOR|ICU|TELECONSULT|SITE|20261123120000||ORU^R01|W1|P|2.5\r"
        "PID|||P-2^^^COUNTY-H||WANG^LEI\r"
        "OBX|1|NM|8867-4^Heart rate^LN||140|/min|||||F\r"
    )
    with MLLPClient("127.0.0.1", port) as client:
        assert b"MSA|AE|W1" in client.send_message(message)
    qtbot.waitUntil(
        lambda: panel.banner.message.text() == "Feed for another patient: patient ID P-2 is not US-2026-0107",
        timeout=3000,
    )
    assert side.store.numeric(Numeric.HR) is None and panel.tiles["hr"].value.text() == "---"
    assert any(a == "vitals.feed.refused" and d["patient_id"] == "P-2" for a, d in audited)
    shoot(shots, panel, "vitals-other-patient.png")


class Listeners:
    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def connect(self, handler: Any) -> None:
        self.handlers.append(handler)

    def disconnect(self, handler: Any) -> None:
        self.handlers.remove(handler)


class FakeCall:
    """What the vitals wiring needs of a call session: its channel messages and its state."""

    def __init__(self) -> None:
        self.message_received, self.state_changed = Listeners(), Listeners()

    def send_bytes(self, _channel: Any, _data: bytes) -> None:
        pass

    def deliver(self, data: bytes) -> None:
        message = type("M", (), {"channel": "vitals", "data": data})()
        for handler in list(self.message_received.handlers):
            handler(message)


def test_the_wiring_binds_the_remote_monitor_to_the_consult_in_context(qtbot) -> None:  # type: ignore[no-untyped-def]
    from core.config.roles import Role
    from core.vitals.stream import StreamSender
    from rtc.session import CallState
    from tests.helpers import compose_workstation

    made: Any = compose_workstation(qtbot, Role.SPECIALIST, {"vitals": {"stale_after_seconds": 4}})
    try:
        window, link = made.window, made.link
        deferred = window.docks[PanelId.VITALS].widget()
        deferred.build()
        panel: QtVitalsPanel = deferred.content
        assert panel.engine.limits.stale_s == 4 and panel.bed is not None
        assert panel.context_bar.who.text() == "No consult open: no vitals shown."
        window.ws.context.open(LIU, consult_id=7)
        assert panel.bed.patient == LIU and panel.bed.consult_id == 7
        call = FakeCall()
        for hook in link.call_session_hooks:
            if getattr(hook, "__qualname__", "").endswith("vitals.<locals>.attach"):
                hook(call)  # the vitals hook, as the call controller runs it on the loop
        bedside = VitalsStore(seconds=10)
        other, ours = StreamSender(bedside, consult_id=8), StreamSender(bedside, consult_id=7)
        SimulatorSource(bedside, Scenario.NORMAL).step()
        bedside.set_numeric(Numeric.SPO2, 93)
        for batch in other.poll():
            call.deliver(batch)
        assert panel.store.numeric(Numeric.SPO2) is None  # another consult's stream: dropped
        for batch in ours.poll():
            call.deliver(batch)
        assert panel.store.numeric(Numeric.SPO2) == 93
        for handler in call.state_changed.handlers:
            handler(CallState.ENDED)
        qtbot.waitUntil(lambda: panel.context_bar.state.text().startswith("Call ended at "), timeout=2000)
        link.sig_signed_out.emit()  # signing out (from behind the lock screen too) clears it all
        assert panel.store.numeric(Numeric.SPO2) is None and panel.bed.patient is None
        assert panel.context_bar.who.text().startswith("Signed out")
    finally:
        made.window.close()
        made.shutdown()
