"""Waveform strips: sweep mode (fixed screen positions, an erase gap running ahead of the newest sample)
or scroll mode, at real paper speeds from the screen's physical DPI.

Sweep mode is cheap because each frame touches only what changed: every trace is cut into short
curve segments and a frame re-sets only the one or two segments its new samples (and the erase gap)
fall into; the rest keep their cached paths and, with pyqtgraph's minimal viewport updates, are not
even repainted. Lost samples are NaN in the ring: the trace breaks there and the gap stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QWidget

from app.vitals.buffer import RingBuffer, VitalsStore
from app.vitals.signals import Wave

# Bedside-monitor conventions: ECG green, SpO2 cyan, respiration yellow, arterial pressure red, CO2 white.
COLOURS: dict[Wave, str] = {
    Wave.ECG: "#00e060",
    Wave.PLETH: "#00d8ff",
    Wave.RESP: "#ffe020",
    Wave.ABP: "#ff3030",
    Wave.CO2: "#d8d8d8",
}
# mm/s: ECG, pleth and pressure at 25; respiration and CO2 at 6.25 so whole breaths fit.
SPEEDS: dict[Wave, float] = {
    Wave.ECG: 25.0,
    Wave.PLETH: 25.0,
    Wave.ABP: 25.0,
    Wave.RESP: 6.25,
    Wave.CO2: 6.25,
}
ERASE_S = 0.25  # the blank gap ahead of the newest sample, as on a bedside monitor
CAL_S = 0.3  # room at the left for the 1 mV calibration pulse
ECG_MM_PER_MV = 10.0


@dataclass(frozen=True)
class TraceSpec:
    wave: Wave
    channel: str
    label: str
    y_range: tuple[float, float] | None = None  # None: ECG at 10 mm/mV from the strip's height


def default_y_range(wave: Wave) -> tuple[float, float]:
    return {
        Wave.PLETH: (-0.1, 1.3),
        Wave.RESP: (-0.15, 1.15),
        Wave.ABP: (0.0, 160.0),
        Wave.CO2: (0.0, 50.0),
    }.get(wave, (-1.0, 1.5))


def px_per_mm(widget: QWidget) -> float:
    screen = widget.screen()
    dpi = screen.physicalDotsPerInchX() if screen is not None else 96.0
    if not 40.0 <= dpi <= 600.0:  # offscreen and some virtual screens report nonsense
        dpi = 96.0
    return dpi / 25.4


class Trace:
    """One waveform in one ViewBox. ``update()`` pulls what the ring got since the last call."""

    def __init__(
        self,
        vb: pg.ViewBox,
        ring: RingBuffer,
        channel: int,
        colour: str,
        window_s: float,
        sweep: bool = True,
        segment_s: float = 0.5,
        naive: bool = False,
    ) -> None:
        self.vb, self.ring, self.channel = vb, ring, channel
        self.sweep, self.naive = sweep, naive
        self.pen = QPen(QColor(colour))
        self.pen.setWidth(1)
        self.pen.setCosmetic(True)
        self.n = max(8, round(window_s * ring.fs))
        self.window_s = self.n / ring.fs
        self.x = np.arange(self.n, dtype=np.float64) / ring.fs
        self.y = np.full(self.n, np.nan)
        seg = 1 if (naive or not sweep) else max(1, int(np.ceil(self.window_s / segment_s)))
        self.seg_len = int(np.ceil(self.n / seg))
        self.curves: list[pg.PlotCurveItem] = []
        for _k in range(seg):
            curve = pg.PlotCurveItem(pen=self.pen, antialias=False)
            vb.addItem(curve)
            self.curves.append(curve)
        self.erase_n = int(ERASE_S * ring.fs)
        self.read_pos = max(0, ring.total - self.n)
        self.newest_painted_index = -1

    def remove(self) -> None:
        for curve in self.curves:
            self.vb.removeItem(curve)
        self.curves.clear()

    def _set_segment(self, k: int) -> None:
        lo = k * self.seg_len
        hi = min(self.n, lo + self.seg_len + 1)  # one sample overlap joins the segments
        ys = self.y[lo:hi]
        finite = bool(np.isfinite(ys).all())
        self.curves[k].setData(
            self.x[lo:hi], ys, connect="all" if finite else "finite", skipFiniteCheck=finite
        )

    def update(self) -> int:
        """Pull new samples and re-set what they touched. Returns how many samples arrived."""
        if self.naive or not self.sweep:
            return self._update_whole()
        chunk = self.ring.read(self.read_pos)
        got = chunk.values.shape[1]
        if got == 0:
            return 0
        if got > self.n:
            chunk_values, start = chunk.values[self.channel, -self.n :], chunk.stop - self.n
        else:
            chunk_values, start = chunk.values[self.channel], chunk.start
        idx = np.arange(start, chunk.stop) % self.n
        self.y[idx] = chunk_values
        erase = np.arange(chunk.stop, chunk.stop + self.erase_n) % self.n
        self.y[erase] = np.nan
        self.read_pos = chunk.stop
        touched = np.unique(np.concatenate([idx, erase]) // self.seg_len)
        for k in touched:
            self._set_segment(int(k))
        self.newest_painted_index = chunk.stop - 1
        return got

    def _update_whole(self) -> int:
        """Scroll mode, and the naive baseline: the whole visible window on every frame."""
        total = self.ring.total
        got = total - self.read_pos
        if got <= 0:
            return 0
        chunk = self.ring.latest(self.n)
        ys = chunk.values[self.channel]
        if self.sweep:  # naive sweep: same picture as the fast path, rebuilt in full
            self.y[np.arange(chunk.start, chunk.stop) % self.n] = ys
            self.y[np.arange(chunk.stop, chunk.stop + self.erase_n) % self.n] = np.nan
            xs, ys = self.x, self.y
        else:
            xs = self.x[: ys.size] - self.x[ys.size - 1] + self.window_s
        finite = bool(np.isfinite(ys).all())
        self.curves[0].setData(xs, ys, connect="all" if finite else "finite", skipFiniteCheck=finite)
        self.read_pos = total
        self.newest_painted_index = total - 1
        return got


class QtWaveformStrips(pg.GraphicsLayoutWidget):
    """A column (or grid) of strips, one trace each, read from the store on :meth:`refresh`."""

    def __init__(
        self,
        store: VitalsStore,
        specs: list[TraceSpec],
        columns: int = 1,
        sweep: bool = True,
        naive: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent=parent)
        self.setBackground("k")
        self.setViewportUpdateMode(pg.QtWidgets.QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.store, self.specs, self.sweep, self.naive = store, specs, sweep, naive
        self.ci.setSpacing(0)
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.boxes: list[pg.ViewBox] = []
        self.labels: list[pg.TextItem] = []
        self.traces: list[Trace] = []
        self._geometry: tuple[int, int] | None = None
        for i, spec in enumerate(specs):
            vb = self.addViewBox(row=i // columns, col=i % columns, enableMouse=False)
            vb.setMenuEnabled(False)
            vb.setDefaultPadding(0.0)
            label = pg.TextItem(spec.label, color=COLOURS[spec.wave], anchor=(0, 0))
            vb.addItem(label, ignoreBounds=True)
            self.boxes.append(vb)
            self.labels.append(label)
        self._cal_items: list[pg.PlotCurveItem] = []

    def set_sweep(self, sweep: bool) -> None:
        if sweep != self.sweep:
            self.sweep = sweep
            self._geometry = None

    def _build(self) -> None:
        for trace in self.traces:
            trace.remove()
        for vb, item in zip(self.boxes, self._cal_items, strict=False):
            vb.removeItem(item)
        self.traces, self._cal_items = [], []
        mm = px_per_mm(self)
        for vb, spec, label in zip(self.boxes, self.specs, self.labels, strict=True):
            width_px = max(50.0, vb.width())
            ring = self.store.rings[spec.wave]
            ch = self.store.channel_index(spec.wave, spec.channel)
            is_ecg = spec.wave is Wave.ECG
            left = CAL_S if is_ecg else 0.0
            px_per_s = mm * SPEEDS[spec.wave]
            window_s = max(0.5, width_px / px_per_s - left)
            trace = Trace(vb, ring, ch, COLOURS[spec.wave], window_s, sweep=self.sweep, naive=self.naive)
            self.traces.append(trace)
            if spec.y_range is not None:
                y0, y1 = spec.y_range
            elif is_ecg:
                span = max(1.0, vb.height() / mm / ECG_MM_PER_MV)
                y0, y1 = -0.4 * span, 0.6 * span
            else:
                y0, y1 = default_y_range(spec.wave)
            vb.setRange(QRectF(-left, y0, left + trace.window_s, y1 - y0), padding=0)
            label.setPos(-left, y1)
            if is_ecg:  # 1 mV calibration pulse, 200 ms wide
                cal = pg.PlotCurveItem(
                    np.array([-0.28, -0.24, -0.24, -0.04, -0.04, -0.0]),
                    np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
                    pen=trace.pen,
                )
                vb.addItem(cal)
            else:
                cal = pg.PlotCurveItem()
                vb.addItem(cal)
            self._cal_items.append(cal)
        self._geometry = (self.width(), self.height())

    def refresh(self) -> int:
        """Pull new samples into every trace (call on the display timer). Returns samples drawn."""
        if self._geometry != (self.width(), self.height()):
            self._build()
        return sum(trace.update() for trace in self.traces)

    def window_seconds(self) -> list[float]:
        return [t.window_s for t in self.traces]


class NumericStyle:
    """Colours shared by numerics and strips."""

    HR = COLOURS[Wave.ECG]
    SPO2 = COLOURS[Wave.PLETH]
    RESP = COLOURS[Wave.RESP]
    ABP = COLOURS[Wave.ABP]
    CO2 = COLOURS[Wave.CO2]
    NIBP = "#f0f0f0"
    TEMP = "#f0f0f0"


__all__ = ["COLOURS", "NumericStyle", "QtWaveformStrips", "Trace", "TraceSpec", "px_per_mm"]
