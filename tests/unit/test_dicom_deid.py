"""De-identification: nothing identifying left, UIDs consistent, originals untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from viewers.dicom.deid import UidMapper, deidentify_files
from viewers.dicom.discovery import discover
from viewers.dicom.synthetic import write_ct_series


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
