"""The vitals panel: live strips, numerics, alarm banner colours and flashing, acknowledge, pause, close."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from app.vitals.alarms import Alarm, AlarmKind, AlarmSnapshot, Priority
from app.vitals.buffer import VitalsStore
from app.vitals.signals import Numeric, Wave
from app.vitals.simulator import Scenario
from widgets.vitals import QtVitalsPanel, create_vitals_panel
from widgets.vitals.alarm_banner import QtAlarmBanner
from widgets.vitals.strips import QtWaveformStrips, TraceSpec, px_per_mm

pytestmark = pytest.mark.gui


def make_panel(qtbot, scenario: Scenario) -> QtVitalsPanel:  # type: ignore[no-untyped-def]
    panel = create_vitals_panel(scenario=scenario)
    qtbot.addWidget(panel)
    panel.resize(1200, 760)
    panel.show()
    return panel


def test_panel_shows_live_waveforms_numerics_and_a_high_alarm(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot, Scenario.HYPOTENSION)
    try:
        qtbot.waitUntil(lambda: panel.tiles["hr"].value.text() != "---", timeout=8000)
        assert 100 <= float(panel.tiles["hr"].value.text()) <= 135
        assert panel.tiles["abp"].value.text() == "78/42"
        qtbot.waitUntil(
            lambda: panel.banner.snapshot is not None and panel.banner.snapshot.highest is Priority.HIGH,
            timeout=5000,
        )
        assert "Systolic pressure low" in panel.banner.message.text()
        drawn = [t.y for t in panel.strips.traces]
        assert all(np.isfinite(y).sum() > 100 for y in drawn)
        assert "old" in panel.age.text()
        # acknowledge: sound off, banner steady; audio pause shows the countdown
        panel.banner.ack_button.click()
        snap = panel.engine.alarms.snapshot()
        assert all(a.acknowledged for a in snap.alarms) and not snap.audio_on
        panel.banner.pause_button.click()
        assert "Audio paused 2:00" in panel.banner.audio.text()
    finally:
        panel.close_model()
        panel.close_model()
    assert panel.simulator is not None and not panel.simulator.running
    assert not panel.engine.running and not panel.timer.isActive()


def test_scenario_picker_switches_the_simulator(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot, Scenario.NORMAL)
    try:
        index = panel.scenario.findData(Scenario.APNOEA.value)
        panel.scenario.setCurrentIndex(index)
        assert panel.simulator is not None and panel.simulator.scenario is Scenario.APNOEA
        panel.tabs.setCurrentIndex(1)
        qtbot.wait(200)
        assert len(panel.twelve.traces) == 12
        panel.tabs.setCurrentIndex(2)
        qtbot.wait(100)
        qtbot.waitUntil(lambda: panel.store.numeric(Numeric.HR) is not None, timeout=5000)
        panel.update_trends()
        xs, _ys = panel.trend_curves[Numeric.HR].getData()
        assert xs is not None and len(xs) >= 1
    finally:
        panel.close_model()


@pytest.mark.parametrize(
    ("priority", "colour", "hz"),
    [(Priority.HIGH, "#e00000", 2.0), (Priority.MEDIUM, "#ffd000", 0.6), (Priority.LOW, "#00c8e8", 0.0)],
)
def test_banner_colours_and_flashing_follow_iec_60601_1_8(
    qtbot, priority: Priority, colour: str, hz: float
) -> None:  # type: ignore[no-untyped-def]
    banner = QtAlarmBanner()
    qtbot.addWidget(banner)
    alarm = Alarm("hr_high", priority, AlarmKind.PHYSIOLOGICAL, "HR", 150.0, onset=0.0)
    states = []
    for i in range(40):
        t = i * 0.05  # 2 s sampled at 20 Hz
        banner.show_snapshot(AlarmSnapshot((alarm,), 0.0, t), t)
        states.append((banner.lit, colour in banner.styleSheet()))
    lit = [s[0] for s in states]
    toggles = sum(1 for a, b in itertools.pairwise(lit) if a != b)
    expected = round(2 * 2 * hz)  # two toggles per period over 2 s
    assert abs(toggles - expected) <= 1
    assert all(has_colour for _, has_colour in states)
    assert "HR high 150" in banner.message.text()
    # acknowledged: steady
    acked = Alarm("hr_high", priority, AlarmKind.PHYSIOLOGICAL, "HR", 150.0, onset=0.0, acknowledged=True)
    seen = set()
    for i in range(40):
        banner.show_snapshot(AlarmSnapshot((acked,), 0.0, i * 0.05), i * 0.05)
        seen.add(banner.lit)
    assert seen == {True}


def test_sweep_uses_real_millimetres_and_marks_gaps(qtbot) -> None:  # type: ignore[no-untyped-def]
    store = VitalsStore(seconds=30, clock=lambda: 100.0)
    strips = QtWaveformStrips(store, [TraceSpec(Wave.ECG, "II", "II"), TraceSpec(Wave.RESP, "Resp", "Resp")])
    qtbot.addWidget(strips)
    strips.resize(900, 300)
    strips.show()
    QApplication.processEvents()
    strips.refresh()
    ecg, resp = strips.traces
    mm = px_per_mm(strips)
    width_px = strips.boxes[0].width()
    assert ecg.window_s == pytest.approx(width_px / (25 * mm) - 0.3, abs=0.05)  # 25 mm/s minus calibration
    assert resp.window_s == pytest.approx(4 * (width_px / (25 * mm)), rel=0.02)  # 6.25 mm/s
    ring = store.rings[Wave.ECG]
    ring.write(np.ones((12, 500)), t_first=90.0)
    ring.write_gap(100)
    ring.write(np.ones((12, 400)))
    got = strips.refresh()
    assert got >= 1000
    y = ecg.y
    assert np.isnan(y[500:600]).all() and np.isfinite(y[600:1000]).all()
    assert np.isnan(y[1000 : 1000 + ecg.erase_n]).all()  # erase gap ahead of the newest sample
    # only the segments new samples touched were re-set on the next small write
    before = [c.getData()[1] for c in ecg.curves]
    ring.write(np.full((12, 5), 2.0))
    strips.refresh()
    after = [c.getData()[1] for c in ecg.curves]
    changed = sum(1 for a, b in zip(before, after, strict=True) if a is not b)
    assert 1 <= changed <= 2
