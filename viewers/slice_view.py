"""The 2D slice view: scroll, zoom, pan, window/level, orientation labels, overlay text, measurements.

Thin: the grey image comes from :class:`viewers.reslice.SliceRenderer` (numpy LUT into a reused
buffer) and is painted as a QImage wrapping that buffer, with the pixel aspect applied by the paint
transform. Nothing is rebuilt per frame. Measurements live in a shared
:class:`viewers.measure.MeasurementDocument` in patient coordinates; the view draws those that lie
in its current slice and adds new ones there. What their lengths mean (millimetres in the patient or
at a radiograph's detector, an ultrasound region's units, or pixels) comes from the image's
calibration, read from the series' first dataset (:mod:`viewers.dicom.calibration`).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.i18n import tr
from viewers.annotation_items import QtAnnotationOverlay
from viewers.dicom.calibration import Calibration, Source, calibration_from_dataset
from viewers.dicom.volume import Volume
from viewers.measure import Kind, Measurement, MeasurementDocument, calibration_title
from viewers.reslice import (
    PRESETS,
    Plane,
    Preset,
    SliceRenderer,
    WindowLevel,
    auto_window,
    index_to_screen,
    screen_to_index,
)

MEASURE_COLOUR = QColor("#ffd54f")
DRAFT_COLOUR = QColor("#4dd0e1")
CROSSHAIR_COLOUR = QColor(80, 220, 120, 200)
TEXT_COLOUR = QColor("#e0e0e0")
LABEL_COLOUR = QColor("#ffb74d")


def _shadow_text(painter: QPainter, rect: QRectF, flags: int, text: str) -> None:
    """Text readable on any grey: a dark outline under the pen's colour."""
    pen = painter.pen()
    painter.setPen(QColor(0, 0, 0, 220))
    for dx, dy in ((1, 1), (-1, -1), (1, -1), (-1, 1)):
        painter.drawText(rect.translated(dx, dy), flags, text)
    painter.setPen(pen)
    painter.drawText(rect, flags, text)


class Tool(StrEnum):
    NAVIGATE = "navigate"
    DISTANCE = "distance"
    ANGLE = "angle"
    ELLIPSE = "ellipse"
    POLYGON = "polygon"
    # patient-space annotations of the shared document (issue 7), placed by viewers.annotation_items
    LANDMARK = "landmark"
    TRAJECTORY = "trajectory"
    LABEL = "label"
    PLANE = "plane"


def series_dataset(widget: QWidget) -> Any | None:
    """The first dataset of the series shown by the panel holding ``widget`` (its nearest ancestor with
    a ``series`` that has ``instances``), or None."""
    parent = widget.parentWidget()
    while parent is not None:
        instances = getattr(getattr(parent, "series", None), "instances", None)
        if instances:
            return getattr(instances[0], "dataset", None)
        parent = parent.parentWidget()
    return None


def plane_title(plane: Plane) -> str:
    return {
        Plane.AXIAL: tr("QtSliceView", "Axial"),
        Plane.CORONAL: tr("QtSliceView", "Coronal"),
        Plane.SAGITTAL: tr("QtSliceView", "Sagittal"),
    }[plane]


def preset_title(preset: Preset) -> str:
    return {
        Preset.CT_LUNG: tr("QtSliceView", "CT lung"),
        Preset.CT_SOFT_TISSUE: tr("QtSliceView", "CT soft tissue"),
        Preset.CT_BONE: tr("QtSliceView", "CT bone"),
        Preset.CT_BRAIN: tr("QtSliceView", "CT brain"),
        Preset.AUTO: tr("QtSliceView", "Auto (MR)"),
    }[preset]


class QtSliceView(QWidget):
    sig_slice_changed = Signal(int)
    sig_crosshair_moved = Signal(object)  # np.ndarray, LPS mm
    sig_window_changed = Signal(object)  # WindowLevel
    sig_measured = Signal(object)  # Measurement

    def __init__(
        self,
        plane: Plane = Plane.AXIAL,
        document: MeasurementDocument | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(f"sliceView_{plane.value}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.plane = plane
        self.document = document if document is not None else MeasurementDocument()
        self.volume: Volume | None = None
        self.renderer: SliceRenderer | None = None
        self.index = 0
        self.zoom = 1.0
        self.pan = QPointF(0.0, 0.0)
        self.tool = Tool.NAVIGATE
        self._picker: Callable[[np.ndarray], object] | None = None
        # the dataset whose calibration applies to a volume; default: the holding panel's series
        self.dataset_source: Callable[[Volume], Any | None] | None = None
        self.crosshair: np.ndarray | None = None
        self.show_crosshair = False
        self.overlay_left: list[str] = []
        self.overlay_right: list[str] = []
        self.value_unit = "HU"
        self.frames_painted = 0
        self._dirty = True
        self._image: QImage | None = None
        self._draft: list[QPointF] = []  # image coordinates of a measurement being drawn
        self._hover: QPointF | None = None
        self._drag: str | None = None
        self._drag_start = QPointF()
        self._drag_window = WindowLevel(40.0, 400.0)
        self._drag_pan = QPointF()
        self._closed = False
        self.annotation_overlay: QtAnnotationOverlay | None = None
        self.cine_timer = QTimer(self)
        self.cine_timer.timeout.connect(self._next_frame)
        for event in (self.document.added, self.document.changed, self.document.removed):
            event.connect(self._measurements_changed)
        self.document.cleared.connect(self.update)

    # model -----------------------------------------------------------------------------------
    def set_volume(self, volume: Volume | None, window: WindowLevel | None = None) -> None:
        self.stop_cine()
        self.volume = volume
        self._draft.clear()
        if volume is None:
            self.renderer = None
            self._image = None
            self.update()
            return
        if self.document.volume is not volume:
            self.document.set_volume(volume)  # a new volume: the old measurements do not apply
        self.document.set_calibration(self._calibration_for(volume))
        self.renderer = SliceRenderer(volume, self.plane, window or self._default_window(volume))
        self.index = self.renderer.mapping.count // 2 if volume.kind != "cine" else 0
        self.reset_view()

    def update_volume(self, volume: Volume) -> None:
        """The same images with their final geometry (after loading): keep slice, zoom and window."""
        if self.renderer is None or self.volume is None or volume.array.shape != self.volume.array.shape:
            self.set_volume(volume)
            return
        window = self.renderer.window
        self.volume = volume
        self.renderer = SliceRenderer(volume, self.plane, window)
        self.index = min(self.index, self.renderer.mapping.count - 1)
        self.refresh()

    def _calibration_for(self, volume: Volume) -> Calibration | None:
        """The calibration of ``volume``'s images; None (geometry taken as mm) when no dataset is known."""
        source = self.dataset_source
        ds = source(volume) if source is not None else series_dataset(self)
        return calibration_from_dataset(ds) if ds is not None else None

    def set_calibration(self, calibration: Calibration | None) -> None:
        """Override the calibration read from the dataset (scripting, tests)."""
        self.document.set_calibration(calibration)
        self.update()

    @property
    def calibration(self) -> Calibration | None:
        return self.document.calibration

    def _default_window(self, volume: Volume) -> WindowLevel:
        if volume.array.dtype == np.int16 and self.value_unit == "HU":
            return PRESETS[Preset.CT_SOFT_TISSUE]
        return auto_window(volume.array)

    @property
    def slice_count(self) -> int:
        return self.renderer.mapping.count if self.renderer is not None else 0

    @property
    def is_cine(self) -> bool:
        return self.volume is not None and self.volume.kind == "cine"

    def set_slice(self, index: int) -> None:
        if self.renderer is None:
            return
        index = int(np.clip(index, 0, self.renderer.mapping.count - 1))
        if index != self.index:
            self.index = index
            self.refresh()
            self.sig_slice_changed.emit(index)

    def refresh(self) -> None:
        """Re-render the current slice (its pixels changed, e.g. while loading)."""
        self._dirty = True
        self.update()

    def set_window(self, window: WindowLevel) -> None:
        if self.renderer is None:
            return
        self.renderer.set_window(window)
        self.refresh()

    def current_window(self) -> WindowLevel | None:
        return self.renderer.window if self.renderer is not None else None

    def apply_preset(self, preset: Preset) -> None:
        if self.volume is not None:
            self.set_window(PRESETS[preset] if preset is not Preset.AUTO else auto_window(self.volume.array))
            if self.renderer is not None:
                self.sig_window_changed.emit(self.renderer.window)

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self._draft.clear()
        self.setCursor(Qt.CursorShape.ArrowCursor if tool is Tool.NAVIGATE else Qt.CursorShape.CrossCursor)
        self.update()

    def set_overlay(self, left: list[str], right: list[str]) -> None:
        self.overlay_left, self.overlay_right = list(left), list(right)
        self.update()

    def reset_view(self) -> None:
        self.zoom = 1.0
        self.pan = QPointF(0.0, 0.0)
        self.refresh()

    def set_crosshair(self, point: np.ndarray | None, move_slice: bool = True) -> None:
        """Show the crosshair at ``point`` (LPS); page to the slice that contains it."""
        self.crosshair = None if point is None else np.asarray(point, dtype=np.float64)
        ready = self.renderer is not None and self.volume is not None
        if self.crosshair is not None and move_slice and ready:
            slice_coord, _pos = self.lps_to_image(self.crosshair)
            self.set_slice(round(slice_coord))
        self.update()

    # cine ------------------------------------------------------------------------------------
    def play_cine(self) -> None:
        if self.renderer is None or self.slice_count < 2:
            return
        frame_ms = self.volume.frame_time_ms if self.volume is not None else None
        self.cine_timer.start(int(frame_ms) if frame_ms else 33)

    def stop_cine(self) -> None:
        self.cine_timer.stop()

    def toggle_cine(self) -> None:
        if self.cine_timer.isActive():
            self.stop_cine()
        else:
            self.play_cine()

    def _next_frame(self) -> None:
        if self.slice_count:
            self.set_slice((self.index + 1) % self.slice_count)

    # coordinates -----------------------------------------------------------------------------
    def _image_transform(self) -> QTransform:
        """Image pixel coordinates to widget coordinates, with the pixel aspect from the spacing."""
        t = QTransform()
        if self.renderer is None:
            return t
        rows, cols = self.renderer.mapping.shape
        sx, sy = self.renderer.mapping.pixel_spacing
        fit = min(self.width() / (cols * sx), self.height() / (rows * sy))
        s = fit * self.zoom
        t.translate(self.width() / 2 + self.pan.x(), self.height() / 2 + self.pan.y())
        t.scale(s * sx, s * sy)
        t.translate(-cols / 2, -rows / 2)
        return t

    def widget_to_image(self, pos: QPointF) -> QPointF:
        inverse, _ok = self._image_transform().inverted()
        return inverse.map(pos)

    def image_to_widget(self, pos: QPointF) -> QPointF:
        return self._image_transform().map(pos)

    def image_to_lps(self, pos: QPointF) -> np.ndarray:
        assert self.renderer is not None and self.volume is not None
        ijk = screen_to_index(self.renderer.mapping, self.index, pos.x(), pos.y())
        return self.volume.index_to_lps(ijk.tolist())

    def lps_to_image(self, point: np.ndarray) -> tuple[float, QPointF]:
        """(slice coordinate, image position) of an LPS point in this view."""
        assert self.renderer is not None and self.volume is not None
        ijk = self.volume.lps_to_index(np.asarray(point, dtype=np.float64).tolist())
        slice_coord, x, y = index_to_screen(self.renderer.mapping, ijk)
        return slice_coord, QPointF(x, y)

    def widget_to_lps(self, pos: QPointF) -> np.ndarray:
        return self.image_to_lps(self.widget_to_image(pos))

    def lps_to_widget(self, point: np.ndarray) -> QPointF:
        return self.image_to_widget(self.lps_to_image(point)[1])

    def _visible(self, m: Measurement) -> list[QPointF] | None:
        points = []
        for p in m.points:
            slice_coord, pos = self.lps_to_image(np.asarray(p))
            if abs(slice_coord - self.index) > 0.5 + 1e-6:
                return None
            points.append(pos)
        return points

    def visible_measurements(self) -> list[Measurement]:
        if self.renderer is None or self.is_cine:
            return []
        return [m for m in self.document if self._visible(m) is not None]

    # painting --------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self.renderer is None:
            painter.setPen(TEXT_COLOUR)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, tr("QtSliceView", "No image"))
            painter.end()
            return
        if self._dirty or self._image is None:
            buffer = self.renderer.render(self.index)
            rows, cols = buffer.shape[:2]
            if buffer.ndim == 3:
                self._image = QImage(buffer.data, cols, rows, cols * 3, QImage.Format.Format_RGB888)
            else:
                self._image = QImage(buffer.data, cols, rows, cols, QImage.Format.Format_Grayscale8)
            self._dirty = False
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 4)
        painter.setTransform(self._image_transform())
        painter.drawImage(QPointF(0, 0), self._image)
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if not self.is_cine:
            self._paint_crosshair(painter)
            self._paint_regions(painter)
            self._paint_measurements(painter)
            self._paint_draft(painter)
            self._paint_labels(painter)
        self._paint_overlay(painter)
        painter.end()
        self.frames_painted += 1

    def _paint_regions(self, painter: QPainter) -> None:
        """While a measuring tool is chosen, the ultrasound regions a measurement must stay inside."""
        cal = self.document.calibration
        if cal is None or not cal.regions or self.tool is Tool.NAVIGATE or self.plane is not Plane.AXIAL:
            return
        painter.setPen(QPen(QColor(77, 208, 225, 220), 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for r in cal.regions:
            corners = (QPointF(r.x0 - 0.5, r.y0 - 0.5), QPointF(r.x1 + 0.5, r.y1 + 0.5))
            painter.drawRect(QRectF(*(self.image_to_widget(c) for c in corners)).normalized())

    def _paint_crosshair(self, painter: QPainter) -> None:
        if not self.show_crosshair or self.crosshair is None:
            return
        pos = self.lps_to_widget(self.crosshair)
        painter.setPen(QPen(CROSSHAIR_COLOUR, 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(0, pos.y()), QPointF(self.width(), pos.y()))
        painter.drawLine(QPointF(pos.x(), 0), QPointF(pos.x(), self.height()))

    def measurement_text(self, m: Measurement) -> str:
        """The label of a measurement, in the units its image's calibration gives (never mm for pixels)."""
        reading = self.document.reading(m)
        if m.kind in (Kind.DISTANCE, Kind.ANGLE):
            return reading.text
        stats = self.document.stats(m)
        area = reading.text
        if stats is None:
            return area
        unit = f" {self.value_unit}" if self.value_unit else ""
        return "\n".join(
            [
                area,
                tr("QtSliceView", "Mean %1 SD %2%3")
                .replace("%1", f"{stats.mean:.1f}")
                .replace("%2", f"{stats.sd:.1f}")
                .replace("%3", unit),
                tr("QtSliceView", "Min %1 Max %2").replace("%1", f"{stats.minimum:.0f}").replace(
                    "%2", f"{stats.maximum:.0f}"
                ),
            ]
        )

    def _shape(self, painter: QPainter, kind: Kind, pts: list[QPointF], closed: bool) -> None:
        if kind is Kind.ELLIPSE and len(pts) == 3:
            centre, a, b = pts
            ra = np.hypot(a.x() - centre.x(), a.y() - centre.y())
            rb = np.hypot(b.x() - centre.x(), b.y() - centre.y())
            painter.drawEllipse(centre, float(ra), float(rb))
        elif kind is Kind.POLYGON and closed:
            painter.drawPolygon(QPolygonF(pts))
        else:
            painter.drawPolyline(QPolygonF(pts))
        for p in pts if kind in (Kind.DISTANCE, Kind.ANGLE) else []:
            painter.drawEllipse(p, 2.5, 2.5)

    def _paint_measurements(self, painter: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        painter.setFont(font)
        placed: list[QRectF] = []
        for m in self.document:
            image_pts = self._visible(m)
            if image_pts is None:
                continue
            pts = [self.image_to_widget(p) for p in image_pts]
            painter.setPen(QPen(MEASURE_COLOUR, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            self._shape(painter, m.kind, pts, closed=True)
            anchor = max(pts, key=lambda p: p.x())
            text = self.measurement_text(m)
            lines = text.split("\n")
            metrics = painter.fontMetrics()
            box = QRectF(
                anchor.x() + 8,
                anchor.y() - metrics.height() * len(lines) / 2,
                max(metrics.horizontalAdvance(line) for line in lines) + 8,
                metrics.height() * len(lines) + 4,
            )
            if box.right() > self.width() - 4:  # a long label (a refusal's reason) stays on screen
                box.moveLeft(max(4.0, min(anchor.x() + 8, self.width() - 4 - box.width())))
                if box.contains(anchor):
                    box.moveTop(anchor.y() + 8)
            # labels never cover each other: move down past the ones in the way
            while hits := [other for other in placed if box.intersects(other)]:
                box.translate(0, max(other.bottom() for other in hits) - box.top() + 2)
            placed.append(box)
            painter.fillRect(box, QColor(0, 0, 0, 150))
            painter.drawText(box.adjusted(4, 2, 0, 0), int(Qt.AlignmentFlag.AlignLeft), text)

    def _paint_draft(self, painter: QPainter) -> None:
        if not self._draft:
            return
        pts = [self.image_to_widget(p) for p in self._draft]
        if self._hover is not None and self.tool in (Tool.ANGLE, Tool.POLYGON):
            pts.append(self.image_to_widget(self._hover))
        painter.setPen(QPen(DRAFT_COLOUR, 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.tool is Tool.ELLIPSE and len(pts) == 2:
            painter.drawEllipse(QRectF(pts[0], pts[1]).normalized())
        else:
            painter.drawPolyline(QPolygonF(pts))

    def _paint_labels(self, painter: QPainter) -> None:
        assert self.renderer is not None
        labels = self.renderer.mapping.labels()
        painter.setPen(LABEL_COLOUR)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(10.0, font.pointSizeF() + 1))
        painter.setFont(font)
        w, h = self.width(), self.height()
        m = 6
        flags = Qt.AlignmentFlag
        centre_v, centre_h = flags.AlignVCenter, flags.AlignHCenter
        _shadow_text(painter, QRectF(m, 0, 40, h), int(flags.AlignLeft | centre_v), labels["left"])
        _shadow_text(painter, QRectF(w - 40 - m, 0, 40, h), int(flags.AlignRight | centre_v), labels["right"])
        _shadow_text(painter, QRectF(0, m + 34, w, 20), int(centre_h | flags.AlignTop), labels["top"])
        bottom = QRectF(0, h - 20 - m - 34, w, 20)
        _shadow_text(painter, bottom, int(centre_h | flags.AlignBottom), labels["bottom"])

    def _paint_overlay(self, painter: QPainter) -> None:
        assert self.renderer is not None
        painter.setPen(TEXT_COLOUR)
        font = QFont(self.font())
        painter.setFont(font)
        metrics = painter.fontMetrics()
        lh = metrics.height()
        m = 6
        flags = Qt.AlignmentFlag
        for k, line in enumerate(self.overlay_left):
            _shadow_text(painter, QRectF(m, m + k * lh, self.width() / 2, lh), int(flags.AlignLeft), line)
        for k, line in enumerate(self.overlay_right):
            rect = QRectF(self.width() / 2 - m, m + k * lh, self.width() / 2, lh)
            _shadow_text(painter, rect, int(flags.AlignRight), line)
        count = self.renderer.mapping.count
        what = tr("QtSliceView", "Frame %1 / %2") if self.is_cine else tr("QtSliceView", "Slice %1 / %2")
        window = self.renderer.window
        bottom_left = [
            plane_title(self.plane) if not self.is_cine else tr("QtSliceView", "Cine"),
            what.replace("%1", str(self.index + 1)).replace("%2", str(count)),
            tr("QtSliceView", "W %1 L %2")
            .replace("%1", f"{window.width:.0f}")
            .replace("%2", f"{window.center:.0f}"),
        ]
        for k, line in enumerate(reversed(bottom_left)):
            rect = QRectF(m, self.height() - m - (k + 1) * lh, self.width() / 2, lh)
            _shadow_text(painter, rect, int(flags.AlignLeft), line)
        bottom_right = [tr("QtSliceView", "Zoom %1%").replace("%1", f"{self.zoom * 100:.0f}")]
        if not self.is_cine:
            bottom_right.extend(self._scale_lines())
        for k, line in enumerate(reversed(bottom_right)):
            rect = QRectF(self.width() / 2 - m, self.height() - m - (k + 1) * lh, self.width() / 2, lh)
            _shadow_text(painter, rect, int(flags.AlignRight), line)

    def _scale_lines(self) -> list[str]:
        """What a pixel measures, and the calibration named as PS3.3 describes it."""
        assert self.renderer is not None
        cal = self.document.calibration
        if cal is None or cal.source is Source.PATIENT:
            sx, _sy = self.renderer.mapping.pixel_spacing
            return [tr("QtSliceView", "%1 mm/px").replace("%1", f"{sx:.2f}")]
        title = calibration_title(cal)
        if cal.spacing is not None and cal.source is not Source.NONE:
            return [tr("QtSliceView", "%1 mm/px").replace("%1", f"{cal.spacing[1]:.3f}"), title]
        return [title]

    # input -----------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if not steps or self.renderer is None:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.zoom * (1.15**steps))
        else:
            self.set_slice(self.index - int(np.sign(steps)) * max(1, int(abs(steps))))
        event.accept()

    def set_zoom(self, zoom: float) -> None:
        self.zoom = float(np.clip(zoom, 0.1, 40.0))
        self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        k = Qt.Key
        moves = {k.Key_Up: -1, k.Key_Down: 1, k.Key_PageUp: -10, k.Key_PageDown: 10}
        if key in moves:
            self.set_slice(self.index + moves[key])  # type: ignore[index]
        elif key == k.Key_Home:
            self.set_slice(0)
        elif key == k.Key_End:
            self.set_slice(self.slice_count - 1)
        elif key in (k.Key_Plus, k.Key_Equal):
            self.set_zoom(self.zoom * 1.25)
        elif key == k.Key_Minus:
            self.set_zoom(self.zoom / 1.25)
        elif key == k.Key_R:
            self.reset_view()
        elif key == k.Key_Space:
            self.toggle_cine()
        elif key == k.Key_Escape:
            self._draft.clear()
            self.update()
        elif key in (k.Key_Return, k.Key_Enter) and self.tool is Tool.POLYGON:
            self._finish_polygon()
        else:
            super().keyPressEvent(event)

    def pick_point(self, callback: Callable[[np.ndarray], object] | None) -> None:
        """Hand the next left click, as an LPS point in mm, to ``callback`` instead of the tool (None:
        stop). A question asked on the imaging is answered this way."""
        self._picker = callback
        if callback is None:
            self.unsetCursor()
        else:
            self.setCursor(Qt.CursorShape.CrossCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.renderer is None:
            return
        pos = event.position()
        button = event.button()
        self._drag_start = pos
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        picker = self._picker
        left = button == Qt.MouseButton.LeftButton
        if picker is not None and left and not shift and self.volume is not None:
            self.pick_point(None)
            picker(self.widget_to_lps(pos))
            event.accept()
            return
        if button == Qt.MouseButton.RightButton:
            self._drag = "window"
            self._drag_window = self.renderer.window
        elif button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and shift):
            self._drag = "pan"
            self._drag_pan = QPointF(self.pan)
        elif button == Qt.MouseButton.LeftButton:
            self._left_press(self.widget_to_image(pos))
        event.accept()

    def _left_press(self, image_pos: QPointF) -> None:
        if self.is_cine:
            return
        if self.tool is Tool.NAVIGATE:
            self._drag = "crosshair"
            self._move_crosshair(image_pos)
        elif self.tool in (Tool.DISTANCE, Tool.ELLIPSE):
            self._drag = "draw"
            self._draft = [image_pos, QPointF(image_pos)]
        elif self.tool is Tool.ANGLE:
            self._draft.append(image_pos)
            if len(self._draft) == 3:
                self._commit(Kind.ANGLE, self._draft)
        elif self.tool is Tool.POLYGON:
            if len(self._draft) >= 3 and self._near(image_pos, self._draft[0]):
                self._finish_polygon()
            else:
                self._draft.append(image_pos)
        self.update()

    def _near(self, a: QPointF, b: QPointF) -> bool:
        wa, wb = self.image_to_widget(a), self.image_to_widget(b)
        return bool(np.hypot(wa.x() - wb.x(), wa.y() - wb.y()) < 8)

    def _finish_polygon(self) -> None:
        if len(self._draft) >= 3:
            self._commit(Kind.POLYGON, self._draft)
        self._draft = []
        self.update()

    def _move_crosshair(self, image_pos: QPointF) -> None:
        self.crosshair = self.image_to_lps(image_pos)
        self.update()
        self.sig_crosshair_moved.emit(self.crosshair)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.renderer is None:
            return
        pos = event.position()
        delta = pos - self._drag_start
        if self._drag == "window":
            width = max(1.0, self._drag_window.width * (1.0 + delta.x() / 200.0))
            center = self._drag_window.center - delta.y() * max(self._drag_window.width, 1.0) / 400.0
            self.set_window(WindowLevel(center, width))
            self.sig_window_changed.emit(self.renderer.window)
        elif self._drag == "pan":
            self.pan = self._drag_pan + delta
            self.update()
        elif self._drag == "crosshair":
            self._move_crosshair(self.widget_to_image(pos))
        elif self._drag == "draw" and self._draft:
            self._draft[-1] = self.widget_to_image(pos)
            self.update()
        elif self._draft:
            self._hover = self.widget_to_image(pos)
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag == "draw" and len(self._draft) == 2:
            a, b = self._draft
            if self._near(a, b):
                self._draft = []
            elif self.tool is Tool.DISTANCE:
                self._commit(Kind.DISTANCE, self._draft)
            else:
                self.measure(Kind.ELLIPSE, [(a.x(), a.y()), (b.x(), b.y())])
        self._drag = None
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.tool is Tool.POLYGON:
            self._finish_polygon()
        elif self.tool is Tool.NAVIGATE and event.button() == Qt.MouseButton.LeftButton:
            self.reset_view()

    def _commit(self, kind: Kind, image_points: list[QPointF]) -> Measurement | None:
        self._draft = []
        try:
            m = self.document.add(kind, [self.image_to_lps(p) for p in image_points])
        except ValueError:
            return None
        self.sig_measured.emit(m)
        return m

    def measure(self, kind: Kind, image_points: list[tuple[float, float]]) -> Measurement | None:
        """Add a measurement from image-pixel coordinates on the current slice (scripting, tests).

        An ellipse may be given as the two corners of its bounding box, as it is drawn.
        """
        pts = [QPointF(x, y) for x, y in image_points]
        if kind is Kind.ELLIPSE and len(pts) == 2:
            a, b = pts
            centre = (a + b) / 2
            pts = [centre, QPointF(b.x(), centre.y()), QPointF(centre.x(), b.y())]
        return self._commit(kind, pts)

    def _measurements_changed(self, _m: Measurement) -> None:
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.update()

    # lifecycle -------------------------------------------------------------------------------
    def attach_annotations(self, context: Any) -> None:
        """Draw and place the patient-space annotations of ``context`` (an AnnotationContext)."""
        if self.annotation_overlay is not None:
            self.annotation_overlay.close_model()
            self.annotation_overlay.deleteLater()
        self.annotation_overlay = QtAnnotationOverlay(self, self, context)

    def close_model(self) -> None:
        """Stop the cine timer and unsubscribe from the document; twice is harmless."""
        if self.annotation_overlay is not None:
            self.annotation_overlay.close_model()
        if self._closed:
            return
        self._closed = True
        self.stop_cine()
        for event in (self.document.added, self.document.changed, self.document.removed):
            event.disconnect(self._measurements_changed)
        self.document.cleared.disconnect(self.update)
