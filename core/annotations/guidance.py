"""Ultrasound guidance maths: depth calibration and the planned needle path. Qt-free, numpy-free.

Points are normalised video coordinates (x, y in 0..1, origin top-left, y grows with depth) as the
annotations store them; ``frame_size`` ``(width, height)`` in pixels turns them into pixels. Ultrasound
pixels are square, so one scale (mm per pixel) serves both axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point2 = Sequence[float]


def to_pixels(point: Point2, frame_size: tuple[int, int]) -> tuple[float, float]:
    return float(point[0]) * frame_size[0], float(point[1]) * frame_size[1]


def pixel_distance(a: Point2, b: Point2, frame_size: tuple[int, int]) -> float:
    ax, ay = to_pixels(a, frame_size)
    bx, by = to_pixels(b, frame_size)
    return math.hypot(bx - ax, by - ay)


def calibrate_depth(a: Point2, b: Point2, distance_mm: float, frame_size: tuple[int, int]) -> float:
    """Millimetres per pixel from two points on the on-screen depth ruler ``distance_mm`` apart."""
    if not math.isfinite(distance_mm) or distance_mm <= 0:
        raise ValueError("the distance between the two ruler marks must be a positive number of mm")
    if frame_size[0] <= 0 or frame_size[1] <= 0:
        raise ValueError("the frame has no size")
    pixels = pixel_distance(a, b, frame_size)
    if pixels < 1.0:
        raise ValueError("the two ruler marks must be at least a pixel apart")
    return distance_mm / pixels


@dataclass(frozen=True)
class NeedlePath:
    length_mm: float  # entry to target
    angle_deg: float  # between the path and the skin line, 0..90
    depth_mm: float  # target below the skin line, perpendicular to it
    remaining_mm: float | None  # tip to target, straight; None without a tip
    off_path_mm: float | None  # tip's distance from the planned line; None without a tip
    along_mm: float | None  # how far the tip has advanced along the path from the entry


def needle_path(
    entry: Point2,
    target: Point2,
    mm_per_px: float,
    frame_size: tuple[int, int],
    *,
    tip: Point2 | None = None,
    skin: tuple[Point2, Point2] | None = None,
) -> NeedlePath:
    """The planned path from ``entry`` to ``target``; ``skin`` is the skin line (horizontal when None)."""
    if not math.isfinite(mm_per_px) or mm_per_px <= 0:
        raise ValueError("calibrate the depth first (mm per pixel must be positive)")
    ex, ey = to_pixels(entry, frame_size)
    tx, ty = to_pixels(target, frame_size)
    dx, dy = tx - ex, ty - ey
    length_px = math.hypot(dx, dy)
    if skin is None:
        sx, sy = 1.0, 0.0
    else:
        (s0x, s0y), (s1x, s1y) = to_pixels(skin[0], frame_size), to_pixels(skin[1], frame_size)
        norm = math.hypot(s1x - s0x, s1y - s0y)
        if norm < 1.0:
            raise ValueError("the skin line needs two distinct points")
        sx, sy = (s1x - s0x) / norm, (s1y - s0y) / norm
    # The skin line passes through the entry: depth is the target's distance from that line.
    depth_px = abs(dx * sy - dy * sx)
    angle = math.degrees(math.atan2(depth_px, abs(dx * sx + dy * sy))) if length_px > 0 else 0.0
    remaining = off_path = along = None
    if tip is not None:
        px, py = to_pixels(tip, frame_size)
        remaining = math.hypot(tx - px, ty - py) * mm_per_px
        if length_px > 0:
            ux, uy = dx / length_px, dy / length_px
            along = ((px - ex) * ux + (py - ey) * uy) * mm_per_px
            off_path = abs((px - ex) * uy - (py - ey) * ux) * mm_per_px
        else:
            along = 0.0
            off_path = remaining
    return NeedlePath(
        length_mm=length_px * mm_per_px,
        angle_deg=angle,
        depth_mm=depth_px * mm_per_px,
        remaining_mm=remaining,
        off_path_mm=off_path,
        along_mm=along,
    )
