"""RECIST 1.1 target-lesion response (Eisenhauer et al., Eur J Cancer 2009). Numpy-free, Qt-free.

Target lesions are chosen at baseline: at most 5 in all and 2 per organ; measurable means a longest
diameter of at least 10 mm (CT, slice thickness <= 5 mm), or for a lymph node a short axis of at
least 15 mm. Nodes are followed by their short axis, other lesions by their longest diameter. The sum
of diameters is compared with baseline (partial response: 30 % smaller) and with the nadir, the
smallest sum so far including baseline (progression: 20 % larger AND at least 5 mm larger, or any new
lesion, or unequivocal progression of non-target disease). Complete response: every non-nodal target
gone and every target node below 10 mm short axis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from plugins.api import ReportFigure, ReportSection, translate

MAX_TARGETS = 5
MAX_PER_ORGAN = 2
MIN_LESION_MM = 10.0
MIN_NODE_MM = 15.0
NORMAL_NODE_MM = 10.0
PR_DECREASE = 0.30
PD_INCREASE = 0.20
PD_ABSOLUTE_MM = 5.0


class Response(StrEnum):
    CR = "CR"  # complete response
    PR = "PR"  # partial response
    SD = "SD"  # stable disease
    PD = "PD"  # progressive disease


@dataclass(frozen=True)
class Lesion:
    lesion_id: str
    organ: str
    is_node: bool = False
    # mm per time point (index 0 = baseline); nodes: short axis, others: longest diameter; 0 = gone
    diameters: tuple[float | None, ...] = ()

    def at(self, timepoint: int) -> float | None:
        return self.diameters[timepoint] if timepoint < len(self.diameters) else None


@dataclass(frozen=True)
class Timepoint:
    """One study: its date/label, whether new lesions or unequivocal non-target progression were seen."""

    label: str
    new_lesions: bool = False
    non_target_progression: bool = False


def default_timepoints() -> list[Timepoint]:
    """What a consult starts with: an unnamed baseline and follow-up."""
    return [Timepoint("Baseline"), Timepoint("Follow-up")]


@dataclass(frozen=True)
class Assessment:
    timepoint: int
    sum_mm: float
    baseline_mm: float
    nadir_mm: float  # smallest sum before this time point (including baseline)
    change_from_baseline: float  # fraction, negative = smaller
    change_from_nadir: float
    response: Response | None  # None at baseline
    reasons: tuple[str, ...] = ()  # English, for the report
    # why, as codes the UI phrases in its language: new_lesions, non_target, sum_increase, all_gone,
    # decrease, small_increase (>= 20 % but < 5 mm above the nadir), stable
    codes: tuple[str, ...] = ()


@dataclass
class TargetCheck:
    problems: list[str] = field(default_factory=list)  # English
    # (code, lesion id or organ, value) for the UI: none, too_many, per_organ, duplicate_id, no_baseline,
    # small_node, small_lesion
    issues: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_targets(lesions: Sequence[Lesion]) -> TargetCheck:
    """Whether these lesions may be RECIST target lesions at baseline; every problem is listed."""
    check = TargetCheck()

    def add(code: str, subject: str, value: float, text: str) -> None:
        check.issues.append((code, subject, value))
        check.problems.append(text)

    if not lesions:
        add("none", "", 0, "no target lesions")
    if len(lesions) > MAX_TARGETS:
        add("too_many", "", len(lesions), f"{len(lesions)} target lesions; at most {MAX_TARGETS}")
    for organ, count in Counter(lesion.organ.strip().lower() for lesion in lesions).items():
        if count > MAX_PER_ORGAN:
            text = f"{count} target lesions in {organ}; at most {MAX_PER_ORGAN} per organ"
            add("per_organ", organ, count, text)
    for i, n in Counter(lesion.lesion_id for lesion in lesions).items():
        if n > 1:
            add("duplicate_id", i, n, f"lesion id {i} used {n} times")
    for lesion in lesions:
        base, lid = lesion.at(0), lesion.lesion_id
        if base is None:
            add("no_baseline", lid, 0, f"{lid}: no baseline measurement")
        elif lesion.is_node and base < MIN_NODE_MM:
            text = f"{lid}: node short axis {base:g} mm < {MIN_NODE_MM:g} mm is not measurable"
            add("small_node", lid, base, text)
        elif not lesion.is_node and base < MIN_LESION_MM:
            add(
                "small_lesion",
                lid,
                base,
                f"{lid}: longest diameter {base:g} mm < {MIN_LESION_MM:g} mm is not measurable",
            )
    return check


def sum_of_diameters(lesions: Sequence[Lesion], timepoint: int) -> float | None:
    """None when a target lesion was not measured at this time point (response not evaluable)."""
    values = [lesion.at(timepoint) for lesion in lesions]
    if any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def assess(lesions: Sequence[Lesion], timepoints: Sequence[Timepoint]) -> list[Assessment]:
    """The assessment of every time point that can be evaluated (stops at the first that cannot)."""
    baseline = sum_of_diameters(lesions, 0)
    if baseline is None or not timepoints:
        return []
    out = [Assessment(0, baseline, baseline, baseline, 0.0, 0.0, None)]
    nadir = baseline
    for index in range(1, len(timepoints)):
        total = sum_of_diameters(lesions, index)
        if total is None:
            break
        tp = timepoints[index]
        from_base = (total - baseline) / baseline if baseline else 0.0
        from_nadir = (total - nadir) / nadir if nadir else (float("inf") if total > 0 else 0.0)
        reasons: list[str] = []
        codes: list[str] = []
        if tp.new_lesions:
            reasons.append("new lesion(s)")
            codes.append("new_lesions")
        if tp.non_target_progression:
            reasons.append("unequivocal progression of non-target lesions")
            codes.append("non_target")
        if total - nadir >= PD_ABSOLUTE_MM and from_nadir >= PD_INCREASE:
            codes.append("sum_increase")
            reasons.append(
                f"sum {total:g} mm is {from_nadir * 100:.0f} % and {total - nadir:g} mm "
                f"above the nadir {nadir:g} mm"
            )
        if reasons:
            response = Response.PD
        elif all(
            (lesion.at(index) or 0.0) < NORMAL_NODE_MM if lesion.is_node else (lesion.at(index) or 0.0) == 0.0
            for lesion in lesions
        ):
            response = Response.CR
            reasons.append("all target lesions gone, nodes < 10 mm short axis")
            codes.append("all_gone")
        elif from_base <= -PR_DECREASE:
            response = Response.PR
            reasons.append(f"sum {from_base * 100:.0f} % from baseline")
            codes.append("decrease")
        else:
            response = Response.SD
            if from_nadir >= PD_INCREASE:
                reasons.append(
                    f"{from_nadir * 100:.0f} % above the nadir but only {total - nadir:g} mm (< 5 mm)"
                )
                codes.append("small_increase")
            else:
                reasons.append("neither 30 % smaller than baseline nor 20 % and 5 mm above the nadir")
                codes.append("stable")
        out.append(
            Assessment(
                index, total, baseline, nadir, from_base, from_nadir, response, tuple(reasons), tuple(codes)
            )
        )
        nadir = min(nadir, total)
    return out


def report_text(lesions: Sequence[Lesion], timepoints: Sequence[Timepoint]) -> str | None:
    results = assess(lesions, timepoints)
    if not results:
        return None
    lines = [f"RECIST 1.1, {len(lesions)} target lesion(s)"]
    for lesion in lesions:
        kind = "node, short axis" if lesion.is_node else "longest diameter"
        values = " -> ".join("n/a" if d is None else f"{d:g}" for d in lesion.diameters)
        lines.append(f"  {lesion.lesion_id} ({lesion.organ}, {kind}): {values} mm")
    for a in results:
        label = timepoints[a.timepoint].label
        if a.response is None:
            lines.append(f"{label}: baseline sum {a.sum_mm:g} mm")
        else:
            lines.append(
                f"{label}: sum {a.sum_mm:g} mm ({a.change_from_baseline * 100:+.0f} % vs baseline, "
                f"nadir {a.nadir_mm:g} mm): {a.response.value} - {'; '.join(a.reasons)}"
            )
    return "\n".join(lines)


class RecistRecord(Protocol):
    """The lesions and timepoints of one consult: the panel edits them and the note section reads them.
    The plugin empties them when the consult changes or ends, before the panel hears of it."""

    lesions: list[Lesion]
    timepoints: list[Timepoint]


def response_name(response: Response) -> str:
    return {
        Response.CR: translate("Oncology", "Complete response (CR)"),
        Response.PR: translate("Oncology", "Partial response (PR)"),
        Response.SD: translate("Oncology", "Stable disease (SD)"),
        Response.PD: translate("Oncology", "Progressive disease (PD)"),
    }[response]


def reason_text(code: str, a: Assessment) -> str:
    template = {
        "new_lesions": translate("Oncology", "new lesion(s)"),
        "non_target": translate("Oncology", "unequivocal progression of non-target lesions"),
        "sum_increase": translate("Oncology", "sum %1 mm is %2 % and %3 mm above the nadir"),
        "all_gone": translate("Oncology", "all target lesions gone, nodes < 10 mm short axis"),
        "decrease": translate("Oncology", "sum %4 % from baseline"),
        "small_increase": translate("Oncology", "%2 % above the nadir but only %3 mm (< 5 mm)"),
        "stable": translate(
            "Oncology", "neither 30 % smaller than baseline nor 20 % and 5 mm above the nadir"
        ),
    }[code]
    return (
        template.replace("%1", f"{a.sum_mm:g}")
        .replace("%2", f"{a.change_from_nadir * 100:.0f}")
        .replace("%3", f"{a.sum_mm - a.nadir_mm:g}")
        .replace("%4", f"{a.change_from_baseline * 100:.0f}")
    )


TEMPLATE_ID = "oncology.recist"


def timepoint_label(timepoint: Timepoint) -> str:
    """The study's label as entered; the unnamed defaults translated."""
    return {
        "Baseline": translate("Oncology", "Baseline"),
        "Follow-up": translate("Oncology", "Follow-up"),
    }.get(timepoint.label, timepoint.label)


def report_section(lesions: Sequence[Lesion], timepoints: Sequence[Timepoint]) -> ReportSection | None:
    """The RECIST 1.1 table of the report (translated): one row per target lesion with its diameter at
    every time point, then the sum of diameters, the change from baseline and the response; the
    diameters, sums and changes as figures. None without target lesions."""
    if not lesions or not timepoints:
        return None
    results = {a.timepoint: a for a in assess(lesions, timepoints)}
    labels = [timepoint_label(tp) for tp in timepoints]
    blank = ("", "", "")
    not_measured = translate("Oncology", "not measured")
    method_ld = translate("Oncology", "RECIST 1.1, longest diameter")
    method_sa = translate("Oncology", "RECIST 1.1, node short axis")
    method_sum = translate("Oncology", "RECIST 1.1, sum of diameters")
    rows: list[tuple[str, ...]] = []
    figures: list[ReportFigure] = []
    for lesion in lesions:
        kind = (
            translate("Oncology", "node, short axis")
            if lesion.is_node
            else translate("Oncology", "longest diameter")
        )
        cells = []
        for index, label in enumerate(labels):
            value = lesion.at(index)
            cells.append(not_measured if value is None else f"{value:g}")
            if value is not None:
                figures.append(
                    ReportFigure(
                        f"{lesion.lesion_id} ({lesion.organ}), {label}",
                        float(value),
                        "mm",
                        method_sa if lesion.is_node else method_ld,
                    )
                )
        rows.append((lesion.lesion_id, lesion.organ, kind, *cells))

    sums = [sum_of_diameters(lesions, index) for index in range(len(timepoints))]
    sum_label = translate("Oncology", "Sum of diameters")
    rows.append((sum_label, *blank[1:], *("-" if s is None else f"{s:g}" for s in sums)))
    change_label = translate("Oncology", "Change from baseline")
    nadir_label = translate("Oncology", "Change from nadir")
    changes, responses = [], []
    for index, label in enumerate(labels):
        a = results.get(index)
        if a is not None:
            figures.append(ReportFigure(f"{sum_label}, {label}", a.sum_mm, "mm", method_sum))
        if a is None or a.response is None:
            changes.append("-")
            responses.append("-" if a is None else translate("Oncology", "baseline"))
            continue
        changes.append(f"{a.change_from_baseline * 100:+.0f} %")
        responses.append(a.response.value)
        figures.append(
            ReportFigure(f"{change_label}, {label}", round(a.change_from_baseline * 100, 1), "%", method_sum)
        )
        figures.append(
            ReportFigure(f"{nadir_label}, {label}", round(a.change_from_nadir * 100, 1), "%", method_sum)
        )
    rows.append((change_label, *blank[1:], *changes))
    rows.append((translate("Oncology", "Response"), *blank[1:], *responses))

    latest = max(
        (a for a in results.values() if a.response is not None), key=lambda a: a.timepoint, default=None
    )
    if latest is not None and latest.response is not None:
        why = "; ".join(reason_text(code, latest) for code in latest.codes)
        note = f"{labels[latest.timepoint]}: {response_name(latest.response)}: {why}"
    else:
        note = translate("Oncology", "Response not evaluable: a target lesion was not measured.")
    columns = (
        translate("Oncology", "Lesion"),
        translate("Oncology", "Organ"),
        translate("Oncology", "Measured"),
        *(translate("Oncology", "%1 (mm)").replace("%1", label) for label in labels),
    )
    return ReportSection(
        TEMPLATE_ID,
        translate("Oncology", "Tumour response (RECIST 1.1)"),
        columns,
        tuple(rows),
        tuple(figures),
        note,
    )
