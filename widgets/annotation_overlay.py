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

The overlay is split by concern: the shapes' paths and their painting are in widgets.overlay_paint,
the drawing tools (input turned into annotations) in widgets.overlay_tools (the overlay's base class),
and anchored shapes following the tissue in widgets.overlay_tracking. This module keeps the widget
itself (the document it shows, the cached layer, freeze-frame, remote pointers) and re-exports the
names callers import from it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
)

from core.i18n import tr
from widgets.overlay_paint import (
    Baked,
    Labeller,
    VideoPoint,
    bake,
    build_drawn,
    paint_baked,
    pen_scale,
    same_labels,
    to_widget,
)
from widgets.overlay_tools import QtOverlayTools, Tool
from widgets.overlay_tracking import QtAnchorFollower
from widgets.video_view import QtVideoView, fit_rect

if TYPE_CHECKING:
    from core.annotations.model import Annotation, AnnotationDocument

__all__ = ["QtAnchorFollower", "QtAnnotationOverlay", "QtFreezeLink", "Tool", "VideoPoint", "to_widget"]

POINTER_FADE_S = 1.5  # an ephemeral pointer disappears this long after its last move
LABELLED_KINDS = ("ruler", "needle")  # their labels may change with other annotations (a calibration)


@dataclass
class _Pointer:
    point: tuple[float, ...]
    at: float
    colour: QColor


class QtAnnotationOverlay(QtOverlayTools):
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
        super().__init__(view)  # the tool state: widgets.overlay_tools
        self.view, self.document = view, document
        self.clock = clock
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setMouseTracking(True)
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
        self._drawn: dict[str, tuple[Annotation, Baked]] = {}
        self._layer: QPixmap | None = None
        self._layer_key: tuple[Any, ...] | None = None
        self._dirty = True
        self._rect = QRectF()
        self._pointers: dict[str, _Pointer] = {}
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

    def follows(self, annotation: Annotation) -> bool:
        """Whether ``annotation`` moves with the tissue now (anchored, live, and a follower runs)."""
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
        visible = [a for a in self.visible_annotations() if not self.follows(a)]
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
                if cached is not None and cached[0] == annotation and same_labels(cached[1], baked):
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
            if self.follows(annotation):
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
