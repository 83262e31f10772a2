"""A physiological simulator with the scenarios a trainer picks, writing into a :class:`VitalsStore`.

The ECG comes from a vectorcardiogram: each wave of a beat (P, Q, R, S, T, and an ST-segment current
of injury) is a Gaussian in time with a 3-D dipole direction; the 12 leads are that dipole projected
through Dower's transform (I, II, V1-V6) and Einthoven/Goldberger's identities (III, aVR, aVL, aVF),
so every lead agrees with every other as on a real patient. Pleth and arterial pressure follow each
beat after a pulse transit time, with a dicrotic notch; the capnogram has its expiratory upstroke and
alveolar plateau. Everything is seeded, so tests can compare what is measured against the truth the
simulator keeps (``beat_times``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from core.vitals.buffer import VitalsStore
from core.vitals.periodic import Periodic
from core.vitals.signals import WAVES, Numeric, Wave

log = logging.getLogger(__name__)


class Scenario(StrEnum):
    NORMAL = "normal_sinus_rhythm"
    SINUS_TACHYCARDIA = "sinus_tachycardia"
    ATRIAL_FIBRILLATION = "atrial_fibrillation"
    ST_ELEVATION = "st_elevation"
    DESATURATION = "desaturation"
    HYPOTENSION = "hypotension"
    APNOEA = "apnoea"
    ASYSTOLE = "asystole"
    LEAD_OFF = "lead_off"


@dataclass(frozen=True)
class Physiology:
    hr: float = 72.0
    spo2: float = 98.0
    spo2_end: float | None = None  # falls linearly to this over ``spo2_ramp_s``
    spo2_ramp_s: float = 60.0
    sys: float = 120.0
    dia: float = 78.0
    rr: float = 14.0
    etco2: float = 38.0
    temp: float = 36.8
    af: bool = False
    st_mv: float = 0.0  # anterior ST elevation in V2-V3, mV
    asystole: bool = False
    lead_off: bool = False
    perfusion: float = 1.0


SCENARIOS: dict[Scenario, Physiology] = {
    Scenario.NORMAL: Physiology(),
    Scenario.SINUS_TACHYCARDIA: Physiology(hr=128, spo2=96, sys=128, dia=82, rr=22, temp=38.4),
    Scenario.ATRIAL_FIBRILLATION: Physiology(hr=112, spo2=96, sys=116, dia=74, rr=18, af=True),
    Scenario.ST_ELEVATION: Physiology(hr=92, spo2=95, sys=104, dia=68, rr=20, st_mv=0.3),
    Scenario.DESATURATION: Physiology(hr=104, spo2=97, spo2_end=82, spo2_ramp_s=45, rr=26, perfusion=0.7),
    Scenario.HYPOTENSION: Physiology(hr=118, spo2=95, sys=78, dia=42, rr=22, perfusion=0.35),
    Scenario.APNOEA: Physiology(hr=84, spo2=97, spo2_end=86, spo2_ramp_s=90, rr=0, etco2=0),
    Scenario.ASYSTOLE: Physiology(hr=0, spo2=float("nan"), sys=18, dia=16, rr=0, etco2=0, asystole=True),
    Scenario.LEAD_OFF: Physiology(lead_off=True),
}

# Dower's transform, rows I, II, V1..V6; columns the Frank X (left), Y (down), Z (back) leads.
DOWER = np.array(
    [
        [0.632, -0.235, 0.059],
        [0.235, 1.066, -0.132],
        [-0.515, 0.157, -0.917],
        [0.044, 0.164, -1.387],
        [0.882, 0.098, -1.277],
        [1.213, 0.127, -0.601],
        [1.125, 0.127, -0.086],
        [0.831, 0.076, 0.230],
    ]
)

# (offset from R in s, width sigma in s, dipole XYZ in mV); T offsets scale with sqrt(RR) (Bazett).
_P = (-0.16, 0.022, (0.10, 0.14, -0.03))
_QRS = (
    (-0.028, 0.008, (-0.12, 0.02, -0.18)),  # septal: rightward and anterior
    (0.0, 0.010, (1.00, 0.62, 0.30)),  # main left ventricular
    (0.026, 0.010, (-0.28, -0.22, 0.38)),  # terminal basal
)
_T = ((0.26, 0.055, (0.26, 0.22, -0.12)), (0.30, 0.035, (0.06, 0.05, -0.03)))
_ST_DIR = np.array([0.12, -0.14, -1.0])  # anterior current of injury: up in V1-V4, down in III/aVF


def _gauss(tau: np.ndarray, mu: float | np.ndarray, sigma: float) -> np.ndarray:
    z: np.ndarray = (tau - mu) / sigma
    return np.exp(-0.5 * z * z)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def leads_from_vcg(vcg: np.ndarray) -> np.ndarray:
    """(3, n) vectorcardiogram -> (12, n) leads in ECG_LEADS order."""
    eight = DOWER @ vcg
    lead_i, lead_ii = eight[0], eight[1]
    lead_iii = lead_ii - lead_i
    avr = -(lead_i + lead_ii) / 2
    avl = lead_i - lead_ii / 2
    avf = lead_ii - lead_i / 2
    return np.vstack([lead_i, lead_ii, lead_iii, avr, avl, avf, eight[2:]])


class Simulator:
    """Generates every waveform and numeric of a scenario, deterministically, in sample-exact chunks.

    Times are seconds since the simulator started; ``t0`` maps them to the store's wall clock.
    """

    def __init__(self, scenario: Scenario = Scenario.NORMAL, seed: int = 0, t0: float = 0.0) -> None:
        self.rng = np.random.default_rng(seed)  # measurement noise
        self._beat_rng = np.random.default_rng([seed, 1])  # rhythm: independent of chunk sizes
        self.t0 = t0
        self.scenario = scenario
        self.phys = SCENARIOS[scenario]
        self._scenario_start = 0.0
        self.beat_times: list[float] = []  # truth: R-wave times (s since start)
        self._next_beat = 0.3
        self._sample_index = {w: 0 for w in WAVES}
        self._af_phase = self.rng.uniform(0, 2 * np.pi, 4)
        self._af_freq = self.rng.uniform(5.0, 7.5, 4)
        self._wander_phase = self.rng.uniform(0, 2 * np.pi, 2)
        self._next_numerics = 0.0
        self._next_nibp = 0.0
        self._breath_phase = 0.0
        self._breath_t = 0.0
        self._last_co2 = 0.0

    @property
    def now(self) -> float:
        """Seconds of signal generated so far (the ECG's clock)."""
        return self._sample_index[Wave.ECG] / WAVES[Wave.ECG].fs

    def set_scenario(self, scenario: Scenario, **overrides: float | bool) -> None:
        self.scenario = scenario
        self.phys = replace(SCENARIOS[scenario], **overrides)  # type: ignore[arg-type]
        self._scenario_start = self.now
        self._next_nibp = self.now
        self._next_beat = max(self._next_beat, self.now + 0.1)

    # truth -----------------------------------------------------------------------------------------
    def spo2_at(self, t: float) -> float:
        p = self.phys
        if p.spo2_end is None:
            return p.spo2
        frac = min(1.0, max(0.0, (t - self._scenario_start) / p.spo2_ramp_s))
        return p.spo2 + (p.spo2_end - p.spo2) * frac

    def truth_hr(self, since: float, until: float) -> float:
        """Mean heart rate of the beats in [since, until]: 60 / mean RR."""
        beats = np.array([b for b in self.beat_times if since <= b <= until])
        if beats.size < 2:
            return 0.0
        return float(60.0 / np.mean(np.diff(beats)))

    # generation ------------------------------------------------------------------------------------
    def _schedule_beats(self, until: float) -> None:
        while self._next_beat <= until:
            p = self.phys
            if p.asystole or p.hr <= 0:
                self._next_beat = until + 0.5
                return
            self.beat_times.append(self._next_beat)
            mean_rr = 60.0 / p.hr
            if p.af:
                # irregularly irregular: wide, skewed RR distribution
                rr = mean_rr * float(self._beat_rng.gamma(9.0, 1.0 / 9.0))
                rr = min(max(rr, 0.32), 1.6)
            else:
                rr = mean_rr * (1.0 + 0.02 * float(self._beat_rng.standard_normal()))
            self._next_beat += rr

    def _beats_near(self, t_start: float, t_stop: float, before: float, after: float) -> np.ndarray:
        beats = np.asarray(self.beat_times[-64:])
        return beats[(beats > t_start - before) & (beats < t_stop + after)]

    def _ecg(self, t: np.ndarray) -> np.ndarray:
        p = self.phys
        vcg = np.zeros((3, t.size))
        beats = self._beats_near(t[0], t[-1], 1.2, 0.3)
        if beats.size:
            tau = t[np.newaxis, :] - beats[:, np.newaxis]
            rr = 60.0 / max(p.hr, 30.0)
            qt_scale = np.sqrt(rr)
            waves = list(_QRS)
            if not p.af:
                waves.append(_P)
            t_gain = 1.6 if p.st_mv else 1.0
            for off, sigma, vec in _T:
                g = _gauss(tau, off * qt_scale, sigma * qt_scale).sum(axis=0) * t_gain
                vcg += np.outer(vec, g)
            for off, sigma, vec in waves:
                vcg += np.outer(vec, _gauss(tau, off, sigma).sum(axis=0))
            if p.st_mv:
                plateau = _sigmoid((tau - 0.045) / 0.008) * _sigmoid((0.30 * qt_scale - tau) / 0.04)
                vcg += np.outer(_ST_DIR * (p.st_mv / 1.3), plateau.sum(axis=0))
        if p.af:
            f = sum(
                np.sin(2 * np.pi * fr * t + ph) for fr, ph in zip(self._af_freq, self._af_phase, strict=True)
            )
            vcg += np.outer([-0.02, 0.03, -0.06], f / 2)
        leads = leads_from_vcg(vcg)
        wander = 0.04 * np.sin(2 * np.pi * 0.22 * t + self._wander_phase[0])
        noise = 0.008 * self.rng.standard_normal(leads.shape)
        leads = leads + wander + noise
        if p.lead_off:
            leads = 0.002 * self.rng.standard_normal(leads.shape)
        return leads

    def _pulse(self, t: np.ndarray, delay: float, dicrotic: float) -> np.ndarray:
        out = np.zeros(t.size)
        beats = self._beats_near(t[0], t[-1], 1.5, 0.0)
        if beats.size:
            tau = t[np.newaxis, :] - (beats[:, np.newaxis] + delay)
            shape = (
                _gauss(tau, 0.12, 0.05)
                + dicrotic * _gauss(tau, 0.34, 0.06)
                + 0.22 * np.exp(-np.clip(tau, 0, None) / 0.35) * _sigmoid((tau - 0.10) / 0.02)
            )
            out = shape.sum(axis=0)
        return out

    def _breath_phase_at(self, t: np.ndarray) -> np.ndarray:
        rr = self.phys.rr
        return (self._breath_phase + (t - self._breath_t) * rr / 60.0) % 1.0

    def generate_until(self, t_until: float) -> dict[Wave, tuple[np.ndarray, float]]:
        """Samples of every waveform from where the last call stopped up to ``t_until`` (s since start).

        Returns {wave: ((channels, n) values, timestamp of the first sample on the store's clock)}.
        """
        self._schedule_beats(t_until + 0.5)
        out: dict[Wave, tuple[np.ndarray, float]] = {}
        p = self.phys
        for wave, d in WAVES.items():
            first = self._sample_index[wave]
            last = int(np.floor(t_until * d.fs))
            if last <= first:
                continue
            t = np.arange(first, last) / d.fs
            self._sample_index[wave] = last
            if wave is Wave.ECG:
                values = self._ecg(t)
            elif wave is Wave.PLETH:
                values = p.perfusion * self._pulse(t, 0.22, 0.42) + 0.003 * self.rng.standard_normal(t.size)
            elif wave is Wave.ABP:
                values = p.dia + (p.sys - p.dia) * self._pulse(t, 0.12, 0.30) / 1.05
                values = values + 0.3 * self.rng.standard_normal(t.size)
            elif wave is Wave.RESP:
                if p.rr > 0:
                    phase = self._breath_phase_at(t)
                    insp = phase < 0.4
                    values = np.where(
                        insp,
                        (1 - np.cos(np.pi * phase / 0.4)) / 2,
                        (1 + np.cos(np.pi * (phase - 0.4) / 0.6)) / 2,
                    )
                else:
                    values = np.zeros(t.size)
                values = values + 0.02 * self._pulse(t, 0.1, 0.0) + 0.004 * self.rng.standard_normal(t.size)
            else:  # CO2
                values = self._capnogram(t)
            out[wave] = (np.atleast_2d(values), self.t0 + float(t[0]))
        return out

    def _capnogram(self, t: np.ndarray) -> np.ndarray:
        p = self.phys
        if p.rr <= 0:
            return np.clip(self._last_co2 * np.exp(-(t - t[0]) / 0.2), 0, None)
        period = 60.0 / p.rr
        phase = self._breath_phase_at(t)
        t_in = phase * period
        t_ex = (phase - 0.4) * period
        plateau = p.etco2 * (0.93 + 0.07 * (phase - 0.4) / 0.6)
        expiring = plateau * (1 - np.exp(-np.clip(t_ex, 0, None) / 0.09))
        inspiring = p.etco2 * np.exp(-t_in / 0.05)
        values = np.where(phase >= 0.4, expiring, inspiring) + 0.15 * self.rng.standard_normal(t.size)
        values = np.clip(values, 0, None)
        self._last_co2 = float(values[-1])
        return values

    def numerics_until(self, t_until: float) -> list[tuple[Numeric, float, float]]:
        """The numerics a monitor publishes (once a second; NIBP every two minutes) up to ``t_until``."""
        out: list[tuple[Numeric, float, float]] = []
        p = self.phys
        while self._next_numerics <= t_until:
            t = self._next_numerics
            ts = self.t0 + t
            spo2 = self.spo2_at(t)
            out.append((Numeric.SPO2, round(spo2) if np.isfinite(spo2) else float("nan"), ts))
            out.append((Numeric.RR, p.rr, ts))
            out.append((Numeric.ETCO2, p.etco2, ts))
            out.append((Numeric.TEMP, p.temp, ts))
            mean = p.dia + (p.sys - p.dia) / 3
            out.extend(
                [(Numeric.ABP_SYS, p.sys, ts), (Numeric.ABP_DIA, p.dia, ts), (Numeric.ABP_MEAN, mean, ts)]
            )
            if t >= self._next_nibp:
                out.extend(
                    [
                        (Numeric.NIBP_SYS, p.sys + 2, ts),
                        (Numeric.NIBP_DIA, p.dia + 1, ts),
                        (Numeric.NIBP_MEAN, round(mean + 1), ts),
                    ]
                )
                self._next_nibp = t + 120.0
            self._next_numerics += 1.0
        return out

    def write_until(self, store: VitalsStore, t_until: float) -> None:
        for wave, (values, t_first) in self.generate_until(t_until).items():
            store.rings[wave].write(values, t_first)
        for numeric, value, ts in self.numerics_until(t_until):
            store.set_numeric(numeric, value, ts)
        store.set_technical("ecg_lead_off", self.phys.lead_off)


class SimulatorSource:
    """Runs a :class:`Simulator` in real time on its own thread, writing into a store every ``period``."""

    def __init__(
        self,
        store: VitalsStore,
        scenario: Scenario = Scenario.NORMAL,
        seed: int = 0,
        period: float = 0.02,
        clock: Callable[[], float] | None = None,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or store.clock
        self.period = period
        # False while no patient is attached to the bed: the simulated patient is held, nothing is written
        self.gate = gate
        self.simulator = Simulator(scenario, seed, t0=self.clock())
        self._last_step = self.simulator.t0
        self._lock = threading.Lock()
        self._worker = Periodic("vitals-simulator", self.period, self.step)

    @property
    def scenario(self) -> Scenario:
        return self.simulator.scenario

    def set_scenario(self, scenario: Scenario) -> None:
        with self._lock:
            self.simulator.set_scenario(scenario)
        log.info("vitals simulator scenario: %s", scenario.value)

    def step(self) -> None:
        """Generate everything up to now (the thread calls this; tests may too). While the gate is shut
        the simulated time stands still, so nothing from before a patient was attached is ever written."""
        with self._lock, self.store.writing:
            now = self.clock()
            if self.gate is not None and not self.gate():
                self.simulator.t0 += now - self._last_step
            else:
                self.simulator.write_until(self.store, now - self.simulator.t0)
            self._last_step = now

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    @property
    def running(self) -> bool:
        return self._worker.running

    def close(self) -> None:
        self.stop()


def run_for(
    seconds: float, scenario: Scenario, seed: int = 0, t0: float | None = None
) -> tuple[Simulator, VitalsStore]:
    """Simulate ``seconds`` of a scenario into a fresh store as fast as possible (tests, benchmarks)."""
    start = time.time() if t0 is None else t0
    store = VitalsStore(seconds=max(60.0, seconds + 1), clock=lambda: start + seconds)
    sim = Simulator(scenario, seed, t0=start)
    step = 0.5
    t = 0.0
    while t < seconds:
        t = min(seconds, t + step)
        sim.write_until(store, t)
    return sim, store
