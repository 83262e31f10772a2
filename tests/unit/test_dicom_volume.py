"""Volumes: geometry, rescale, multi-frame, streaming, cancel, bad payloads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from viewers.dicom.discovery import Series, discover
from viewers.dicom.series import sort_series
from viewers.dicom.synthetic import write_ct_series, write_enhanced_ct, write_us_cine
from viewers.dicom.volume import LoadCancelled, VolumeLoader, load_volume


def _series(folder: Path) -> Series:
    (series,) = discover(folder).all_series()
    return series


def test_ct_volume_geometry_and_hu(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (6, 20, 24), spacing=(0.7, 0.8, 2.5), origin=(-100, -120, 50))
    result = load_volume(_series(tmp_path).instances)
    vol = result.volume
    assert result.warnings == [] and result.rejected == []
    assert vol.array.shape == (6, 20, 24)
    assert vol.array.dtype == np.int16
    np.testing.assert_array_equal(vol.array, ct.hu)  # HU after intercept -1024, in spatial order
    assert vol.spacing == pytest.approx((0.7, 0.8, 2.5))
    assert vol.origin == pytest.approx((-100, -120, 50))
    np.testing.assert_allclose(vol.direction, np.eye(3))
    np.testing.assert_allclose(vol.index_to_lps([0, 0, 5]), ct.positions[5])
    np.testing.assert_allclose(vol.index_to_lps([2, 3, 1]), [-100 + 1.4, -120 + 2.4, 52.5])
    np.testing.assert_allclose(vol.lps_to_index(vol.index_to_lps([2, 3, 4])), [2, 3, 4])


def test_oblique_volume_direction_and_origin(tmp_path: Path) -> None:
    orientation = (1, 0, 0, 0, 0.8, -0.6)
    ct = write_ct_series(tmp_path, (4, 8, 8), orientation=orientation)
    vol = load_volume(_series(tmp_path).instances).volume
    np.testing.assert_allclose(vol.direction[:, 2], np.cross([1, 0, 0], [0, 0.8, -0.6]))
    for k in range(4):
        np.testing.assert_allclose(vol.index_to_lps([0, 0, k]), ct.positions[k], atol=1e-6)
    assert [int(v) for v in vol.array[:, 0, 0]] == [0, 1, 2, 3]  # slice markers, in order


def test_non_integer_slope_gives_float32_hu(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (3, 8, 8), slope=0.5, intercept=-1024)
    vol = load_volume(_series(tmp_path).instances).volume
    assert vol.array.dtype == np.float32
    np.testing.assert_allclose(vol.array, ct.hu, atol=0.5)
    assert vol.array[1, 4, 4] == pytest.approx(40, abs=0.5)


def test_enhanced_ct_frames_sorted_by_per_frame_position(tmp_path: Path) -> None:
    _path, hu = write_enhanced_ct(tmp_path, (5, 16, 20), spacing=(0.5, 0.6, 3.0), origin=(10, 20, 30))
    result = load_volume(_series(tmp_path).instances)
    vol = result.volume
    assert vol.kind == "volume"
    np.testing.assert_array_equal(vol.array, hu)
    assert vol.spacing == pytest.approx((0.5, 0.6, 3.0))
    assert vol.origin == pytest.approx((10, 20, 30))


@pytest.mark.parametrize("rgb", [False, True])
def test_ultrasound_cine_frames_are_time(tmp_path: Path, rgb: bool) -> None:
    write_us_cine(tmp_path, frames=6, rows=24, cols=32, rgb=rgb)
    vol = load_volume(_series(tmp_path).instances).volume
    assert vol.kind == "cine"
    assert vol.frame_time_ms == pytest.approx(33.3)
    assert vol.array.shape == ((6, 24, 32, 3) if rgb else (6, 24, 32))
    assert [int(vol.array[t, 0, 0, ...].max()) for t in range(6)] == [0, 10, 20, 30, 40, 50]


def test_streams_slices_and_reports_progress(tmp_path: Path) -> None:
    write_ct_series(tmp_path, (8, 16, 16))
    seen: list[int] = []
    progress: list[tuple[int, int]] = []
    loader = VolumeLoader(
        _series(tmp_path).instances, max_workers=2, progress=lambda d, t: progress.append((d, t))
    )
    first = next(loader.slices())
    assert first[1].shape == (16, 16)
    # the first slice handed out is already decoded and rescaled (phantom centre is water)
    assert first[1][8, 8] == 40
    result = load_volume(
        _series(tmp_path).instances,
        on_slice=lambda i, s: seen.append(i),
        progress=lambda d, t: progress.append((d, t)),
    )
    assert sorted(seen) == list(range(8))
    assert progress[-1] == (8, 8)
    assert result.volume.array.shape == (8, 16, 16)


def test_cancel_raises_load_cancelled(tmp_path: Path) -> None:
    write_ct_series(tmp_path, (10, 16, 16))
    cancel = threading.Event()
    got: list[int] = []

    def on_slice(index: int, _image: np.ndarray) -> None:
        got.append(index)
        cancel.set()

    with pytest.raises(LoadCancelled):
        load_volume(_series(tmp_path).instances, cancel=cancel, on_slice=on_slice, max_workers=1)
    assert 1 <= len(got) < 10


def test_corrupt_payload_rejects_one_slice_and_loads_the_rest(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (6, 16, 16))
    series = _series(tmp_path)
    sorted_series = sort_series(series.instances)
    bad = sorted_series.slices[3].instance.path
    bad.write_bytes(bad.read_bytes()[:-300])  # the file changed on disk after it was scanned
    result = load_volume(sorted_series)
    assert [r.path for r in result.rejected] == [bad]
    assert "could not be decoded" in result.rejected[0].reason
    assert result.missing_slices == [3]
    assert "missing_slice" in {w.code for w in result.warnings}
    good = [0, 1, 2, 4, 5]
    np.testing.assert_array_equal(result.volume.array[good], ct.hu[good])


def test_truncated_file_is_rejected_at_discovery_and_series_loads_with_gap(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (6, 16, 16))
    data = ct.paths[2].read_bytes()
    ct.paths[2].write_bytes(data[: len(data) // 2])
    found = discover(tmp_path)
    assert [r.path for r in found.rejected] == [ct.paths[2]]
    assert "truncated" in found.rejected[0].reason
    result = load_volume(found.all_series()[0].instances)
    assert result.volume.array.shape == (5, 16, 16)
    assert "gap" in {w.code for w in result.warnings}


def test_fast_native_read_matches_pydicom(tmp_path: Path) -> None:
    import pydicom

    from viewers.dicom.volume import _read_native

    write_ct_series(tmp_path / "ct", (2, 12, 10))
    write_us_cine(tmp_path / "us", frames=3, rgb=True)
    found = discover(tmp_path)
    assert found.rejected == []
    for series in found.all_series():
        for inst in series.instances:
            fast = _read_native(inst)
            assert fast is not None
            np.testing.assert_array_equal(fast, pydicom.dcmread(inst.path).pixel_array)
