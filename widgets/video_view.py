"""QtVideoView: paints the newest video frame only, letterboxed to keep its aspect ratio.

A display timer pulls ``take_frame()`` (a newest-frame slot such as ``CallSession.take_video_frame``):
a frame that arrives before the next pull replaces the previous one, so no queue ever builds up. The
pulled frame is converted to a QImage at paint time, once per new frame. Without video the view shows
a placeholder text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

FramePull = Callable[[], Any]  # returns an av.VideoFrame (or anything with to_ndarray) or None


def fit_rect(frame: QSize, area: QRect) -> QRect:
    """The largest rectangle of ``frame``'s aspect ratio centred in ``area``."""
    if frame.width() <= 0 or frame.height() <= 0 or area.width() <= 0 or area.height() <= 0:
        return QRect()
    scale = min(area.width() / frame.width(), area.height() / frame.height())
    w, h = max(1, round(frame.width() * scale)), max(1, round(frame.height() * scale))
    return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)


class QtVideoView(QWidget):
    def __init__(
        self,
        placeholder: str = "",
        interval_ms: int = 33,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(64, 48)
        self._placeholder = placeholder
        self._pull: FramePull | None = None
        self._frame: Any = None  # newest frame not yet converted
        self._image: QImage | None = None
        self.frames_shown = 0
        self.frames_pulled = 0
        self.framed = False  # a thin border, for a preview floating over other video
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    # model -----------------------------------------------------------------------------------
    def set_source(self, pull: FramePull | None) -> None:
        """Start pulling frames from ``pull`` (None: stop and show the placeholder)."""
        self._pull = pull
        if pull is None:
            self._timer.stop()
            self.clear()
        else:
            self._timer.start()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def clear(self) -> None:
        self._frame = None
        self._image = None
        self.update()

    @property
    def has_video(self) -> bool:
        return self._image is not None or self._frame is not None

    @property
    def frame_size(self) -> QSize | None:
        if self._frame is not None:
            return QSize(self._frame.width, self._frame.height)
        return self._image.size() if self._image is not None else None

    def _tick(self) -> None:
        if self._pull is None:
            return
        frame = self._pull()
        if frame is not None:
            self._frame = frame  # replaces one not yet painted: newest wins
            self.frames_pulled += 1
            self.update()

    def close_view(self) -> None:
        """Stop pulling. Calling it twice is harmless."""
        self._timer.stop()
        self._pull = None

    # painting --------------------------------------------------------------------------------
    def _convert(self) -> None:
        frame, self._frame = self._frame, None
        if frame is None:
            return
        rgb = frame.to_ndarray(format="rgb24")
        h, w = rgb.shape[:2]
        # QImage borrows the buffer: copy() detaches it before the array goes away.
        self._image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()
        self.frames_shown += 1

    def paintEvent(self, event: QPaintEvent) -> None:
        self._convert()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 18, 20))
        if self._image is not None:
            target = fit_rect(self._image.size(), self.rect())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
        elif self._placeholder:
            painter.setPen(QColor(170, 176, 184))
            painter.drawText(
                self.rect().adjusted(8, 8, -8, -8),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._placeholder,
            )
        if self.framed:
            painter.setPen(QColor(200, 204, 210))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()

    def sizeHint(self) -> QSize:
        return QSize(640, 360)
