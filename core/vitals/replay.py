"""Replay of recorded signals: WFDB records (PhysioNet, through the ``wfdb`` package) and CSV files.

A recording is resampled to the monitor's rates; channels it lacks stay NaN (drawn as gaps). A file
that cannot be used raises :class:`ReplayError` with the reason; the rest of the application goes on.
"""

from __future__ import annotations

import csv
import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.vitals.buffer import VitalsStore
from core.vitals.signals import ECG_LEADS, WAVES, Wave

log = logging.getLogger(__name__)

_ALIASES: dict[str, tuple[Wave, str]] = {
    **{lead.upper(): (Wave.ECG, lead) for lead in ECG_LEADS},
    **{f"ECG {lead}".upper(): (Wave.ECG, lead) for lead in ECG_LEADS},
    "MLII": (Wave.ECG, "II"),
    "ML2": (Wave.ECG, "II"),
    "ECG": (Wave.ECG, "II"),
    "PLETH": (Wave.PLETH, "Pleth"),
    "PPG": (Wave.PLETH, "Pleth"),
    "SPO2 PLETH": (Wave.PLETH, "Pleth"),
    "ABP": (Wave.ABP, "ABP"),
    "ART": (Wave.ABP, "ABP"),
    "BP": (Wave.ABP, "ABP"),
    "RESP": (Wave.RESP, "Resp"),
    "IMPEDANCE": (Wave.RESP, "Resp"),
    "CO2": (Wave.CO2, "CO2"),
}


class ReplayError(ValueError):
    pass


def channel_for(name: str) -> tuple[Wave, str] | None:
    return _ALIASES.get(name.strip().upper())


@dataclass
class Recording:
    """Signals at the monitor's rates: {wave: (channels, n) array}; all share ``duration``."""

    waves: dict[Wave, np.ndarray]
    duration: float
    source: str
    annotations_s: np.ndarray | None = None  # beat annotations, when the record has them


def _resample(signal: np.ndarray, fs_in: float, fs_out: float, duration: float) -> np.ndarray:
    t_out = np.arange(int(duration * fs_out)) / fs_out
    t_in = np.arange(signal.size) / fs_in
    return np.interp(t_out, t_in, signal)


def build_recording(columns: dict[str, np.ndarray], fs: float, source: str) -> Recording:
    n = min((c.size for c in columns.values()), default=0)
    if n < 2:
        raise ReplayError(f"{source}: no samples")
    duration = n / fs
    waves: dict[Wave, np.ndarray] = {}
    used = 0
    for name, values in columns.items():
        target = channel_for(name)
        if target is None:
            log.info("%s: channel %r is not shown; skipped", source, name)
            continue
        wave, channel = target
        d = WAVES[wave]
        if wave not in waves:
            waves[wave] = np.full((len(d.channels), int(duration * d.fs)), np.nan)
        waves[wave][d.channels.index(channel)] = _resample(values[:n], fs, d.fs, duration)
        used += 1
    if not used:
        raise ReplayError(f"{source}: none of the channels {sorted(columns)} is a known signal")
    return Recording(waves, duration, source)


def load_csv(path: Path) -> Recording:
    """CSV with a header: ``time`` (seconds, uniform) then one column per channel (II, V1, PLETH, ABP...)."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header or header[0].strip().lower() != "time":
                raise ReplayError(f"{path.name}: the first column must be 'time' (seconds)")
            rows = []
            for line_no, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise ReplayError(
                        f"{path.name}, line {line_no}: {len(row)} values, expected {len(header)}"
                    )
                try:
                    rows.append([float(v) for v in row])
                except ValueError as exc:
                    raise ReplayError(f"{path.name}, line {line_no}: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path}: {exc}") from exc
    if len(rows) < 2:
        raise ReplayError(f"{path.name}: fewer than two rows of samples")
    data = np.array(rows)
    dt = np.diff(data[:, 0])
    if dt.min() <= 0 or (dt.max() - dt.min()) > 0.01 * dt.mean():
        raise ReplayError(f"{path.name}: the time column must increase at a constant step")
    columns = {name: data[:, i] for i, name in enumerate(header[1:], start=1)}
    return build_recording(columns, float(1.0 / dt.mean()), path.name)


def load_wfdb(record_path: Path) -> Recording:
    """A WFDB record (``name.hea`` + signal files, optional ``.atr`` beat annotations)."""
    try:
        import wfdb  # heavy; imported only when a record is replayed
    except ImportError as exc:
        raise ReplayError("WFDB replay needs the 'wfdb' package") from exc
    base = str(record_path.with_suffix("")) if record_path.suffix in (".hea", ".dat") else str(record_path)
    try:
        record = wfdb.rdrecord(base)
    except Exception as exc:  # wfdb raises many kinds for a bad header or signal file
        raise ReplayError(f"{Path(base).name}: not a readable WFDB record ({exc})") from exc
    if record.p_signal is None:
        raise ReplayError(f"{Path(base).name}: no physical signals")
    columns = {name: record.p_signal[:, i].astype(np.float64) for i, name in enumerate(record.sig_name)}
    rec = build_recording(columns, float(record.fs), Path(base).name)
    if Path(base + ".atr").exists():
        try:
            with warnings.catch_warnings():  # wfdb's own pandas deprecations, not ours
                warnings.simplefilter("ignore")
                ann = wfdb.rdann(base, "atr")
            beats = [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in "NLRBAaJSVrFejnE/fQ?"]
            rec.annotations_s = np.asarray(beats, dtype=np.float64) / float(record.fs)
        except Exception as exc:
            log.warning("%s: annotations unreadable (%s); replaying without them", base, exc)
    return rec


def load_recording(path: Path) -> Recording:
    if path.suffix.lower() == ".csv":
        return load_csv(path)
    return load_wfdb(path)


class ReplaySource:
    """Plays a recording into a store in real time (looping), on its own thread."""

    def __init__(
        self,
        store: VitalsStore,
        recording: Recording,
        loop: bool = True,
        period: float = 0.02,
        clock: Callable[[], float] | None = None,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        self.store, self.recording, self.loop, self.period = store, recording, loop, period
        self.clock = clock or store.clock
        self.gate = gate  # False while no patient is attached to the bed: the replay holds still
        self.t0 = self.clock()
        self._last_step = self.t0
        self._pos = dict.fromkeys(recording.waves, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        with self.store.writing:
            self._step()

    def _step(self) -> None:
        now = self.clock()
        if self.gate is not None and not self.gate():
            self.t0 += now - self._last_step
            self._last_step = now
            return
        self._last_step = now
        elapsed = now - self.t0
        for wave, values in self.recording.waves.items():
            fs = WAVES[wave].fs
            target = int(elapsed * fs)
            n_rec = values.shape[1]
            while self._pos[wave] < target:
                i = self._pos[wave] % n_rec
                if not self.loop and self._pos[wave] >= n_rec:
                    break
                take = min(target - self._pos[wave], n_rec - i)
                self.store.rings[wave].write(values[:, i : i + take], self.t0 + self._pos[wave] / fs)
                self._pos[wave] += take

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vitals-replay", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.step()

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2.0)
