"""The report filled from what the workstation already knows: the consult, the imaging panel's
measurements, the monitor's latest numerics, the plugins' sections. Qt-free.

The specialist then only writes what no machine knows (findings, impression, recommendations). Nothing
uncertain is passed off as a figure: a measurement the viewer refused, or one only in pixels, is not
a millimetre and is left out; a vital sign nobody measured is absent, and NEWS2 then says what it
could not score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

from core.report.model import (
    URGENCIES,
    Clinician,
    Coding,
    ImageRef,
    KeyImage,
    Measurement,
    PatientRef,
    Report,
    Section,
    VitalSign,
    VitalsSnapshot,
)
from core.vitals.news2 import news2_score

# The viewer's units (viewers/measure.py Reading.unit) as UCUM; a unit not here (px, px², "?") is
# not a physical figure and never enters a report.
UCUM_UNITS: dict[str, str] = {
    "mm": "mm",
    "mm²": "mm2",
    "mm2": "mm2",
    "°": "deg",
    "deg": "deg",
    "cm": "cm",
    "cm²": "cm2",
    "cm/s": "cm/s",
    "s": "s",
    "ms": "ms",
    "Hz": "Hz",
    "dB": "dB",
}

# The viewer's measurement kinds (viewers/measure.py Kind) as the report names its method.
METHODS: dict[str, str] = {
    "distance": "distance",
    "ellipse": "ellipse area",
    "polygon": "polygon area",
    "angle": "angle",
}

# The monitor's numerics (core.vitals.signals.Numeric values) as report vital signs, with UCUM units;
# the first one present of each name wins (NIBP before the arterial line, as charted).
VITAL_SOURCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("hr", ("hr", "pulse"), "/min"),
    ("spo2", ("spo2",), "%"),
    ("rr", ("rr",), "/min"),
    ("sys", ("nibp_sys", "abp_sys", "sys"), "mm[Hg]"),
    ("dia", ("nibp_dia", "abp_dia", "dia"), "mm[Hg]"),
    ("map", ("nibp_mean", "abp_mean", "map"), "mm[Hg]"),
    ("temp", ("temp",), "Cel"),
)


@dataclass(frozen=True)
class ImagingReading:
    """One measurement as the imaging panel reads it (viewers/measure.py ``Reading`` and ``Kind``),
    with the images it was made on: what :func:`measurements_from_readings` turns into report figures."""

    label: str
    value: float | None
    unit: str  # the viewer's unit: "mm", "mm²", "°", "px", ...
    kind: str  # distance | angle | ellipse | polygon
    refused: str = ""  # why the viewer gave no figure
    images: tuple[ImageRef, ...] = ()
    id: str = ""


class FigureLike(Protocol):
    """plugins.api.ReportFigure, as far as a report needs it (core does not import plugins)."""

    label: str
    value: float
    unit: str
    method: str
    code_system: str
    code: str
    code_display: str


class SectionLike(Protocol):
    """plugins.api.ReportSection, as far as a report needs it."""

    template_id: str
    title: Any  # text, or a zero-argument callable giving it
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    figures: Sequence[Any]
    note: str


def imaging_label(kind: str, number: int) -> str:
    """A measurement's name in the report ("Length 2", "Area 1"): the figure itself is in its own
    column, so the viewer's reading text ("Area 70.37 mm²") is not repeated as the name."""
    from core.i18n import tr

    names = {
        "distance": tr("Report", "Length"),
        "angle": tr("Report", "Angle"),
        "ellipse": tr("Report", "Area"),
        "polygon": tr("Report", "Area"),
    }
    return f"{names.get(kind, kind.capitalize())} {number}"


def ucum_unit(unit: str) -> str | None:
    """The viewer's unit in UCUM, or None where it is no physical unit (pixels) or unknown."""
    return UCUM_UNITS.get(unit.strip())


def measurement_from_reading(reading: ImagingReading) -> Measurement | None:
    """The reading as a report measurement, or None when it is no figure in a physical unit (refused,
    in pixels, no single value)."""
    if reading.refused or reading.value is None or not math.isfinite(reading.value):
        return None
    unit = ucum_unit(reading.unit)
    if unit is None:
        return None
    method = METHODS.get(reading.kind, reading.kind)
    made = Measurement(reading.label, float(reading.value), unit, method, reading.images)
    return replace(made, id=reading.id) if reading.id else made


def measurements_from_readings(readings: Iterable[ImagingReading]) -> list[Measurement]:
    """Every reading that is a figure in a physical unit, in order; refused and pixel readings left out."""
    return [m for r in readings if (m := measurement_from_reading(r)) is not None]


def vitals_snapshot(
    numerics: Mapping[str, float | None], taken_at: datetime | None = None
) -> VitalsSnapshot | None:
    """The monitor's latest numerics (``{"hr": 112.0, "nibp_sys": 98.0, ...}``, None or NaN for none)
    as a snapshot with NEWS2 (scored on what is known; ``news2_missing`` names the rest); None when no
    vital sign is known at all."""

    def known(name: str) -> float | None:
        value = numerics.get(name)
        return float(value) if value is not None and math.isfinite(value) else None

    values: list[VitalSign] = []
    for name, sources, unit in VITAL_SOURCES:
        value = next((v for s in sources if (v := known(s)) is not None), None)
        if value is not None:
            values.append(VitalSign(name, value, unit))
    if not values:
        return None
    by_name = {v.name: v.value for v in values}
    score = news2_score(
        rr=by_name.get("rr"),
        spo2=by_name.get("spo2"),
        sys=by_name.get("sys"),
        pulse=by_name.get("hr"),
        temp=by_name.get("temp"),
    )
    return VitalsSnapshot(
        taken_at=taken_at or datetime.now(UTC),
        values=tuple(values),
        news2=score.total,
        news2_missing=score.missing,
    )


def consult_vitals(consult: Mapping[str, Any]) -> VitalsSnapshot | None:
    """The vitals snapshot the county doctor sent with the request (ConsultOut ``vitals``), if any."""
    data = consult.get("vitals") or {}
    numerics = data.get("numerics") or {}
    if not numerics:
        return None
    values: dict[str, float | None] = {}
    for label, numeric in numerics.items():
        value = numeric.get("value") if isinstance(numeric, Mapping) else numeric
        try:
            values[str(label).lower()] = float(value) if value is not None else None
        except (TypeError, ValueError):
            continue
    taken = data.get("taken_at")
    when = _aware(datetime.fromisoformat(taken)) if isinstance(taken, str) else None
    return vitals_snapshot(values, when)


def section_from_plugin(section: SectionLike) -> Section:
    """A plugin's ReportSection as a report section; its figures become coded measurements."""
    measurements = []
    for figure in section.figures:
        value = float(figure.value)
        if not math.isfinite(value) or not figure.unit:
            continue
        code = (
            Coding(figure.code_system, figure.code, figure.code_display or figure.label)
            if getattr(figure, "code_system", "") and getattr(figure, "code", "")
            else None
        )
        measurements.append(Measurement(figure.label, value, figure.unit, figure.method, code=code))
    return Section(
        template_id=section.template_id,
        title=str(section.title() if callable(section.title) else section.title),
        columns=tuple(str(c) for c in section.columns),
        rows=tuple(tuple(str(cell) for cell in row) for row in section.rows),
        measurements=tuple(measurements),
        note=section.note or "",
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def patient_of(consult: Mapping[str, Any]) -> PatientRef:
    """The consult's patient (ConsultOut ``patient``); empty name and id when the identity is withheld
    (such a report cannot be signed: :meth:`Report.problems` says so)."""
    p = consult.get("patient") or {}
    birth = p.get("birth_date")
    return PatientRef(
        patient_id=str(p.get("patient_id") or ""),
        name=str(p.get("name") or ""),
        sex=str(p.get("sex") or "U"),
        birth_date=date.fromisoformat(birth) if isinstance(birth, str) and birth else None,
        issuer=str(p.get("issuer") or ""),
    )


def clinician_of(user: Mapping[str, Any] | None) -> Clinician | None:
    """A ConsultOut ``UserOut`` (requested_by, accepted_by) as a clinician."""
    if not user:
        return None
    specialties = user.get("specialties") or ()
    return Clinician(
        username=str(user.get("username") or ""),
        display_name=str(user.get("display_name") or user.get("username") or ""),
        role=str(user.get("role") or "county_doctor"),
        specialty=str(specialties[0]) if specialties else "",
    )


def build_report(
    consult: Mapping[str, Any],
    author: Clinician,
    *,
    measurements: Sequence[Measurement] = (),
    key_images: Sequence[KeyImage] = (),
    vitals: VitalsSnapshot | None = None,
    sections: Sequence[Section] = (),
    language: str = "en",
) -> Report:
    """A draft report of ``consult`` (the backend's ConsultOut JSON) by ``author``: the request (question,
    history, urgency, patient, specialty, requester, study) from the consult, the figures from the
    workstation. Without a live vitals snapshot the one sent with the request is used."""
    study = consult.get("study") or {}
    urgency = str(consult.get("urgency") or "routine")
    return Report(
        consult_id=int(consult["id"]),
        patient=patient_of(consult),
        specialty=str(consult.get("specialty") or author.specialty),
        author=author,
        question=str(consult.get("question") or ""),
        history=str(consult.get("history") or ""),
        requested_by=clinician_of(consult.get("requested_by")),
        study_uid=str(study.get("study_instance_uid")) if study.get("study_instance_uid") else None,
        urgency=urgency if urgency in URGENCIES else "routine",
        measurements=tuple(measurements),
        key_images=tuple(key_images),
        vitals=vitals if vitals is not None else consult_vitals(consult),
        sections=tuple(sections),
        language=language if language in ("en", "zh_CN") else "en",
    )
