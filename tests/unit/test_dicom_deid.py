"""De-identification: nothing identifying left, UIDs consistent, originals untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import RLELossless

from tests.unit.test_dicom_validate import EMPTIED, us_with_text
from viewers.dicom.deid import (
    _ENHANCED_TYPE1,
    PROFILE,
    UidMapper,
    _resolve,
    deidentify_dataset,
    deidentify_files,
)
from viewers.dicom.discovery import discover
from viewers.dicom.synthetic import JPEG_BASELINE, compress_file, write_ct_series


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_deidentified_copy(tmp_path: Path) -> None:
    src = tmp_path / "src"
    ct = write_ct_series(src, (4, 8, 8))
    # a private tag, a burnt-in flag, and a reference from one instance to another
    first = pydicom.dcmread(ct.paths[0])
    second = pydicom.dcmread(ct.paths[1])
    block = first.private_block(0x0011, "ACME CORP", create=True)
    block.add_new(0x01, "LO", "secret patient note")
    first.OtherPatientIDs = "OTHER-9"
    first.PatientAddress = "1 Main Street"
    first.BurnedInAnnotation = "YES"
    ref = Dataset()
    ref.ReferencedSOPClassUID = second.SOPClassUID
    ref.ReferencedSOPInstanceUID = second.SOPInstanceUID
    first.ReferencedImageSequence = DicomSequence([ref])
    first.save_as(ct.paths[0])
    (src / "readme.txt").write_text("not dicom")
    before = _digest(src)

    out = tmp_path / "out"
    uids = UidMapper()
    report = deidentify_files(src, out, uids=uids)

    assert _digest(src) == before  # originals byte-identical
    assert len(report.written) == 4
    assert [r.path.name for r in report.rejected] == ["readme.txt"]
    assert any("BurnedInAnnotation" in w for _p, w in report.warnings)
    copies = {orig: pydicom.dcmread(copy) for orig, copy in report.written}
    for ds in copies.values():
        assert ds.PatientName == "" and ds.PatientID == "" and ds.PatientBirthDate == ""
        for gone in ("OtherPatientIDs", "PatientAddress", "InstitutionName", "StudyDescription"):
            assert gone not in ds
        assert ds.AccessionNumber == ""
        assert ds.ReferringPhysicianName == ""
        assert not any(elem.tag.is_private for elem in ds.iterall())
        assert ds.PatientIdentityRemoved == "YES"
        assert "PS3.15" in ds.DeidentificationMethod
        assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"  # standard UIDs kept
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        text = str(ds)
        assert "Doe" not in text and "PID-12345" not in text and "County Hospital" not in text
    # UIDs replaced, consistently across files and inside sequences
    new_study = {str(ds.StudyInstanceUID) for ds in copies.values()}
    new_series = {str(ds.SeriesInstanceUID) for ds in copies.values()}
    assert new_study == {uids.mapping[ct.study_uid]} and ct.study_uid not in new_study
    assert new_series == {uids.mapping[ct.series_uid]}
    first_copy = copies[ct.paths[0]]
    assert (
        first_copy.ReferencedImageSequence[0].ReferencedSOPInstanceUID == copies[ct.paths[1]].SOPInstanceUID
    )
    assert report.uid_map[str(second.SOPInstanceUID)] == copies[ct.paths[1]].SOPInstanceUID
    # the copy is still a loadable series with the same geometry
    result = discover(out)
    assert result.rejected == []
    (series,) = result.all_series()
    assert series.instance_count == 4


def test_a_new_run_gives_new_uids(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path / "src", (2, 8, 8))
    a, b = UidMapper(), UidMapper()
    assert a(ct.study_uid) == a(ct.study_uid)
    assert a(ct.study_uid) != b(ct.study_uid)
    assert a(ct.study_uid).startswith("2.25.")


# --- the PS3.15 Basic Profile table, attribute by attribute --------------------------------------------


def test_profile_actions(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path / "src", (1, 8, 8))
    ds = pydicom.dcmread(ct.paths[0])
    ds.ScheduledProcedureStepID = "SPS-1"
    ds.CommentsOnThePerformedProcedureStep = "Doe was anxious"
    ds.NetworkID = "NET-1"
    ds.ContentDate, ds.ContentTime = "20260101", "101010"
    ds.AcquisitionDate = "20260101"
    ds.Laterality = "L"
    request = Dataset()
    request.ScheduledProcedureStepID = "SPS-2"
    request.RequestedProcedureID = "RP-2"
    ds.ReferencedStudySequence = DicomSequence([Dataset()])
    ds.RequestAttributesSequence = DicomSequence([request])
    deidentify_dataset(ds, UidMapper())
    for gone in (
        "ScheduledProcedureStepID",
        "CommentsOnThePerformedProcedureStep",
        "NetworkID",
        "AcquisitionDate",
        "RequestAttributesSequence",
        "ReferencedStudySequence",
        "InstitutionName",
    ):
        assert gone not in ds, gone
    for empty in (*EMPTIED, "ContentDate", "ContentTime"):
        assert empty in ds and str(ds[empty].value or "") == "", empty
    assert ds.Laterality == "L"  # not in the table: kept


def test_compound_actions_follow_the_iod() -> None:
    assert _resolve("AcquisitionDate", PROFILE["AcquisitionDate"]) == "X"  # X/Z, Type 3
    assert _resolve("ContentDate", PROFILE["ContentDate"]) == "Z"  # Z/D, Type 2C
    assert _resolve("ContentDate", PROFILE["ContentDate"], _ENHANCED_TYPE1) == "D"  # Type 1 (enhanced)
    assert _resolve("DeviceSerialNumber", PROFILE["DeviceSerialNumber"]) == "X"
    assert _resolve("SourceImageSequence", PROFILE["SourceImageSequence"]) == "U"
    ds = Dataset()
    ds.SharedFunctionalGroupsSequence = DicomSequence([Dataset()])
    ds.ContentDate, ds.ContentTime, ds.SeriesDate = "20260101", "101010", "20260101"
    deidentify_dataset(ds, UidMapper())
    assert ds.ContentDate == "19000101" and ds.ContentTime == "000000"  # dummies, Type 1
    assert "SeriesDate" not in ds


# --- the Clean Pixel Data option for ultrasound -------------------------------------------------------

_REGION = np.zeros((24, 32), bool)
_REGION[6:22, 4:28] = True  # us_with_text's region (4, 6) .. (27, 21), inclusive


@pytest.mark.parametrize(("frames", "rgb"), [(1, False), (4, False), (3, True)])
def test_clean_pixel_data_blanks_outside_the_regions(tmp_path: Path, frames: int, rgb: bool) -> None:
    _path, image = us_with_text(tmp_path / "src" / "us.dcm", frames=frames, rgb=rgb)
    report = deidentify_files(tmp_path / "src", tmp_path / "out")
    assert report.warnings == []
    ds = pydicom.dcmread(report.written[0][1])
    assert ds.BurnedInAnnotation == "NO"
    assert "113101" in [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]
    pixels = ds.pixel_array.reshape(image.shape)
    assert not pixels[:, ~_REGION].any()  # the text (and all else outside) is gone, every frame
    assert np.array_equal(pixels[:, _REGION], image[:, _REGION])  # the image itself untouched
    assert image[:, ~_REGION].any()  # there was text to remove


def test_clean_pixel_data_rle_is_reencoded(tmp_path: Path) -> None:
    path, _image = us_with_text(tmp_path / "src" / "us.dcm", frames=2)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless)
    ds.save_as(path, enforce_file_format=True)
    report = deidentify_files(tmp_path / "src", tmp_path / "out")
    assert report.warnings == []
    out = pydicom.dcmread(report.written[0][1])
    assert out.file_meta.TransferSyntaxUID == RLELossless and out.BurnedInAnnotation == "NO"
    assert not out.pixel_array[:, ~_REGION].any()


def test_clean_pixel_data_reports_what_it_cannot_clean(tmp_path: Path) -> None:
    _path, image = us_with_text(tmp_path / "a" / "us.dcm", regions=[])
    jpeg, _ = us_with_text(tmp_path / "b" / "us.dcm")
    compress_file(jpeg, JPEG_BASELINE)
    for src, reason in (
        (tmp_path / "a", "no Sequence of Ultrasound Regions"),
        (tmp_path / "b", "re-encoded"),
    ):
        report = deidentify_files(src, tmp_path / "out" / src.name)
        ((_path, warning),) = report.warnings
        assert "BurnedInAnnotation=YES" in warning and reason in warning
        ds = pydicom.dcmread(report.written[0][1])
        assert ds.BurnedInAnnotation == "YES"
        assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100"]
    untouched = pydicom.dcmread(deidentify_files(tmp_path / "a", tmp_path / "again").written[0][1])
    assert np.array_equal(untouched.pixel_array, image[0])
    # the option off: marked YES, reported, pixels kept
    src = tmp_path / "c"
    us_with_text(src / "us.dcm")
    report = deidentify_files(src, tmp_path / "out" / "c", clean_pixels=False)
    assert "option is off" in report.warnings[0][1]
