"""The trainee's de-identifying imaging cache (core/teaching/trainee_imaging.py), without a GUI: UIDs
retained, the consult's pseudonym in place of the patient, no trace of the identity in any text element."""

from __future__ import annotations

import threading
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from core.consult.patient import Patient
from core.teaching.trainee_imaging import Pseudonyms, TraineeImagingCache
from viewers.dicom.synthetic import SyntheticSeries, write_ct_series
from viewers.dicom.volume import LoadCancelled

SALT = b"site-salt"
IDENTITY = ("Zhang", "Wei", "CT-2026-0042", "19700101", "1970-01-01", "County Hospital", "Smith")


@pytest.fixture
def study(tmp_path: Path) -> SyntheticSeries:
    folder = tmp_path / "Zhang_Wei CT-2026-0042"  # identifying folder names happen
    series = write_ct_series(folder, (4, 16, 16), patient_name="Zhang^Wei", patient_id="CT-2026-0042")
    # text the basic profile keeps, nested in a sequence, naming the patient
    first = pydicom.dcmread(series.paths[0])
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator = "CTCHEST", "99LOCAL"
    item.CodeMeaning = "CT chest for WEI Zhang (CT-2026-0042)"
    first.ProcedureCodeSequence = [item]
    first.save_as(series.paths[0])
    (folder / "readme.txt").write_text("Zhang Wei's scan")
    return series


def strings(ds: Dataset) -> list[str]:
    found: list[str] = []
    for elem in ds.iterall():
        if elem.VR in ("SQ", "OB", "OW", "OF", "OD", "UN") or elem.value is None:
            continue
        values = elem.value if isinstance(elem.value, list | pydicom.multival.MultiValue) else [elem.value]
        found.extend(str(v) for v in values)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        found.extend(str(e.value) for e in meta if e.VR not in ("OB",))
    return found


def copies(folder: Path) -> list[Dataset]:
    return [pydicom.dcmread(p) for p in sorted(folder.rglob("*.dcm"))]


def test_copy_keeps_uids_takes_the_consults_pseudonym_and_leaves_no_identity(
    tmp_path: Path, study: SyntheticSeries
) -> None:
    pseudonym = Patient("ANON-1A2B3C4D", "Patient 1A2B3C4D", "M", None)
    cache = TraineeImagingCache(tmp_path / "trainee", SALT, Pseudonyms(SALT, {study.study_uid: pseudonym}))
    seen: list[tuple[int, int]] = []
    [folder] = cache.prepare([study.paths[0].parent], lambda done, total: seen.append((done, total)))

    assert cache.holds(folder) and (folder / ".complete").is_file()
    assert seen[-1] == (5, 5)  # four images and the text file, read and refused
    report = cache.last_report
    assert report is not None and report.written == 4
    assert [r.path.name for r in report.rejected] == ["readme.txt"]
    written = copies(folder)
    originals = {str(pydicom.dcmread(p).SOPInstanceUID) for p in study.paths}
    assert {str(ds.SOPInstanceUID) for ds in written} == originals  # Retain UIDs
    assert {str(ds.file_meta.MediaStorageSOPInstanceUID) for ds in written} == originals
    assert {str(ds.StudyInstanceUID) for ds in written} == {study.study_uid}
    assert {str(ds.SeriesInstanceUID) for ds in written} == {study.series_uid}
    for ds in written:
        assert str(ds.PatientName) == "Patient 1A2B3C4D" and ds.PatientID == "ANON-1A2B3C4D"
        assert ds.PatientIdentityRemoved == "YES" and ds.PatientBirthDate == ""
        assert "113110" in [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]
        text = "\n".join(strings(ds))
        for word in IDENTITY:
            assert word.casefold() not in text.casefold(), (word, ds.SOPInstanceUID)
    # the nested free text survived, with the pseudonym in place of the patient
    coded = [ds for ds in written if "ProcedureCodeSequence" in ds]
    assert len(coded) == 1
    assert coded[0].ProcedureCodeSequence[0].CodeMeaning == "CT chest for Patient 1A2B3C4D (ANON-1A2B3C4D)"
    # no file or folder name in the copy comes from the original tree
    assert all("Zhang" not in str(p.relative_to(cache.root)) for p in cache.root.rglob("*"))
    # the originals are only read
    assert str(pydicom.dcmread(study.paths[1]).PatientName) == "Zhang^Wei"


def test_without_a_consult_the_site_pseudonym_is_stable_and_a_copy_is_reused(
    tmp_path: Path, study: SyntheticSeries
) -> None:
    cache = TraineeImagingCache(tmp_path / "trainee", SALT)
    [first] = cache.prepare([study.paths[0].parent])
    expected = Patient("CT-2026-0042", "Zhang Wei", "F", None).pseudonymised(SALT)
    assert {ds.PatientID for ds in copies(first)} == {expected.patient_id}
    assert expected.patient_id.startswith("ANON-")

    [again] = cache.prepare([study.paths[0].parent])
    assert again == first and cache.last_report is not None and cache.last_report.reused
    assert cache.prepare([first]) == [first]  # already de-identified: loaded as it is

    # once a consult names the study, the copy is made again with the backend's pseudonym
    consult = Patient("ANON-77777777", "Patient 77777777", "F", None)
    cache.pseudonyms = Pseudonyms(SALT, {study.study_uid: consult})
    [named] = cache.prepare([study.paths[0].parent])
    assert cache.last_report is not None and not cache.last_report.reused
    assert {ds.PatientID for ds in copies(named)} == {"ANON-77777777"}
    # other consults coming and going do not invalidate it
    other = Patient("ANON-00000001", "Patient 00000001", "U", None)
    cache.pseudonyms = Pseudonyms(SALT, {study.study_uid: consult, "1.2.3": other})
    cache.prepare([study.paths[0].parent])
    assert cache.last_report is not None and cache.last_report.reused
    # a restarted workstation finds its copy complete, and still redoes it when the consult is gone
    restarted = TraineeImagingCache(tmp_path / "trainee", SALT, Pseudonyms(SALT, {study.study_uid: consult}))
    restarted.prepare([study.paths[0].parent])
    assert restarted.last_report is not None and restarted.last_report.reused
    [again] = TraineeImagingCache(tmp_path / "trainee", SALT).prepare([study.paths[0].parent])
    assert {ds.PatientID for ds in copies(again)} == {expected.patient_id}


def test_only_the_most_recent_copies_are_kept(tmp_path: Path) -> None:
    cache = TraineeImagingCache(tmp_path / "trainee", SALT, max_copies=2)
    made = []
    for k in range(3):
        series = write_ct_series(tmp_path / f"s{k}", (2, 8, 8), seed=k)
        made.append(cache.prepare([series.paths[0].parent])[0])
    assert not made[0].exists() and made[1].is_dir() and made[2].is_dir()


def test_the_open_consult_names_a_study_no_consult_lists(tmp_path: Path, study: SyntheticSeries) -> None:
    current = Patient("ANON-0000ABCD", "Patient 0000ABCD", "M", None)
    cache = TraineeImagingCache(tmp_path / "trainee", SALT, Pseudonyms(SALT, {"1.2.3": current}, current))
    [folder] = cache.prepare(study.paths)
    assert {str(ds.PatientName) for ds in copies(folder)} == {"Patient 0000ABCD"}


def test_cancel_leaves_nothing_half_written(tmp_path: Path, study: SyntheticSeries) -> None:
    cache = TraineeImagingCache(tmp_path / "trainee", SALT)
    cancel = threading.Event()

    def progress(done: int, _total: int) -> None:
        if done == 2:
            cancel.set()

    with pytest.raises(LoadCancelled):
        cache.prepare([study.paths[0].parent], progress, cancel)
    assert [p.name for p in cache.root.iterdir()] == []


def test_a_folder_without_usable_dicom_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "IM0001").write_text("not an image at all")
    cache = TraineeImagingCache(tmp_path / "trainee", SALT)
    with pytest.raises(ValueError, match="none of the files"):
        cache.prepare([folder])
    assert not any(p.is_dir() for p in cache.root.iterdir())
