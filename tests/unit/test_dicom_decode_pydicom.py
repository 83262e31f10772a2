"""Decoding gaps: pydicom's own test files load with the pixels pydicom gives, and cine loops keep
the frame rate their header states."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut
from pydicom.sequence import Sequence as DicomSequence

from viewers.dicom.cine import frame_time_ms
from viewers.dicom.discovery import InstanceHeader, discover, read_header
from viewers.dicom.synthetic import grey_pixel_module
from viewers.dicom.volume import load_volume

# (file, what it exercises)
PYDICOM_FILES = [
    "SC_rgb_rle_16bit.dcm",  # RLE, RGB at 16 bits (was cut to 8)
    "SC_rgb_rle_32bit.dcm",  # RLE, RGB at 32 bits (was cut to 8)
    "SC_rgb_rle_16bit_2frame.dcm",
    "SC_rgb_rle_32bit_2frame.dcm",
    "SC_rgb_rle.dcm",
    "SC_rgb_rle_2frame.dcm",
    "image_dfl.dcm",  # Deflated Explicit VR Little Endian
    "SC_ybr_full_422_uncompressed.dcm",  # uncompressed YBR_FULL_422, shown as RGB like pydicom
    "examples_ybr_color.dcm",  # JPEG baseline YBR_FULL_422 cine
    "liver_1frame.dcm",  # single-frame enhanced (functional groups), 1-bit
    "CT_small.dcm",  # greyscale with a rescale
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    "JPEG2000.dcm",
    "SC_rgb_jpeg_gdcm.dcm",
    "examples_rgb_color.dcm",
    "rtdose.dcm",
]


def _header(path: Path) -> InstanceHeader:
    """The header discovery reads; where discovery refuses the file, one read by pydicom here (the
    loader is tested, not discovery)."""
    header = read_header(path)
    if isinstance(header, InstanceHeader):
        return header
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return InstanceHeader(
        path, ds, ds.SOPInstanceUID, ds.SOPClassUID, None, frames, ds.file_meta.TransferSyntaxUID
    )


def _expected(ds: pydicom.Dataset) -> np.ndarray:
    pixels = ds.pixel_array
    if int(ds.get("SamplesPerPixel", 1) or 1) > 1:
        return pixels  # colour: as pydicom converts it, never rescaled
    groups = ds.get("SharedFunctionalGroupsSequence")
    item = groups[0].get("PixelValueTransformationSequence") if groups else None
    source = item[0] if item else ds
    return np.asarray(apply_modality_lut(pixels, source), dtype=np.float64)


@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_pydicom_test_file_loads_as_pydicom_decodes_it(tmp_path: Path, name: str) -> None:
    source = get_testdata_file(name)
    assert source is not None, f"{name} is not among pydicom's test files (pinned pydicom>=3.0 ships each)"
    path = tmp_path / name
    shutil.copy(source, path)
    result = load_volume([_header(path)])
    assert result.rejected == [] and result.missing_slices == []
    ds = pydicom.dcmread(path)
    expected = _expected(ds)
    array = result.volume.array
    if array.shape[0] == 1:
        array = array[0]
    assert array.shape == expected.shape
    if expected.dtype.kind in "ui":
        assert array.dtype == expected.dtype  # colour keeps its width: 16 and 32 bits are not cut
        np.testing.assert_array_equal(array, expected)
    else:
        np.testing.assert_allclose(array.astype(np.float64), expected, rtol=1e-6, atol=1e-3)


def test_colour_with_rescale_intercept_is_not_blank(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("examples_rgb_color.dcm"))
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    path = tmp_path / "rgb.dcm"
    ds.save_as(path)
    result = load_volume([_header(path)])
    assert result.rejected == []
    array = result.volume.array[0]
    assert array.dtype == np.uint8 and array.any()
    np.testing.assert_array_equal(array, pydicom.dcmread(path).pixel_array)


def _enhanced(
    folder: Path,
    frames: list[np.ndarray],
    positions: list[tuple[float, float, float]],
    *,
    per_frame_measures: bool = False,
    datetimes: list[str] | None = None,
    modality: str = "MR",
) -> Path:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"  # Enhanced MR
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = "P1", "Test^Patient", modality
    ds.InstanceNumber = 1
    ds.NumberOfFrames = len(frames)
    grey_pixel_module(ds, *frames[0].shape)
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PlaneOrientationSequence = DicomSequence([orient])
    rescale = Dataset()
    rescale.RescaleSlope, rescale.RescaleIntercept = 1, -100
    shared.PixelValueTransformationSequence = DicomSequence([rescale])
    measures = Dataset()
    measures.PixelSpacing = [0.7, 0.9]
    measures.SliceThickness = 2.0
    if not per_frame_measures:
        shared.PixelMeasuresSequence = DicomSequence([measures])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    items = []
    for index, position in enumerate(positions):
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = list(position)
        item.PlanePositionSequence = DicomSequence([pos])
        if per_frame_measures:
            item.PixelMeasuresSequence = DicomSequence([measures])
        if datetimes is not None:
            content = Dataset()
            content.FrameReferenceDateTime = datetimes[index]
            item.FrameContentSequence = DicomSequence([content])
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(items)
    ds.PixelData = np.stack(frames).astype(np.uint16).tobytes()
    path = folder / "enhanced.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def _only_series(folder: Path) -> list[InstanceHeader]:
    (series,) = discover(folder).all_series()
    return series.instances


def test_single_frame_enhanced_object_loads(tmp_path: Path) -> None:
    frame = np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) + 200
    _enhanced(tmp_path, [frame], [(5.0, 6.0, 7.0)], per_frame_measures=True)
    result = load_volume(_only_series(tmp_path))
    assert result.rejected == []
    vol = result.volume
    assert vol.array.shape == (1, 12, 10)
    np.testing.assert_array_equal(vol.array[0], frame.astype(np.int32) - 100)
    assert vol.spacing[:2] == pytest.approx((0.9, 0.7))  # x = column spacing, y = row spacing
    assert vol.origin == pytest.approx((5.0, 6.0, 7.0))


def test_enhanced_volume_with_per_frame_pixel_measures(tmp_path: Path) -> None:
    frames = [np.full((8, 6), 300 + k, np.uint16) for k in range(4)]
    positions = [(0.0, 0.0, 2.0 * (3 - k)) for k in range(4)]  # stored in reverse
    _enhanced(tmp_path, frames, positions, per_frame_measures=True)
    vol = load_volume(_only_series(tmp_path)).volume
    assert vol.kind == "volume"
    assert [int(v) for v in vol.array[:, 0, 0]] == [203, 202, 201, 200]
    assert vol.spacing == pytest.approx((0.9, 0.7, 2.0))


def test_enhanced_cine_at_one_position_plays_at_its_frame_content_rate(tmp_path: Path) -> None:
    frames = [np.full((8, 6), 300 + k, np.uint16) for k in range(5)]
    stamps = [f"20240101120000.{k * 40000:06d}" for k in range(5)]  # every 40 ms
    _enhanced(tmp_path, frames, [(1.0, 2.0, 3.0)] * 5, datetimes=stamps, modality="US")
    result = load_volume(_only_series(tmp_path))
    vol = result.volume
    assert vol.kind == "cine"
    assert [int(v) for v in vol.array[:, 0, 0]] == [200, 201, 202, 203, 204]  # frame order, none dropped
    assert vol.frame_time_ms == pytest.approx(40.0)


def _us_cine(folder: Path, **timing: object) -> Path:
    from viewers.dicom.synthetic import write_us_cine

    path = write_us_cine(folder, frames=4)
    ds = pydicom.dcmread(path)
    del ds.FrameTime
    for keyword, value in timing.items():
        setattr(ds, keyword, value)
    ds.save_as(path)
    return path


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        ({"FrameTime": 20.0, "FrameTimeVector": [0, 40, 40, 40], "CineRate": 10}, 20.0),
        ({"FrameTimeVector": [0, 40, 50, 60], "CineRate": 10}, 50.0),
        ({"CineRate": 25, "RecommendedDisplayFrameRate": 10}, 40.0),
        ({"RecommendedDisplayFrameRate": 50}, 20.0),
        ({}, None),
    ],
)
def test_cine_rate_from_header_in_order(
    tmp_path: Path, timing: dict[str, object], expected: float | None
) -> None:
    _us_cine(tmp_path, **timing)
    vol = load_volume(_only_series(tmp_path)).volume
    assert vol.kind == "cine"
    if expected is None:
        assert vol.frame_time_ms is None
    else:
        assert vol.frame_time_ms == pytest.approx(expected)


def test_frame_time_ignores_nonsense() -> None:
    ds = Dataset()
    ds.FrameTime = 0
    ds.CineRate = 0
    ds.RecommendedDisplayFrameRate = 30
    assert frame_time_ms(ds) == pytest.approx(1000 / 30)
    assert frame_time_ms(Dataset()) is None


def test_enhanced_mr_cine_at_one_position_is_offered_as_cine(tmp_path: Path) -> None:
    from viewers.dicom.loaders import best_loadable

    frames = [np.full((8, 6), 300 + k, np.uint16) for k in range(3)]
    _enhanced(tmp_path, frames, [(0.0, 0.0, 0.0)] * 3)
    (series,) = discover(tmp_path).all_series()
    best = best_loadable(series)
    assert best is not None and best.kind == "cine"


@pytest.mark.parametrize("name", ["image_dfl.dcm", "SC_ybr_full_422_uncompressed.dcm"])
def test_discovery_lets_deflate_and_ybr_422_through_to_the_decoder(name: str, tmp_path: Path) -> None:
    """Found in a folder (not only built by hand): deflate and uncompressed 4:2:2 are not refused as
    truncated or corrupt, and they load equal to pydicom."""
    import shutil

    import numpy as np
    import pydicom
    from pydicom.data import get_testdata_file

    from viewers.dicom.discovery import discover
    from viewers.dicom.volume import load_volume

    source = get_testdata_file(name)
    assert source is not None
    shutil.copy(source, tmp_path / name)
    found = discover(tmp_path)
    assert found.rejected == [], found.rejected
    (series,) = found.all_series()
    result = load_volume(series.instances, max_workers=1)
    assert result.rejected == []
    expected = pydicom.dcmread(source).pixel_array
    assert np.array_equal(result.volume.array.reshape(expected.shape), expected)
