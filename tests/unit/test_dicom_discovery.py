"""Discovery: headers only, grouping, and bad files listed with their reasons."""

from __future__ import annotations

import threading
from pathlib import Path

from viewers.dicom.discovery import Rejected, discover, read_header
from viewers.dicom.synthetic import write_ct_series, write_us_cine


def test_groups_patient_study_series_and_counts(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path / "a" / "ct", (6, 16, 16))
    write_ct_series(tmp_path / "a" / "ct2", (3, 16, 16), study_uid=ct.study_uid, seed=1)
    write_us_cine(tmp_path / "b")
    result = discover(tmp_path)
    assert result.rejected == []
    assert len(result.patients) == 1
    studies = {s.study_instance_uid: s for s in result.patients[0].studies}
    assert len(studies) == 2
    assert sorted(s.instance_count for s in studies[ct.study_uid].series) == [3, 6]
    series = result.find_series(ct.series_uid)
    assert series is not None
    assert series.modality == "CT"
    assert series.instance_count == 6
    assert all("PixelData" not in inst.dataset for inst in series.instances)


def test_bad_files_are_rejected_with_reasons_not_exceptions(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (5, 16, 16))
    (tmp_path / "notes.txt").write_text("hello, not DICOM")
    (tmp_path / "empty.dcm").write_bytes(b"")
    data = ct.paths[2].read_bytes()
    ct.paths[2].write_bytes(data[: len(data) - 100])  # pixel data cut short
    ct.paths[3].write_bytes(data[:200])  # header cut short
    result = discover(tmp_path)
    reasons = {r.path.name: r.reason for r in result.rejected}
    assert "not a DICOM file" in reasons["notes.txt"]
    assert reasons["empty.dcm"] == "empty file"
    assert reasons[ct.paths[2].name].startswith("truncated")
    assert ct.paths[3].name in reasons
    series = result.find_series(ct.series_uid)
    assert series is not None
    assert series.instance_count == 3


def test_read_header_of_missing_file_is_rejected(tmp_path: Path) -> None:
    outcome = read_header(tmp_path / "nope.dcm")
    assert isinstance(outcome, Rejected)
    assert "cannot read" in outcome.reason


def test_dicomdir_is_followed(tmp_path: Path) -> None:
    from pydicom.fileset import FileSet

    src = write_ct_series(tmp_path / "src", (3, 8, 8))
    fs = FileSet()
    for path in src.paths:
        fs.add(path)
    media = tmp_path / "media"
    fs.write(media)
    result = discover(media)
    assert result.rejected == []
    series = result.find_series(src.series_uid)
    assert series is not None
    assert series.instance_count == 3


def test_progress_and_cancel(tmp_path: Path) -> None:
    write_ct_series(tmp_path, (6, 8, 8))
    seen: list[tuple[int, int]] = []
    discover(tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6)
    cancel = threading.Event()
    cancel.set()
    partial = discover(tmp_path, cancel=cancel, max_workers=1)
    assert sum(s.instance_count for s in partial.all_series()) < 6
