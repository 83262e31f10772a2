"""Ultrasound guidance maths against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from core.annotations.guidance import calibrate_depth, needle_path

FRAME = (640, 480)


def test_depth_calibration_from_two_ruler_marks() -> None:
    # Marks at y = 48 px and y = 432 px on a 480-px-high picture, 80 mm apart: 384 px -> 0.2083 mm/px.
    mm_per_px = calibrate_depth((0.95, 0.1), (0.95, 0.9), 80.0, FRAME)
    assert mm_per_px == pytest.approx(80.0 / 384.0)
    # A diagonal pair: 3-4-5 triangle of 300 x 400 px, 50 mm apart -> 0.1 mm/px.
    assert calibrate_depth((0.0, 0.0), (300 / 640, 400 / 480), 50.0, FRAME) == pytest.approx(0.1)


@pytest.mark.parametrize("distance", [0.0, -5.0, math.nan, math.inf])
def test_depth_calibration_refuses_nonsense(distance: float) -> None:
    with pytest.raises(ValueError, match="positive number of mm"):
        calibrate_depth((0.5, 0.1), (0.5, 0.9), distance, FRAME)


def test_calibration_needs_two_distinct_marks() -> None:
    with pytest.raises(ValueError, match="a pixel apart"):
        calibrate_depth((0.5, 0.5), (0.5, 0.5), 10.0, FRAME)


def test_needle_path_length_angle_depth_and_remaining() -> None:
    # Entry (64, 48) px, target (364, 448) px: 300 across, 400 down -> 500 px = 50 mm at 0.1 mm/px;
    # angle to the horizontal skin line atan(400/300) = 53.13 degrees; target 40 mm deep.
    entry, target = (64 / 640, 48 / 480), (364 / 640, 448 / 480)
    path = needle_path(entry, target, 0.1, FRAME)
    assert path.length_mm == pytest.approx(50.0)
    assert path.angle_deg == pytest.approx(math.degrees(math.atan2(400, 300)))
    assert path.depth_mm == pytest.approx(40.0)
    assert path.remaining_mm is None and path.off_path_mm is None
    # The tip halfway down the path: 25 mm to go, on the line, 25 mm advanced.
    tip = (214 / 640, 248 / 480)
    halfway = needle_path(entry, target, 0.1, FRAME, tip=tip)
    assert halfway.remaining_mm == pytest.approx(25.0)
    assert halfway.off_path_mm == pytest.approx(0.0, abs=1e-9)
    assert halfway.along_mm == pytest.approx(25.0)
    # A tip 10 px off to the side of the entry, perpendicular to the path: 1 mm off the line.
    side = (64 + 8, 48 - 6)  # (8, -6) is perpendicular to (3, 4)/5 scaled: length 10 px
    off = needle_path(entry, target, 0.1, FRAME, tip=(side[0] / 640, side[1] / 480))
    assert off.off_path_mm == pytest.approx(1.0)
    assert off.along_mm == pytest.approx(0.0, abs=1e-9)
    assert off.remaining_mm == pytest.approx(math.hypot(364 - 72, 448 - 42) * 0.1)


def test_needle_angle_to_a_tilted_skin_line() -> None:
    # The skin slopes down at 45 degrees; a vertical needle meets it at 45 degrees, and a needle along
    # the skin at 0.
    skin = ((0.0, 0.0), (100 / 640, 100 / 480))
    vertical = needle_path((0.5, 0.2), (0.5, 0.8), 0.1, FRAME, skin=skin)
    assert vertical.angle_deg == pytest.approx(45.0)
    along = needle_path((0.0, 0.0), (200 / 640, 200 / 480), 0.1, FRAME, skin=skin)
    assert along.angle_deg == pytest.approx(0.0, abs=1e-6)
    assert along.depth_mm == pytest.approx(0.0, abs=1e-9)


def test_needle_path_needs_a_calibration() -> None:
    with pytest.raises(ValueError, match="calibrate"):
        needle_path((0.1, 0.1), (0.5, 0.5), 0.0, FRAME)
