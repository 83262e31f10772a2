"""The local study cache: size bound, least-recently-used eviction, the JSON index across restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.worklist.study_cache import StudyCache, check_uid


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _study(tmp_path: Path, name: str, size: int, files: int = 2) -> Path:
    folder = tmp_path / "src" / name
    folder.mkdir(parents=True)
    for k in range(files):
        (folder / f"{k}.dcm").write_bytes(b"\0" * (size // files))
    return folder


def test_evicts_least_recently_used_until_it_fits(tmp_path: Path) -> None:
    clock = Clock()
    cache = StudyCache(tmp_path / "cache", max_bytes=3000, clock=clock)
    for uid in ("1.1", "1.2", "1.3"):
        cache.add_folder(uid, _study(tmp_path, uid, 1000))
    assert cache.total_bytes == 3000
    assert cache.path_for("1.1") == tmp_path / "cache" / "1.1"  # 1.1 is now the most recent
    cache.add_folder("1.4", _study(tmp_path, "1.4", 1000))
    # 1.2 was the least recently used: gone, folder and all
    assert [e.study_instance_uid for e in cache.entries()] == ["1.4", "1.1", "1.3"]
    assert not (tmp_path / "cache" / "1.2").exists()
    assert cache.path_for("1.2") is None
    assert cache.total_bytes <= 3000


def test_a_large_study_evicts_several_and_stays_even_alone_over_the_bound(tmp_path: Path) -> None:
    cache = StudyCache(tmp_path / "cache", max_bytes=2500, clock=Clock())
    cache.add_folder("2.1", _study(tmp_path, "2.1", 1000))
    cache.add_folder("2.2", _study(tmp_path, "2.2", 1000))
    cache.add_folder("2.3", _study(tmp_path, "2.3", 2000))
    assert [e.study_instance_uid for e in cache.entries()] == ["2.3"]
    cache.add_folder("2.4", _study(tmp_path, "2.4", 4000))
    assert [e.study_instance_uid for e in cache.entries()] == ["2.4"]  # never evicts what was just asked for
    assert cache.path_for("2.4") is not None and len(list((tmp_path / "cache" / "2.4").iterdir())) == 2


def test_index_survives_a_restart_and_is_rebuilt_from_folders(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    clock = Clock()
    cache = StudyCache(root, max_bytes=10_000, clock=clock)
    cache.add_folder("3.1", _study(tmp_path, "3.1", 1000, files=4))
    cache.add_folder("3.2", _study(tmp_path, "3.2", 1000))
    cache.path_for("3.1")
    index = json.loads((root / "index.json").read_text())
    assert {s["study_instance_uid"] for s in index["studies"]} == {"3.1", "3.2"}

    again = StudyCache(root, max_bytes=10_000, clock=clock)
    assert [e.study_instance_uid for e in again.entries()] == ["3.1", "3.2"]  # recency kept
    assert again.entries()[0].instances == 4

    (root / "index.json").write_text("{not json")
    (root / "3.9.partial").mkdir()  # a retrieve cut by a crash
    rebuilt = StudyCache(root, max_bytes=10_000, clock=clock)
    assert {e.study_instance_uid for e in rebuilt.entries()} == {"3.1", "3.2"}
    assert rebuilt.total_bytes == 2000
    assert not (root / "3.9.partial").exists()

    rebuilt.max_bytes = 1000
    assert len(rebuilt.evict()) == 1 and rebuilt.total_bytes == 1000
    rebuilt.remove("3.1")
    rebuilt.remove("3.2")
    assert rebuilt.entries() == [] and rebuilt.total_bytes == 0


def test_uids_are_checked_before_they_name_a_folder(tmp_path: Path) -> None:
    assert check_uid("1.2.840.10008") == "1.2.840.10008"
    for bad in ("", "../etc", "1.2/3", "1." * 40, "1..2"):
        with pytest.raises(ValueError, match="not a DICOM UID"):
            check_uid(bad)
    cache = StudyCache(tmp_path / "cache")
    with pytest.raises(ValueError, match="not a DICOM UID"):
        cache.add_folder("../x", _study(tmp_path, "x", 10))


def test_default_location_is_the_users_cache_dir(isolated_home: Path) -> None:
    cache = StudyCache()
    assert cache.root == isolated_home / "cache" / "studies"
    assert cache.root.is_dir()
