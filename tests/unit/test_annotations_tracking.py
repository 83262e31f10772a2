"""Anchors follow a moving synthetic texture and report loss when the picture turns to noise."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from core.annotations.tracking import AnchorTracker

W, H = 320, 240


def texture(seed: int = 1) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (900, 900)).astype(np.float32), (0, 0), 2.0)
    return cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def view(tex: npt.NDArray[np.uint8], ox: float, oy: float) -> npt.NDArray[np.uint8]:
    """The part of the texture a camera at (ox, oy) sees (sub-pixel, bilinear), as an RGB frame."""
    shift = np.float32([[1, 0, -ox], [0, 1, -oy]])
    grey = cv2.warpAffine(tex, shift, (W, H), flags=cv2.INTER_LINEAR)
    return np.repeat(grey[:, :, None], 3, axis=2)


def test_anchor_follows_the_tissue_within_a_pixel_or_two() -> None:
    tex = texture()
    tracker = AnchorTracker()
    ox, oy = 300.0, 300.0
    tracker.update(view(tex, ox, oy))
    tracker.track("lesion", (0.5, 0.5))
    tracker.track("edge", (0.75, 0.3))
    worst = 0.0
    for i in range(60):  # the probe slides right and wobbles up and down, ~2 px a frame
        ox += 1.7
        oy += 1.8 * math.sin(i / 5)
        result = tracker.update(view(tex, ox, oy))
        (x, y), confidence = result["lesion"]
        expected = (W * 0.5 - (ox - 300), H * 0.5 - (oy - 300))
        worst = max(worst, math.hypot(x * W - expected[0], y * H - expected[1]))
        assert confidence > 0.5
    assert worst < 2.0
    assert tracker.lost == set()
    (ex, ey), _ = tracker.update(view(tex, ox, oy))["edge"]
    assert math.hypot(ex * W - (W * 0.75 - (ox - 300)), ey * H - (H * 0.3 - (oy - 300))) < 2.0


def test_noise_means_lost_and_the_tissue_coming_back_is_found_again() -> None:
    tex = texture(2)
    tracker = AnchorTracker()
    tracker.update(view(tex, 200, 200))
    tracker.track("a", (0.5, 0.5))
    for k in range(5):
        tracker.update(view(tex, 200 + k, 200))
    assert tracker.lost == set()
    rng = np.random.default_rng(7)
    for _ in range(3):
        noise = rng.integers(0, 255, (H, W, 3)).astype(np.uint8)
        (_, confidence) = tracker.update(noise)["a"]
        assert confidence < tracker.min_confidence
        assert tracker.lost == {"a"}
    (x, y), confidence = tracker.update(view(tex, 210, 200))["a"]
    assert tracker.lost == set() and confidence >= tracker.reacquire_ncc
    assert math.hypot(x * W - (W * 0.5 - 10), y * H - H * 0.5) < 2.0


def test_flat_picture_has_nothing_to_hold_on_to() -> None:
    tracker = AnchorTracker()
    flat = np.full((H, W), 90, np.uint8)
    tracker.track("a", (0.5, 0.5))
    tracker.update(flat)
    assert tracker.lost == {"a"}
    assert tracker.position("a") == ((0.5, 0.5), 0.0)
    tracker.forget("a")
    assert tracker.ids == [] and tracker.update(flat) == {}


def test_a_new_frame_size_keeps_anchors_where_they_were() -> None:
    tex = texture(3)
    tracker = AnchorTracker()
    tracker.update(view(tex, 100, 100))
    tracker.track("a", (0.4, 0.6))
    tracker.update(view(tex, 101, 100))
    small = cv2.resize(view(tex, 101, 100), (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    (x, y), _ = tracker.update(small)["a"]
    assert math.hypot(x - (0.4 - 1 / W), y - 0.6) < 0.01
