"""Measurements against known geometry: millimetres from real spacing, angles, ROI statistics in HU."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from viewers.dicom.discovery import discover
from viewers.dicom.synthetic import write_ct_series
from viewers.dicom.volume import Volume, load_volume
from viewers.measure import Kind, Measurement, MeasurementDocument, lies_in_plane, roi_stats


def anisotropic_volume() -> Volume:
    rng = np.random.default_rng(1)
    array = np.full((10, 40, 50), -1000, np.int16)
    # a block of known values: 100 HU +- noise in slice 4, rows 10..29, columns 5..24
    block = rng.normal(100, 10, size=(20, 20)).round().astype(np.int16)
    array[4, 10:30, 5:25] = block
    return Volume(array, (0.5, 0.8, 3.0), (-12.5, -16.0, 40.0), np.eye(3))


def test_distance_uses_the_real_anisotropic_spacing() -> None:
    vol = anisotropic_volume()
    doc = MeasurementDocument(vol)
    a = vol.index_to_lps((0, 0, 0))
    b = vol.index_to_lps((10, 0, 0))  # 10 columns of 0.5 mm
    c = vol.index_to_lps((0, 10, 2))  # 10 rows of 0.8 mm and 2 slices of 3 mm
    assert doc.value(doc.add(Kind.DISTANCE, [a, b])) == pytest.approx(5.0)
    assert doc.value(doc.add(Kind.DISTANCE, [a, c])) == pytest.approx(math.hypot(8.0, 6.0))


def test_angle_at_the_middle_point() -> None:
    doc = MeasurementDocument()
    right = doc.add(Kind.ANGLE, [(10, 0, 0), (0, 0, 0), (0, 5, 0)])
    assert doc.value(right) == pytest.approx(90.0)
    sixty = doc.add(Kind.ANGLE, [(1, 0, 0), (0, 0, 0), (0.5, math.sqrt(3) / 2, 0)])
    assert doc.value(sixty) == pytest.approx(60.0)


def test_polygon_roi_mean_sd_area_in_hu() -> None:
    vol = anisotropic_volume()
    doc = MeasurementDocument(vol)
    # rectangle around voxel centres 5..24 (x) and 10..29 (y) of slice 4
    corners = [(4.6, 9.6, 4), (24.4, 9.6, 4), (24.4, 29.4, 4), (4.6, 29.4, 4)]
    roi = doc.add(Kind.POLYGON, [vol.index_to_lps(c) for c in corners])
    stats = doc.stats(roi)
    assert stats is not None
    block = vol.array[4, 10:30, 5:25].astype(np.float64)
    assert stats.pixels == 400
    assert stats.mean == pytest.approx(block.mean())
    assert stats.sd == pytest.approx(block.std())
    assert (stats.minimum, stats.maximum) == (block.min(), block.max())
    assert stats.area_mm2 == pytest.approx((19.8 * 0.5) * (19.8 * 0.8))


def test_ellipse_roi_counts_the_voxels_inside_and_its_area() -> None:
    vol = Volume(np.zeros((3, 101, 101), np.int16), (1.0, 1.0, 1.0), (0, 0, 0), np.eye(3))
    vol.array[1, 50, 50] = 500  # only the centre differs
    doc = MeasurementDocument(vol)
    roi = doc.add(Kind.ELLIPSE, [(50, 50, 1), (70, 50, 1), (50, 60, 1)])
    stats = doc.stats(roi)
    assert stats is not None
    assert stats.area_mm2 == pytest.approx(math.pi * 20 * 10)
    assert stats.pixels == pytest.approx(math.pi * 20 * 10, rel=0.03)
    assert stats.maximum == 500 and stats.mean == pytest.approx(500 / stats.pixels)


def test_roi_in_a_coronal_plane() -> None:
    vol = anisotropic_volume()
    # coronal plane j = 15 crosses the block at slice 4: ROI spans slices 3..5, columns 5..24
    pts = [vol.index_to_lps(p) for p in [(4.6, 15, 3.6), (24.4, 15, 3.6), (24.4, 15, 4.4), (4.6, 15, 4.4)]]
    stats = roi_stats(Measurement(Kind.POLYGON, pts), vol)
    assert stats is not None and stats.pixels == 20
    np.testing.assert_allclose(stats.mean, vol.array[4, 15, 5:25].mean())


def test_roi_on_a_loaded_synthetic_ct_reads_water_in_hu(tmp_path: Path) -> None:
    write_ct_series(tmp_path / "ct", shape=(4, 64, 64))
    series = discover(tmp_path / "ct").all_series()[0]
    vol = load_volume(series.instances).volume
    doc = MeasurementDocument(vol)
    centre = vol.index_to_lps((42, 31.5, 2))
    roi = doc.add(Kind.ELLIPSE, [centre, centre + np.array([5.0, 0, 0]), centre + np.array([0, 5.0, 0])])
    stats = doc.stats(roi)
    assert stats is not None
    # the phantom is water (40 HU) right of the centre, away from the lung and the bone ring
    assert stats.mean == pytest.approx(40.0) and stats.sd == pytest.approx(0.0)


def test_document_events_and_validation() -> None:
    doc = MeasurementDocument()
    seen: list[tuple[str, str]] = []
    doc.added.connect(lambda m: seen.append(("added", m.id)))
    doc.changed.connect(lambda m: seen.append(("changed", m.id)))
    doc.removed.connect(lambda m: seen.append(("removed", m.id)))
    m = doc.add(Kind.DISTANCE, [(0, 0, 0), (1, 0, 0)])
    doc.update(m.id, [(0, 0, 0), (3, 4, 0)])
    assert doc.value(m) == pytest.approx(5.0)
    copy = Measurement.from_dict(m.to_dict())
    assert copy.points == m.points and copy.id == m.id
    doc.remove(m.id)
    doc.remove(m.id)  # twice is harmless
    assert seen == [("added", m.id), ("changed", m.id), ("removed", m.id)]
    with pytest.raises(ValueError, match="needs 2 points"):
        doc.add(Kind.DISTANCE, [(0, 0, 0)])
    with pytest.raises(ValueError, match="finite"):
        doc.add(Kind.DISTANCE, [(0, 0, 0), (float("nan"), 0, 0)])
    assert len(doc) == 0


def test_a_measurement_shows_only_in_planes_that_contain_it() -> None:
    m = Measurement(Kind.DISTANCE, [(0, 0, 10.0), (5, 5, 10.2)])
    assert lies_in_plane(m, (0, 0, 10.0), (0, 0, 1), tolerance_mm=1.25)
    assert not lies_in_plane(m, (0, 0, 12.5), (0, 0, 1), tolerance_mm=1.25)
