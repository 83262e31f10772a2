"""QtAnnotationOverlay: the document's video-space annotations drawn over a QtVideoView, and the tools
that draw them.

The overlay is a transparent child of the video view, covering it; shapes are placed in the video's
displayed rectangle (aspect kept, the same ``fit_rect`` as the view), so normalised ``(x, y)`` points land
on the same spot of the picture at every site and every window size. The view repaints at the video's
frame rate and the overlay with it, so each annotation's QPainterPaths are built once (on the document's
``changed``, or when the picture's rectangle moves) and composed into one cached layer; a frame then
costs one ``drawPixmap``. What changes on its own (the shape being drawn, fading pointers) is drawn live.

Freeze-frame: ``set_frozen(frame_id)`` keeps the current picture on screen (the live video keeps playing
underneath, unseen) and shows the annotations drawn on that frame (``Annotation.frame == frame_id``) on
top of the live ones until ``set_frozen(None)``. Whoever freezes, the other site freezes too:
``sig_freeze_requested`` goes out as a ``control`` message (see :class:`QtFreezeLink`).
"""

from __future__ import annotations

import enum
import math
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QTabletEvent,
)
from PySide6.QtWidgets import QLineEdit, QWidget

from core.i18n import tr
from widgets.video_view import QtVideoView, fit_rect

if TYPE_CHECKING:
    from core.annotations.model import Annotation, AnnotationDocument

VideoPoint = tuple[float, float]

POINTER_FADE_S = 1.5  # an ephemeral pointer disappears this long after its last move
POINTER_SEND_S = 1 / 30  # at most this often on the wire
STROKE_MIN_STEP = 0.002  # normalised distance between kept stroke points
REFERENCE_HEIGHT = 480.0  # widths are pixels on a picture this tall, scaled with the displayed picture


class Tool(enum.Enum):
    NONE = "none"
    POINTER = "pointer"
    ARROW = "arrow"
    ELLIPSE = "ellipse"
    STROKE = "stroke"
    POLYLINE = "polyline"
    MARKER = "marker"
    TEXT = "text"
    RULER = "ruler"


TWO_POINT_TOOLS = (Tool.ARROW, Tool.ELLIPSE, Tool.RULER)
LABELLED_KINDS = ("ruler", "needle")  # their labels may change with other annotations (a calibration)


# --- geometry -------------------------------------------------------------------------------------------


def to_widget(rect: QRectF, point: Sequence[float]) -> QPointF:
    """A normalised video point to widget coordinates in the picture's displayed rectangle."""
    return QPointF(rect.x() + point[0] * rect.width(), rect.y() + point[1] * rect.height())


def to_video(rect: QRectF, point: QPointF) -> VideoPoint:
    """A widget position to a normalised video point (may lie outside 0..1 beyond the picture)."""
    if rect.width() <= 0 or rect.height() <= 0:
        return (0.0, 0.0)
    return ((point.x() - rect.x()) / rect.width(), (point.y() - rect.y()) / rect.height())


def clamp_video(point: VideoPoint) -> VideoPoint:
    return (min(1.0, max(0.0, point[0])), min(1.0, max(0.0, point[1])))


def pen_scale(rect: QRectF) -> float:
    return max(0.5, rect.height() / REFERENCE_HEIGHT)


# --- paths ------------------------------------------------------------------------------------------------


@dataclass
class Drawn:
    """One annotation's cached drawing: paths with their pen and brush, and text labels."""

    paths: list[tuple[QPainterPath, QPen, QBrush]] = field(default_factory=list)
    labels: list[tuple[QPointF, str, QColor]] = field(default_factory=list)


Labeller = Callable[["Annotation"], list[str]]  # extra text beside a ruler or a needle


def _pen(colour: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour, width, style, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    pen.setCosmetic(True)
    return pen


def _arrow_head(tail: QPointF, head: QPointF, size: float) -> QPolygonF:
    angle = math.atan2(head.y() - tail.y(), head.x() - tail.x())
    left = QPointF(head.x() - size * math.cos(angle - 0.45), head.y() - size * math.sin(angle - 0.45))
    right = QPointF(head.x() - size * math.cos(angle + 0.45), head.y() - size * math.sin(angle + 0.45))
    return QPolygonF([head, left, right])


def _pressure_outline(points: list[QPointF], widths: list[float]) -> QPainterPath:
    """A filled outline whose width follows the pen pressure point by point, round at both ends."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    left: list[QPointF] = []
    right: list[QPointF] = []
    n = len(points)
    for i, p in enumerate(points):
        a, b = points[max(0, i - 1)], points[min(n - 1, i + 1)]
        dx, dy = b.x() - a.x(), b.y() - a.y()
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length, dx / length
        half = widths[i] / 2
        left.append(QPointF(p.x() + nx * half, p.y() + ny * half))
        right.append(QPointF(p.x() - nx * half, p.y() - ny * half))
    path.addPolygon(QPolygonF(left + right[::-1]))
    path.closeSubpath()
    for p, w in ((points[0], widths[0]), (points[-1], widths[-1])):
        path.addEllipse(p, w / 2, w / 2)
    return path


def build_drawn(annotation: Annotation, rect: QRectF, labeller: Labeller | None = None) -> Drawn:
    """The paths that draw ``annotation`` (video space) in the picture's displayed rectangle ``rect``."""
    drawn = Drawn()
    colour = QColor(annotation.colour)
    scale = pen_scale(rect)
    width = max(1.0, annotation.width * scale)
    pen = _pen(colour, width)
    none = QBrush(Qt.BrushStyle.NoBrush)
    pts = [to_widget(rect, p) for p in annotation.points]
    if not pts:
        return drawn
    kind = annotation.kind
    if kind == "arrow" and len(pts) == 2:
        path = QPainterPath(pts[0])
        path.lineTo(pts[1])
        drawn.paths.append((path, pen, none))
        head = QPainterPath()
        head.addPolygon(_arrow_head(pts[0], pts[1], 6 * width + 6))
        head.closeSubpath()
        drawn.paths.append((head, _pen(colour, 1), QBrush(colour)))
    elif kind == "ellipse" and len(pts) == 2:
        path = QPainterPath()
        path.addEllipse(QRectF(pts[0], pts[1]).normalized())
        drawn.paths.append((path, pen, none))
    elif kind == "stroke":
        if annotation.pressure and len(annotation.pressure) == len(pts) and len(pts) > 1:
            widths = [max(1.0, width * (0.25 + 1.5 * p)) for p in annotation.pressure]
            drawn.paths.append((_pressure_outline(pts, widths), QPen(Qt.PenStyle.NoPen), QBrush(colour)))
        else:
            path = QPainterPath(pts[0])
            for p in pts[1:]:
                path.lineTo(p)
            if len(pts) == 1:
                path.addEllipse(pts[0], width / 2, width / 2)
            drawn.paths.append((path, pen, none))
    elif kind == "polyline":
        path = QPainterPath(pts[0])
        for p in pts[1:]:
            path.lineTo(p)
        drawn.paths.append((path, pen, none))
        dots = QPainterPath()
        for p in pts:
            dots.addEllipse(p, width + 1, width + 1)
        drawn.paths.append((dots, _pen(colour, 1), QBrush(colour)))
    elif kind == "marker":
        r = 5 * scale + width
        path = QPainterPath()
        path.addEllipse(pts[0], r, r)
        c = pts[0]
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            path.moveTo(c.x() + dx * r * 0.4, c.y() + dy * r * 0.4)
            path.lineTo(c.x() + dx * r * 1.6, c.y() + dy * r * 1.6)
        drawn.paths.append((path, pen, none))
        if annotation.text:
            drawn.labels.append((QPointF(c.x() + r * 1.8, c.y() - r), annotation.text, colour))
    elif kind == "text":
        drawn.labels.append((pts[0], annotation.text, colour))
    elif kind in ("ruler", "needle") and len(pts) >= 2:
        a, b = pts[0], pts[1]
        line = QPainterPath(a)
        line.lineTo(b)
        style = Qt.PenStyle.DashLine if kind == "needle" else Qt.PenStyle.SolidLine
        drawn.paths.append((line, _pen(colour, width, style), none))
        ends = QPainterPath()
        angle = math.atan2(b.y() - a.y(), b.x() - a.x()) + math.pi / 2
        tick = 6 * scale + width
        for p in (a, b) if kind == "ruler" else (a,):
            ends.moveTo(p.x() - tick * math.cos(angle), p.y() - tick * math.sin(angle))
            ends.lineTo(p.x() + tick * math.cos(angle), p.y() + tick * math.sin(angle))
        if kind == "needle":
            ends.addEllipse(b, tick, tick)  # the target
            ends.addEllipse(b, tick * 0.3, tick * 0.3)
        drawn.paths.append((ends, pen, none))
        if kind == "needle" and len(pts) == 3:
            tip = QPainterPath(a)
            tip.lineTo(pts[2])
            drawn.paths.append((tip, _pen(colour, width * 1.8), none))
            dot = QPainterPath()
            dot.addEllipse(pts[2], width + 2, width + 2)
            drawn.paths.append((dot, _pen(QColor("#000000"), 1), QBrush(colour)))
        texts = labeller(annotation) if labeller is not None else []
        if texts:
            anchor = QPointF(max(a.x(), b.x()) + tick + 4, (a.y() + b.y()) / 2)
            drawn.labels.append((anchor, "\n".join(texts), colour))
    return drawn


def _paint_paths(painter: QPainter, paths: list[tuple[QPainterPath, QPen, QBrush]]) -> None:
    for path, pen, brush in paths:
        # a dark halo first: the shapes stay visible on bright and dark tissue alike
        if pen.style() != Qt.PenStyle.NoPen:
            halo = QPen(pen)
            halo.setColor(_HALO)
            halo.setWidthF(pen.widthF() + 2)
            halo.setStyle(Qt.PenStyle.SolidLine)
            painter.strokePath(path, halo)
        painter.setPen(pen)
        painter.setBrush(brush)
        painter.drawPath(path)


_HALO = QColor(0, 0, 0, 150)


def paint_drawn(painter: QPainter, drawn: Drawn, font: QFont, bounds: QRectF | None = None) -> None:
    """Paint paths and labels at once; a label that would leave ``bounds`` moves back inside it."""
    paint_baked(painter, bake(drawn, font, bounds or QRectF(-1e6, -1e6, 2e6, 2e6)), font)


@dataclass
class Baked:
    """A Drawn placed for repeated painting into the cached layer: label boxes laid out (kept inside the
    overlay) and the bounds it covers, so that a change repaints only its own region."""

    paths: list[tuple[QPainterPath, QPen, QBrush]] = field(default_factory=list)
    boxes: list[tuple[QRectF, str, QColor]] = field(default_factory=list)
    bounds: QRectF = field(default_factory=QRectF)


def bake(drawn: Drawn, font: QFont, area: QRectF) -> Baked:
    baked = Baked(paths=drawn.paths)
    bounds = QRectF()
    for path, pen, _brush in drawn.paths:
        grow = (pen.widthF() if pen.style() != Qt.PenStyle.NoPen else 0.0) / 2 + 2  # + the halo
        bounds = bounds.united(path.controlPointRect().adjusted(-grow, -grow, grow, grow))
    if drawn.labels:
        metrics = QFontMetricsF(font)
        for anchor, text, colour in drawn.labels:
            lines = text.split("\n")
            w = max(metrics.horizontalAdvance(line) for line in lines) + 8
            h = metrics.height() * len(lines) + 4
            box = QRectF(anchor.x(), anchor.y() - h / 2, w, h)
            box.moveLeft(max(area.left(), min(box.left(), area.right() - w)))
            box.moveTop(max(area.top(), min(box.top(), area.bottom() - h)))
            baked.boxes.append((box, text, colour))
            bounds = bounds.united(box)
    baked.bounds = bounds.adjusted(-1, -1, 1, 1)
    return baked


def _same_labels(a: Baked, b: Baked) -> bool:
    return [(box.getRect(), text) for box, text, _c in a.boxes] == [
        (box.getRect(), text) for box, text, _c in b.boxes
    ]


def paint_baked(painter: QPainter, baked: Baked, font: QFont) -> None:
    _paint_paths(painter, baked.paths)
    if baked.boxes:
        painter.setFont(font)
        for box, text, colour in baked.boxes:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 160))
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(colour)
            painter.drawText(box.adjusted(4, 2, -4, -2), Qt.AlignmentFlag.AlignLeft, text)


# --- the overlay ------------------------------------------------------------------------------------------


@dataclass
class _Pointer:
    point: tuple[float, ...]
    at: float
    colour: QColor


class QtAnnotationOverlay(QWidget):
    """Draws ``document``'s video annotations over ``view`` and turns mouse and pen input into shapes."""

    sig_freeze_requested = Signal(object)  # a new frame id to freeze on, or None to release
    sig_frozen = Signal(object)  # the frozen frame id or None, whoever asked
    sig_point_picked = Signal(object)  # (x, y) clicked with Tool.NONE while a picker is armed

    def __init__(
        self,
        view: QtVideoView,
        document: AnnotationDocument,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(view)
        self.view, self.document = view, document
        self.clock = clock
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setMouseTracking(True)
        self.tool = Tool.NONE
        self.colour: str | None = None  # None: the author's colour
        self.pen_width = 3.0
        self.text = ""  # what the text tool writes; empty: ask in place
        self.labeller: Labeller | None = None
        # what the labels depend on beyond their own annotation (a calibration); None: anything
        self.label_key: Callable[[], object] | None = None
        self._label_epoch: object = None
        self.frozen_frame: str | None = None
        self._frozen_image: QImage | None = None
        self.tracking_lost: set[str] = set()  # anchored annotations whose anchor could not be followed
        self.follower: QtAnchorFollower | None = None
        self.anchor_offsets: dict[str, tuple[float, float]] = {}  # normalised, from the follower
        self._anchored: dict[str, tuple[Annotation, Baked]] = {}
        self.anchored = False  # new shapes follow the tissue
        self._drawn: dict[str, tuple[Annotation, Baked]] = {}
        self._layer: QPixmap | None = None
        self._layer_key: tuple[Any, ...] | None = None
        self._dirty = True
        self._rect = QRectF()
        self._draft: list[VideoPoint] = []
        self._draft_pressure: list[float] = []
        self._dragging = False
        self._pointers: dict[str, _Pointer] = {}
        self._pointer_sent = 0.0
        self._picker: Callable[[VideoPoint], None] | None = None
        self._editor: QLineEdit | None = None
        self.font_ = QFont(self.font())
        self.font_.setPointSizeF(max(8.0, self.font().pointSizeF()))
        self.font_.setBold(True)
        self.layer_builds = 0  # updates of the cached layer
        self.layer_full_builds = 0  # of which from scratch (first paint, resize)
        self._fade = QTimer(self)
        self._fade.setInterval(40)
        self._fade.timeout.connect(self._fade_tick)
        document.changed.connect(self._on_changed)
        document.pointer_moved.connect(self._on_pointer)
        self._closed = False
        self._apply_tool()
        self.setGeometry(view.rect())
        view.installEventFilter(self)
        self.show()

    # model -----------------------------------------------------------------------------------------
    def _on_changed(self) -> None:
        self._dirty = True
        self.update()

    def _on_pointer(self, pointer: tuple[str, str, tuple[float, ...]]) -> None:
        author, space, point = pointer
        if space != "video":
            return
        from core.annotations.model import colour_for

        self._pointers[author] = _Pointer(point, self.clock(), QColor(colour_for(author)))
        if not self._fade.isActive():
            self._fade.start()
        self.update()

    def _fade_tick(self) -> None:
        now = self.clock()
        self._pointers = {a: p for a, p in self._pointers.items() if now - p.at < POINTER_FADE_S}
        if not self._pointers:
            self._fade.stop()
        self.update()

    def pointer_alpha(self, author: str) -> float:
        """How visible ``author``'s pointer is now: 1 just moved, 0 faded away."""
        pointer = self._pointers.get(author)
        if pointer is None:
            return 0.0
        return max(0.0, 1.0 - (self.clock() - pointer.at) / POINTER_FADE_S)

    def visible_annotations(self) -> list[Annotation]:
        """The video annotations shown now: the live ones, and the frozen frame's while frozen."""
        frames = {"", self.frozen_frame} if self.frozen_frame else {""}
        return [a for a in self.document.in_space("video") if a.frame in frames]

    def set_anchor_offsets(self, offsets: dict[str, tuple[float, float]]) -> None:
        """Where the tissue under each anchored annotation has moved to, from where it was drawn."""
        self.anchor_offsets = offsets
        self.update()

    def _follows(self, annotation: Annotation) -> bool:
        return self.follower is not None and annotation.anchored and annotation.frame == ""

    def set_tracking_lost(self, ids: Iterable[str]) -> None:
        lost = set(ids)
        if lost != self.tracking_lost:
            self.tracking_lost = lost
            self.update()

    def refresh(self) -> None:
        """Rebuild the labels (a calibration changed the numbers beside rulers and needles)."""
        self._layer_key = None  # from scratch
        self._on_changed()

    # tools -----------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self._cancel_draft()
        self.tool = tool
        self._apply_tool()

    def _apply_tool(self) -> None:
        passive = self.tool is Tool.NONE and self._picker is None
        # Without a tool the video below keeps its own mouse handling (nothing here takes clicks).
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, passive)
        self.setCursor(Qt.CursorShape.ArrowCursor if passive else Qt.CursorShape.CrossCursor)

    def pick_point(self, callback: Callable[[VideoPoint], None] | None) -> None:
        """Hand the next click (as a normalised point) to ``callback`` instead of drawing (None: stop)."""
        self._picker = callback
        self._apply_tool()

    def _colour(self) -> str:
        from core.annotations.model import colour_for

        return self.colour or colour_for(self.document.author)

    def _fields(self) -> dict[str, Any]:
        return {"colour": self._colour(), "width": self.pen_width, "frame": self.frozen_frame or "",
                "anchored": self.anchored}

    def _cancel_draft(self) -> None:
        self._draft, self._draft_pressure, self._dragging = [], [], False
        self.update()

    def _add(self, kind: Any, points: list[VideoPoint], **fields: Any) -> None:
        try:
            self.document.add(kind, "video", [list(p) for p in points], **{**self._fields(), **fields})
        except ValueError as exc:  # a shape the model refuses (e.g. too many points): tell, never crash
            self.document.rejected.emit(str(exc))

    def _press(self, pos: QPointF, pressure: float | None) -> None:
        point = to_video(self.picture_rect(), pos)
        if self._picker is not None:
            self._picker(clamp_video(point))
            return
        if not (0.0 <= point[0] <= 1.0 and 0.0 <= point[1] <= 1.0):
            return  # outside the picture
        tool = self.tool
        if tool is Tool.POINTER:
            self._send_pointer(point, force=True)
        elif tool is Tool.MARKER:
            self._add("marker", [point])
        elif tool is Tool.TEXT:
            if self.text:
                self._add("text", [point], text=self.text)
            else:
                self._edit_text(pos, point)
        elif tool is Tool.POLYLINE:
            self._draft.append(point)
            self.update()
        elif tool in (*TWO_POINT_TOOLS, Tool.STROKE):
            self._draft = [point, point] if tool in TWO_POINT_TOOLS else [point]
            self._draft_pressure = [pressure] if pressure is not None else []
            self._dragging = True
            self.update()

    def _move(self, pos: QPointF, pressure: float | None) -> None:
        point = clamp_video(to_video(self.picture_rect(), pos))
        if self.tool is Tool.POINTER:
            self._send_pointer(point)
            return
        if not self._dragging:
            if self.tool is Tool.POLYLINE and self._draft:
                self.update()  # the rubber band follows
            return
        if self.tool in TWO_POINT_TOOLS:
            self._draft[1] = point
        elif self.tool is Tool.STROKE:
            last = self._draft[-1]
            if math.hypot(point[0] - last[0], point[1] - last[1]) < STROKE_MIN_STEP:
                return
            self._draft.append(point)
            if self._draft_pressure and pressure is not None:
                self._draft_pressure.append(pressure)
        self.update()

    def _release(self) -> None:
        if not self._dragging:
            return
        draft, pressure = self._draft, self._draft_pressure
        self._cancel_draft()
        if self.tool in TWO_POINT_TOOLS:
            a, b = draft
            if math.hypot(a[0] - b[0], a[1] - b[1]) < 0.005:
                return  # a click, not a shape
            self._add(self.tool.value, [a, b])
        elif self.tool is Tool.STROKE:
            from core.annotations.model import MAX_POINTS

            step = max(1, math.ceil(len(draft) / MAX_POINTS))  # a very long stroke is thinned, not lost
            points = draft[::step]
            kept = pressure[::step] if len(pressure) == len(draft) else []
            self._add("stroke", points, pressure=kept)

    def finish_polyline(self) -> None:
        if self.tool is Tool.POLYLINE and len(self._draft) >= 2:
            self._add("polyline", list(self._draft))
        self._cancel_draft()

    def _send_pointer(self, point: VideoPoint, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._pointer_sent >= POINTER_SEND_S:
            self._pointer_sent = now
            self.document.pointer("video", list(clamp_video(point)))

    def _edit_text(self, pos: QPointF, point: VideoPoint) -> None:
        if self._editor is not None:
            self._editor.deleteLater()
            self._editor = None
        editor = QLineEdit(self)
        editor.setPlaceholderText(tr("Annotations", "Label, then Enter"))
        editor.setStyleSheet("background: rgba(0,0,0,170); color: white; border: 1px solid #888;")
        editor.move(int(pos.x()), int(pos.y()))
        editor.resize(180, editor.sizeHint().height())

        def commit() -> None:
            if self._editor is not editor:
                return  # Return also ends the editing: one label, not two
            words = editor.text().strip()
            if words:
                self._add("text", [point], text=words)
            editor.deleteLater()
            self._editor = None

        editor.editingFinished.connect(commit)  # Return, or focus leaving the field
        editor.show()
        editor.setFocus()
        self._editor = editor

    # input -----------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton and self.tool is Tool.POLYLINE:
            self.finish_polyline()
        elif event.button() == Qt.MouseButton.LeftButton:
            self._press(event.position(), None)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._move(event.position(), None)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._release()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.tool is Tool.POLYLINE:
            self.finish_polyline()
        event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:
        """A pen: strokes follow its pressure. Accepted, so Qt sends no mouse events for it."""
        pressure = min(1.0, max(0.0, float(event.pressure())))
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._press(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletMove:
            self._move(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletRelease:
            self._release()
        event.accept()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._cancel_draft()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish_polyline()
        else:
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: Any) -> bool:
        from PySide6.QtCore import QEvent

        if watched is self.view and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.view.rect())
        return False

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._dirty = True
        super().resizeEvent(event)

    # freeze ----------------------------------------------------------------------------------------
    def request_freeze(self, freeze: bool) -> None:
        """Freeze (or release) here and ask the other site to do the same."""
        frame_id = uuid.uuid4().hex[:12] if freeze else None
        self.set_frozen(frame_id)
        self.sig_freeze_requested.emit(frame_id)

    def set_frozen(self, frame_id: str | None) -> None:
        """Keep the picture on screen now as frame ``frame_id`` (None: back to the live video)."""
        if frame_id == self.frozen_frame:
            return
        self._cancel_draft()
        if frame_id is None:
            self._frozen_image = None
        elif self._frozen_image is None:
            self._frozen_image = self.current_image()
        self.frozen_frame = frame_id
        self._dirty = True
        self.update()
        self.sig_frozen.emit(frame_id)

    @property
    def frozen_image(self) -> QImage | None:
        return self._frozen_image

    def picture_size(self) -> tuple[int, int] | None:
        """The size in pixels of the picture shown (frozen or live), None before any video."""
        frozen = self._frozen_image
        size = frozen.size() if frozen is not None else self.view.frame_size
        return None if size is None or size.isEmpty() else (size.width(), size.height())

    def current_image(self) -> QImage | None:
        """The picture the view shows now (converted first if a newer frame waits)."""
        convert = getattr(self.view, "_convert", None)
        if callable(convert):
            convert()
        image = getattr(self.view, "_image", None)  # QtVideoView keeps the shown frame as a QImage
        return image.copy() if isinstance(image, QImage) else None

    # painting --------------------------------------------------------------------------------------
    def picture_rect(self) -> QRectF:
        """Where the picture lies in the overlay: the frozen frame's, the live video's, or all of it."""
        frozen = self._frozen_image
        size: QSize | None = frozen.size() if frozen is not None else self.view.frame_size
        if size is None or size.isEmpty():
            return QRectF(self.rect())
        return QRectF(fit_rect(size, QRect(self.rect())))

    def _rebuild_layer(self) -> None:
        """Bring the cached layer up to date with the document, redrawing as little as possible: new
        shapes (the common case: someone drew) are painted on top of it; a changed or removed shape
        clears and repaints only the region it covered and covers; a moved picture repaints all."""
        visible = [a for a in self.visible_annotations() if not self._follows(a)]
        area = QRectF(self.rect())
        key = (self._rect.getRect(), self.size().toTuple(), self.devicePixelRatioF())
        full = key != self._layer_key or self._layer is None
        self._rebuild_anchored(full, area)
        old = {} if full else self._drawn
        keep: dict[str, tuple[Annotation, Baked]] = {}
        dirty = QRectF()
        changed_old = False
        epoch = self.label_key() if self.label_key is not None else object()
        relabel, self._label_epoch = epoch != self._label_epoch, epoch
        for annotation in visible:
            cached = old.get(annotation.id)
            labelled = relabel and self.labeller is not None and annotation.kind in LABELLED_KINDS
            if cached is None or cached[0] != annotation or labelled:
                baked = bake(build_drawn(annotation, self._rect, self.labeller), self.font_, area)
                if cached is not None and cached[0] == annotation and _same_labels(cached[1], baked):
                    baked = cached[1]  # a relabelled ruler or needle whose numbers did not change
                elif cached is not None:
                    dirty = dirty.united(cached[1].bounds).united(baked.bounds)
                    changed_old = True
                else:
                    dirty = dirty.united(baked.bounds)
                cached = (annotation, baked)
            keep[annotation.id] = cached
        for annotation_id, (_annotation, baked) in old.items():
            if annotation_id not in keep:
                dirty = dirty.united(baked.bounds)
                changed_old = True
        appended = not changed_old and list(keep)[: len(old)] == list(old)
        self._drawn = keep
        if full or self._layer is None:
            ratio = self.devicePixelRatioF()
            layer = QPixmap(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)))
            layer.setDevicePixelRatio(ratio)
            layer.fill(Qt.GlobalColor.transparent)
            self._layer = layer
            todo = list(keep.values())
            clip = None
            self.layer_full_builds += 1
        elif appended:
            todo = [entry for annotation_id, entry in keep.items() if annotation_id not in old]
            clip = None
        else:
            clip = dirty.toAlignedRect().adjusted(-1, -1, 1, 1)
            todo = [entry for entry in keep.values() if entry[1].bounds.intersects(QRectF(clip))]
        if todo or clip is not None:
            painter = QPainter(self._layer)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            if clip is not None:
                painter.setClipRect(clip)
                painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
                painter.fillRect(clip, Qt.GlobalColor.transparent)
                painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
            for _annotation, baked in todo:
                paint_baked(painter, baked, self.font_)
            painter.end()
        self._layer_key, self._dirty = key, False
        self.layer_builds += 1

    def _rebuild_anchored(self, full: bool, area: QRectF) -> None:
        """The anchored shapes move with the tissue, so they are painted each frame, not layered."""
        old = {} if full else self._anchored
        keep: dict[str, tuple[Annotation, Baked]] = {}
        for annotation in self.visible_annotations():
            if self._follows(annotation):
                cached = old.get(annotation.id)
                if cached is None or cached[0] != annotation:
                    cached = (annotation, bake(build_drawn(annotation, self._rect, None), self.font_, area))
                keep[annotation.id] = cached
        self._anchored = keep

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.picture_rect()
        if rect != self._rect:
            self._rect, self._dirty = rect, True
        painter = QPainter(self)
        if self._frozen_image is not None:
            painter.fillRect(self.rect(), QColor(16, 18, 20))
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(rect, self._frozen_image)
        if self._dirty or self._layer is None:
            self._rebuild_layer()
        if self._layer is not None and self._drawn:
            painter.drawPixmap(0, 0, self._layer)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for annotation_id, (_annotation, baked) in self._anchored.items():
            dx, dy = self.anchor_offsets.get(annotation_id, (0.0, 0.0))
            painter.save()
            painter.translate(dx * rect.width(), dy * rect.height())
            if annotation_id in self.tracking_lost:
                painter.setOpacity(0.45)  # where the tissue was last seen: shown, but doubtful
            paint_baked(painter, baked, self.font_)
            painter.restore()
        self._paint_live(painter, rect)
        painter.end()
        if self.follower is not None:
            self.follower.on_frame()

    def _paint_live(self, painter: QPainter, rect: QRectF) -> None:
        if self._draft:
            self._paint_draft(painter, rect)
        for author, pointer in self._pointers.items():
            alpha = self.pointer_alpha(author)
            if alpha <= 0:
                continue
            centre = to_widget(rect, pointer.point)
            colour = QColor(pointer.colour)
            colour.setAlphaF(alpha)
            glow = QColor(colour)
            glow.setAlphaF(alpha * 0.35)
            r = 14 * pen_scale(rect)
            painter.setPen(QPen(QColor(255, 255, 255, round(220 * alpha)), 2))
            painter.setBrush(glow)
            painter.drawEllipse(centre, r, r)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(centre, r * 0.4, r * 0.4)
        if self.frozen_frame is not None:
            self._badge(painter, rect, tr("Annotations", "FROZEN"), QColor("#1e88e5"), 0)
        lost = self.tracking_lost & {a.id for a in self.visible_annotations() if a.anchored}
        if lost:
            text = tr("Annotations", "Tracking lost: %1 anchored annotation(s)").replace("%1", str(len(lost)))
            self._badge(painter, rect, text, QColor("#c0392b"), 1)

    def _badge(self, painter: QPainter, rect: QRectF, text: str, colour: QColor, row: int) -> None:
        painter.setFont(self.font_)
        metrics = QFontMetricsF(self.font_)
        w, h = metrics.horizontalAdvance(text) + 16, metrics.height() + 8
        box = QRectF(rect.x() + 8, rect.y() + 8 + row * (h + 4), w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_draft(self, painter: QPainter, rect: QRectF) -> None:
        from core.annotations.model import Annotation

        kind = {Tool.ARROW: "arrow", Tool.ELLIPSE: "ellipse", Tool.RULER: "ruler"}.get(self.tool, "polyline")
        if self.tool is Tool.STROKE:
            kind = "stroke"
        points = tuple(self._draft)
        if self.tool is Tool.POLYLINE and not self._dragging:
            cursor = self.mapFromGlobal(self.cursor().pos())
            points = (*points, clamp_video(to_video(rect, QPointF(cursor))))
        pressure = tuple(self._draft_pressure) if len(self._draft_pressure) == len(points) else ()
        draft = Annotation(
            id="draft",
            author=self.document.author,
            kind=kind,  # type: ignore[arg-type]
            space="video",
            points=points,
            colour=self._colour(),
            width=self.pen_width,
            pressure=pressure,
        )
        paint_drawn(painter, build_drawn(draft, rect, self.labeller), self.font_, QRectF(self.rect()))

    # life ------------------------------------------------------------------------------------------
    def close_overlay(self) -> None:
        """Stop observing the document. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._fade.stop()
        if self.follower is not None:
            self.follower.close()
        self.document.changed.disconnect(self._on_changed)
        self.document.pointer_moved.disconnect(self._on_pointer)
        self.view.removeEventFilter(self)


class QtFreezeLink(QObject):
    """Freeze-frame across the call: a local freeze or release goes out on ``control``; one that comes
    in freezes or releases the overlay here. ``send(kind, body)`` is e.g. ``QtCallController.send``
    bound to the channel; ``on_message`` takes :class:`rtc.channels.ChannelMessage` objects."""

    def __init__(
        self,
        overlay: QtAnnotationOverlay,
        send: Callable[[str, dict[str, Any]], object],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or overlay)
        self.overlay, self._send = overlay, send
        overlay.sig_freeze_requested.connect(self._local)

    def _local(self, frame_id: str | None) -> None:
        if frame_id is None:
            self._send("release", {"action": "release", "args": {}})
        else:
            self._send("freeze", {"action": "freeze", "args": {"frame": frame_id}})

    def on_message(self, message: Any) -> None:
        if getattr(message, "channel", None) != "control" or message.envelope is None:
            return
        body = message.envelope.body
        action, args = body.get("action"), body.get("args") or {}
        if action == "freeze":
            frame = args.get("frame")
            if isinstance(frame, str) and 0 < len(frame) <= 64:
                self.overlay.set_frozen(frame)
        elif action == "release":
            self.overlay.set_frozen(None)


def anchor_point(annotation: Annotation) -> tuple[float, float]:
    """The spot of tissue an anchored shape is pinned to: an arrow's head, else its points' centre."""
    if annotation.kind == "arrow" and len(annotation.points) == 2:
        return (annotation.points[1][0], annotation.points[1][1])
    n = len(annotation.points)
    return (sum(p[0] for p in annotation.points) / n, sum(p[1] for p in annotation.points) / n)


class QtAnchorFollower(QObject):
    """Anchored annotations follow the tissue (core.annotations.tracking.AnchorTracker, OpenCV optical
    flow) on the picture this site shows. Display only: every site follows on its own copy of the same
    video, so no operation is sent per frame. The newest shown frame, scaled down to ``width`` and grey,
    goes to one worker thread; while it works, newer frames are skipped (never queued), so the video
    never waits. Results come back as a queued signal: offsets, and the anchors whose tracking is lost."""

    sig_result = Signal(object)

    def __init__(self, overlay: QtAnnotationOverlay, width: int = 320) -> None:
        super().__init__(overlay)
        from concurrent.futures import ThreadPoolExecutor

        self.overlay, self.width = overlay, width
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="anchor-tracker")
        self._busy = False
        self._tracker: Any = None  # made in the worker on first use (cv2 is heavy)
        self._tracked: dict[str, tuple[float, float]] = {}  # id -> where it was pinned (normalised)
        self._last_shown = -1
        self.frames_tracked = 0
        self._closed = False
        self.sig_result.connect(self._on_result)
        overlay.follower = overlay.follower or self
        overlay.refresh()

    def on_frame(self) -> None:
        """After each paint: hand a newly shown live frame to the tracker if it is free."""
        overlay = self.overlay
        if self._busy or self._closed or overlay.frozen_frame is not None:
            return
        shown = overlay.view.frames_shown
        if shown == self._last_shown:
            return
        anchored = {
            a.id: anchor_point(a) for a in overlay.visible_annotations() if overlay._follows(a)
        }
        if not anchored and not self._tracked:
            return
        image = getattr(overlay.view, "_image", None)
        if not isinstance(image, QImage) or image.isNull():
            return
        self._last_shown = shown
        small = image.scaledToWidth(self.width, Qt.TransformationMode.SmoothTransformation).convertToFormat(
            QImage.Format.Format_Grayscale8
        )
        import numpy as np

        h, w = small.height(), small.width()
        data = np.frombuffer(small.constBits(), np.uint8, count=small.bytesPerLine() * h)
        grey = data.reshape(h, small.bytesPerLine())[:, :w].copy()
        new = {i: p for i, p in anchored.items() if self._tracked.get(i) != p}
        gone = set(self._tracked) - set(anchored)
        self._tracked = anchored
        self._busy = True
        self._pool.submit(self._work, grey, new, gone)

    def _work(self, grey: Any, new: dict[str, tuple[float, float]], gone: set[str]) -> None:
        """On the worker thread."""
        try:
            if self._tracker is None:
                from core.annotations.tracking import AnchorTracker

                self._tracker = AnchorTracker()
            for annotation_id in gone:
                self._tracker.forget(annotation_id)
            for annotation_id, point in new.items():
                self._tracker.track(annotation_id, point)
            out = self._tracker.update(grey)
            self.sig_result.emit((out, set(self._tracker.lost)))
        except Exception:  # a tracking failure must never take the video down
            import logging

            logging.getLogger(__name__).exception("anchor tracking failed")
            self.sig_result.emit(({}, set()))

    def _on_result(self, result: tuple[dict[str, tuple[tuple[float, float], float]], set[str]]) -> None:
        self._busy = False
        if self._closed:
            return
        out, lost = result
        self.frames_tracked += 1
        offsets = {
            i: (p[0] - self._tracked[i][0], p[1] - self._tracked[i][1])
            for i, (p, _confidence) in out.items()
            if i in self._tracked
        }
        self.overlay.set_anchor_offsets(offsets)
        self.overlay.set_tracking_lost(lost & set(self._tracked))

    def close(self) -> None:
        """Stop tracking. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
