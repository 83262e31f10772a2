"""Calibrated measurement: ultrasound regions, radiographs at the detector or calibrated, and pixels that
are never called millimetres. Real calibration values, datasets built with pydicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from viewers.dicom.calibration import Calibration, Source, calibration_from_dataset
from viewers.dicom.discovery import discover
from viewers.dicom.synthetic import grey_pixel_module
from viewers.dicom.volume import Volume, load_volume
from viewers.measure import Kind, Measurement, MeasurementDocument, calibration_title

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"
CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"

DELTA_CM = 0.0121  # cm per pixel in the B-mode region
TRUE_MM = 6.49
ROWS, COLS = 480, 640


def _region(x0: int, y0: int, x1: int, y1: int, dx: float, dy: float, ux: int, uy: int) -> Dataset:
    item = Dataset()
    item.RegionSpatialFormat = 1
    item.RegionDataType = 1
    item.RegionFlags = 0
    item.RegionLocationMinX0, item.RegionLocationMinY0 = x0, y0
    item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x1, y1
    item.PhysicalUnitsXDirection, item.PhysicalUnitsYDirection = ux, uy
    item.PhysicalDeltaX, item.PhysicalDeltaY = dx, dy
    return item


def _file(sop_class: str, modality: str, rows: int, cols: int) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID = "Doe^Jane", "PID-12345"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    ds.SeriesNumber = ds.InstanceNumber = 1
    grey_pixel_module(ds, rows, cols, bits=8)
    ds.PixelData = (np.arange(rows * cols) % 251).astype(np.uint8).tobytes()
    return ds


def us_dataset() -> FileDataset:
    """A B-mode region on top (0.0121 cm/px both ways) and a Doppler strip below (s across, cm/s down)."""
    ds = _file(US_IMAGE_STORAGE, "US", ROWS, COLS)
    ds.SequenceOfUltrasoundRegions = [
        _region(40, 20, 600, 299, DELTA_CM, DELTA_CM, 3, 3),
        _region(40, 310, 600, 470, 0.004, 0.5, 4, 7),
    ]
    return ds


def dx_dataset(
    imager: tuple[float, float] = (0.139, 0.139), pixel: tuple[float, float] | None = None
) -> FileDataset:
    ds = _file(DX_STORAGE, "DX", 512, 512)
    ds.ImagerPixelSpacing = list(imager)
    if pixel is not None:
        ds.PixelSpacing = list(pixel)
    return ds


def write(ds: FileDataset, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return path


def flat_volume(rows: int, cols: int, spacing: tuple[float, float] = (1.0, 1.0)) -> Volume:
    return Volume(np.zeros((1, rows, cols), np.uint8), (spacing[1], spacing[0], 1.0), (0, 0, 0), np.eye(3))


def doc_for(ds: Dataset, volume: Volume) -> MeasurementDocument:
    return MeasurementDocument(volume, calibration_from_dataset(ds))


def line(doc: MeasurementDocument, x0: float, y0: float, x1: float, y1: float) -> Measurement:
    assert doc.volume is not None
    a, b = doc.volume.index_to_lps((x0, y0, 0)), doc.volume.index_to_lps((x1, y1, 0))
    return doc.add(Kind.DISTANCE, [a, b])


# reading the dataset ---------------------------------------------------------------------------
def test_ultrasound_regions_are_read_with_bounds_deltas_and_units() -> None:
    cal = calibration_from_dataset(us_dataset())
    assert cal.source is Source.ULTRASOUND and cal.spacing is None
    bmode, doppler = cal.regions
    assert (bmode.x0, bmode.y0, bmode.x1, bmode.y1) == (40, 20, 600, 299)
    assert bmode.delta_x == pytest.approx(DELTA_CM) and bmode.is_length and bmode.mm_per_unit == 10.0
    assert (doppler.unit_x, doppler.unit_y) == (4, 7) and not doppler.is_length
    assert cal.region_at(100, 100) is bmode and cal.region_at(100, 400) is doppler
    assert cal.region_at(5, 5) is None


def test_projection_imager_pixel_spacing_only_is_at_the_detector() -> None:
    cal = calibration_from_dataset(dx_dataset())
    assert cal.source is Source.DETECTOR and cal.spacing == (0.139, 0.139)
    assert "detector" in calibration_title(cal)


def test_projection_pixel_spacing_that_differs_is_calibrated_with_its_type_and_description() -> None:
    ds = dx_dataset(pixel=(0.125, 0.125))
    assert calibration_from_dataset(ds).source is Source.CALIBRATED
    ds.PixelSpacingCalibrationType = "GEOMETRY"
    ds.PixelSpacingCalibrationDescription = "Magnification corrected"
    cal = calibration_from_dataset(ds)
    assert cal.spacing == (0.125, 0.125) and cal.calibration_type == "GEOMETRY"
    assert calibration_title(cal) == "Calibrated (GEOMETRY Magnification corrected)"
    # equal to the Imager Pixel Spacing and no calibration type: not calibrated, still the detector
    assert calibration_from_dataset(dx_dataset(pixel=(0.139, 0.139))).source is Source.DETECTOR


def test_cross_sectional_pixel_spacing_is_in_the_patient_and_nothing_is_pixels() -> None:
    ct = _file("1.2.840.10008.5.1.4.1.1.2", "CT", 8, 8)
    ct.PixelSpacing = [0.7, 0.8]
    assert calibration_from_dataset(ct) == Calibration(Source.PATIENT, (0.7, 0.8), modality="CT")
    sc = _file("1.2.840.10008.5.1.4.1.1.7", "OT", 8, 8)
    assert calibration_from_dataset(sc).source is Source.NONE
    assert calibration_from_dataset(None).source is Source.NONE
    bad = _file(US_IMAGE_STORAGE, "US", 8, 8)
    bad.SequenceOfUltrasoundRegions = [_region(0, 0, 7, 7, 0.0, 0.0, 3, 3)]  # no deltas: ignored
    assert calibration_from_dataset(bad).source is Source.NONE


# readings --------------------------------------------------------------------------------------
def test_an_ultrasound_line_of_6_49_mm_reads_6_49_mm_not_100() -> None:
    doc = doc_for(us_dataset(), flat_volume(ROWS, COLS))
    pixels = TRUE_MM / (DELTA_CM * 10)  # 53.6 px
    m = line(doc, 100, 150, 100 + pixels, 150)
    reading = doc.reading(m)
    assert reading.value == pytest.approx(TRUE_MM, abs=0.01)
    assert reading.unit == "mm" and reading.text == "6.49 mm"
    assert doc.lengths_mm() == [(m, pytest.approx(TRUE_MM, abs=0.01))]
    # oblique, the same length
    d = pixels / np.sqrt(2)
    assert doc.reading(line(doc, 200, 100, 200 + d, 100 + d)).value == pytest.approx(TRUE_MM, abs=0.01)


def test_ultrasound_lines_across_regions_or_outside_them_are_refused() -> None:
    doc = doc_for(us_dataset(), flat_volume(ROWS, COLS))
    across = doc.reading(line(doc, 100, 200, 100, 400))
    assert across.value is None and across.length_mm is None
    assert across.text == "Not measured: the points lie in different ultrasound regions"
    outside = doc.reading(line(doc, 5, 5, 100, 100))
    assert outside.text == "Not measured: outside the calibrated ultrasound regions"
    assert "mm" not in outside.text
    assert doc.lengths_mm() == []


def test_a_doppler_line_reads_time_and_velocity_in_the_regions_units() -> None:
    doc = doc_for(us_dataset(), flat_volume(ROWS, COLS))
    reading = doc.reading(line(doc, 100, 320, 350, 340))  # 250 px x 0.004 s, 20 px x 0.5 cm/s
    assert reading.text == "Δx 1.00 s, Δy 10.00 cm/s"
    assert reading.length_mm is None


def test_an_ultrasound_area_is_in_square_millimetres() -> None:
    doc = doc_for(us_dataset(), flat_volume(ROWS, COLS))
    side = 100  # px, 12.1 mm
    corners = [(100, 100, 0), (100 + side, 100, 0), (100 + side, 100 + side, 0), (100, 100 + side, 0)]
    roi = doc.add(Kind.POLYGON, corners)
    reading = doc.reading(roi)
    assert reading.unit == "mm²" and reading.value == pytest.approx(12.1 * 12.1, rel=1e-6)
    assert reading.text.startswith("Area 146.4")


def test_a_detector_line_reads_millimetres_at_the_detector() -> None:
    ds = dx_dataset(imager=(0.139, 0.139))
    doc = doc_for(ds, flat_volume(512, 512, (0.139, 0.139)))
    m = line(doc, 10, 10, 10 + TRUE_MM / 0.139, 10)
    reading = doc.reading(m)
    assert reading.value == pytest.approx(TRUE_MM, abs=0.01)
    assert reading.text == "6.49 mm (at the detector)"


def test_a_calibrated_line_uses_pixel_spacing_not_the_imager_spacing() -> None:
    ds = dx_dataset(imager=(0.15, 0.15), pixel=(0.125, 0.125))
    doc = doc_for(ds, flat_volume(512, 512, (0.125, 0.125)))
    reading = doc.reading(line(doc, 10, 10, 10 + TRUE_MM / 0.125, 10))
    assert reading.value == pytest.approx(TRUE_MM, abs=0.01) and reading.text == "6.49 mm (calibrated)"


def test_without_calibration_lengths_are_pixels_never_millimetres() -> None:
    sc = _file("1.2.840.10008.5.1.4.1.1.7", "OT", 64, 64)
    doc = doc_for(sc, flat_volume(64, 64))
    reading = doc.reading(line(doc, 0, 0, 30, 40))
    assert reading.value == pytest.approx(50.0) and reading.unit == "px"
    assert reading.text == "50.00 px, not calibrated" and "mm" not in reading.text
    assert reading.length_mm is None and doc.lengths_mm() == []
    assert calibration_title(doc.calibration) == "px, not calibrated"


def test_angles_use_the_calibrated_aspect() -> None:
    ds = dx_dataset(imager=(0.1, 0.2))  # rows 0.1 mm, columns 0.2 mm apart
    doc = doc_for(ds, flat_volume(64, 64))  # the volume's geometry says nothing: 1 x 1
    assert doc.volume is not None
    pts = [doc.volume.index_to_lps(p) for p in ((10, 0, 0), (0, 0, 0), (10, 20, 0))]
    # 10 columns = 2 mm across, 20 rows = 2 mm down: 45 degrees
    assert doc.reading(doc.add(Kind.ANGLE, pts)).value == pytest.approx(45.0)


# from the file on disk, as the viewer loads it -------------------------------------------------
def test_an_ultrasound_file_loaded_like_the_viewer_measures_6_49_mm(tmp_path: Path) -> None:
    write(us_dataset(), tmp_path / "us", "us.dcm")
    series = discover([tmp_path / "us"]).all_series()[0]
    volume = load_volume(series.instances).volume
    doc = MeasurementDocument(volume, calibration_from_dataset(series.instances[0].dataset))
    m = line(doc, 100, 150, 100 + TRUE_MM / (DELTA_CM * 10), 150)
    assert doc.reading(m).text == "6.49 mm"
    assert doc.value(m) == pytest.approx(53.6, abs=0.1)  # what the uncalibrated geometry would call mm


def test_a_dx_file_with_imager_pixel_spacing_only(tmp_path: Path) -> None:
    write(dx_dataset(), tmp_path / "dx", "dx.dcm")
    series = discover([tmp_path / "dx"]).all_series()[0]
    volume = load_volume(series.instances).volume
    doc = MeasurementDocument(volume, calibration_from_dataset(series.instances[0].dataset))
    reading = doc.reading(line(doc, 10, 10, 10 + TRUE_MM / 0.139, 10))
    assert reading.value == pytest.approx(TRUE_MM, abs=0.01) and reading.text.endswith("(at the detector)")


def test_set_calibration_tells_the_views() -> None:
    doc = MeasurementDocument(flat_volume(8, 8))
    m = doc.add(Kind.DISTANCE, [(0, 0, 0), (3, 4, 0)])
    assert doc.reading(m).text == "5.00 mm"  # no calibration known: the volume's geometry
    seen: list[Measurement] = []
    doc.changed.connect(seen.append)
    doc.set_calibration(Calibration.none())
    assert seen == [m] and doc.reading(m).text == "5.00 px, not calibrated"
    doc.set_volume(None)
    assert doc.calibration is None
