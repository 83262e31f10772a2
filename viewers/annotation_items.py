"""Patient-space annotations drawn over a 2D slice view, and placed in it with the mouse (issue 7).

:class:`QtAnnotationOverlay` is a transparent child of a :class:`viewers.slice_view.QtSliceView`: it
paints what :func:`viewers.annotation_layer.project` says the view's current slice shows, and, while
the view's tool is Landmark, Trajectory or Label, takes the left button through an event filter on
the view. It observes the shared :class:`viewers.annotation_layer.AnnotationContext`, so an
annotation added in one view, in another MPR plane or at the other site shows at once in every view.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QInputDialog, QWidget

from core.i18n import tr
from viewers.annotation_layer import (
    LABEL,
    LANDMARK,
    PLANE,
    TRAJECTORY,
    AnnotationContext,
    Marker,
    Projection,
    SliceGeometry,
    project_all,
)
from viewers.dicom.volume import Volume
from viewers.reslice import Plane, SliceRenderer

log = logging.getLogger(__name__)

ENTRY_COLOUR = QColor("#66bb6a")
TARGET_COLOUR = QColor("#ef5350")
DRAFT_COLOUR = QColor("#4dd0e1")
ANNOTATION_TOOLS = (LANDMARK, TRAJECTORY, LABEL, PLANE)
CLICK_PX = 6.0  # a press and release closer than this is a click, not a drag


def _text(
    painter: QPainter, pos: QPointF, text: str, colour: QColor, placed: list[QRectF] | None = None
) -> QRectF:
    """Text on a dark box with its top-left corner at ``pos``, moved down past the boxes already
    ``placed`` (and added to them); returns the box."""
    lines = text.split("\n")
    metrics = painter.fontMetrics()
    box = QRectF(
        pos.x(),
        pos.y(),
        max(metrics.horizontalAdvance(line) for line in lines) + 8,
        metrics.height() * len(lines) + 4,
    )
    if placed is not None:
        while hits := [other for other in placed if box.intersects(other)]:
            box.translate(0, max(other.bottom() for other in hits) - box.top() + 2)
        placed.append(box)
    painter.fillRect(box, QColor(0, 0, 0, 170))
    painter.setPen(colour)
    painter.drawText(box.adjusted(4, 2, 0, 0), int(Qt.AlignmentFlag.AlignLeft), text)
    return box


def _colour(p: Projection) -> QColor:
    colour = QColor(p.colour)
    return colour if colour.isValid() else QColor(DRAFT_COLOUR)


def trajectory_caption(projection: Projection) -> str:
    lines = [projection.text] if projection.text else []
    metrics = projection.metrics
    if metrics is not None:
        lines.append(
            tr("QtAnnotationOverlay", "Trajectory %1 mm, %2° to axial")
            .replace("%1", f"{metrics.length_mm:.1f}")
            .replace("%2", f"{metrics.angle_to_axial_deg:.0f}")
        )
    if projection.crossing is not None:
        lines.append(
            tr("QtAnnotationOverlay", "Here: depth %1 mm, %2 mm to target")
            .replace("%1", f"{projection.crossing.depth_mm:.1f}")
            .replace("%2", f"{projection.crossing.remaining_mm:.1f}")
        )
    return "\n".join(lines)


class SliceHost(Protocol):
    """What the overlay reads of the slice view it sits on (viewers.slice_view.QtSliceView).

    A protocol rather than the class, so that the slice view can own its overlay without the two
    modules importing each other.
    """

    plane: Plane
    volume: Volume | None
    renderer: SliceRenderer | None
    index: int

    @property
    def tool(self) -> str: ...

    @property
    def is_cine(self) -> bool: ...

    def rect(self) -> QRect: ...

    def installEventFilter(self, watched: QObject, /) -> None: ...

    def removeEventFilter(self, watched: QObject, /) -> None: ...

    def widget_to_image(self, pos: QPointF) -> QPointF: ...

    def image_to_widget(self, pos: QPointF) -> QPointF: ...

    def image_to_lps(self, pos: QPointF) -> np.ndarray: ...


class QtAnnotationOverlay(QWidget):
    """Draws and places patient-space annotations on one slice view."""

    def __init__(self, view: SliceHost, parent: QWidget, context: AnnotationContext) -> None:
        super().__init__(parent)
        self.setObjectName(f"annotationOverlay_{view.plane.value}")
        self.view = view
        self.context = context
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(view.rect())
        self.label_dialog: QInputDialog | None = None
        self._press: QPointF | None = None  # image position of a trajectory press
        self._placed: list[QRectF] = []  # caption boxes of the paint in progress
        self._hover: QPointF | None = None
        self._closed = False
        view.installEventFilter(self)
        context.connect(self._changed)
        self.show()

    def _changed(self) -> None:
        self.update()

    # geometry --------------------------------------------------------------------------------
    def geometry_now(self) -> SliceGeometry | None:
        view = self.view
        if view.renderer is None or view.volume is None or view.is_cine:
            return None
        return SliceGeometry(view.volume, view.renderer.mapping, view.index)

    def projections(self) -> list[Projection]:
        geometry = self.geometry_now()
        if geometry is None:
            return []
        return project_all(self.context.annotations(), geometry)

    def _widget(self, x: float, y: float) -> QPointF:
        return self.view.image_to_widget(QPointF(x, y))

    # input -----------------------------------------------------------------------------------
    def active(self) -> bool:
        tool_is_ours = str(self.view.tool) in ANNOTATION_TOOLS
        return not self._closed and tool_is_ours and self.geometry_now() is not None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Resize:
            self.setGeometry(self.view.rect())
            return False
        if not self.active():
            if self._press is not None:
                self._press = None
                self.update()
            return False
        if kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if event.button() == Qt.MouseButton.LeftButton and not shift:
                self._pressed(self.view.widget_to_image(event.position()))
                return True
        elif kind == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
            self._hover = self.view.widget_to_image(event.position())
            if self._press is not None or self.context.pending_entry is not None:
                self.update()
            return self._press is not None
        elif kind == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            if self._press is not None and event.button() == Qt.MouseButton.LeftButton:
                self._released(self.view.widget_to_image(event.position()))
                return True
        elif kind == QEvent.Type.MouseButtonDblClick and isinstance(event, QMouseEvent):
            return event.button() == Qt.MouseButton.LeftButton
        elif kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._key(event)
        return False

    def _key(self, event: QKeyEvent) -> bool:
        """Escape drops a trajectory in progress; Ctrl+Z / Ctrl+Shift+Z undo and redo our own shapes."""
        drafting = self._press is not None or self.context.pending_entry is not None
        if event.key() == Qt.Key.Key_Escape and drafting:
            self._press = None
            self.context.set_pending_entry(None)
            return True
        if event.matches(QKeySequence.StandardKey.Undo):
            self.context.document.undo()
            return True
        if event.matches(QKeySequence.StandardKey.Redo):
            self.context.document.redo()
            return True
        return False

    def _pressed(self, image_pos: QPointF) -> None:
        tool = str(self.view.tool)
        point = self.view.image_to_lps(image_pos)
        if tool == LANDMARK:
            self._add(lambda: self.context.add_landmark(point))
        elif tool == LABEL:
            self.ask_label(point)
        elif tool in (TRAJECTORY, PLANE):
            self._press = image_pos
            self._hover = image_pos

    def _released(self, image_pos: QPointF) -> None:
        start, self._press = self._press, None
        assert start is not None
        a, b = self.view.image_to_widget(start), self.view.image_to_widget(image_pos)
        end_lps = self.view.image_to_lps(image_pos)
        dragged = math.hypot(a.x() - b.x(), a.y() - b.y()) >= CLICK_PX
        if str(self.view.tool) == PLANE:
            if dragged:
                self._add_plane(self.view.image_to_lps(start), end_lps)
            self.update()
            return
        if dragged:  # entry to target in this slice
            start_lps = self.view.image_to_lps(start)
            self._add(lambda: self.context.add_trajectory(start_lps, end_lps))
        elif self.context.pending_entry is None:  # a click: the entry; the target is clicked later
            self.context.set_pending_entry(end_lps)
        else:
            entry = self.context.pending_entry
            self._add(lambda: self.context.add_trajectory(entry, end_lps))
        self.update()

    def _add_plane(self, a: Any, b: Any) -> None:
        """The plane through the line a-b drawn in this slice, perpendicular to the slice."""
        geometry = self.geometry_now()
        if geometry is None:
            return
        centre = (a + b) / 2
        across = geometry.normal * (float(np.linalg.norm(b - a)) / 2)
        self._add(lambda: self.context.add_plane([centre, b, centre + across]))

    def _add(self, action: Any) -> Any:
        try:
            return action()
        except ValueError:  # refused by the document (it also reports through its rejected event)
            log.warning("annotation refused", exc_info=True)
            return None

    def ask_label(self, point: Any) -> QInputDialog:
        """Ask for a label's text (not modal: the call and the views go on); added when accepted."""
        if self.label_dialog is not None:
            self.label_dialog.close()
        dialog = QInputDialog(self.parentWidget())
        dialog.setObjectName("annotationLabelDialog")
        dialog.setWindowTitle(tr("QtAnnotationOverlay", "Label"))
        dialog.setLabelText(tr("QtAnnotationOverlay", "Text of the label:"))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def accepted(text: str) -> None:
            if text.strip():
                self._add(lambda: self.context.add_label(point, text.strip()))

        dialog.textValueSelected.connect(accepted)
        dialog.destroyed.connect(lambda *_: setattr(self, "label_dialog", None))
        self.label_dialog = dialog
        dialog.open()
        return dialog

    # painting --------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        geometry = self.geometry_now()
        if geometry is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        painter.setFont(font)
        projections = project_all(self.context.annotations(), geometry)
        # captions keep clear of every marker and of each other: markers first, then the captions
        centres = [self._widget(m.x, m.y) for p in projections for m in p.markers]
        self._placed = [QRectF(c.x() - 7, c.y() - 7, 14, 14) for c in centres]
        for projection in projections:
            self._paint_projection(painter, projection)
        for projection in projections:
            self._paint_caption(painter, projection)
        self._paint_pending(painter, geometry)
        self._paint_draft(painter)
        painter.end()

    def _paint_projection(self, painter: QPainter, p: Projection) -> None:
        colour = _colour(p)
        for s in p.segments:
            a, b = self._widget(s.x0, s.y0), self._widget(s.x1, s.y1)
            if s.role == "shadow":
                faded = QColor(colour)
                faded.setAlpha(190)
                painter.setPen(QPen(faded, 1.5, Qt.PenStyle.DashLine))
            elif s.role == "plane":
                painter.setPen(QPen(colour, 1.5, Qt.PenStyle.DashDotLine))
            else:
                painter.setPen(QPen(colour, 2.5))
            painter.drawLine(a, b)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if p.plane_coincident:  # the slice lies in the plane: a frame round the image
            painter.setPen(QPen(colour, 2, Qt.PenStyle.DashDotLine))
            width, height = self.view.renderer.mapping.shape[::-1] if self.view.renderer else (0, 0)
            corner_a, corner_b = self._widget(0, 0), self._widget(width, height)
            painter.drawRect(QRectF(corner_a, corner_b).normalized().adjusted(2, 2, -2, -2))
            caption = p.text or tr("QtAnnotationOverlay", "Plane")
            corner = QRectF(corner_a, corner_b).normalized().topLeft()
            _text(painter, corner + QPointF(8, 8), caption, colour, self._placed)
            return
        for m in p.markers:
            self._paint_marker(painter, m, colour)

    def _paint_caption(self, painter: QPainter, p: Projection) -> None:
        if p.plane_coincident:
            return
        colour = _colour(p)
        anchor = self._caption_anchor(p)
        if anchor is None:
            return
        caption = p.text
        if p.kind == TRAJECTORY:
            caption = trajectory_caption(p)
        elif p.kind == "plane" and not caption:
            caption = tr("QtAnnotationOverlay", "Plane")
        if caption:
            _text(painter, anchor + QPointF(10, -8), caption, colour, self._placed)

    def _caption_anchor(self, p: Projection) -> QPointF | None:
        order = {"crossing": 0, "target": 1, "entry": 2, "landmark": 3, "label": 3}
        if p.markers:
            m = min(p.markers, key=lambda m: order.get(m.role, 9))
            return self._widget(m.x, m.y)
        if p.segments:
            s = p.segments[-1]
            return self._widget(s.x1, s.y1)
        return None

    def _paint_marker(self, painter: QPainter, m: Marker, colour: QColor) -> None:
        c = self._widget(m.x, m.y)
        if m.role == "entry":
            painter.setPen(QPen(ENTRY_COLOUR, 2))
            painter.drawEllipse(c, 5.0, 5.0)
        elif m.role == "target":
            painter.setPen(QPen(TARGET_COLOUR, 2))
            painter.drawEllipse(c, 6.0, 6.0)
            painter.drawLine(c + QPointF(-9, 0), c + QPointF(9, 0))
            painter.drawLine(c + QPointF(0, -9), c + QPointF(0, 9))
        elif m.role == "crossing":
            painter.setPen(QPen(QColor("white"), 1.5))
            painter.setBrush(colour)
            painter.drawEllipse(c, 4.0, 4.0)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        elif m.role == "label":
            painter.setPen(QPen(colour, 1.5))
            painter.setBrush(colour)
            painter.drawEllipse(c, 2.5, 2.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        else:  # landmark: a ring with a cross
            painter.setPen(QPen(colour, 2))
            painter.drawEllipse(c, 6.0, 6.0)
            painter.drawLine(c + QPointF(-3, 0), c + QPointF(3, 0))
            painter.drawLine(c + QPointF(0, -3), c + QPointF(0, 3))

    def _paint_pending(self, painter: QPainter, geometry: SliceGeometry) -> None:
        entry = self.context.pending_entry
        if entry is None or str(self.view.tool) != TRAJECTORY:
            return
        x, y, d = geometry.lps_to_view(entry)
        c = self._widget(x, y)
        in_slice = abs(d) <= geometry.half_thickness_mm + 1e-6
        painter.setPen(QPen(ENTRY_COLOUR, 2, Qt.PenStyle.SolidLine if in_slice else Qt.PenStyle.DotLine))
        painter.drawEllipse(c, 5.0, 5.0)
        if self._hover is not None and str(self.view.tool) == TRAJECTORY:
            painter.setPen(QPen(DRAFT_COLOUR, 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(c, self.view.image_to_widget(self._hover))
        text = tr("QtAnnotationOverlay", "Entry: click the target")
        if not in_slice:
            text = tr("QtAnnotationOverlay", "Entry %1 mm from this slice: click the target").replace(
                "%1", f"{abs(d):.1f}"
            )
        _text(painter, c + QPointF(10, 6), text, ENTRY_COLOUR)

    def _paint_draft(self, painter: QPainter) -> None:
        if self._press is None or self._hover is None:
            return
        a, b = self.view.image_to_widget(self._press), self.view.image_to_widget(self._hover)
        painter.setPen(QPen(DRAFT_COLOUR, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(a, b)
        if str(self.view.tool) == TRAJECTORY:
            painter.setPen(QPen(ENTRY_COLOUR, 2))
            painter.drawEllipse(a, 5.0, 5.0)
        if math.hypot(a.x() - b.x(), a.y() - b.y()) >= CLICK_PX:
            pa, pb = self.view.image_to_lps(self._press), self.view.image_to_lps(self._hover)
            length = float(math.dist(pa.tolist(), pb.tolist()))
            text = tr("QtAnnotationOverlay", "%1 mm").replace("%1", f"{length:.1f}")
            _text(painter, b + QPointF(10, -8), text, DRAFT_COLOUR)

    # lifecycle -------------------------------------------------------------------------------
    def close_model(self) -> None:
        """Stop observing the context and the view; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.context.disconnect(self._changed)
        self.view.removeEventFilter(self)
        if self.label_dialog is not None:
            self.label_dialog.close()
        self.hide()
