"""The vitals panel: live strips, numerics, alarm banner colours and flashing, acknowledge, pause, close."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from core.vitals.alarms import Alarm, AlarmKind, AlarmSnapshot, Priority
from core.vitals.buffer import VitalsStore
from core.vitals.signals import Numeric, Wave
from core.vitals.simulator import Scenario
from widgets.vitals import QtVitalsPanel, create_vitals_panel
from widgets.vitals.alarm_banner import QtAlarmBanner
from widgets.vitals.strips import QtWaveformStrips, RasterSweepTrace, TraceSpec, px_per_mm

pytestmark = pytest.mark.gui


def make_panel(qtbot, scenario: Scenario) -> QtVitalsPanel:  # type: ignore[no-untyped-def]
    panel = create_vitals_panel(scenario=scenario)
    qtbot.addWidget(panel)
    panel.resize(1200, 760)
    panel.show()
    return panel


def test_panel_shows_live_waveforms_numerics_and_a_high_alarm(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot, Scenario.HYPOTENSION)
    simulator = panel.simulator
    assert simulator is not None and simulator.running
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
    assert not simulator.running and panel.simulator is None
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
    # a small write repaints only the columns it touched (plus the erase gap), not the strip
    assert isinstance(ecg, RasterSweepTrace)
    image_before = ecg.canvas.image.copy()
    ring.write(np.full((12, 5), 2.0))
    strips.refresh()
    per_sample = ecg.w / ecg.n
    assert 0 < ecg.dirty_columns <= (5 + ecg.erase_n) * per_sample + 3
    changed = np.flatnonzero(_columns_differ(image_before, ecg.canvas.image))
    assert changed.size > 0
    x_new = 1000 % ecg.n * per_sample
    assert changed.min() >= int(x_new) - 2 and changed.max() <= x_new + (5 + ecg.erase_n) * per_sample + 2
    # the line really is there: the new samples' columns hold lit pixels, the erase gap none
    lit = _lit_columns(ecg.canvas.image)
    assert lit[int(x_new) + 1] and not lit[int(x_new + (5 + ecg.erase_n // 2) * per_sample)]


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    ptr = image.constBits()
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return rows[:, : image.width()].copy()  # copy: the buffer dies with the converted image


def _columns_differ(a: QImage, b: QImage) -> np.ndarray:
    return (_pixels(a) != _pixels(b)).any(axis=(0, 2))


def _lit_columns(image: QImage) -> np.ndarray:
    return (_pixels(image)[..., 3] > 0).any(axis=0)


def test_the_panel_sounds_the_highest_alarm_until_acknowledged(qtbot) -> None:  # type: ignore[no-untyped-def]
    from core.vitals.alarm_sound import AlarmAudio
    from core.vitals.buffer import VitalsStore as Store
    from core.vitals.engine import MonitorEngine
    from core.vitals.simulator import SimulatorSource

    store = Store(seconds=60.0)
    simulator = SimulatorSource(store, Scenario.HYPOTENSION)
    engine = MonitorEngine(store)
    simulator.step()
    simulator.start()
    engine.start()
    played: list[int] = []
    panel = QtVitalsPanel(
        store, engine, simulator, sound=AlarmAudio(play=lambda pcm: played.append(pcm.size))
    )
    qtbot.addWidget(panel)
    panel.show()
    try:
        # the burst is counted, then synthesised and handed to the player on the sound's own thread
        qtbot.waitUntil(lambda: Priority.HIGH in panel.sound.bursts_played and bool(played), timeout=8000)
        panel.banner.ack_button.click()
        qtbot.wait(100)
        n = len(panel.sound.bursts_played)
        qtbot.wait(400)
        assert len(panel.sound.bursts_played) == n  # acknowledged: silent
        assert "No alarm sound" not in panel.banner.audio.text()  # this player can sound
    finally:
        panel.close_model()


def test_a_workstation_without_sound_says_so(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot, Scenario.HYPOTENSION)
    try:
        qtbot.waitUntil(
            lambda: panel.banner.snapshot is not None and bool(panel.banner.snapshot.alarms), timeout=8000
        )
        if panel.sound.available:
            assert "No alarm sound" not in panel.banner.audio.text()
        else:
            assert "No alarm sound" in panel.banner.audio.text()
            assert panel.banner.audio.toolTip() == panel.sound.unavailable_reason
    finally:
        panel.close_model()


def test_limits_dialog_validates_applies_and_audits(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QDialogButtonBox

    audited: list[tuple[str, dict[str, object]]] = []
    panel = create_vitals_panel(scenario=Scenario.NORMAL, audit=lambda a, d: audited.append((a, d)))
    qtbot.addWidget(panel)
    panel.show()
    try:
        dialog = panel.edit_limits()
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        dialog.spins["hr_low"].setValue(130)  # above the high limit: refused, with the reason
        assert not ok.isEnabled() and "hr" in dialog.problems.text()
        assert panel.engine.limits.hr_low == 50
        dialog.spins["hr_low"].setValue(40)
        dialog.spins["hr_high"].setValue(100)
        assert ok.isEnabled()
        ok.click()
        assert (panel.engine.limits.hr_low, panel.engine.limits.hr_high) == (40, 100)
        changes = [d for a, d in audited if a == "vitals.limits.changed"]
        assert changes and changes[-1]["hr_high"] == "120 -> 100" and changes[-1]["hr_low"] == "50 -> 40"
        # the engine uses the new limit: a normal sinus rate of ~75 is now fine, 100+ would alarm
        assert panel.engine.limits.problems() == []
    finally:
        panel.close_model()


def test_source_picker_switches_to_replay_and_hl7_and_reports_bad_input(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    from core.vitals.hl7 import MllpListener, frame
    from core.vitals.sources import SourceError, SourceKind

    # port 0: the listener binds a free port itself and reports it (no window for another to take it)
    panel = create_vitals_panel(scenario=Scenario.NORMAL, hl7_port=0)
    qtbot.addWidget(panel)
    panel.show()
    try:
        assert panel.source.isVisible() and panel.sources is not None
        # a bad recording: clear reason, the simulator keeps running
        bad = tmp_path / "bad.csv"
        bad.write_text("time,II\n0,notanumber\n")
        panel.source.setCurrentIndex(panel.source.findData(SourceKind.REPLAY.value))
        with pytest.raises(SourceError, match=r"bad\.csv"):
            panel.use_replay(bad)
        assert panel.sources.active.kind is SourceKind.SIMULATOR
        # a good CSV recording replays
        good = tmp_path / "ecg.csv"
        t = np.arange(0, 4, 1 / 250)
        good.write_text("time,II\n" + "\n".join(f"{x:.4f},{np.sin(2 * np.pi * x):.4f}" for x in t))
        panel.use_replay(good)
        assert panel.sources.active.kind is SourceKind.REPLAY and panel.simulator is None
        assert panel.source_detail.text() == "ecg.csv" and not panel.scenario.isVisible()
        # HL7 feed from a monitor: an ORU^R01 over MLLP lands in the numerics
        panel._source_chosen(panel.source.findData(SourceKind.HL7.value))
        listener = panel.sources.active.handle
        assert panel.sources.active.kind is SourceKind.HL7 and isinstance(listener, MllpListener)
        port = listener.port
        assert port != 0 and str(port) in panel.source_detail.text()
        message = (
            "MSH|^~\\&|MONITOR|ICU|TELECONSULT|SITE|20261123120000||ORU^R01|MSG1|P|2.6\r"
            "PID|||P-1\r"
            "OBR|1\r"
            "OBX|1|NM|8867-4^Heart rate^LN||88|/min|||||F|||20261123120000\r"
        )
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(frame(message))
            assert b"MSA|AA" in sock.recv(4096)
        qtbot.waitUntil(lambda: panel.store.numeric(Numeric.HR) == 88, timeout=3000)
    finally:
        panel.close_model()
        panel.close_model()
