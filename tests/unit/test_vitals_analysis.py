"""QRS detection, pulse rate, NEWS2, the alarm state machine and the monitor engine."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from core.vitals.alarms import AlarmCondition, AlarmKind, AlarmManager, Priority
from core.vitals.buffer import VitalsStore
from core.vitals.engine import MonitorEngine
from core.vitals.news2 import Consciousness, Risk, news2_score
from core.vitals.qrs import detect_pulses, detect_qrs, rate_from_beats
from core.vitals.signals import Numeric, Wave
from core.vitals.simulator import Scenario, Simulator, SimulatorSource, run_for


def match_beats(detected_s: np.ndarray, truth_s: np.ndarray, tol: float = 0.05) -> tuple[float, float]:
    """Sensitivity and positive predictivity, as in ANSI/AAMI EC57 (150 ms window; we use 50 ms)."""
    hits = sum(np.any(np.abs(detected_s - t) <= tol) for t in truth_s)
    true_pos = sum(np.any(np.abs(truth_s - d) <= tol) for d in detected_s)
    return hits / max(len(truth_s), 1), true_pos / max(len(detected_s), 1)


@pytest.mark.parametrize(
    "scenario",
    [Scenario.NORMAL, Scenario.SINUS_TACHYCARDIA, Scenario.ATRIAL_FIBRILLATION, Scenario.ST_ELEVATION],
)
def test_qrs_detection_on_simulated_ecg(scenario: Scenario) -> None:
    sim, store = run_for(55, scenario, seed=7)
    ring = store.rings[Wave.ECG]
    chunk = ring.latest(ring.total)
    for lead in ("II", "V1", "V5"):
        beats = detect_qrs(chunk.values[store.channel_index(Wave.ECG, lead)], ring.fs)
        detected = (chunk.start + beats) / ring.fs
        truth = np.array([b for b in sim.beat_times if 0.5 < b < 54.5])
        se, ppv = match_beats(detected[(detected > 0.5) & (detected < 54.5)], truth)
        assert se >= 0.99 and ppv >= 0.99, (lead, se, ppv)


def test_no_beats_in_asystole_or_noise() -> None:
    rng = np.random.default_rng(0)
    assert detect_qrs(0.01 * rng.standard_normal(5000), 500.0).size == 0
    assert detect_pulses(0.003 * rng.standard_normal(1250), 125.0).size == 0


def test_pulse_rate_from_pleth_matches_truth_and_ignores_dicrotic_wave() -> None:
    for scenario in (Scenario.NORMAL, Scenario.SINUS_TACHYCARDIA, Scenario.HYPOTENSION):
        sim, store = run_for(20, scenario, seed=2)
        ring = store.rings[Wave.PLETH]
        pulses = detect_pulses(ring.latest(ring.total).values[0], ring.fs)
        t_pulse = pulses / ring.fs - 0.27  # steepest upstroke: about 270 ms after the R wave
        truth = np.array([b for b in sim.beat_times if 1 < b < 19])
        se, ppv = match_beats(t_pulse[(t_pulse > 1) & (t_pulse < 19)], truth, tol=0.06)
        assert se == 1.0 and ppv == 1.0, (scenario, se, ppv)
        rate = rate_from_beats(pulses, ring.fs, last=12)
        assert rate == pytest.approx(sim.truth_hr(12, 20), rel=0.04)


@pytest.mark.parametrize(
    ("kwargs", "total", "risk"),
    [
        ({"rr": 16, "spo2": 98, "sys": 125, "pulse": 72, "temp": 36.8}, 0, Risk.LOW),
        ({"rr": 22, "spo2": 95, "sys": 125, "pulse": 72, "temp": 36.8}, 3, Risk.LOW),
        ({"rr": 16, "spo2": 98, "sys": 88, "pulse": 72, "temp": 36.8}, 3, Risk.LOW_MEDIUM),
        ({"rr": 22, "spo2": 94, "sys": 105, "pulse": 115, "temp": 36.8}, 6, Risk.MEDIUM),
        ({"rr": 26, "spo2": 90, "sys": 85, "pulse": 135, "temp": 39.5}, 14, Risk.HIGH),
        (
            {
                "rr": 16,
                "spo2": 98,
                "sys": 125,
                "pulse": 72,
                "temp": 36.8,
                "consciousness": Consciousness.VOICE,
                "on_oxygen": True,
            },
            5,
            Risk.MEDIUM,
        ),
        ({"rr": 8, "spo2": 91, "sys": 90, "pulse": 40, "temp": 35.0}, 15, Risk.HIGH),
        ({"rr": 9, "spo2": 92, "sys": 91, "pulse": 41, "temp": 35.1}, 7, Risk.HIGH),
    ],
)
def test_news2_reference_values(kwargs: dict, total: int, risk: Risk) -> None:
    score = news2_score(**kwargs)
    assert (score.total, score.risk) == (total, risk)
    assert score.complete


def test_news2_scale2_and_missing_values() -> None:
    assert news2_score(rr=16, spo2=89, sys=125, pulse=72, temp=37, spo2_scale2=True).total == 0
    assert (
        news2_score(rr=16, spo2=97, sys=125, pulse=72, temp=37, spo2_scale2=True, on_oxygen=True).total == 5
    )
    partial = news2_score(rr=16, spo2=None, sys=None, pulse=72, temp=37)
    assert partial.missing == ("sys", "spo2") and not partial.complete


def cond(alarm_id: str, p: Priority, kind: AlarmKind = AlarmKind.PHYSIOLOGICAL) -> AlarmCondition:
    return AlarmCondition(alarm_id, p, kind, alarm_id)


def test_alarm_onset_escalation_acknowledge_and_clear(caplog: pytest.LogCaptureFixture) -> None:
    audit: list[tuple[str, dict]] = []
    alarms = AlarmManager(clock=lambda: 0.0, audit=lambda k, d: audit.append((k, d)))
    caplog.set_level(logging.INFO, logger="core.vitals.alarms")
    alarms.update([cond("spo2_low", Priority.MEDIUM)], now=1.0)
    snap = alarms.snapshot(now=1.0)
    assert snap.highest is Priority.MEDIUM and snap.audio_on
    assert alarms.acknowledge(user="dr") == 1
    assert not alarms.snapshot(now=2.0).audio_on
    assert alarms.snapshot(now=2.0).alarms[0].acknowledged  # still shown after acknowledge
    alarms.update([cond("spo2_low", Priority.MEDIUM)], now=3.0)
    assert not alarms.snapshot(now=3.0).audio_on  # same priority: stays acknowledged
    alarms.update([cond("spo2_low", Priority.HIGH)], now=4.0)  # escalation re-announces
    snap = alarms.snapshot(now=4.0)
    assert snap.highest is Priority.HIGH and snap.audio_on and not snap.alarms[0].acknowledged
    assert snap.alarms[0].onset == 1.0
    alarms.update([], now=5.0)  # a high-priority alarm latches: shown, marked ended, until acknowledged
    assert [a.ended_at for a in alarms.snapshot(now=5.0).alarms] == [5.0]
    assert alarms.acknowledge(user="dr") == 1
    assert alarms.snapshot(now=6.0).alarms == ()
    kinds = [k for k, _ in audit]
    assert kinds == [
        "vitals.alarm.onset",
        "vitals.alarm.acknowledged",
        "vitals.alarm.escalated",
        "vitals.alarm.condition_ended",
        "vitals.alarm.acknowledged",
        "vitals.alarm.cleared",
    ]
    assert audit[1][1]["user"] == "dr"
    logged = [r.getMessage() for r in caplog.records]
    assert any("vitals.alarm.onset" in m and "spo2_low" in m for m in logged)
    assert any(r.levelno == logging.WARNING and "escalated" in r.getMessage() for r in caplog.records)


def test_alarms_sorted_by_priority_then_onset() -> None:
    alarms = AlarmManager(clock=lambda: 0.0)
    alarms.update([cond("irregular", Priority.LOW)], now=0)
    alarms.update([cond("irregular", Priority.LOW), cond("hr_high", Priority.MEDIUM)], now=1)
    alarms.update(
        [
            cond("irregular", Priority.LOW),
            cond("hr_high", Priority.MEDIUM),
            cond("asystole", Priority.HIGH),
            cond("lead", Priority.LOW, AlarmKind.TECHNICAL),
        ],
        now=2,
    )
    assert [a.alarm_id for a in alarms.snapshot(now=2).alarms] == ["asystole", "hr_high", "irregular", "lead"]


def test_audio_pause_lasts_two_minutes_then_sound_returns() -> None:
    audit: list[str] = []
    alarms = AlarmManager(clock=lambda: 0.0, audit=lambda k, d: audit.append(k))
    alarms.update([cond("hr_high", Priority.MEDIUM)], now=0)
    alarms.pause_audio(user="dr", now=10)
    assert alarms.snapshot(now=10).audio_paused_s == 120
    assert not alarms.snapshot(now=60).audio_on
    alarms.update([cond("hr_high", Priority.MEDIUM)], now=129.9)
    assert not alarms.snapshot(now=129.9).audio_on
    alarms.update([cond("hr_high", Priority.MEDIUM)], now=130.0)
    assert alarms.snapshot(now=130.0).audio_on
    assert audit[-1] == "vitals.alarm.audio_pause_expired"


def test_new_alarm_ends_audio_pause() -> None:
    alarms = AlarmManager(clock=lambda: 0.0)
    alarms.update([cond("hr_high", Priority.MEDIUM)], now=0)
    alarms.pause_audio(now=1)
    alarms.update([cond("hr_high", Priority.MEDIUM), cond("spo2_low", Priority.HIGH)], now=5)
    snap = alarms.snapshot(now=5)
    assert snap.audio_paused_s == 0 and snap.audio_on


def test_audit_failure_does_not_stop_alarms() -> None:
    def broken(kind: str, details: dict) -> None:
        raise RuntimeError("backend down")

    alarms = AlarmManager(clock=lambda: 0.0, audit=broken)
    alarms.update([cond("apnoea", Priority.HIGH)], now=0)
    assert alarms.snapshot(now=0).highest is Priority.HIGH


@pytest.mark.parametrize(
    ("scenario", "seconds", "expected"),
    [
        (Scenario.NORMAL, 30, set()),
        (Scenario.SINUS_TACHYCARDIA, 30, {("hr_high", Priority.MEDIUM)}),
        (Scenario.ATRIAL_FIBRILLATION, 30, {("irregular", Priority.LOW)}),
        (Scenario.DESATURATION, 60, {("spo2_low", Priority.HIGH)}),
        (Scenario.HYPOTENSION, 30, {("sys_low", Priority.HIGH)}),
        (Scenario.APNOEA, 30, {("apnoea", Priority.HIGH)}),
        (Scenario.ASYSTOLE, 30, {("asystole", Priority.HIGH)}),
        (Scenario.LEAD_OFF, 30, {("ecg_lead_off", Priority.LOW)}),
    ],
)
def test_engine_raises_each_scenarios_alarm(scenario: Scenario, seconds: float, expected: set) -> None:
    sim, store = run_for(seconds, scenario, seed=4)
    engine = MonitorEngine(store)
    analysis = engine.analyse()
    found = {
        (a.alarm_id, a.priority)
        for a in engine.alarms.snapshot().alarms
        if not a.alarm_id.startswith("news2")
    }
    assert expected <= found
    if scenario is Scenario.NORMAL:
        assert found == set()
    if analysis.hr and scenario not in (Scenario.ATRIAL_FIBRILLATION,):
        assert analysis.hr == pytest.approx(sim.truth_hr(seconds - 8, seconds), rel=0.03)
    if scenario is Scenario.LEAD_OFF:
        assert analysis.hr is None and analysis.pulse == pytest.approx(72, rel=0.06)
    assert store.numeric(Numeric.NEWS2) is not None


def test_technical_alarms_stale_and_signal_lost() -> None:
    now = [100.0]
    store = VitalsStore(seconds=30, clock=lambda: now[0])
    sim = Simulator(Scenario.NORMAL, t0=80.0)
    sim.write_until(store, 20.0)
    engine = MonitorEngine(store)
    engine.analyse()
    assert engine.alarms.snapshot().alarms == ()
    now[0] = 105.0  # nothing arrives for 5 s
    engine.analyse()
    assert [a.alarm_id for a in engine.alarms.snapshot().alarms] == ["stale"]
    # everything but the pleth resumes; after 10 s the pleth is reported lost
    ring = store.rings[Wave.PLETH]
    for wave, (values, t_first) in sim.generate_until(32.0).items():
        if wave is not Wave.PLETH:
            store.rings[wave].write(values, t_first)
    now[0] = 112.0
    engine.analyse()
    ids = {a.alarm_id for a in engine.alarms.snapshot().alarms}
    assert "pleth_lost" in ids and "stale" not in ids
    assert ring.newest_time() is not None


def test_alarm_raised_while_the_consumer_thread_is_blocked() -> None:
    """The engine's thread raises and logs the alarm even when the 'UI' thread never runs."""
    store = VitalsStore(seconds=30)
    source = SimulatorSource(store, Scenario.ASYSTOLE, period=0.01)
    seen = threading.Event()
    engine = MonitorEngine(
        store, period=0.05, audit=lambda k, d: seen.set() if d.get("alarm") == "asystole" else None
    )
    engine.limits.asystole_s = 1.0
    engine.window_s = 3.0
    source.start()
    engine.start()
    try:
        ui_blocked_until = time.monotonic() + 4.0
        while time.monotonic() < ui_blocked_until and not seen.is_set():
            time.sleep(0.05)  # stands for a busy UI thread that processes no events
        assert seen.is_set()
    finally:
        engine.close()
        source.close()
        engine.close()  # twice is harmless
