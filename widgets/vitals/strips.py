"""Waveform strips: sweep mode (fixed screen positions, an erase gap running ahead of the newest sample)
or scroll mode, at real paper speeds from the screen's physical DPI.

Sweep mode draws the way a bedside monitor does: each trace owns an image the size of its strip, and a
frame draws only the few new line segments into it and blanks the erase gap ahead of them; the view then
repaints just those columns. Nothing already on screen is recomputed, so the cost per frame follows the
samples that arrived, not the width of the window. Lost samples are NaN in the ring: the line breaks
there and the gap stays visible. Scroll mode (and the benchmark's naive baseline) re-sets the whole
visible buffer through pyqtgraph on every frame.

Old data never looks live: when nothing has arrived for ``GAP_AFTER_S``, the sweep runs on without
samples, blanking ahead in real time (scroll mode slides the trace off to the left), so a stopped feed
shows as a growing gap rather than a frozen trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from core.vitals.buffer import RingBuffer, VitalsStore
from core.vitals.signals import Wave

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
GAP_AFTER_S = 1.0  # silence after which the sweep runs on without samples (well above a batch's jitter)
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


class _TraceBase:
    """What every trace keeps: its ring and channel, a 1-px pen, the window in samples, read position."""

    def __init__(self, vb: pg.ViewBox, ring: RingBuffer, channel: int, colour: str, window_s: float) -> None:
        self.vb, self.ring, self.channel = vb, ring, channel
        self.pen = QPen(QColor(colour))
        self.pen.setWidth(1)
        self.pen.setCosmetic(True)
        self.n = max(8, round(window_s * ring.fs))
        self.window_s = self.n / ring.fs
        self.y = np.full(self.n, np.nan)  # what the strip shows, by sweep position (tests read it)
        self.erase_n = int(ERASE_S * ring.fs)
        self.read_pos = max(0, ring.total - self.n)
        self.newest_painted_index = -1
        self.gap_to = 0  # absolute index up to which the sweep has run on without samples

    def gap_range(self, now: float) -> tuple[int, int] | None:
        """The absolute indices [start, stop) to blank now that the feed has been silent: from past the
        erase gap to where the sweep would be (plus its erase gap); None while samples are recent."""
        newest = self.ring.newest_time()
        if newest is None or self.read_pos == 0:
            return None
        silent = now - newest
        if silent < GAP_AFTER_S:
            return None
        head = self.read_pos - 1 + int(silent * self.ring.fs)
        start = max(self.gap_to, self.read_pos + self.erase_n)
        stop = min(head + self.erase_n, self.read_pos + self.n)
        if stop <= start:
            return None
        self.gap_to = stop
        return start, stop


class Trace(_TraceBase):
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
        super().__init__(vb, ring, channel, colour, window_s)
        self.sweep, self.naive = sweep, naive
        self.x = np.arange(self.n, dtype=np.float64) / ring.fs
        seg = 1 if (naive or not sweep) else max(1, int(np.ceil(self.window_s / segment_s)))
        self.seg_len = int(np.ceil(self.n / seg))
        self.curves: list[pg.PlotCurveItem] = []
        for _k in range(seg):
            curve = pg.PlotCurveItem(pen=self.pen, antialias=False)
            vb.addItem(curve)
            self.curves.append(curve)

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

    def run_on(self, now: float) -> int:
        """No samples: blank ahead in sweep mode, slide off to the left in scroll mode."""
        if not self.sweep:
            newest = self.ring.newest_time()
            shift = 0.0 if newest is None or now - newest < GAP_AFTER_S else now - newest
            self.curves[0].setPos(-shift, 0.0)
            return 0
        gap = self.gap_range(now)
        if gap is None:
            return 0
        idx = np.arange(gap[0], gap[1]) % self.n
        self.y[idx] = np.nan
        for k in np.unique(idx // self.seg_len):
            self._set_segment(int(k))
        return gap[1] - gap[0]

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
        self.gap_to = 0
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
        self.gap_to = 0
        self.curves[0].setPos(0.0, 0.0)
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


class SweepCanvas(pg.GraphicsObject):
    """An image pinned to a data rectangle of a ViewBox, blitted 1:1 in device pixels."""

    def __init__(self, rect: QRectF, size: tuple[int, int], dpr: float) -> None:
        super().__init__()
        self.rect = rect
        self.image = QImage(
            max(1, round(size[0] * dpr)),
            max(1, round(size[1] * dpr)),
            QImage.Format.Format_ARGB32_Premultiplied,
        )
        self.image.setDevicePixelRatio(dpr)
        self.image.fill(Qt.GlobalColor.transparent)
        self.size = size  # logical pixels

    def boundingRect(self) -> QRectF:
        return self.rect

    def paint(
        self, painter: QPainter, _option: QStyleOptionGraphicsItem, _widget: QWidget | None = None
    ) -> None:
        target = painter.transform().mapRect(self.rect)
        painter.save()
        painter.resetTransform()
        painter.drawImage(target, self.image, QRectF(self.image.rect()))
        painter.restore()


class RasterSweepTrace(_TraceBase):
    """Sweep mode drawn incrementally into a :class:`SweepCanvas` (see the module docstring)."""

    def __init__(
        self,
        vb: pg.ViewBox,
        ring: RingBuffer,
        channel: int,
        colour: str,
        window_s: float,
        y_range: tuple[float, float],
        size_px: tuple[float, float],
        dpr: float = 1.0,
    ) -> None:
        super().__init__(vb, ring, channel, colour, window_s)
        self.sweep, self.naive = True, False
        self.y0, self.y1 = y_range
        self.w, self.h = max(1, int(size_px[0])), max(1, int(size_px[1]))
        self.canvas = SweepCanvas(
            QRectF(0.0, self.y0, self.window_s, self.y1 - self.y0), (self.w, self.h), dpr
        )
        vb.addItem(self.canvas, ignoreBounds=True)
        self.dirty_columns = 0  # pixel columns repainted by the last update (tests, benchmarks)
        self._xs = np.arange(self.n + 1, dtype=np.float64) * (self.w / self.n)
        self._last: tuple[int, float] | None = None  # (absolute index, value) of the newest drawn sample

    def remove(self) -> None:
        self.vb.removeItem(self.canvas)

    def _ypx(self, values: np.ndarray) -> np.ndarray:
        return (self.y1 - values) * (self.h / (self.y1 - self.y0))

    def _blank(self, painter: QPainter, first: int, count: int, spans: list[tuple[float, float]]) -> None:
        """Clear the columns of sweep positions [first, first + count) (absolute indices, wrapping)."""
        count = min(count, self.n)
        pos = first % self.n
        while count > 0:
            run = min(count, self.n - pos)
            x0 = self._xs[pos]
            x1 = self._xs[pos + run]
            painter.fillRect(QRectF(x0, 0.0, x1 - x0 + 1.0, self.h), Qt.GlobalColor.transparent)
            spans.append((x0, x1 + 1.0))
            count -= run
            pos = 0

    def _draw(self, painter: QPainter, start: int, values: np.ndarray) -> None:
        """Draw samples with absolute indices start.. as polylines, split at wraps and at NaN."""
        idx = np.arange(start, start + values.size)
        if self._last is not None and self._last[0] == start - 1 and np.isfinite(self._last[1]):
            idx = np.concatenate([[start - 1], idx])
            values = np.concatenate([[self._last[1]], values])
        pos = idx % self.n
        xs = self._xs[pos]
        ys = self._ypx(values)
        # a wrap starts a new line at the left edge: break where the position goes backwards
        breaks = np.flatnonzero(np.diff(pos) < 0) + 1
        for part_x, part_y in zip(np.split(xs, breaks), np.split(ys, breaks), strict=True):
            finite = np.isfinite(part_y)
            if finite.sum() < 1:
                continue
            if finite.all():
                if part_x.size == 1:
                    painter.drawPoint(QPointF(float(part_x[0]), float(part_y[0])))
                else:
                    painter.drawPath(pg.arrayToQPath(part_x, part_y, connect="all"))
            else:
                painter.drawPath(pg.arrayToQPath(part_x, part_y, connect="finite"))

    def run_on(self, now: float) -> int:
        """No samples: the sweep runs on, blanking ahead of it (a gap, never a frozen trace)."""
        gap = self.gap_range(now)
        if gap is None:
            return 0
        start, stop = gap
        self.y[np.arange(start, stop) % self.n] = np.nan
        spans: list[tuple[float, float]] = []
        painter = QPainter(self.canvas.image)
        try:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            self._blank(painter, start, stop - start, spans)
        finally:
            painter.end()
        self._repaint(spans)
        return stop - start

    def _repaint(self, spans: list[tuple[float, float]]) -> None:
        to_data = self.window_s / self.w
        for x0, x1 in spans:
            self.canvas.update(
                QRectF(x0 * to_data - to_data, self.y0, (x1 - x0 + 2) * to_data, self.y1 - self.y0)
            )

    def update(self) -> int:
        chunk = self.ring.read(self.read_pos)
        got = chunk.values.shape[1]
        if got == 0:
            return 0
        self.gap_to = 0
        if got > self.n:
            values, start = chunk.values[self.channel, -self.n :], chunk.stop - self.n
        else:
            values, start = chunk.values[self.channel], chunk.start
        stop = chunk.stop
        self.y[np.arange(start, stop) % self.n] = values
        self.y[np.arange(stop, stop + self.erase_n) % self.n] = np.nan
        spans: list[tuple[float, float]] = []
        painter = QPainter(self.canvas.image)
        try:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            self._blank(painter, start, stop - start + self.erase_n, spans)
            painter.setPen(self.pen)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            self._draw(painter, start, values)
        finally:
            painter.end()
        self._last = (stop - 1, float(values[-1]))
        self.read_pos = stop
        self.newest_painted_index = stop - 1
        self.dirty_columns = int(sum(x1 - x0 for x0, x1 in spans))
        self._repaint(spans)
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
        self.traces: list[Trace | RasterSweepTrace] = []
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
        for old in self.traces:
            old.remove()
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
            if spec.y_range is not None:
                y0, y1 = spec.y_range
            elif is_ecg:
                span = max(1.0, vb.height() / mm / ECG_MM_PER_MV)
                y0, y1 = -0.4 * span, 0.6 * span
            else:
                y0, y1 = default_y_range(spec.wave)
            trace: Trace | RasterSweepTrace
            if self.sweep and not self.naive:
                n = max(8, round(window_s * ring.fs))
                trace_px = width_px * (n / ring.fs) / (left + n / ring.fs)
                trace = RasterSweepTrace(
                    vb,
                    ring,
                    ch,
                    COLOURS[spec.wave],
                    window_s,
                    (y0, y1),
                    (trace_px, vb.height()),
                    self.devicePixelRatioF(),
                )
            else:
                trace = Trace(vb, ring, ch, COLOURS[spec.wave], window_s, sweep=self.sweep, naive=self.naive)
            self.traces.append(trace)
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
        """Pull new samples into every trace (call on the display timer). Returns samples drawn; a trace
        that got none while its feed is silent runs on without samples (a growing gap)."""
        if self._geometry != (self.width(), self.height()):
            self._build()
        now = self.store.clock()
        drawn = 0
        for trace in self.traces:
            got = trace.update()
            if got == 0:
                trace.run_on(now)
            drawn += got
        return drawn

    def blank(self) -> None:
        """Forget what is drawn (the store was cleared): the traces are rebuilt blank at once. (Not
        ``clear``: pyqtgraph's GraphicsLayoutWidget binds that name to emptying its layout.)"""
        self._geometry = None
        if self.traces:
            self._build()

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


__all__ = [
    "COLOURS",
    "NumericStyle",
    "QtWaveformStrips",
    "RasterSweepTrace",
    "Trace",
    "TraceSpec",
    "px_per_mm",
]
