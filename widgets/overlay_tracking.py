"""Anchored annotations following the tissue: the glue between the overlay and the optical flow.

:class:`QtAnchorFollower` hands the frames the overlay shows to core.annotations.tracking's
AnchorTracker (OpenCV optical flow) on a worker thread and gives the overlay back how far each anchored
shape has moved and which anchors are lost. It is separate from the overlay because it is a different
job with its own thread and its own failure modes (a tracking error must never take the video down),
and because the overlay works without it: only a call that turns tracking on makes one. It knows the
overlay only through :class:`TrackedOverlay`, the few members it reads and calls, so that this module
and widgets.annotation_overlay (which re-exports the follower) do not import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from core.annotations.model import Annotation
    from widgets.video_view import QtVideoView


class TrackedOverlay(Protocol):
    """What the follower needs of the overlay (a QWidget: widgets.annotation_overlay.QtAnnotationOverlay)."""

    follower: QtAnchorFollower | None

    @property
    def view(self) -> QtVideoView: ...

    @property
    def frozen_frame(self) -> str | None: ...

    def visible_annotations(self) -> list[Annotation]: ...

    def follows(self, annotation: Annotation) -> bool: ...

    def set_anchor_offsets(self, offsets: dict[str, tuple[float, float]]) -> None: ...

    def set_tracking_lost(self, ids: Iterable[str]) -> None: ...

    def refresh(self) -> None: ...


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

    def __init__(self, overlay: TrackedOverlay, width: int = 320) -> None:
        super().__init__(cast(QObject, overlay))  # the overlay owns its follower
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
        anchored = {a.id: anchor_point(a) for a in overlay.visible_annotations() if overlay.follows(a)}
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
