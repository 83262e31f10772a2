"""Pause-and-predict scoring: distances in patient and calibrated video millimetres, rhythm match, and
the per-trainee score book."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.teaching.scoring import (
    PausePoint,
    ScoreBook,
    distance_mm,
    expert_target_from_ops,
    load_pause_points,
    rhythm_name,
    save_pause_points,
    score_answer,
)
from core.vitals.simulator import Scenario


def needle_question(**overrides: object) -> PausePoint:
    fields: dict[str, object] = {"t_ns": 2_000_000_000, "question": "Where would you place the needle?",
                                 "kind": "target", "expert_target": (10.0, 20.0, 30.0), "tolerance_mm": 5.0}
    fields.update(overrides)
    return PausePoint.model_validate(fields)


def test_patient_target_distance_and_score() -> None:
    point = needle_question()
    assert distance_mm(point, (13.0, 24.0, 30.0)) == pytest.approx(5.0)
    exact = score_answer(point, "li", (10.0, 20.0, 30.0))
    assert exact.correct and exact.score == 1.0 and exact.distance_mm == 0.0
    edge = score_answer(point, "li", (13.0, 24.0, 30.0))  # 5 mm: at the tolerance, half marks
    assert edge.correct and edge.score == pytest.approx(0.5)
    far = score_answer(point, "li", (10.0, 20.0, 45.0))  # 15 mm: beyond twice the tolerance
    assert not far.correct and far.score == 0.0 and far.distance_mm == pytest.approx(15.0)
    with pytest.raises(ValueError, match="3 finite"):
        distance_mm(point, (1.0, 2.0))
    with pytest.raises(ValueError, match="3 finite"):
        distance_mm(point, (1.0, math.nan, 2.0))


def test_video_target_uses_the_calibration() -> None:
    # a 160 x 120 mm field of view: 0.1 of the width is 16 mm, 0.1 of the height is 12 mm
    point = needle_question(space="video", expert_target=(0.5, 0.5), video_mm=(160.0, 120.0),
                            tolerance_mm=10.0)
    assert distance_mm(point, (0.6, 0.5)) == pytest.approx(16.0)
    assert distance_mm(point, (0.5, 0.4)) == pytest.approx(12.0)
    assert distance_mm(point, (0.6, 0.4)) == pytest.approx(20.0)
    result = score_answer(point, "wu", (0.55, 0.5))
    assert result.correct and result.distance_mm == pytest.approx(8.0) and result.score == pytest.approx(0.6)
    with pytest.raises(ValidationError, match="calibration"):
        needle_question(space="video", expert_target=(0.5, 0.5))


def test_rhythm_match_uses_the_simulator_scenarios() -> None:
    point = PausePoint(t_ns=0, question="Which rhythm is this?", kind="rhythm",
                       expert_rhythm="ATRIAL_FIBRILLATION")
    assert point.expert_rhythm == Scenario.ATRIAL_FIBRILLATION.value
    assert set(point.choices) == {s.value for s in Scenario}
    assert score_answer(point, "li", "atrial_fibrillation").score == 1.0
    assert score_answer(point, "li", "Atrial_Fibrillation").correct
    wrong = score_answer(point, "li", "sinus_tachycardia")
    assert not wrong.correct and wrong.score == 0.0
    assert not score_answer(point, "li", "not a rhythm").correct
    assert rhythm_name("ASYSTOLE") is Scenario.ASYSTOLE
    with pytest.raises(ValidationError, match="unknown rhythm"):
        PausePoint(t_ns=0, question="?", kind="rhythm", expert_rhythm="torsades")
    with pytest.raises(ValidationError, match="among the choices"):
        PausePoint(t_ns=0, question="?", kind="rhythm", expert_rhythm="asystole",
                   choices=["normal_sinus_rhythm"])
    with pytest.raises(ValueError, match="rhythm name"):
        score_answer(point, "li", (1.0, 2.0, 3.0))


def test_expert_target_comes_from_the_recorded_ops() -> None:
    ops = [
        {"op": "add", "lamport": 1, "data": {"kind": "marker", "points": [[1, 2, 3]]}},
        {"op": "add", "lamport": 2, "data": {"kind": "needle", "points": [[0, 0, 0], [5, 6, 7]]}},
        {"op": "update", "lamport": 3, "data": {"points": [[0, 0, 0], [9, 9, 9]]}},
        {"op": "add", "lamport": 4, "data": {"kind": "needle", "points": [[0, 0, 0], [8, 8, 8]]}},
    ]
    assert expert_target_from_ops(ops) == (8.0, 8.0, 8.0)
    assert expert_target_from_ops(ops, until_lamport=2) == (5.0, 6.0, 7.0)
    assert expert_target_from_ops(ops[:1]) == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="no target"):
        expert_target_from_ops([{"op": "add", "data": {"kind": "text", "points": [[0, 0]]}}])


def test_score_book_keeps_results_per_trainee(tmp_path: Path) -> None:
    needle = needle_question(id="needle-1")
    rhythm = PausePoint(id="rhythm-1", t_ns=1, question="Rhythm?", kind="rhythm", expert_rhythm="asystole")
    book = ScoreBook(tmp_path / "scores.json")
    book.answer(needle, "li", (10.0, 20.0, 34.0))  # 4 mm
    book.answer(rhythm, "li", "asystole")
    book.answer(rhythm, "wu", "normal_sinus_rhythm")
    book.answer(needle, "li", (10.0, 20.0, 31.0))  # answered again: replaces the first
    reopened = ScoreBook(tmp_path / "scores.json")
    assert reopened.trainees() == ["li", "wu"]
    li = reopened.summary("li")
    assert li["answered"] == 2 and li["correct"] == 2
    assert li["mean_distance_mm"] == pytest.approx(1.0)
    assert li["mean_score"] == pytest.approx((0.9 + 1.0) / 2)
    assert reopened.summary("wu")["correct"] == 0 and reopened.summary("nobody")["answered"] == 0
    raw = json.loads((tmp_path / "scores.json").read_text())
    assert raw["version"] == 1 and len(raw["trainees"]["li"]) == 2


def test_pause_points_round_trip(tmp_path: Path) -> None:
    points = [needle_question(id="b", t_ns=9), PausePoint(id="a", t_ns=3, question="?", kind="rhythm",
                                                         expert_rhythm="hypotension")]
    save_pause_points(tmp_path, points)
    loaded = load_pause_points(tmp_path)
    assert [p.id for p in loaded] == ["a", "b"] and loaded[1].expert_target == (10.0, 20.0, 30.0)
    assert load_pause_points(tmp_path / "none") == []
