"""Slice order from geometry, and the oddities a series can have."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viewers.dicom.discovery import discover
from viewers.dicom.geometry import direction_matrix, slice_normal
from viewers.dicom.series import SortedSeries, sort_series
from viewers.dicom.synthetic import write_ct_series


def _sorted(folder: Path) -> SortedSeries:
    result = discover(folder)
    (series,) = result.all_series()
    return sort_series(series.instances)


def test_normal_is_row_cross_column() -> None:
    np.testing.assert_allclose(slice_normal([1, 0, 0, 0, 1, 0]), [0, 0, 1])
    np.testing.assert_allclose(slice_normal([0, 1, 0, 0, 0, -1]), [-1, 0, 0])  # sagittal
    np.testing.assert_allclose(
        direction_matrix([1, 0, 0, 0, 0, -1]), [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-12
    )


@pytest.mark.parametrize(
    "orientation", [(1, 0, 0, 0, 1, 0), (0, 1, 0, 0, 0, -1), (1, 0, 0, 0, 0.8, -0.6)], ids=str
)
def test_shuffled_files_sort_by_position_along_normal(tmp_path: Path, orientation: tuple) -> None:
    ct = write_ct_series(tmp_path, (7, 8, 8), orientation=orientation, shuffle_names=True)
    s = _sorted(tmp_path)
    got = np.array([ref.position for ref in s.slices])
    np.testing.assert_allclose(got, ct.positions, atol=1e-4)
    assert s.slice_spacing == pytest.approx(2.5)
    assert s.warnings == []
    # InstanceNumber runs backwards in the synthetic data: sorting must not follow it
    assert [ref.instance.instance_number for ref in s.slices] == list(range(7, 0, -1))


def test_gap_is_reported(tmp_path: Path) -> None:
    pos = np.array([[0, 0, z] for z in (0, 2, 4, 8, 10)], float)  # 6 missing
    write_ct_series(tmp_path, (5, 8, 8), positions=pos)
    s = _sorted(tmp_path)
    assert s.codes() == {"gap"}
    assert "1 slice(s) missing" in s.warnings[0].message
    assert s.slice_spacing == pytest.approx(2.0)


def test_uneven_spacing_is_reported(tmp_path: Path) -> None:
    pos = np.array([[0, 0, z] for z in (0, 2, 4.5, 6.5, 8.5)], float)
    write_ct_series(tmp_path, (5, 8, 8), positions=pos)
    assert _sorted(tmp_path).codes() == {"uneven_spacing"}


def test_tilted_gantry_is_reported(tmp_path: Path) -> None:
    # axial slices whose stack moves in y as well as z: a 15 degree gantry tilt
    step = np.array([0.0, np.tan(np.radians(15)) * 2.0, 2.0])
    pos = np.arange(6)[:, None] * step[None]
    write_ct_series(tmp_path, (6, 8, 8), positions=pos)
    s = _sorted(tmp_path)
    assert "tilted_gantry" in s.codes()
    assert "15.00 degrees" in next(w.message for w in s.warnings if w.code == "tilted_gantry")


def test_mixed_orientation_duplicates_and_sizes(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path / "a", (6, 8, 8))
    other = write_ct_series(tmp_path / "b", (2, 8, 8), orientation=(0, 1, 0, 0, 0, -1), seed=3)
    dup = write_ct_series(tmp_path / "c", (1, 8, 8), origin=(-100.0, -120.0, 50.0), seed=4)
    small = write_ct_series(tmp_path / "d", (1, 4, 4), origin=(-100.0, -120.0, 52.5), seed=5)
    headers = []
    for folder, synthetic in (("a", ct), ("b", other), ("c", dup), ("d", small)):
        result = discover(tmp_path / folder)
        assert result.find_series(synthetic.series_uid) is not None
        headers += result.all_series()[0].instances
    s = sort_series(headers)
    assert {"mixed_orientation", "duplicate_position", "mismatched_size"} <= s.codes()
    assert len(s.slices) == 6
    assert len(s.excluded) == 4
