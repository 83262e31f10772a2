"""One series is one patient's: discovery splits a folder where two patients share a Study and Series
Instance UID, the slice sorter never stacks two patients, STOW refuses such a study; and the check of a
discovery against the consult's patient (viewers/study_identity.py)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from core.consult.patient import Patient
from viewers.dicom.discovery import discover
from viewers.dicom.pacs_common import PacsError
from viewers.dicom.series import sort_series
from viewers.dicom.stow import scan_study
from viewers.dicom.synthetic import write_ct_series
from viewers.study_identity import Status, check_study, study_key

ZHANG = Patient("CT-2026-0042", "Zhang Wei", "M", date(1961, 3, 14))


def merged_folder(tmp_path: Path) -> tuple[Path, str, str]:
    """Two patients' CTs in one folder under one Study and one Series Instance UID (a mis-coded modality)."""
    folder = tmp_path / "merged"
    study_uid, series_uid = generate_uid(), generate_uid()
    write_ct_series(folder / "a", (5, 16, 16), study_uid=study_uid, series_uid=series_uid,
                    patient_name="Zhang^Wei", patient_id="CT-2026-0042",
                    patient_birth_date="19610314")  # fmt: skip
    write_ct_series(folder / "b", (3, 16, 16), study_uid=study_uid, series_uid=series_uid, seed=2,
                    patient_name="Liu^Fang", patient_id="US-2026-0107",
                    patient_birth_date="19580902")  # fmt: skip
    return folder, study_uid, series_uid


def test_two_patients_sharing_study_and_series_uids_are_kept_apart(tmp_path: Path) -> None:
    folder, study_uid, series_uid = merged_folder(tmp_path)
    result = discover(folder)
    assert result.rejected == []
    assert sorted((p.patient_id, p.patient_name) for p in result.patients) == [
        ("CT-2026-0042", "Zhang^Wei"),
        ("US-2026-0107", "Liu^Fang"),
    ]
    counts = {}
    for patient in result.patients:
        (study,) = patient.studies
        (series,) = study.series
        assert study.study_instance_uid == study_uid and series.series_instance_uid == series_uid
        ids = {str(i.dataset.PatientID) for i in series.instances}
        assert ids == {patient.patient_id}  # never a mixed series
        counts[patient.patient_id] = series.instance_count
    assert counts == {"CT-2026-0042": 5, "US-2026-0107": 3}
    keys = [s.key for s in result.all_series()]
    assert len(set(keys)) == 2 and series_uid in keys  # each copy can be found on its own
    assert all(result.find_series(k) is s for k, s in zip(keys, result.all_series(), strict=True))
    (warning,) = result.warnings
    assert warning.code == "mixed_patients"
    assert series_uid in warning.message and "2 different patients" in warning.message
    assert "Zhang" not in warning.message and "CT-2026-0042" not in warning.message  # no identity in it


def test_same_id_but_another_birth_date_is_another_patient(tmp_path: Path) -> None:
    """pydicom's own CT_small.dcm, copied: same Patient ID and UIDs, one copy with another birth date."""
    source = Path(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    folder = tmp_path / "ct-small"
    folder.mkdir()
    for k, born in enumerate(("19610314", "19610314", "19900101")):
        ds = pydicom.dcmread(source)
        ds.SOPInstanceUID = generate_uid()
        ds.PatientBirthDate = born
        ds.PatientName = "ZHANG^WEI" if k == 1 else "Zhang^Wei"  # case alone is not another patient
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [0.0, 0.0, float(k)]
        ds.save_as(folder / f"im{k}.dcm", enforce_file_format=True)
    result = discover(folder)
    assert result.rejected == []
    assert sorted(s.instance_count for s in result.all_series()) == [1, 2]
    assert [w.code for w in result.warnings] == ["mixed_patients"]


def test_the_slice_sorter_never_stacks_two_patients(tmp_path: Path) -> None:
    folder, _study, _series = merged_folder(tmp_path)
    result = discover(folder)
    everything = [i for s in result.all_series() for i in s.instances]  # as if merged by UID
    assert len(everything) == 8
    ordered = sort_series(everything)
    assert len(ordered.slices) == 5
    assert {str(r.instance.dataset.PatientID) for r in ordered.slices} == {"CT-2026-0042"}
    assert "mixed_patients" in ordered.codes()
    assert len(ordered.excluded) == 3 and all("another patient" in r.reason for r in ordered.excluded)


def test_stow_refuses_a_study_of_two_patients(tmp_path: Path) -> None:
    folder, _study, _series = merged_folder(tmp_path)
    with pytest.raises(PacsError, match="2 different patients"):
        scan_study([folder])
    one = scan_study([folder / "a"])
    assert (one.patient_id, one.patient_birth_date, one.patient_sex) == ("CT-2026-0042", "19610314", "F")


def test_nothing_raises_for_bad_patient_values(tmp_path: Path) -> None:
    series = write_ct_series(tmp_path / "odd", (2, 16, 16))
    ds = pydicom.dcmread(series.paths[0])
    with pytest.warns(UserWarning, match="Invalid value"):
        ds.PatientBirthDate = "not a date"
    ds.PatientName = ""
    del ds.PatientID
    ds.save_as(series.paths[0], enforce_file_format=True)
    result = discover(tmp_path / "odd")
    assert result.rejected == [] and len(result.patients) == 2
    assert sum(s.instance_count for s in result.all_series()) == 2


def test_the_consult_check_matches_tolerantly_and_refuses_another_patient(tmp_path: Path) -> None:
    folder, _study, _series = merged_folder(tmp_path)
    result = discover(folder)
    unbound = check_study(result, ZHANG, bound=False)
    assert unbound.status is Status.UNBOUND and unbound.result is result
    assert check_study(result, None).status is Status.NO_CONSULT

    verdict = check_study(result, ZHANG)  # the folder holds Zhang Wei and Liu Fang: only his opens
    assert verdict.status is Status.MATCH
    assert [p.patient_id for p in verdict.result.patients] == ["CT-2026-0042"]
    (refusal,) = verdict.refused
    assert refusal.study.patient_id == "US-2026-0107" and refusal.study.name == "Liu Fang"
    assert refusal.study.birth_date == "1958-09-02" and "US-2026-0107" in refusal.reason

    for path in (folder / "a").iterdir():  # the alphabetic and the ideographic group, in UTF-8
        ds = pydicom.dcmread(path)
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName = "ZHANG^WEI=张^伟"
        ds.save_as(path, enforce_file_format=True)
    for name in ("张伟", "Wei Zhang", "zhang wei"):
        tolerant = Patient("CT-2026-0042", name, "M", date(1961, 3, 14))
        assert check_study(discover(folder / "a"), tolerant).status is Status.MATCH, name
    other_born = Patient("CT-2026-0042", "Zhang Wei", "M", date(1962, 3, 14))
    assert check_study(discover(folder / "a"), other_born).status is Status.REFUSED
    liu_only = discover(folder / "b")
    refused = check_study(liu_only, ZHANG)
    assert refused.status is Status.REFUSED and not refused.opens and refused.result.patients == []
    linked = check_study(liu_only, ZHANG, linked={refused.refused[0].key})
    assert linked.status is Status.LINKED and linked.opens
    assert linked.linked == {study_key(liu_only.patients[0])}


def test_pydicom_test_files_of_two_patients(tmp_path: Path) -> None:
    """CT_small and MR_small (two patients of pydicom's data) under one forced Study/Series UID."""
    folder = tmp_path / "two"
    folder.mkdir()
    study_uid, series_uid = generate_uid(), generate_uid()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        ds = pydicom.dcmread(get_testdata_file(name))  # type: ignore[arg-type]
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.save_as(folder / name, enforce_file_format=True)
        shutil.copystat(get_testdata_file(name), folder / name)  # type: ignore[arg-type]
    result = discover(folder)
    assert len(result.patients) == 2 and len(result.all_series()) == 2
    assert all(s.instance_count == 1 for s in result.all_series())
    assert {w.code for w in result.warnings} == {"mixed_patients"}
