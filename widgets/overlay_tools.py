"""The drawing tools of the video overlay: mouse, pen and keyboard input turned into annotations.

:class:`QtOverlayTools` is the base of :class:`widgets.annotation_overlay.QtAnnotationOverlay` that
holds the editing state (the tool held, its colour and width, the shape being drawn) and the input
handlers that create shapes in the document, send the ephemeral pointer, place text and hand a click
to a point picker. It is separate from the overlay's display (the cached layer, freeze-frame, remote
pointers) so that what a click or a pen stroke does can be read in one place; the overlay supplies
the picture's rectangle, the document and the freeze state it draws into.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QMouseEvent, QPainter, QTabletEvent
from PySide6.QtWidgets import QLineEdit, QWidget

from core.i18n import tr
from widgets.overlay_paint import Labeller, VideoPoint, build_drawn, clamp_video, paint_drawn, to_video

if TYPE_CHECKING:
    from core.annotations.model import AnnotationDocument

POINTER_SEND_S = 1 / 30  # at most this often on the wire
STROKE_MIN_STEP = 0.002  # normalised distance between kept stroke points


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


class QtOverlayTools(QWidget):
    """The editing half of the annotation overlay: which tool is held and what input does with it."""

    # provided by the overlay that this is the base of
    document: AnnotationDocument
    clock: Callable[[], float]
    frozen_frame: str | None
    labeller: Labeller | None
    font_: QFont

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = Tool.NONE
        self.colour: str | None = None  # None: the author's colour
        self.pen_width = 3.0
        self.text = ""  # what the text tool writes; empty: ask in place
        self.anchored = False  # new shapes follow the tissue
        self._draft: list[VideoPoint] = []
        self._draft_pressure: list[float] = []
        self._dragging = False
        self._pointer_sent = 0.0
        self._picker: Callable[[VideoPoint], None] | None = None
        self._editor: QLineEdit | None = None

    def picture_rect(self) -> QRectF:
        """Where the picture lies in the widget (the overlay says: frozen frame, live video or all)."""
        raise NotImplementedError

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

    # preview ---------------------------------------------------------------------------------------
    def _paint_draft(self, painter: QPainter, rect: QRectF) -> None:
        """The shape being drawn, painted live over the overlay (the polyline's rubber band with it)."""
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
