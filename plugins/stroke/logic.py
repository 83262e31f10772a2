"""NIH Stroke Scale (NIHSS) and the door-to-needle clock. Qt-free.

The 15 items and their valid scores follow the NIH form (2003 revision). Items that can be
"untestable" (UN: amputation or joint fusion for the limb items, intubation or other physical
barrier for dysarthria) score nothing towards the total, which runs from 0 to 42.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from plugins.api import ReportFigure, ReportSection, translate

UNTESTABLE = "UN"
CONTEXT = "Stroke"  # the NIHSS texts below are marked for this context


def tr(_context: str, text: str) -> str:
    """Marks a string for the translation catalogue (like QT_TRANSLATE_NOOP); the widget translates it."""
    return text


@dataclass(frozen=True)
class NihssItem:
    code: str
    title: str
    choices: tuple[tuple[int, str], ...]  # (score, meaning)
    untestable_allowed: bool = False

    @property
    def max_score(self) -> int:
        return max(score for score, _ in self.choices)


_MOTOR = (
    (0, tr("Stroke", "No drift")),
    (1, tr("Stroke", "Drift")),
    (2, tr("Stroke", "Some effort against gravity")),
    (3, tr("Stroke", "No effort against gravity")),
    (4, tr("Stroke", "No movement")),
)

NIHSS_ITEMS: tuple[NihssItem, ...] = (
    NihssItem(
        "1a",
        tr("Stroke", "Level of consciousness"),
        (
            (0, tr("Stroke", "Alert")),
            (1, tr("Stroke", "Not alert, arousable by minor stimulation")),
            (2, tr("Stroke", "Not alert, requires repeated stimulation")),
            (3, tr("Stroke", "Unresponsive or reflex responses only")),
        ),
    ),
    NihssItem(
        "1b",
        tr("Stroke", "LOC questions (month, age)"),
        (
            (0, tr("Stroke", "Answers both correctly")),
            (1, tr("Stroke", "Answers one correctly")),
            (2, tr("Stroke", "Answers neither correctly")),
        ),
    ),
    NihssItem(
        "1c",
        tr("Stroke", "LOC commands (eyes, hand)"),
        (
            (0, tr("Stroke", "Performs both correctly")),
            (1, tr("Stroke", "Performs one correctly")),
            (2, tr("Stroke", "Performs neither correctly")),
        ),
    ),
    NihssItem(
        "2",
        tr("Stroke", "Best gaze"),
        (
            (0, tr("Stroke", "Normal")),
            (1, tr("Stroke", "Partial gaze palsy")),
            (2, tr("Stroke", "Forced deviation")),
        ),
    ),
    NihssItem(
        "3",
        tr("Stroke", "Visual fields"),
        (
            (0, tr("Stroke", "No visual loss")),
            (1, tr("Stroke", "Partial hemianopia")),
            (2, tr("Stroke", "Complete hemianopia")),
            (3, tr("Stroke", "Bilateral hemianopia")),
        ),
    ),
    NihssItem(
        "4",
        tr("Stroke", "Facial palsy"),
        (
            (0, tr("Stroke", "Normal")),
            (1, tr("Stroke", "Minor paralysis")),
            (2, tr("Stroke", "Partial paralysis")),
            (3, tr("Stroke", "Complete paralysis")),
        ),
    ),
    NihssItem("5a", tr("Stroke", "Motor arm, left"), _MOTOR, untestable_allowed=True),
    NihssItem("5b", tr("Stroke", "Motor arm, right"), _MOTOR, untestable_allowed=True),
    NihssItem("6a", tr("Stroke", "Motor leg, left"), _MOTOR, untestable_allowed=True),
    NihssItem("6b", tr("Stroke", "Motor leg, right"), _MOTOR, untestable_allowed=True),
    NihssItem(
        "7",
        tr("Stroke", "Limb ataxia"),
        (
            (0, tr("Stroke", "Absent")),
            (1, tr("Stroke", "Present in one limb")),
            (2, tr("Stroke", "Present in two limbs")),
        ),
        untestable_allowed=True,
    ),
    NihssItem(
        "8",
        tr("Stroke", "Sensory"),
        (
            (0, tr("Stroke", "Normal")),
            (1, tr("Stroke", "Mild-to-moderate loss")),
            (2, tr("Stroke", "Severe to total loss")),
        ),
    ),
    NihssItem(
        "9",
        tr("Stroke", "Best language"),
        (
            (0, tr("Stroke", "No aphasia")),
            (1, tr("Stroke", "Mild-to-moderate aphasia")),
            (2, tr("Stroke", "Severe aphasia")),
            (3, tr("Stroke", "Mute, global aphasia")),
        ),
    ),
    NihssItem(
        "10",
        tr("Stroke", "Dysarthria"),
        ((0, tr("Stroke", "Normal")), (1, tr("Stroke", "Mild-to-moderate")), (2, tr("Stroke", "Severe"))),
        untestable_allowed=True,
    ),
    NihssItem(
        "11",
        tr("Stroke", "Extinction and inattention"),
        (
            (0, tr("Stroke", "No abnormality")),
            (1, tr("Stroke", "Inattention in one modality")),
            (2, tr("Stroke", "Profound hemi-inattention")),
        ),
    ),
)
ITEMS_BY_CODE = {item.code: item for item in NIHSS_ITEMS}
MAX_TOTAL = sum(item.max_score for item in NIHSS_ITEMS)  # 42

Score = int | str  # 0..max or "UN"


class NihssError(ValueError):
    pass


@dataclass
class NihssExam:
    """Scores as they are entered, each with the time it was (last) set."""

    clock: Callable[[], float] = time.time
    scores: dict[str, Score] = field(default_factory=dict)
    scored_at: dict[str, float] = field(default_factory=dict)
    started_at: float | None = None

    def set(self, code: str, score: Score) -> None:
        item = ITEMS_BY_CODE.get(code)
        if item is None:
            raise NihssError(f"no NIHSS item '{code}'")
        if score == UNTESTABLE:
            if not item.untestable_allowed:
                raise NihssError(f"item {code} ({item.title}) cannot be untestable")
        elif isinstance(score, bool) or score not in {s for s, _ in item.choices}:
            raise NihssError(f"item {code} ({item.title}) takes 0-{item.max_score}, not {score!r}")
        now = self.clock()
        if self.started_at is None:
            self.started_at = now
        self.scores[code] = score
        self.scored_at[code] = now

    def clear(self, code: str) -> None:
        self.scores.pop(code, None)
        self.scored_at.pop(code, None)

    def reset(self) -> None:
        """A new exam (another patient): no score, no time stays."""
        self.scores.clear()
        self.scored_at.clear()
        self.started_at = None

    @property
    def total(self) -> int:
        return sum(s for s in self.scores.values() if isinstance(s, int))

    @property
    def missing(self) -> list[str]:
        return [item.code for item in NIHSS_ITEMS if item.code not in self.scores]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def severity(self) -> str:
        """The severity band, or "incomplete" while any item is unscored."""
        return severity(self.total, self.complete)

    @property
    def completed_at(self) -> float | None:
        return max(self.scored_at.values()) if self.complete else None


def severity(total: int, complete: bool = True) -> str:
    """The usual bands: 0 none, 1-4 minor, 5-15 moderate, 16-20 moderate to severe, 21-42 severe.
    While items are unscored the total is only a lower bound: "incomplete", never a band (an unscored
    exam totals 0, which is not "no stroke symptoms")."""
    if not complete:
        return "incomplete"
    if total == 0:
        return "no stroke symptoms"
    if total <= 4:
        return "minor stroke"
    if total <= 15:
        return "moderate stroke"
    if total <= 20:
        return "moderate to severe stroke"
    return "severe stroke"


DOOR_TO_NEEDLE_TARGET_S = 60 * 60
DOOR_TO_CT_TARGET_S = 25 * 60


@dataclass
class DoorToNeedle:
    """Door (arrival) to needle (thrombolytic bolus), with the CT milestone; target 60 min."""

    clock: Callable[[], float] = time.time
    door_at: float | None = None
    ct_at: float | None = None
    needle_at: float | None = None

    def mark_door(self, at: float | None = None) -> None:
        self.door_at = self.clock() if at is None else at
        self.ct_at = self.needle_at = None

    def reset(self) -> None:
        """Back to idle (another patient): the clock stops and forgets its times."""
        self.door_at = self.ct_at = self.needle_at = None

    def mark_ct(self, at: float | None = None) -> None:
        if self.door_at is None:
            raise ValueError("mark the door time first")
        self.ct_at = self.clock() if at is None else at

    def mark_needle(self, at: float | None = None) -> None:
        if self.door_at is None:
            raise ValueError("mark the door time first")
        self.needle_at = self.clock() if at is None else at

    def elapsed_s(self) -> float | None:
        if self.door_at is None:
            return None
        end = self.needle_at if self.needle_at is not None else self.clock()
        return max(0.0, end - self.door_at)

    def remaining_s(self) -> float | None:
        elapsed = self.elapsed_s()
        return None if elapsed is None else DOOR_TO_NEEDLE_TARGET_S - elapsed

    def door_to_ct_s(self) -> float | None:
        return None if self.door_at is None or self.ct_at is None else self.ct_at - self.door_at

    @property
    def state(self) -> str:
        """idle, running, overdue (past 60 min, no needle), met, missed."""
        elapsed = self.elapsed_s()
        if elapsed is None:
            return "idle"
        within = elapsed <= DOOR_TO_NEEDLE_TARGET_S
        if self.needle_at is not None:
            return "met" if within else "missed"
        return "running" if within else "overdue"


def format_clock(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    return f"{sign}{s // 60:02d}:{s % 60:02d}"


def report_text(exam: NihssExam, timer: DoorToNeedle) -> str | None:
    if not exam.scores and timer.door_at is None:
        return None
    lines = []
    if exam.scores:
        if exam.complete:
            lines.append(f"NIHSS {exam.total} ({exam.severity}; complete)")
        else:  # a partial total is a lower bound and names no band
            lines.append(f"NIHSS {exam.total} so far (incomplete, missing {', '.join(exam.missing)})")
        lines.append("  " + ", ".join(f"{code}={score}" for code, score in exam.scores.items()))
    if timer.door_at is not None:
        dtn = timer.elapsed_s() or 0.0
        lines.append(f"Door-to-needle {format_clock(dtn)} ({timer.state}; target 60:00)")
        ct = timer.door_to_ct_s()
        if ct is not None:
            lines.append(f"Door-to-CT {format_clock(ct)} (target 25:00)")
    return "\n".join(lines)


LOINC = "http://loinc.org"
TEMPLATE_ID = "stroke.nihss"


def severity_text(total: int, complete: bool = True) -> str:
    """The severity band of :func:`severity`, translated."""
    return {
        "incomplete": translate("Stroke", "incomplete"),
        "no stroke symptoms": translate("Stroke", "no stroke symptoms"),
        "minor stroke": translate("Stroke", "minor stroke"),
        "moderate stroke": translate("Stroke", "moderate stroke"),
        "moderate to severe stroke": translate("Stroke", "moderate to severe stroke"),
        "severe stroke": translate("Stroke", "severe stroke"),
    }[severity(total, complete)]


def _clock_time(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _minutes(seconds: float) -> float:
    return round(seconds / 60.0, 1)


def report_section(exam: NihssExam, timer: DoorToNeedle) -> ReportSection | None:
    """The stroke part of the report (translated): every NIHSS item with its score and meaning (unscored
    ones say so), the total with its severity band, then the door, CT and needle times. Figures: the
    scored items and, once every item is scored, the total (LOINC 72089-6); the door-to-CT, CT-to-needle
    and door-to-needle intervals in minutes once both ends are marked. None while nothing is entered."""
    if not exam.scores and timer.door_at is None:
        return None
    rows: list[tuple[str, str, str]] = []
    figures: list[ReportFigure] = []
    method = translate("Stroke", "NIH Stroke Scale")
    if exam.scores:
        for item in NIHSS_ITEMS:
            label = f"{item.code} {translate(CONTEXT, item.title)}"
            score = exam.scores.get(item.code)
            if score is None:
                rows.append((label, "-", translate("Stroke", "not scored")))
            elif score == UNTESTABLE:
                rows.append((label, UNTESTABLE, translate("Stroke", "untestable")))
            else:
                meaning = dict(item.choices).get(int(score), "")
                rows.append((label, str(score), translate(CONTEXT, meaning)))
                figures.append(ReportFigure(f"NIHSS {label}", float(score), "{score}", method))
        total_label = translate("Stroke", "NIHSS total")
        if exam.complete:
            rows.append((total_label, f"{exam.total} / {MAX_TOTAL}", severity_text(exam.total)))
            figures.append(
                ReportFigure(
                    total_label,
                    float(exam.total),
                    "{score}",
                    method,
                    LOINC,
                    "72089-6",
                    "Total score [NIH stroke scale]",
                )
            )
        else:  # a partial total is only a lower bound: no band and no figure
            so_far = translate("Stroke", "%1 so far").replace("%1", str(exam.total))
            rows.append((total_label, so_far, severity_text(exam.total, complete=False)))
    if timer.door_at is not None:
        rows.append((translate("Stroke", "Door (arrival)"), _clock_time(timer.door_at), ""))
        door_ct = translate("Stroke", "Door to CT")
        ct_needle = translate("Stroke", "CT to needle")
        door_needle = translate("Stroke", "Door to needle")
        target = translate("Stroke", "target %1 min")
        if timer.ct_at is not None:
            minutes = _minutes(timer.ct_at - timer.door_at)
            detail = f"{door_ct} {minutes:g} min ({target.replace('%1', str(DOOR_TO_CT_TARGET_S // 60))})"
            rows.append((translate("Stroke", "CT done"), _clock_time(timer.ct_at), detail))
            figures.append(ReportFigure(door_ct, minutes, "min", method=""))
        else:
            rows.append((translate("Stroke", "CT done"), "-", translate("Stroke", "not marked")))
        if timer.needle_at is not None:
            minutes = _minutes(timer.needle_at - timer.door_at)
            state = (
                translate("Stroke", "Needle within target.")
                if timer.state == "met"
                else translate("Stroke", "Needle after the 60-minute target.")
            )
            goal = target.replace("%1", str(DOOR_TO_NEEDLE_TARGET_S // 60))
            detail = f"{door_needle} {minutes:g} min ({goal}); {state}"
            rows.append((translate("Stroke", "Needle (bolus)"), _clock_time(timer.needle_at), detail))
            if timer.ct_at is not None:
                figures.append(ReportFigure(ct_needle, _minutes(timer.needle_at - timer.ct_at), "min"))
            figures.append(ReportFigure(door_needle, minutes, "min"))
        else:  # the clock still runs: what it shows now is no measured interval
            running = translate("Stroke", "not given; %1 min since door").replace(
                "%1", f"{_minutes(timer.elapsed_s() or 0.0):g}"
            )
            rows.append((translate("Stroke", "Needle (bolus)"), "-", running))
    columns = (
        translate("Stroke", "Item"),
        translate("Stroke", "Score / time"),
        translate("Stroke", "Finding"),
    )
    return ReportSection(
        TEMPLATE_ID, translate("Stroke", "Stroke assessment"), columns, tuple(rows), tuple(figures)
    )
