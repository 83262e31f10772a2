"""Anchored annotations follow the tissue: pyramidal Lucas-Kanade optical flow on grey frames. Qt-free.

Each anchor keeps a small cloud of corner features around its point. Every frame the cloud is
tracked forwards and backwards; features whose round trip lands more than ``fb_max_px`` from where
they started are dropped, and the anchor moves by the median motion of the rest. Confidence is the
fraction of the cloud that survived times the normalised cross-correlation of the patch around the
anchor with the previous frame's. Below ``min_confidence`` the anchor is ``lost``: it stays where it
was last seen, and each later frame a template match around that place may pick it up again.

cv2 is imported inside the functions (it is heavy and the app imports this lazily anyway).
Coordinates in and out are normalised to the frame (x, y in 0..1), as the annotations store them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.uint8]
PointN = tuple[float, float]


@dataclass
class _Anchor:
    id: str
    xy: npt.NDArray[np.float32]  # pixels
    features: npt.NDArray[np.float32] = field(default_factory=lambda: np.empty((0, 1, 2), np.float32))
    offsets: npt.NDArray[np.float32] = field(default_factory=lambda: np.empty((0, 2), np.float32))
    template: Grey | None = None  # last confidently tracked patch, for re-acquisition
    confidence: float = 1.0
    lost: bool = False
    pending: PointN | None = None  # normalised point given before the first frame


def grey(frame: npt.NDArray[Any]) -> Grey:
    """A uint8 grey image from a grey, RGB or RGBA frame (ndarray, as PyAV's ``to_ndarray`` gives)."""
    import cv2

    if frame.ndim == 2:
        out = frame
    elif frame.shape[2] == 4:
        out = cv2.cvtColor(frame, cv2.COLOR_RGBA2GRAY)
    else:
        out = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(out, dtype=np.uint8)


def _ncc(a: Grey, b: Grey) -> float:
    if a.shape != b.shape or a.size == 0:
        return 0.0
    fa = a.astype(np.float32) - float(a.mean())
    fb = b.astype(np.float32) - float(b.mean())
    denom = float(np.sqrt((fa * fa).sum() * (fb * fb).sum()))
    return float((fa * fb).sum() / denom) if denom > 1e-6 else 0.0


class AnchorTracker:
    """``track(id, point)``, then ``update(frame)`` per video frame -> ``{id: (point, confidence)}``."""

    def __init__(
        self,
        *,
        radius_px: int = 24,
        max_features: int = 40,
        window: int = 21,
        levels: int = 3,
        fb_max_px: float = 1.0,
        min_confidence: float = 0.4,
        reacquire_ncc: float = 0.8,
        search_px: int = 64,
    ) -> None:
        self.radius = radius_px
        self.max_features = max_features
        self.window = window
        self.levels = levels
        self.fb_max = fb_max_px
        self.min_confidence = min_confidence
        self.reacquire_ncc = reacquire_ncc
        self.search = search_px
        self._anchors: dict[str, _Anchor] = {}
        self._prev: Grey | None = None

    # --- anchors ---

    def track(self, anchor_id: str, point: PointN) -> None:
        """Start (or restart) following ``point`` (normalised) from the next frame on."""
        anchor = _Anchor(anchor_id, np.zeros(2, np.float32), pending=(float(point[0]), float(point[1])))
        if self._prev is not None:
            self._seed(anchor, self._prev)
        self._anchors[anchor_id] = anchor

    def forget(self, anchor_id: str) -> None:
        self._anchors.pop(anchor_id, None)

    def clear(self) -> None:
        self._anchors.clear()
        self._prev = None

    @property
    def ids(self) -> list[str]:
        return list(self._anchors)

    @property
    def lost(self) -> set[str]:
        return {a.id for a in self._anchors.values() if a.lost}

    def position(self, anchor_id: str) -> tuple[PointN, float] | None:
        anchor = self._anchors.get(anchor_id)
        if anchor is None or self._prev is None or anchor.pending is not None:
            return None
        return self._normalised(anchor.xy), anchor.confidence

    # --- frames ---

    def update(self, frame: npt.NDArray[Any]) -> dict[str, tuple[PointN, float]]:
        image = grey(frame)
        prev = self._prev
        if prev is not None and prev.shape != image.shape:
            h, w = prev.shape[:2]  # the source changed size: start over from where the anchors are
            for anchor in self._anchors.values():
                if anchor.pending is None:
                    anchor.pending = (float(anchor.xy[0]) / w, float(anchor.xy[1]) / h)
            prev = None
        self._prev = image
        out: dict[str, tuple[PointN, float]] = {}
        for anchor in self._anchors.values():
            if anchor.pending is not None or prev is None:
                self._seed(anchor, image)
            elif anchor.lost:
                self._reacquire(anchor, image)
            else:
                self._follow(anchor, prev, image)
            out[anchor.id] = (self._normalised(anchor.xy), anchor.confidence)
        return out

    # --- internals ---

    def _normalised(self, xy: npt.NDArray[np.float32]) -> PointN:
        assert self._prev is not None
        h, w = self._prev.shape[:2]
        return float(xy[0]) / w, float(xy[1]) / h

    def _patch(self, image: Grey, xy: npt.NDArray[np.float32]) -> Grey | None:
        r = self.radius
        x, y = round(float(xy[0])), round(float(xy[1]))
        if x - r < 0 or y - r < 0 or x + r + 1 > image.shape[1] or y + r + 1 > image.shape[0]:
            return None
        return image[y - r : y + r + 1, x - r : x + r + 1]

    def _seed(self, anchor: _Anchor, image: Grey) -> None:
        import cv2

        if anchor.pending is not None:
            h, w = image.shape[:2]
            anchor.xy = np.array([anchor.pending[0] * w, anchor.pending[1] * h], np.float32)
            anchor.pending = None
        mask = np.zeros_like(image)
        cx, cy = round(float(anchor.xy[0])), round(float(anchor.xy[1]))
        cv2.circle(mask, (cx, cy), self.radius, 255, -1)
        corners = cv2.goodFeaturesToTrack(
            image, maxCorners=self.max_features, qualityLevel=0.01, minDistance=3, mask=mask, blockSize=5
        )
        if corners is None or len(corners) < 3:
            anchor.features = np.empty((0, 1, 2), np.float32)
            anchor.offsets = np.empty((0, 2), np.float32)
            anchor.confidence, anchor.lost = 0.0, True
            anchor.template = None
            return
        anchor.features = corners.astype(np.float32)
        anchor.offsets = anchor.features[:, 0, :] - anchor.xy
        anchor.template = self._patch(image, anchor.xy)
        anchor.confidence, anchor.lost = 1.0, False

    def _follow(self, anchor: _Anchor, prev: Grey, image: Grey) -> None:
        import cv2

        if len(anchor.features) == 0:
            anchor.confidence, anchor.lost = 0.0, True
            return
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
        win = (self.window, self.window)
        fwd, st_f, _ = cv2.calcOpticalFlowPyrLK(
            prev,
            image,
            anchor.features,
            anchor.features.copy(),
            winSize=win,
            maxLevel=self.levels,
            criteria=criteria,
        )
        forward = np.asarray(fwd, np.float32)
        bwd, st_b, _ = cv2.calcOpticalFlowPyrLK(
            image, prev, forward, forward.copy(), winSize=win, maxLevel=self.levels, criteria=criteria
        )
        backward = np.asarray(bwd, np.float32)
        status_f, status_b = np.asarray(st_f), np.asarray(st_b)
        fb_error = np.linalg.norm((backward - anchor.features)[:, 0, :], axis=1)
        good = (status_f[:, 0] == 1) & (status_b[:, 0] == 1) & (fb_error < self.fb_max)
        survived = float(good.sum()) / len(anchor.features)
        if good.sum() < 3:
            anchor.confidence, anchor.lost = 0.0, True
            return
        # Each surviving feature votes for where the anchor is now (its offset from the anchor moved too).
        votes = forward[good, 0, :] - anchor.offsets[good]
        new_xy = np.median(votes, axis=0).astype(np.float32)
        before = self._patch(prev, anchor.xy)
        after = self._patch(image, new_xy)
        similarity = _ncc(before, after) if before is not None and after is not None else survived
        anchor.xy = new_xy
        anchor.confidence = max(0.0, min(1.0, survived * max(0.0, similarity)))
        anchor.lost = anchor.confidence < self.min_confidence
        if anchor.lost:
            return
        anchor.template = after if after is not None else anchor.template
        anchor.features = forward[good]
        anchor.offsets = anchor.offsets[good]
        if len(anchor.features) < max(6, self.max_features // 3):
            self._seed(anchor, image)  # the cloud thinned out: pick fresh corners around where it is

    def _reacquire(self, anchor: _Anchor, image: Grey) -> None:
        import cv2

        template = anchor.template
        if template is None:
            self._seed(anchor, image)
            if anchor.lost or anchor.template is None:
                return
            template = anchor.template
        th, tw = template.shape
        x0 = max(0, int(anchor.xy[0]) - self.search - tw // 2)
        y0 = max(0, int(anchor.xy[1]) - self.search - th // 2)
        x1 = min(image.shape[1], int(anchor.xy[0]) + self.search + tw // 2 + 1)
        y1 = min(image.shape[0], int(anchor.xy[1]) + self.search + th // 2 + 1)
        region = image[y0:y1, x0:x1]
        if region.shape[0] < th or region.shape[1] < tw:
            return
        scores = cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if best >= self.reacquire_ncc:
            anchor.xy = np.array([x0 + bx + tw // 2, y0 + by + th // 2], np.float32)
            self._seed(anchor, image)
            anchor.confidence = float(best)
        else:
            anchor.confidence = max(0.0, float(best))
