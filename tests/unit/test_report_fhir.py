"""The consult report as a FHIR R4 transaction Bundle (core/report/fhir.py), checked by two validators that
are not the code that built it: HL7's R4 JSON schema and FHIR.js (tests/fhir_validate.py)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from core.report.fhir import (
    diagnostic_status,
    export,
    report_bundle,
    validate_bundle,
)
from core.report.model import Kind, PatientRef, Report, Status
from tests.fhir_validate import fhirjs_bundle, schema_errors
from tests.report_samples import COSIGNER, sample_report

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SIGNED = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
COSIGNED = datetime(2026, 12, 7, 10, 20, tzinfo=UTC)


def _final(report: Report) -> Report:
    return report.with_status(Status.FINAL, cosigner=COSIGNER, signed_at=SIGNED, cosigned_at=COSIGNED)


def _correction(report: Report) -> Report:
    return replace(
        _final(report),
        version=2,
        kind=Kind.CORRECTION,
        supersedes=1,
        impression="NSTEMI likely. Pulmonary nodule 9 mm (was written 19 mm).",
    )


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _one(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    found = _resources(bundle, kind)
    assert len(found) == 1, f"{len(found)} {kind} in the bundle"
    return found[0]


VARIANTS = {
    "draft": lambda r: r,
    "final": _final,
    "correction": _correction,
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_bundle_passes_both_validators(variant: str) -> None:
    report = VARIANTS[variant](sample_report(None, measurements=20, key_images=10))
    bundle = report_bundle(report, pdf=PDF)

    assert validate_bundle(bundle) == []
    schema = schema_errors(bundle)
    assert schema == [], "HL7's R4 JSON schema:\n" + "\n".join(schema)
    fhirjs = fhirjs_bundle(bundle)
    print(f"\n[{variant}] FHIR.js: {len(fhirjs.errors)} errors, {len(fhirjs.warnings)} warnings")
    for w in sorted({w.split(": ", 1)[1] for w in fhirjs.warnings}):
        print("  warning:", w)
    assert fhirjs.errors == [], "FHIR.js:\n" + "\n".join(fhirjs.errors)
    assert _one(bundle, "DiagnosticReport")["status"] == diagnostic_status(report)


def test_the_validators_catch_what_is_wrong() -> None:
    """Both validators reject a bundle with a wrong code and an unknown element: they are not blind."""
    bundle = report_bundle(sample_report(None))
    bad = json.loads(json.dumps(bundle))
    patient = _one(bad, "Patient")
    patient["gender"] = "man"
    _one(bad, "DiagnosticReport")["conclusionText"] = "not an R4 element"

    schema = schema_errors(bad)
    assert any("gender" in e and "'man'" in e for e in schema), schema
    assert any("conclusionText" in e for e in schema), schema
    fhirjs = fhirjs_bundle(bad)
    assert any("Patient.gender" in e for e in fhirjs.errors), fhirjs.errors
    assert any("conclusionText" in e for e in fhirjs.errors), fhirjs.errors


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (Status.DRAFT, Kind.ORIGINAL, "preliminary"),
        (Status.PENDING, Kind.ORIGINAL, "preliminary"),
        (Status.PENDING, Kind.CORRECTION, "preliminary"),
        (Status.FINAL, Kind.ORIGINAL, "final"),
        (Status.FINAL, Kind.ADDENDUM, "appended"),
        (Status.FINAL, Kind.AMENDMENT, "amended"),
        (Status.FINAL, Kind.CORRECTION, "corrected"),
    ],
)
def test_status_mapping(status: Status, kind: Kind, expected: str) -> None:
    report = replace(
        sample_report(None), status=status, kind=kind, supersedes=None if kind is Kind.ORIGINAL else 1
    )
    assert diagnostic_status(report) == expected
    bundle = report_bundle(report)
    assert _one(bundle, "DiagnosticReport")["status"] == expected
    request = _one(bundle, "ServiceRequest")
    assert request["status"] == ("completed" if status is Status.FINAL else "active")


def test_every_measurement_is_an_observation_with_a_ucum_quantity() -> None:
    report = sample_report(None, measurements=20, key_images=10)
    bundle = report_bundle(report)
    observations = _resources(bundle, "Observation")
    by_id = {o["identifier"][0]["value"].rsplit("/", 1)[1]: o for o in observations if o.get("identifier")}
    study_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ImagingStudy")
    measurements = report.all_measurements()
    assert len(measurements) == 23  # 20 on the images and the ECG section's 3
    for m in measurements:
        o = by_id[m.id]
        q = o["valueQuantity"]
        assert q == {"value": m.value, "unit": m.unit, "system": "http://unitsofmeasure.org", "code": m.unit}
        assert o["code"]["text"] == m.label
        assert o["method"]["text"] == m.method
        if m.code:
            assert o["code"]["coding"] == [
                {"system": m.code.system, "code": m.code.code, "display": m.code.display}
            ]
        if m.images:
            assert o["derivedFrom"] == [{"reference": study_url}]
            assert m.images[0].sop_instance_uid in o["note"][0]["text"]
    report_json = _one(bundle, "DiagnosticReport")
    results = {r["reference"] for r in report_json["result"]}
    observation_urls = {
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    }
    assert results == observation_urls  # the measurements, the vitals and NEWS2


def test_vitals_and_news2() -> None:
    report = sample_report(None)
    assert report.vitals is not None
    report = replace(report, vitals=replace(report.vitals, news2_missing=("consciousness",)))
    bundle = report_bundle(report)
    vitals = [
        o for o in _resources(bundle, "Observation") if o["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    codes = {c["code"] for o in vitals for c in o["code"]["coding"]}
    assert {"8867-4", "2708-6", "59408-5", "9279-1", "8310-5", "85354-9"} <= codes
    bp = next(o for o in vitals if o["code"]["coding"][0]["code"] == "85354-9")
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]] == [
        ("8480-6", 98.0),
        ("8462-4", 60.0),
    ]
    assert all(o["effectiveDateTime"] == "2026-12-07T09:30:00+00:00" for o in vitals)
    news2 = next(
        o
        for o in _resources(bundle, "Observation")
        if o["code"].get("coding", [{}])[0].get("code") == "1104051000000101"
    )
    assert news2["valueInteger"] == 7
    assert "consciousness" in news2["note"][0]["text"]


def test_pdf_attachment_round_trips() -> None:
    report = _final(sample_report(None, language="zh_CN"))
    bundle = report_bundle(report, pdf=PDF)
    form = _one(bundle, "DiagnosticReport")["presentedForm"]
    assert len(form) == 1
    assert form[0]["contentType"] == "application/pdf"
    assert form[0]["language"] == "zh-CN"
    assert form[0]["size"] == len(PDF)
    assert "consult 42" in form[0]["title"]
    assert base64.b64decode(form[0]["data"]) == PDF
    # without a PDF there is no presented form (and nothing empty in its place)
    assert "presentedForm" not in _one(report_bundle(report), "DiagnosticReport")


def test_export_writes_the_bundle_atomically(tmp_path: Path) -> None:
    bundle = report_bundle(_final(sample_report(None)), pdf=PDF)
    path = export(bundle, tmp_path / "out", "consult-42-v1")
    assert path == tmp_path / "out" / "consult-42-v1.fhir.json"
    assert json.loads(path.read_text(encoding="utf-8")) == bundle
    assert [p.name for p in path.parent.iterdir()] == ["consult-42-v1.fhir.json"]  # no temporary left
    again = json.loads(path.read_text(encoding="utf-8"))
    assert base64.b64decode(_one(again, "DiagnosticReport")["presentedForm"][0]["data"]) == PDF


@pytest.mark.parametrize(
    ("sex", "gender"), [("M", "male"), ("F", "female"), ("O", "other"), ("U", "unknown"), ("", "unknown")]
)
def test_gender_mapping(sex: str, gender: str) -> None:
    report = replace(sample_report(None), patient=PatientRef("P-1", "Li^Na", sex))
    assert _one(report_bundle(report), "Patient")["gender"] == gender


def test_patient_name_identifier_and_birth_date() -> None:
    patient = _one(report_bundle(sample_report(None)), "Patient")
    assert patient["name"] == [{"use": "official", "family": "Zhang", "given": ["Wei"], "text": "Zhang Wei"}]
    assert patient["birthDate"] == date(1961, 3, 14).isoformat()
    assert patient["identifier"] == [
        {
            "use": "usual",
            "system": "urn:teleconsult:patient-id",
            "value": "P-2026-0042",
            "assigner": {"display": "County Hospital 3"},
        }
    ]
    only_family = replace(sample_report(None), patient=PatientRef("P-2", "Wang", "F"))
    assert _one(report_bundle(only_family), "Patient")["name"][0] == {
        "use": "official",
        "family": "Wang",
        "text": "Wang",
    }


def test_conditional_requests_and_versions() -> None:
    bundle = report_bundle(_correction(sample_report(None)), patient_system="urn:oid:1.2.3.4")
    requests = {e["resource"]["resourceType"]: e["request"] for e in bundle["entry"]}
    assert requests["Patient"] == {
        "method": "POST",
        "url": "Patient",
        "ifNoneExist": "identifier=urn:oid:1.2.3.4%7CP-2026-0042",
    }
    assert requests["Practitioner"]["ifNoneExist"].startswith("identifier=urn:teleconsult:username%7C")
    assert requests["ServiceRequest"]["method"] == "PUT"
    assert requests["DiagnosticReport"] == {
        "method": "PUT",
        "url": "DiagnosticReport?identifier=urn:teleconsult:consult-report-version%7C42/2",
    }
    dr = _one(bundle, "DiagnosticReport")
    systems = {i["system"]: i["value"] for i in dr["identifier"]}
    assert systems["urn:teleconsult:consult-report"] == "42"
    assert systems["urn:teleconsult:consult-report-version"] == "42/2"
    assert dr["extension"][0]["valueIdentifier"]["value"] == "42/1"
    assert "Corrects version 1" in dr["text"]["div"]
    assert dr["status"] == "corrected"
    assert dr["issued"] == COSIGNED.isoformat()
    assert dr["resultsInterpreter"][0]["display"] == COSIGNER.display_name
    request = _one(bundle, "ServiceRequest")
    assert request["priority"] == "urgent"
    assert request["code"]["coding"][0]["code"] == "11797002"
    assert request["reasonCode"][0]["text"].startswith("Chest pain")
    assert dr["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "11488-4",
        "display": "Consult note",
    }


def test_a_broken_reference_is_reported() -> None:
    bundle = report_bundle(sample_report(None))
    assert validate_bundle(bundle) == []
    broken = json.loads(json.dumps(bundle))
    _one(broken, "DiagnosticReport")["subject"]["reference"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    problems = validate_bundle(broken)
    assert len(problems) == 1
    assert "DiagnosticReport.subject" in problems[0]
    assert "not in the bundle" in problems[0]

    no_report = json.loads(json.dumps(bundle))
    no_report["entry"] = [
        e for e in no_report["entry"] if e["resource"]["resourceType"] != "DiagnosticReport"
    ]
    assert any("0 DiagnosticReports" in p for p in validate_bundle(no_report))

    wrong_type = json.loads(json.dumps(bundle))
    _one(wrong_type, "Patient")["birthDate"] = 19610314
    assert any("not a valid FHIR R4 Bundle" in p for p in validate_bundle(wrong_type))


def test_time_to_build_the_bundle() -> None:
    report = _final(sample_report(None, measurements=20, key_images=10))
    report_bundle(report, pdf=PDF)  # warm-up: imports
    runs = 20
    start = time.perf_counter()
    for _ in range(runs):
        bundle = report_bundle(report, pdf=PDF)
    per = (time.perf_counter() - start) / runs
    size = len(json.dumps(bundle))
    print(
        f"\nFHIR bundle for 20 measurements + 10 key images: {len(bundle['entry'])} entries, "
        f"{size / 1024:.0f} KiB JSON, {per * 1000:.1f} ms to build (mean of {runs})"
    )
    # Patient, 3 Practitioners, ServiceRequest, ImagingStudy, 23 measurements, 5 vitals + NEWS2,
    # 10 key images (Media), DiagnosticReport
    assert len(bundle["entry"]) == 46
