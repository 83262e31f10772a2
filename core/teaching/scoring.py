"""Pause and predict, Qt-free: pause points with a question, trainees' answers scored against the expert.

A :class:`PausePoint` sits at a moment of a recording. A *target* question ("where would you place the
needle?") is answered with a point and scored by its distance in millimetres from the expert's target:
in patient coordinates (LPS, mm) for imaging, or in the video picture's normalised coordinates turned
into millimetres by the calibration ``video_mm`` (the width and height of the field of view in mm). A
*rhythm* question is answered with one of the vitals simulator's scenario names (core/vitals/simulator.py
``Scenario``) and scored by match. Results are kept per trainee in a JSON score book.

Scores: a target within ``tolerance_mm`` is correct; the score falls linearly from 1 at the expert's
point to 0 at twice the tolerance. A rhythm is 1 or 0.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.vitals.simulator import Scenario

PAUSE_POINTS = "pause_points.json"
TARGET_KINDS = ("needle", "trajectory", "marker", "landmark", "ruler", "arrow")


def rhythm_name(value: str) -> Scenario:
    """A Scenario from its value ("atrial_fibrillation") or member name ("ATRIAL_FIBRILLATION")."""
    text = value.strip()
    try:
        return Scenario(text.lower())
    except ValueError:
        pass
    try:
        return Scenario[text.upper()]
    except KeyError:
        raise ValueError(f"unknown rhythm {value!r}") from None


class PausePoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], min_length=1, max_length=64)
    t_ns: int = Field(ge=0)
    question: str = Field(min_length=1, max_length=500)
    kind: Literal["target", "rhythm"]
    space: Literal["patient", "video"] = "patient"
    expert_target: tuple[float, ...] | None = None
    video_mm: tuple[float, float] | None = None  # field of view (width, height) in mm, for "video"
    tolerance_mm: float = Field(default=10.0, gt=0)
    expert_rhythm: str | None = None
    choices: list[str] = Field(default_factory=lambda: [s.value for s in Scenario])

    @model_validator(mode="after")
    def _consistent(self) -> PausePoint:
        if self.kind == "target":
            if self.expert_target is None:
                raise ValueError("a target question needs the expert's target")
            if not all(math.isfinite(v) for v in self.expert_target):
                raise ValueError("the expert's target must be finite")
            want = 3 if self.space == "patient" else 2
            if len(self.expert_target) != want:
                raise ValueError(f"a {self.space} target has {want} coordinates")
            if self.space == "video" and (self.video_mm is None or min(self.video_mm) <= 0):
                raise ValueError("a video target needs the picture's calibration in mm (video_mm)")
        else:
            if self.expert_rhythm is None:
                raise ValueError("a rhythm question needs the expert's rhythm")
            self.expert_rhythm = rhythm_name(self.expert_rhythm).value
            self.choices = [rhythm_name(c).value for c in self.choices]
            if self.expert_rhythm not in self.choices:
                raise ValueError("the expert's rhythm is not among the choices")
        return self


class ScoreResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trainee: str = Field(min_length=1, max_length=128)
    pause_id: str
    kind: Literal["target", "rhythm"]
    answer: tuple[float, ...] | str
    distance_mm: float | None = None
    correct: bool
    score: float = Field(ge=0.0, le=1.0)
    answered_at: float = Field(default_factory=time.time)


def distance_mm(point: PausePoint, answer: Sequence[float]) -> float:
    """Millimetres between the trainee's point and the expert's target."""
    expert = point.expert_target
    if point.kind != "target" or expert is None:
        raise ValueError("not a target question")
    if len(answer) != len(expert) or not all(math.isfinite(v) for v in answer):
        raise ValueError(f"the answer needs {len(expert)} finite coordinates")
    if point.space == "patient":
        return math.dist(answer, expert)
    assert point.video_mm is not None
    w, h = point.video_mm
    return math.hypot((answer[0] - expert[0]) * w, (answer[1] - expert[1]) * h)


def score_answer(point: PausePoint, trainee: str, answer: Sequence[float] | str) -> ScoreResult:
    if point.kind == "rhythm":
        if not isinstance(answer, str):
            raise ValueError("a rhythm question is answered with a rhythm name")
        try:
            chosen = rhythm_name(answer).value
        except ValueError:
            chosen = answer.strip()[:64]
        correct = chosen == point.expert_rhythm
        return ScoreResult(
            trainee=trainee,
            pause_id=point.id,
            kind="rhythm",
            answer=chosen,
            correct=correct,
            score=1.0 if correct else 0.0,
        )
    if isinstance(answer, str):
        raise ValueError("a target question is answered with a point")
    d = distance_mm(point, answer)
    score = max(0.0, 1.0 - d / (2.0 * point.tolerance_mm))
    return ScoreResult(
        trainee=trainee,
        pause_id=point.id,
        kind="target",
        answer=tuple(float(v) for v in answer),
        distance_mm=d,
        correct=d <= point.tolerance_mm,
        score=score,
    )


def expert_target_from_ops(
    ops: Iterable[dict[str, Any]], until_lamport: int | None = None
) -> tuple[float, ...]:
    """The expert's target from recorded annotation operations: the target of the last needle or
    trajectory added (its second point), else the last marker or landmark, else the head of the last
    arrow. Raises ValueError when none was drawn."""
    best: tuple[int, tuple[float, ...]] | None = None
    rank = {"needle": 3, "trajectory": 3, "marker": 2, "landmark": 2, "arrow": 1, "ruler": 1}
    for op in ops:
        data = op.get("data") or {}
        kind = data.get("kind")
        if op.get("op") != "add" or kind not in rank:
            continue
        if until_lamport is not None and int(op.get("lamport", 0)) > until_lamport:
            continue
        points = data.get("points") or []
        index = 0 if kind in ("marker", "landmark") else 1
        if len(points) <= index:
            continue
        candidate = (rank[kind], tuple(float(v) for v in points[index]))
        if best is None or candidate[0] >= best[0]:
            best = candidate
    if best is None:
        raise ValueError("the expert drew no target")
    return best[1]


def load_pause_points(folder: Path) -> list[PausePoint]:
    path = Path(folder) / PAUSE_POINTS
    if not path.is_file():
        return []
    raw = json.loads(path.read_text(encoding="utf-8"))
    return sorted((PausePoint.model_validate(p) for p in raw.get("pause_points", [])), key=lambda p: p.t_ns)


def save_pause_points(folder: Path, points: Iterable[PausePoint]) -> None:
    ordered = sorted(points, key=lambda p: p.t_ns)
    data = {"version": 1, "pause_points": [p.model_dump(mode="json") for p in ordered]}
    _write_json(Path(folder) / PAUSE_POINTS, data)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


class ScoreBook:
    """Results per trainee in one JSON file, written after every answer. A trainee's new answer to the
    same pause point replaces the old one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._results: dict[str, list[ScoreResult]] = {}
        if self.path.is_file():
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            for trainee, results in raw.get("trainees", {}).items():
                self._results[trainee] = [ScoreResult.model_validate(r) for r in results]

    def record(self, result: ScoreResult) -> None:
        kept = [r for r in self._results.get(result.trainee, []) if r.pause_id != result.pause_id]
        self._results[result.trainee] = [*kept, result]
        self._save()

    def answer(self, point: PausePoint, trainee: str, answer: Sequence[float] | str) -> ScoreResult:
        result = score_answer(point, trainee, answer)
        self.record(result)
        return result

    def results(self, trainee: str) -> list[ScoreResult]:
        return list(self._results.get(trainee, []))

    def trainees(self) -> list[str]:
        return sorted(self._results)

    def summary(self, trainee: str) -> dict[str, float | int]:
        results = self._results.get(trainee, [])
        distances = [r.distance_mm for r in results if r.distance_mm is not None]
        return {
            "answered": len(results),
            "correct": sum(r.correct for r in results),
            "mean_score": sum(r.score for r in results) / len(results) if results else 0.0,
            "mean_distance_mm": sum(distances) / len(distances) if distances else math.nan,
        }

    def _save(self) -> None:
        data = {
            "version": 1,
            "trainees": {t: [r.model_dump(mode="json") for r in rs] for t, rs in self._results.items()},
        }
        _write_json(self.path, data)
