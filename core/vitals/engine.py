"""The monitor's analysis loop, on its own thread: derived rates, NEWS2, alarm conditions, alarm state.

It reads the same store the display reads, but never waits for the UI: an alarm is raised, logged and
audited even while the Qt main thread is busy painting or frozen.

Bound to a :class:`~core.vitals.bed.Bed`, it evaluates only while the bed has a patient and its data is
live: no alarm before a patient is attached, none on the history a call left behind. Rates are derived
only from fresh samples (a monitor that stopped sending never gets a heart rate "now"), and when no data
has come for ``stale_s`` seconds it raises the technical alarm "No data from the bedside".
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, fields, replace

import numpy as np

from core.vitals.alarms import AlarmCondition, AlarmKind, AlarmManager, AuditCallback, Priority
from core.vitals.bed import Bed, Refusal
from core.vitals.buffer import VitalsStore
from core.vitals.news2 import Consciousness, News2, Risk, news2_score
from core.vitals.periodic import Periodic
from core.vitals.qrs import detect_pulses, detect_qrs, irregularity, rate_from_beats
from core.vitals.signals import Numeric, Wave

log = logging.getLogger(__name__)

OTHER_PATIENT_PREFIX = "Feed for another patient: "
REFUSAL_AUDIT_S = 60.0  # a refusal repeated within this is counted, recorded with the next one after it


@dataclass
class AlarmLimits:
    """Per-patient limits; the clinician edits them, the engine reads them on each evaluation."""

    hr_low: float = 50
    hr_high: float = 120
    spo2_low: float = 90
    sys_low: float = 90
    sys_high: float = 180
    rr_low: float = 8
    rr_high: float = 30
    etco2_low: float = 25
    etco2_high: float = 50
    temp_high: float = 38.5
    asystole_s: float = 4.0
    apnoea_s: float = 20.0
    stale_s: float = 5.0  # no data for this long: technical alarm, numerics grey (site: stale_after_seconds)
    signal_lost_s: float = 10.0

    def problems(self) -> list[str]:
        """What makes these limits unusable (a low above its high, a value no patient could have)."""
        out: list[str] = []
        pairs = (
            ("hr", self.hr_low, self.hr_high),
            ("sys", self.sys_low, self.sys_high),
            ("rr", self.rr_low, self.rr_high),
            ("etco2", self.etco2_low, self.etco2_high),
        )
        for name, low, high in pairs:
            if low >= high:
                out.append(f"{name}: the low limit ({low:g}) must be below the high limit ({high:g})")
        bounds = {
            "hr_low": (15, 300), "hr_high": (15, 300), "spo2_low": (50, 100), "sys_low": (30, 300),
            "sys_high": (30, 300), "rr_low": (2, 80), "rr_high": (2, 80), "etco2_low": (5, 100),
            "etco2_high": (5, 100), "temp_high": (35, 43), "asystole_s": (2, 12), "apnoea_s": (10, 60),
        }  # fmt: skip
        for key, (lo, hi) in bounds.items():
            value = getattr(self, key)
            if not lo <= value <= hi:
                out.append(f"{key}: {value:g} is outside {lo:g}..{hi:g}")
        return out


@dataclass
class Analysis:
    hr: float | None = None
    pulse: float | None = None
    irregularity: float = 0.0
    asystole: bool = False
    apnoea: bool = False
    news2: News2 | None = None
    conditions: list[AlarmCondition] = field(default_factory=list)


def _phys(alarm_id: str, priority: Priority, message: str, value: float | None = None) -> AlarmCondition:
    return AlarmCondition(alarm_id, priority, AlarmKind.PHYSIOLOGICAL, message, value)


def _tech(alarm_id: str, priority: Priority, message: str, value: float | None = None) -> AlarmCondition:
    return AlarmCondition(alarm_id, priority, AlarmKind.TECHNICAL, message, value)


class MonitorEngine:
    def __init__(
        self,
        store: VitalsStore,
        limits: AlarmLimits | None = None,
        audit: AuditCallback | None = None,
        period: float = 0.5,
        window_s: float = 8.0,
        bed: Bed | None = None,
        stale_s: float | None = None,
    ) -> None:
        self.store = store
        self.limits = limits or AlarmLimits()
        if stale_s is not None:
            self.limits = replace(self.limits, stale_s=stale_s)
        self.default_limits = self.limits  # what a newly attached patient starts with
        self.bed = bed  # None: a monitor bound to no bed (tests, tools) always evaluates
        self.alarms = AlarmManager(clock=store.clock, audit=audit)
        self._external: dict[str, tuple[AlarmCondition, float]] = {}  # raised by a source, until
        self._refusals: dict[str, tuple[float, int]] = {}  # why -> (last recorded, repeats since)
        self._lock = threading.RLock()  # one evaluation at a time; a reset waits for it
        self.period = period
        self.window_s = window_s
        self.consciousness = Consciousness.ALERT
        self.on_oxygen = False
        self.last: Analysis = Analysis()
        self._news2_risk = Risk.LOW
        self._worker = Periodic("vitals-engine", self.period, self.analyse)

    def set_limits(self, limits: AlarmLimits, user: str = "") -> dict[str, tuple[float, float]]:
        """Apply new per-patient limits, logged and audited. Raises ValueError when they are unusable."""
        problems = limits.problems()
        if problems:
            raise ValueError("; ".join(problems))
        old = self.limits
        changed = {
            f.name: (getattr(old, f.name), getattr(limits, f.name))
            for f in fields(AlarmLimits)
            if getattr(old, f.name) != getattr(limits, f.name)
        }
        self.limits = limits
        if changed:
            details: dict[str, object] = {
                "user": user,
                **{k: f"{a:g} -> {b:g}" for k, (a, b) in changed.items()},
            }
            log.info("vitals.limits.changed %s", details)
            if self.alarms.audit is not None:
                try:
                    self.alarms.audit("vitals.limits.changed", details)
                except Exception:
                    log.exception("limits audit callback failed")
        return changed

    def raise_technical(self, alarm_id: str, priority: Priority, message: str, hold_s: float = 60.0) -> None:
        """A technical condition a source found (an HL7 feed for another patient): it is an alarm from
        the next evaluation on, for ``hold_s`` seconds after it was last raised. Thread-safe."""
        until = self.store.clock() + hold_s
        with self._lock:
            self._external[alarm_id] = (_tech(alarm_id, priority, message), until)

    def refused(self, source: str, refusal: Refusal, details: dict[str, object]) -> None:
        """A source refused data (an HL7 message for another patient, or while none is attached):
        logged and audited; for another patient also a technical alarm on screen. Thread-safe."""
        audited = {"source": source, "bed": self.bed.name if self.bed else "", **details}
        audited["reason"] = refusal.detail
        # a gateway repeats every few seconds: the first refusal of each kind is recorded at once, the
        # repeats once a minute with their count, so the audit trail keeps the story without a flood
        now = self.store.clock()
        with self._lock:
            first, repeats = self._refusals.get(refusal.detail, (None, 0))
            if first is not None and now - first < REFUSAL_AUDIT_S:
                self._refusals[refusal.detail] = (first, repeats + 1)
                record = False
            else:
                self._refusals[refusal.detail] = (now, 0)
                record = True
        if record:
            if repeats:
                audited["repeated"] = repeats
            log.warning("vitals.feed.refused %s", " ".join(f"{k}={v}" for k, v in audited.items()))
            if self.alarms.audit is not None:
                try:
                    self.alarms.audit("vitals.feed.refused", audited)
                except Exception:  # the audit trail must never stop the monitor
                    log.exception("refusal audit callback failed")
        if refusal.other_patient:
            # medium: this bed's monitor may be sending this patient's data elsewhere, or none at all
            message = f"{OTHER_PATIENT_PREFIX}{refusal.detail}"
            self.raise_technical("feed_other_patient", Priority.MEDIUM, message)

    def reset(self, reason: str) -> None:
        """The patient left the bed (or another came): forget the data, the alarms (audited as cleared
        with ``reason``), the NEWS2 inputs and the per-patient limits. Never called on a lock."""
        with self._lock:
            self.store.clear()
            self.alarms.reset(reason)
            self._external.clear()
            self._refusals.clear()
            self.last = Analysis()
            self._news2_risk = Risk.LOW
            self.consciousness = Consciousness.ALERT
            self.on_oxygen = False
            if self.limits != self.default_limits:
                log.info("vitals.limits.reset to the defaults (%s)", reason)
            self.limits = self.default_limits

    def _newest(self, wave: Wave, now: float) -> float:
        ring = self.store.rings.get(wave)
        newest = None if ring is None else ring.newest_time()
        return now if newest is None else min(newest, now)

    def _fresh(self, wave: Wave, now: float) -> bool:
        ring = self.store.rings.get(wave)
        newest = None if ring is None else ring.newest_time()
        return newest is not None and now - newest < self.limits.stale_s

    # analysis --------------------------------------------------------------------------------------
    def _ecg_rate(self, now: float, lead_off: bool) -> tuple[float | None, float, bool]:
        ring = self.store.rings.get(Wave.ECG)
        if ring is None or lead_off or ring.total == 0 or not self._fresh(Wave.ECG, now):
            return None, 0.0, False
        chunk = ring.latest(int(self.window_s * ring.fs))
        lead = chunk.values[self.store.channel_index(Wave.ECG, "II")]
        valid = np.isfinite(lead)
        if valid.mean() < 0.8 or chunk.times.size < 2 * ring.fs:
            return None, 0.0, False
        beats = detect_qrs(lead, ring.fs)
        span = chunk.times[-1] - chunk.times[0]
        last_beat_age = span if beats.size == 0 else chunk.times[-1] - chunk.times[beats[-1]]
        if last_beat_age >= self.limits.asystole_s and span >= self.limits.asystole_s:
            return 0.0, 0.0, True
        return rate_from_beats(beats, ring.fs), irregularity(beats, ring.fs), False

    def _pulse_rate(self, now: float) -> float | None:
        ring = self.store.rings.get(Wave.PLETH)
        if ring is None or ring.total == 0 or not self._fresh(Wave.PLETH, now):
            return None
        chunk = ring.latest(int(self.window_s * ring.fs))
        if chunk.times.size < 3 * ring.fs or np.isfinite(chunk.values[0]).mean() < 0.8:
            return None
        return rate_from_beats(detect_pulses(chunk.values[0], ring.fs), ring.fs)

    def _apnoea(self) -> bool:
        ring = self.store.rings.get(Wave.CO2)
        if ring is not None and ring.total >= self.limits.apnoea_s * ring.fs:
            co2 = ring.latest(int(self.limits.apnoea_s * ring.fs)).values[0]
            if np.isfinite(co2).mean() > 0.8:
                return bool(np.nanmax(co2) < 5.0)
        rr = self.store.numeric(Numeric.RR, max_age=10)
        return rr is not None and rr <= 0

    def analyse(self) -> Analysis:
        """One evaluation: derive, score, compare with limits, update the alarm state. Thread-safe."""
        with self._lock:
            if self.bed is not None and not self.bed.monitoring:
                # no patient at the bed, or only the history of an ended call: nothing to alarm about
                self.alarms.update([], self.store.clock(), latch=False)
                self.last = Analysis()
                return self.last
            return self._analyse()

    def _analyse(self) -> Analysis:
        store, lim = self.store, self.limits
        now = store.clock()
        technical = store.technical()
        lead_off = technical.get("ecg_lead_off", False)
        age = store.newest_age()
        fresh = age is not None and age < lim.stale_s
        a = Analysis()
        a.hr, a.irregularity, a.asystole = self._ecg_rate(now, lead_off)
        a.pulse = self._pulse_rate(now)
        a.apnoea = fresh and self._apnoea()
        if a.hr is not None:
            # stamped with the time of the samples it comes from: its age is theirs, not the engine's
            store.set_numeric(Numeric.HR, a.hr, self._newest(Wave.ECG, now), derived=True)
        if a.pulse is not None:
            store.set_numeric(Numeric.PULSE, a.pulse, self._newest(Wave.PLETH, now), derived=True)
        elif self._fresh(Wave.PLETH, now):
            store.set_numeric(Numeric.PULSE, float("nan"), self._newest(Wave.PLETH, now), derived=True)
        rate = a.hr if a.hr is not None else a.pulse
        sys = store.numeric(Numeric.ABP_SYS, max_age=10) or store.numeric(Numeric.NIBP_SYS, max_age=900)
        spo2 = store.numeric(Numeric.SPO2, max_age=10)
        rr = store.numeric(Numeric.RR, max_age=10)
        etco2 = store.numeric(Numeric.ETCO2, max_age=10)
        temp = store.numeric(Numeric.TEMP, max_age=3600)
        c = a.conditions
        if a.asystole:
            c.append(_phys("asystole", Priority.HIGH, "Asystole"))
        elif rate is not None:
            if rate > lim.hr_high:
                p = Priority.HIGH if rate >= lim.hr_high + 30 else Priority.MEDIUM
                c.append(_phys("hr_high", p, f"HR {rate:.0f} > {lim.hr_high:.0f}", rate))
            elif rate < lim.hr_low:
                p = Priority.HIGH if rate <= lim.hr_low - 10 else Priority.MEDIUM
                c.append(_phys("hr_low", p, f"HR {rate:.0f} < {lim.hr_low:.0f}", rate))
        if a.hr is not None and a.irregularity > 0.12:
            c.append(_phys("irregular", Priority.LOW, "Irregular HR", a.irregularity))
        if spo2 is not None and spo2 < lim.spo2_low:
            p = Priority.HIGH if spo2 <= lim.spo2_low - 5 else Priority.MEDIUM
            c.append(_phys("spo2_low", p, f"SpO2 {spo2:.0f} < {lim.spo2_low:.0f}", spo2))
        if sys is not None:
            if sys < lim.sys_low:
                p = Priority.HIGH if sys <= lim.sys_low - 10 else Priority.MEDIUM
                c.append(_phys("sys_low", p, f"SYS {sys:.0f} < {lim.sys_low:.0f}", sys))
            elif sys > lim.sys_high:
                c.append(_phys("sys_high", Priority.MEDIUM, f"SYS {sys:.0f} > {lim.sys_high:.0f}", sys))
        if a.apnoea and not a.asystole:
            c.append(_phys("apnoea", Priority.HIGH, "Apnoea"))
        elif rr is not None and rr > 0:
            if rr > lim.rr_high:
                c.append(_phys("rr_high", Priority.MEDIUM, f"RR {rr:.0f} > {lim.rr_high:.0f}", rr))
            elif rr < lim.rr_low:
                c.append(_phys("rr_low", Priority.MEDIUM, f"RR {rr:.0f} < {lim.rr_low:.0f}", rr))
            if etco2 is not None and etco2 < lim.etco2_low:
                c.append(_phys("etco2_low", Priority.LOW, f"etCO2 {etco2:.0f} < {lim.etco2_low:.0f}", etco2))
            elif etco2 is not None and etco2 > lim.etco2_high:
                c.append(
                    _phys("etco2_high", Priority.LOW, f"etCO2 {etco2:.0f} > {lim.etco2_high:.0f}", etco2)
                )
        if temp is not None and temp > lim.temp_high:
            c.append(_phys("temp_high", Priority.LOW, f"Temp {temp:.1f} > {lim.temp_high:.1f}", temp))
        a.news2 = news2_score(
            rr=rr,
            spo2=spo2,
            sys=sys,
            pulse=rate,
            temp=temp,
            consciousness=self.consciousness,
            on_oxygen=self.on_oxygen,
        )
        if fresh:  # a score of old values is not this patient's score now
            store.set_numeric(Numeric.NEWS2, float(a.news2.total), store.newest_time() or now, derived=True)
            if a.news2.risk >= Risk.HIGH:
                c.append(_phys("news2_high", Priority.MEDIUM, f"NEWS2 {a.news2.total}", a.news2.total))
            elif a.news2.risk >= Risk.MEDIUM:
                c.append(_phys("news2_medium", Priority.LOW, f"NEWS2 {a.news2.total}", a.news2.total))
        if a.news2.risk != self._news2_risk:
            log.info(
                "NEWS2 %d: response level %s -> %s", a.news2.total, self._news2_risk.name, a.news2.risk.name
            )
            self._news2_risk = a.news2.risk
        # technical alarms
        if lead_off:
            c.append(_tech("ecg_lead_off", Priority.LOW, "ECG lead off"))
        if age is not None and age >= lim.stale_s:
            # IEC 60601-1-8: a technical alarm; medium, as the patient is no longer being monitored here
            c.append(_tech("stale", Priority.MEDIUM, f"No data from the bedside for {age:.0f} s", age))
        elif age is not None:
            for wave, ring in store.rings.items():
                newest = ring.newest_time()
                if ring.total and newest is not None and now - newest > lim.signal_lost_s:
                    c.append(_tech(f"{wave.value}_lost", Priority.MEDIUM, f"{wave.value} signal lost"))
        for alarm_id, (condition, until) in list(self._external.items()):
            if now < until:
                c.append(condition)
            else:
                del self._external[alarm_id]
        self.alarms.update(c, now)
        self.last = a
        return a

    # thread ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    @property
    def running(self) -> bool:
        return self._worker.running

    def close(self) -> None:
        self.stop()
