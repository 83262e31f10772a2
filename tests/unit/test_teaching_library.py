"""The case library (list, search, bad folders) and pseudonymisation of free text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.consult.patient import Patient
from core.teaching.library import CaseLibrary, identity_replacer, make_teaching_case
from core.teaching.tracks import SessionRecorder

SALT = b"salt"


def test_identity_replacer_catches_every_spelling() -> None:
    patient = Patient("MRN-0042", "Wang Min", "F", date(1970, 1, 2))
    pseudonym = patient.pseudonymised(SALT)
    replace = identity_replacer(patient, pseudonym)
    p = pseudonym.name
    assert replace("Wang Min is stable") == f"{p} is stable"
    assert replace("WANG MIN, 54F") == f"{p}, 54F"
    assert replace("Min Wang (MRN-0042)") == f"{p} ({pseudonym.patient_id})"
    assert replace("name WANG^MIN") == f"name {p}"
    assert replace("Mrs Wang says hello") == f"Mrs {p} says hello"
    # ordinary words that contain or equal a name part in lower case are left alone
    assert replace("wait 5 min, then administer; Wangaratta") == "wait 5 min, then administer; Wangaratta"
    cjk = Patient("P-7", "王敏", "F", None)
    replace_cjk = identity_replacer(cjk, cjk.pseudonymised(SALT), extra=["李医生的病人"])
    assert replace_cjk("患者王敏血压下降") == f"患者{cjk.pseudonymised(SALT).name}血压下降"


def _recording(folder: Path, title: str, specialty: str, tags: list[str], patient: Patient | None) -> Path:
    recorder = SessionRecorder(folder, title=title, specialty=specialty, tags=tags, patient=patient,
                               media=False)
    recorder.chat(f"about {patient.name if patient else 'nobody'}", "dr.chen")
    recorder.annotation_op({"op": "add", "id": "n1", "data": {"kind": "text", "text": "Li Hua's scar"}})
    recorder.add_chapter("Findings")
    recorder.close()
    return folder


def test_library_lists_and_searches(tmp_path: Path) -> None:
    root = tmp_path / "library"
    li = Patient("P-2", "Li Hua", "M", None)
    _recording(root / "a", "Pericardial effusion", "cardiology", ["echo", "POCUS"], li)
    _recording(root / "b", "Stroke thrombolysis", "neurology", ["CT", "NIHSS"], li)
    (root / "c").mkdir()
    (root / "c" / "manifest.json").write_text('{"version": 99}')
    (root / "d").mkdir()  # not a recording
    library = CaseLibrary(root)
    assert {c.title for c in library.cases()} == {"Pericardial effusion", "Stroke thrombolysis"}
    assert [p for p, _ in library.problems] == [root / "c"]
    assert [c.title for c in library.search(specialty="CARDIOLOGY")] == ["Pericardial effusion"]
    assert [c.title for c in library.search(tags=["pocus"])] == ["Pericardial effusion"]
    assert library.search(tags=["pocus", "ct"]) == []
    assert [c.title for c in library.search("thrombo")] == ["Stroke thrombolysis"]
    assert len(library.search("findings")) == 2  # chapter titles are searched too
    assert library.search(deidentified_only=True) == []
    assert library.specialties() == ["cardiology", "neurology"]
    assert library.tags() == ["CT", "NIHSS", "POCUS", "echo"]
    first = library.cases()[0]
    assert library.get(first.case_id) == first and library.get("nope") is None

    case = library.add_teaching_case(root / "a", SALT, tags=["echo", "teaching"])
    assert case.manifest.deidentified and case.manifest.tags == ["echo", "teaching"]
    assert [c.case_id for c in library.search(deidentified_only=True)] == [case.case_id]
    for file in case.folder.iterdir():
        text = file.read_text(encoding="utf-8")
        assert "Li Hua" not in text and "P-2" not in text, file.name
    assert case.manifest.patient is not None and case.manifest.patient.patient_id.startswith("ANON-")


def test_teaching_case_needs_a_patient_and_a_new_folder(tmp_path: Path) -> None:
    source = _recording(tmp_path / "rec", "t", "", [], None)
    with pytest.raises(ValueError, match="names no patient"):
        make_teaching_case(source, tmp_path / "out", SALT)
    assert not (tmp_path / "out").exists()
    patient = Patient("P-3", "Zhao Lei", "M", None)
    source = _recording(tmp_path / "rec2", "t", "", [], patient)
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError):
        make_teaching_case(source, tmp_path / "taken", SALT)
