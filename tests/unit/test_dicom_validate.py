"""What the project writes passes dciodvfy: the key image and de-identified copies of every modality."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from tests.dciodvfy import dciodvfy_errors
from viewers.dicom.deid import UidMapper, deidentify_files
from viewers.dicom.keyimage import secondary_capture
from viewers.dicom.synthetic import (
    JPEG_LOSSLESS_SV1,
    RLE_LOSSLESS,
    compress_series,
    write_ct_series,
    write_enhanced_ct,
    write_secondary_capture,
    write_us_cine,
)

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
# Identifying attributes the Basic Profile removes, added to every source
REMOVED = {
    "ScheduledProcedureStepID": "SPS-777",
    "CommentsOnThePerformedProcedureStep": "Doe was anxious",
    "NetworkID": "NET-42",
    "InstitutionName": "County Hospital",
    "OperatorsName": "Tech^Tom",
    "StationName": "US-ROOM-3",
}
EMPTIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
           "ReferringPhysicianName", "AccessionNumber", "StudyID")  # fmt: skip


def _identify(ds: Dataset) -> None:
    for keyword, value in REMOVED.items():
        setattr(ds, keyword, value)


def _save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _identified(path: Path) -> Path:
    """The synthetic writer's (valid) output with the identifying attributes added."""
    ds = pydicom.dcmread(path)
    _identify(ds)
    return _save(ds, path)


def ct_files(folder: Path) -> list[Path]:
    return [_identified(path) for path in write_ct_series(folder, (2, 8, 8)).paths]


def us_cine_file(folder: Path, rgb: bool = False) -> Path:
    return _identified(write_us_cine(folder, rgb=rgb))


def sc_file(folder: Path) -> Path:
    return _identified(write_secondary_capture(folder))


def _synthetic(kind: str, folder: Path) -> Path:
    """One file of a synthetic writer's output, as tests, benchmarks and the demo write it."""
    if kind == "ct":
        return write_ct_series(folder, (3, 16, 16)).paths[0]
    if kind == "ct-chest":  # the demo's series
        return write_ct_series(folder, (3, 32, 32), anatomy="chest").paths[0]
    if kind == "ct-signed":  # no negative intercept: signed 16-bit pixels
        return write_ct_series(folder, (2, 16, 16), intercept=0.0).paths[0]
    if kind in ("ct-jpeg-lossless", "ct-rle"):  # what the compressed-reading tests and the PACS use
        series = write_ct_series(folder, (2, 16, 16))
        compress_series(series, JPEG_LOSSLESS_SV1 if kind == "ct-jpeg-lossless" else RLE_LOSSLESS)
        return series.paths[0]
    if kind.startswith("us-cine"):
        return write_us_cine(folder, rgb=kind.endswith("rgb"))
    if kind == "sc":
        return write_secondary_capture(folder)
    assert kind == "enhanced-ct", kind
    return write_enhanced_ct(folder)[0]


@pytest.mark.parametrize(
    "kind", ["ct", "ct-chest", "ct-signed", "ct-jpeg-lossless", "ct-rle", "us-cine", "us-cine-rgb", "sc",
             "enhanced-ct"],
)  # fmt: skip
def test_synthetic_writers_pass_dciodvfy(tmp_path: Path, kind: str) -> None:
    # bits=8 CT (only for JPEG baseline) cannot pass: the CT Image IOD requires 16 bits allocated
    path = _synthetic(kind, tmp_path / kind)
    assert dciodvfy_errors(path) == [], kind


def us_region(x0: int, y0: int, x1: int, y1: int) -> Dataset:
    item = Dataset()
    item.RegionSpatialFormat = 1  # 2D
    item.RegionDataType = 1  # tissue
    item.RegionFlags = 0
    item.RegionLocationMinX0, item.RegionLocationMinY0 = x0, y0
    item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x1, y1
    item.PhysicalUnitsXDirection = item.PhysicalUnitsYDirection = 3  # cm
    item.PhysicalDeltaX = item.PhysicalDeltaY = 0.01
    return item


def us_with_text(
    path: Path, *, frames: int = 1, regions: list[Dataset] | None = None, rgb: bool = False
) -> tuple[Path, np.ndarray]:
    """An ultrasound image (single frame, or a cine) with bright "text" burnt in outside the region
    (4..27, 6..21) and a speckle image inside it; returns the path and the pixels written."""
    rows, cols = 24, 32
    meta = FileMetaDataset()
    sop_class = US_IMAGE_STORAGE if frames == 1 else "1.2.840.10008.5.1.4.1.1.3.1"
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID = "Doe^Jane", "PID-12345"
    ds.PatientBirthDate, ds.PatientSex = "19700101", "F"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20260101", "101500", "S1", "ACC001"
    ds.ReferringPhysicianName = "Smith^John"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "US", 1, 1
    ds.PatientOrientation = ""
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BurnedInAnnotation = "YES"
    ds.Manufacturer, ds.Laterality = "ACME", ""
    _identify(ds)
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    rng = np.random.default_rng(1)
    image = rng.integers(20, 120, (frames, rows, cols), dtype=np.uint8)
    image[:, 0:4, 2:30] = 255  # the patient's name across the top
    image[:, 22:24, 0:10] = 250  # a date in the bottom corner
    image[:, 6:22, 28:32] = 240  # a scale bar at the right
    if frames > 1:
        ds.NumberOfFrames = frames
        ds.FrameTime = 33.3
        ds.FrameIncrementPointer = 0x00181063
    if rgb:
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        image = np.repeat(image[..., None], 3, axis=-1)
    else:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.SequenceOfUltrasoundRegions = DicomSequence([us_region(4, 6, 27, 21)] if regions is None else regions)
    if not ds.SequenceOfUltrasoundRegions:
        del ds.SequenceOfUltrasoundRegions
    ds.PixelData = image.tobytes()
    return _save(ds, path), image


def _valid_pydicom_files() -> list[Path]:
    folder = Path(str(get_testdata_file("CT_small.dcm"))).parent
    return sorted(p for p in folder.rglob("*.dcm") if "DICOMDIR" not in p.name)


def test_key_image_passes_dciodvfy(tmp_path: Path) -> None:
    (source,) = ct_files(tmp_path / "ct")[:1]
    ds = secondary_capture(np.zeros((12, 16, 3), np.uint8), pydicom.dcmread(source), author="Reader^Rita")
    path = _save(ds, tmp_path / "key.dcm")
    assert dciodvfy_errors(path) == []
    # and so does the key image of a de-identified study (empty Type 2 attributes copied)
    report = deidentify_files(source, tmp_path / "deid")
    ds = secondary_capture(np.zeros((12, 16, 3), np.uint8), pydicom.dcmread(report.written[0][1]))
    assert dciodvfy_errors(_save(ds, tmp_path / "key2.dcm")) == []


@pytest.mark.parametrize("kind", ["ct", "mr", "us", "us-cine", "us-cine-rgb", "us-cine-text", "sc"])
def test_deidentified_copies_pass_dciodvfy(tmp_path: Path, kind: str) -> None:
    src = tmp_path / "src"
    if kind == "ct":
        paths = ct_files(src)
    elif kind == "mr":
        ds = pydicom.dcmread(Path(str(get_testdata_file("MR_small.dcm"))))
        _identify(ds)
        paths = [_save(ds, src / "mr.dcm")]
    elif kind == "us":
        paths = [us_with_text(src / "us.dcm")[0]]  # burnt-in text: cleaned
    elif kind == "us-cine-text":
        paths = [us_with_text(src / "cine.dcm", frames=3, rgb=True)[0]]
    elif kind.startswith("us-cine"):
        paths = [us_cine_file(src, rgb=kind.endswith("rgb"))]
    else:
        paths = [sc_file(src)]
    for path in paths:
        assert dciodvfy_errors(path) == [], f"the {kind} source is not valid to begin with"
    report = deidentify_files(src, tmp_path / "out", uids=UidMapper())
    assert len(report.written) == len(paths)
    for _orig, copy in report.written:
        assert dciodvfy_errors(copy) == [], kind
        ds = pydicom.dcmread(copy)
        for keyword in REMOVED:
            assert keyword not in ds, keyword
        for keyword in EMPTIED:
            assert keyword in ds and str(ds[keyword].value or "") == "", keyword


def test_pydicom_test_files_stay_valid(tmp_path: Path) -> None:
    checked = []
    for n, path in enumerate(_valid_pydicom_files()):
        if dciodvfy_errors(path):
            continue  # not valid to begin with
        src = tmp_path / f"src{n}"
        src.mkdir()
        shutil.copy(path, src / path.name)
        report = deidentify_files(src, tmp_path / f"out{n}")
        for _orig, copy in report.written:
            assert dciodvfy_errors(copy) == [], path.name
            checked.append(path.name)
    assert {"CT_small.dcm", "MR_small.dcm"} <= set(checked)


def test_a_missing_dciodvfy_fails_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.dciodvfy.shutil.which", lambda _name: None)
    with pytest.raises(pytest.fail.Exception, match="dicom3tools"):
        dciodvfy_errors(tmp_path / "any.dcm")
