"""Point-of-care ultrasound exam protocols: FAST and eFAST as checklists, and depth presets. Qt-free.

The specialist ticks each window as the county doctor obtains it: adequate view, and free fluid (or,
for the eFAST lung windows, absent lung sliding) seen or not, each with the time it was recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from plugins.api import ReportSection, translate


class Finding(StrEnum):
    NEGATIVE = "negative"  # adequate view, no free fluid (lungs: sliding present)
    POSITIVE = "positive"  # free fluid (lungs: no sliding, pneumothorax suspected)
    INDETERMINATE = "indeterminate"  # view not adequate


@dataclass(frozen=True)
class ExamWindow:
    window_id: str
    title: str
    looks_for: str
    depth_cm: float
    optional: bool = False  # eFAST extensions


FAST_WINDOWS: tuple[ExamWindow, ...] = (
    ExamWindow("ruq", "Right upper quadrant (Morison's pouch)", "free fluid", 16.0),
    ExamWindow("luq", "Left upper quadrant (splenorenal)", "free fluid", 16.0),
    ExamWindow("pelvis", "Pelvis (suprapubic)", "free fluid", 14.0),
    ExamWindow("subxiphoid", "Subxiphoid cardiac", "pericardial effusion", 18.0),
    ExamWindow("lung_right", "Right anterior chest (eFAST)", "absent lung sliding", 6.0, optional=True),
    ExamWindow("lung_left", "Left anterior chest (eFAST)", "absent lung sliding", 6.0, optional=True),
)


@dataclass(frozen=True)
class DepthPreset:
    preset_id: str
    title: str
    depth_cm: float


DEPTH_PRESETS: tuple[DepthPreset, ...] = (
    DepthPreset("lung", "Lung / superficial", 6.0),
    DepthPreset("pelvis", "Pelvis", 14.0),
    DepthPreset("abdomen", "Abdomen", 16.0),
    DepthPreset("cardiac", "Cardiac", 18.0),
    DepthPreset("deep", "Deep abdomen (large patient)", 24.0),
)


@dataclass(frozen=True)
class Tick:
    finding: Finding
    at: float
    note: str = ""


@dataclass
class FastExam:
    extended: bool = False  # eFAST: lung windows required too
    clock: Callable[[], float] = time.time
    ticks: dict[str, Tick] = field(default_factory=dict)
    depth_cm: float | None = None

    @property
    def windows(self) -> tuple[ExamWindow, ...]:
        return tuple(w for w in FAST_WINDOWS if self.extended or not w.optional)

    def tick(self, window_id: str, finding: Finding, note: str = "") -> Tick:
        if window_id not in {w.window_id for w in FAST_WINDOWS}:
            raise ValueError(f"no exam window '{window_id}'")
        tick = Tick(Finding(finding), self.clock(), note)
        self.ticks[window_id] = tick
        return tick

    def untick(self, window_id: str) -> None:
        self.ticks.pop(window_id, None)

    def reset(self) -> None:
        """A new exam (another patient): no window ticked, no depth, plain FAST."""
        self.ticks.clear()
        self.depth_cm = None
        self.extended = False

    def set_depth(self, depth_cm: float) -> None:
        if not 1.0 <= depth_cm <= 30.0:
            raise ValueError("depth must be 1-30 cm")
        self.depth_cm = depth_cm

    @property
    def pending(self) -> list[str]:
        return [w.window_id for w in self.windows if w.window_id not in self.ticks]

    @property
    def complete(self) -> bool:
        return not self.pending

    @property
    def result(self) -> str:
        """positive (any window positive), negative (all windows done and negative),
        indeterminate (all done, some inadequate) or incomplete."""
        findings = [self.ticks[w.window_id].finding for w in self.windows if w.window_id in self.ticks]
        if Finding.POSITIVE in findings:
            return "positive"
        if not self.complete:
            return "incomplete"
        return "indeterminate" if Finding.INDETERMINATE in findings else "negative"


def report_text(exam: FastExam) -> str | None:
    if not exam.ticks:
        return None
    name = "eFAST" if exam.extended else "FAST"
    lines = [f"{name}: {exam.result}"]
    for window in exam.windows:
        tick = exam.ticks.get(window.window_id)
        if tick is None:
            lines.append(f"  {window.title}: not done")
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(tick.at))
            note = f" ({tick.note})" if tick.note else ""
            lines.append(f"  {window.title}: {tick.finding.value} for {window.looks_for} at {stamp}{note}")
    return "\n".join(lines)


def window_title(window: ExamWindow) -> str:
    return {
        "ruq": translate("Ultrasound", "Right upper quadrant (Morison's pouch)"),
        "luq": translate("Ultrasound", "Left upper quadrant (splenorenal)"),
        "pelvis": translate("Ultrasound", "Pelvis (suprapubic)"),
        "subxiphoid": translate("Ultrasound", "Subxiphoid cardiac"),
        "lung_right": translate("Ultrasound", "Right anterior chest (eFAST)"),
        "lung_left": translate("Ultrasound", "Left anterior chest (eFAST)"),
    }.get(window.window_id, window.title)


def looks_for(window: ExamWindow) -> str:
    return {
        "free fluid": translate("Ultrasound", "free fluid"),
        "pericardial effusion": translate("Ultrasound", "pericardial effusion"),
        "absent lung sliding": translate("Ultrasound", "absent lung sliding"),
    }.get(window.looks_for, window.looks_for)


def result_text(result: str) -> str:
    return {
        "positive": translate("Ultrasound", "Positive"),
        "negative": translate("Ultrasound", "Negative"),
        "indeterminate": translate("Ultrasound", "Indeterminate"),
        "incomplete": translate("Ultrasound", "Incomplete"),
    }[result]


TEMPLATE_ID = "ultrasound.fast"


def finding_text(finding: Finding | None) -> str:
    if finding is None:
        return translate("Ultrasound", "Not assessed")
    return {
        Finding.NEGATIVE: translate("Ultrasound", "Negative"),
        Finding.POSITIVE: translate("Ultrasound", "Positive"),
        Finding.INDETERMINATE: translate("Ultrasound", "Inadequate view"),
    }[finding]


def report_section(exam: FastExam) -> ReportSection | None:
    """The FAST (or eFAST) results of the report (translated): each window of the exam with what it looks
    for, its finding (positive, negative, inadequate view or not assessed) and when, then the overall
    result. None while no window is ticked. FAST is qualitative: no figures."""
    if not exam.ticks:
        return None
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    for window in exam.windows:
        tick = exam.ticks.get(window.window_id)
        stamp = "" if tick is None else time.strftime("%H:%M:%S", time.localtime(tick.at))
        rows.append(
            (
                window_title(window),
                looks_for(window),
                finding_text(None if tick is None else tick.finding),
                stamp,
            )
        )
        if tick is not None and tick.note:
            notes.append(f"{window_title(window)}: {tick.note}")
    name = "eFAST" if exam.extended else "FAST"
    rows.append((translate("Ultrasound", "%1 result").replace("%1", name), "", result_text(exam.result), ""))
    title = translate("Ultrasound", "eFAST exam") if exam.extended else translate("Ultrasound", "FAST exam")
    columns = (
        translate("Ultrasound", "Window"),
        translate("Ultrasound", "Looks for"),
        translate("Ultrasound", "Finding"),
        translate("Ultrasound", "Time"),
    )
    return ReportSection(TEMPLATE_ID, title, columns, tuple(rows), (), "\n".join(notes))
