"""Annotation shapes as Qt paths, and painting them: the drawing half of the video overlay.

Everything here is a pure function of an annotation and the rectangle the picture is displayed in
(normalised video points to widget pixels, pen widths scaled with the picture): no widget, no state.
It is separate so that the overlay (widgets.annotation_overlay), the drawing tools' live preview
(widgets.overlay_tools) and anything else that paints a video annotation build the same paths, and
so that the shapes can be read (and tested) without the input handling and caching around them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF

if TYPE_CHECKING:
    from core.annotations.model import Annotation

VideoPoint = tuple[float, float]

REFERENCE_HEIGHT = 480.0  # widths are pixels on a picture this tall, scaled with the displayed picture


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


def same_labels(a: Baked, b: Baked) -> bool:
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
