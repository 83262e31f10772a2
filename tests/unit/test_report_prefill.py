"""The report prefilled from the consult and the workstation (core/report/prefill.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from core.report.model import Clinician, ImageRef, Report, Status
from core.report.prefill import (
    ImagingReading,
    build_report,
    consult_vitals,
    measurements_from_readings,
    section_from_plugin,
    vitals_snapshot,
)
from core.vitals.news2 import news2_score

AUTHOR = Clinician("dr.chen", "Chen Jing", "specialist", "cardiology")
REF = ImageRef("1.2.3", "1.2.3.4", "1.2.3.4.5", "1.2.840.10008.5.1.4.1.1.2")

CONSULT = {
    "id": 42,
    "state": "in_session",
    "identity": "full",
    "patient": {"patient_id": "P-2026-0042", "name": "Zhang^Wei", "sex": "M", "birth_date": "1961-03-14"},
    "question": "Chest pain for 3 hours. Transfer?",
    "urgency": "urgent",
    "specialty": "cardiology",
    "study": {"study_instance_uid": "1.2.3", "source": "county-pacs"},
    "requested_by": {
        "id": 2,
        "username": "dr.li",
        "display_name": "Li Ming",
        "role": "county_doctor",
        "specialties": [],
    },
    "accepted_by": None,
    "vitals": {
        "taken_at": "2026-12-07T09:30:00+00:00",
        "numerics": {"HR": {"value": 72.0, "unit": "/min"}, "SpO2": {"value": 97.0, "unit": "%"}},
    },
}


def test_build_report_fills_the_request_from_the_consult() -> None:
    report = build_report(CONSULT, AUTHOR, language="zh_CN")
    assert report.consult_id == 42
    assert report.patient.patient_id == "P-2026-0042"
    assert report.patient.name == "Zhang^Wei"
    assert report.patient.sex == "M"
    assert report.patient.birth_date == date(1961, 3, 14)
    assert report.question == "Chest pain for 3 hours. Transfer?"
    assert report.urgency == "urgent"
    assert report.specialty == "cardiology"
    assert report.study_uid == "1.2.3"
    assert report.requested_by is not None and report.requested_by.display_name == "Li Ming"
    assert report.requested_by.role == "county_doctor"
    assert report.author == AUTHOR
    assert report.status is Status.DRAFT
    assert report.language == "zh_CN"
    # the findings and the impression are the specialist's: never invented
    assert report.findings == "" and report.impression == ""
    assert report.problems() == ["The impression is empty."]
    # no live snapshot: the one sent with the request is used, with NEWS2 on what it holds
    assert report.vitals is not None
    assert report.vitals.get("hr") is not None and report.vitals.get("hr").value == 72.0  # type: ignore[union-attr]
    assert report.vitals.taken_at == datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    assert set(report.vitals.news2_missing) == {"rr", "sys", "temp"}
    # and it survives the backend's JSON
    assert Report.from_json(report.to_json()).patient == report.patient


def test_withheld_identity_gives_a_report_that_cannot_be_signed() -> None:
    consult = {**CONSULT, "identity": "withheld", "patient": None, "urgency": "whenever"}
    report = build_report(consult, AUTHOR)
    assert report.patient.name == "" and report.patient.patient_id == ""
    assert report.urgency == "routine"  # an unknown urgency is not carried into the report
    assert "The patient's name and id are both needed." in report.problems()


def test_readings_become_ucum_measurements_and_refused_or_pixel_ones_are_left_out() -> None:
    readings = [
        ImagingReading("9.50 mm", 9.5, "mm", "distance", images=(REF,)),
        ImagingReading("Area 40.00 mm²", 40.0, "mm²", "ellipse"),
        ImagingReading("Area 12.0 mm²", 12.0, "mm²", "polygon"),
        ImagingReading("33.0°", 33.0, "°", "angle"),
        ImagingReading("120 px, not calibrated", 120.0, "px", "distance"),
        ImagingReading("Area 300 px²", 300.0, "px²", "ellipse"),
        ImagingReading("Not measured: outside the regions", None, "", "distance", refused="outside"),
        ImagingReading("refused with a value", 5.0, "mm", "distance", refused="different regions"),
    ]
    ms = measurements_from_readings(readings)
    assert [(m.value, m.unit, m.method) for m in ms] == [
        (9.5, "mm", "distance"),
        (40.0, "mm2", "ellipse area"),
        (12.0, "mm2", "polygon area"),
        (33.0, "deg", "angle"),
    ]
    assert ms[0].images == (REF,)
    report = build_report(CONSULT, AUTHOR, measurements=ms)
    assert report.measurements == tuple(ms)
    assert report.all_images() == (REF,)


def test_vitals_snapshot_scores_news2_on_what_the_monitor_knows() -> None:
    when = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    numerics = {
        "hr": 112.0,
        "spo2": 93.0,
        "rr": 22.0,
        "nibp_sys": 98.0,
        "nibp_dia": 60.0,
        "abp_sys": 150.0,  # the cuff is charted before the arterial line
        "temp": 38.2,
        "etco2": float("nan"),
    }
    snap = vitals_snapshot(numerics, when)
    assert snap is not None
    assert snap.taken_at == when
    assert [(v.name, v.value, v.unit) for v in snap.values] == [
        ("hr", 112.0, "/min"),
        ("spo2", 93.0, "%"),
        ("rr", 22.0, "/min"),
        ("sys", 98.0, "mm[Hg]"),
        ("dia", 60.0, "mm[Hg]"),
        ("temp", 38.2, "Cel"),
    ]
    expected = news2_score(rr=22.0, spo2=93.0, sys=98.0, pulse=112.0, temp=38.2)
    assert snap.news2 == expected.total == 9  # RR 2, SpO2 2, sys 2, pulse 2, temp 1
    assert snap.news2_missing == ()
    partial = vitals_snapshot({"hr": 80.0, "spo2": None}, when)
    assert partial is not None and set(partial.news2_missing) == {"rr", "sys", "temp", "spo2"}
    assert vitals_snapshot({"hr": None, "spo2": float("nan")}) is None


def test_live_vitals_win_over_the_requests_snapshot() -> None:
    live = vitals_snapshot({"hr": 120.0})
    report = build_report(CONSULT, AUTHOR, vitals=live)
    assert report.vitals is live
    assert consult_vitals({"vitals": None}) is None


@dataclass(frozen=True)
class Figure:
    label: str
    value: float
    unit: str
    method: str
    code_system: str = ""
    code: str = ""
    code_display: str = ""


@dataclass(frozen=True)
class PluginSection:
    template_id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    figures: tuple[Figure, ...]
    note: str = ""


def test_plugin_section_becomes_a_report_section_with_coded_measurements() -> None:
    plugin = PluginSection(
        "cardiology.ecg",
        "ECG measurements",
        ("Measure", "Value", "Unit"),
        (("QTc", "452", "ms"), ("Heart rate", "112", "/min")),
        (
            Figure("QTc interval", 452.0, "ms", "ECG interval (Bazett)", "http://loinc.org", "8636-3", ""),
            Figure("Heart rate", 112.0, "/min", "ECG beat detection"),
            Figure("No value", float("nan"), "ms", "ECG interval"),
        ),
        "Bazett",
    )
    section = section_from_plugin(plugin)
    assert section.template_id == "cardiology.ecg"
    assert section.rows == (("QTc", "452", "ms"), ("Heart rate", "112", "/min"))
    assert section.note == "Bazett"
    assert [m.label for m in section.measurements] == ["QTc interval", "Heart rate"]
    qtc = section.measurements[0]
    assert qtc.code is not None and (qtc.code.system, qtc.code.code) == ("http://loinc.org", "8636-3")
    assert qtc.code.display == "QTc interval"  # no display given: the label stands in
    assert section.measurements[1].code is None
    report = build_report(CONSULT, AUTHOR, sections=[section])
    assert [m.label for m in report.all_measurements()] == ["QTc interval", "Heart rate"]
