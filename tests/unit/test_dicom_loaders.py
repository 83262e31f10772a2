"""Loader choice by confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from viewers.dicom.discovery import Series, discover
from viewers.dicom.loaders import Loadable, best_loadable, examine
from viewers.dicom.synthetic import write_ct_series, write_enhanced_ct, write_secondary_capture, write_us_cine


def _series(folder: Path) -> Series:
    (series,) = discover(folder).all_series()
    return series


def test_ct_series_is_a_volume(tmp_path: Path) -> None:
    write_ct_series(tmp_path, (5, 8, 8))
    best = best_loadable(_series(tmp_path))
    assert best is not None
    assert best.kind == "volume"
    assert best.confidence == 0.9
    assert "5 slices" in best.name


def test_ct_with_gap_is_still_a_volume_but_less_sure(tmp_path: Path) -> None:
    pos = np.array([[0, 0, z] for z in (0, 2, 6, 8)], float)
    write_ct_series(tmp_path, (4, 8, 8), positions=pos)
    best = best_loadable(_series(tmp_path))
    assert best is not None and best.kind == "volume"
    assert best.confidence < 0.9
    assert any("missing" in w for w in best.warnings)


def test_ultrasound_multiframe_is_cine(tmp_path: Path) -> None:
    write_us_cine(tmp_path)
    offers = examine(_series(tmp_path))
    assert [o.kind for o in offers] == ["cine", "secondary_capture"]


def test_enhanced_ct_is_a_volume(tmp_path: Path) -> None:
    write_enhanced_ct(tmp_path)
    best = best_loadable(_series(tmp_path))
    assert best is not None and best.kind == "volume"


def test_secondary_capture(tmp_path: Path) -> None:
    write_secondary_capture(tmp_path)
    best = best_loadable(_series(tmp_path))
    assert best is not None and best.kind == "secondary_capture" and best.confidence == 0.9


def test_extra_examiner_wins_and_a_broken_one_is_skipped(tmp_path: Path) -> None:
    write_ct_series(tmp_path, (3, 8, 8))
    series = _series(tmp_path)

    def special(s: Series) -> list[Loadable]:
        return [Loadable("special", 0.99, "volume", s)]

    def broken(s: Series) -> list[Loadable]:
        raise RuntimeError("plugin bug")

    from viewers.dicom.loaders import examine_volume

    offers = examine(series, [examine_volume, broken, special])
    assert offers[0].name == "special"
    assert len(offers) == 2
