"""The consult report as a FHIR R4 (4.0.1) transaction Bundle, and the sender that posts it to a server.

Every resource is built through fhirclient's R4 models (``fhirclient.models.*``), so the library checks
the element names, the types and the required elements when the bundle is serialised (``as_json``); the
result is that JSON as a plain dict. What goes in:

* **Patient** (conditional create on its identifier): the id with its issuer as the assigner, the DICOM
  name ``Family^Given`` split into family and given, the DICOM sex as the administrative gender.
* **Practitioner** for the author, the co-signer and the requesting doctor (conditional create on the
  username).
* **ServiceRequest**, the consult request (conditional update on the consult id): SNOMED CT 11797002
  "Telemedicine consultation with patient", priority from the urgency, the question as the reason and
  the history as a note.
* **DiagnosticReport**: LOINC 11488-4 "Consult note", the status from the report's status and kind,
  ``basedOn`` the request, the impression as the conclusion, the findings, recommendations, follow-up and
  section tables in the narrative, the PDF as the presented form, key images as Media.
* **Observation** per measurement (UCUM quantities, ``derivedFrom`` the ImagingStudy, the images named in
  a note), the vitals snapshot as vital-signs Observations (LOINC, a blood-pressure panel) and NEWS2.
* **ImagingStudy** per referenced study (conditional create on the DICOM Study Instance UID), with the
  series and instances the report refers to.

Versions: every version carries the report's id (``urn:uuid:<report_uid>``), the consult's report id
shared by all its versions and a per-version identifier; a version that follows another names it in an
extension (:data:`SUPERSEDES_URL`) and its status says how (appended, amended, corrected).

No FHIR server could be installed where this was written, so besides :func:`send` the bundle can be
written to a file (:func:`export`) for a site to load.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fhirclient.models import annotation as fhir_annotation
from fhirclient.models import (
    attachment,
    bundle,
    codeableconcept,
    coding,
    diagnosticreport,
    extension,
    fhirabstractbase,
    fhirdate,
    fhirdatetime,
    fhirinstant,
    fhirreference,
    humanname,
    identifier,
    imagingstudy,
    media,
    narrative,
    observation,
    patient,
    practitioner,
    quantity,
    servicerequest,
)

from core.report.model import Clinician, ImageRef, Kind, Measurement, Report, Status

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
RFC3986 = "urn:ietf:rfc:3986"
DICOM_UID = "urn:dicom:uid"
CONSULT_SYSTEM = "urn:teleconsult:consult-id"
REPORT_SYSTEM = "urn:teleconsult:consult-report"  # one per consult, shared by every version
REPORT_VERSION_SYSTEM = "urn:teleconsult:consult-report-version"  # "<consult id>/<version>"
MEASUREMENT_SYSTEM = "urn:teleconsult:measurement"
SUPERSEDES_URL = "urn:teleconsult:fhir:StructureDefinition/report-supersedes"

TELECONSULTATION = ("11797002", "Telemedicine consultation with patient")
CONSULT_NOTE = ("11488-4", "Consult note")
NEWS2 = ("1104051000000101", "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score")

_GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown"}
_PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}
_KIND_STATUS = {
    Kind.ORIGINAL: "final",
    Kind.ADDENDUM: "appended",
    Kind.AMENDMENT: "amended",
    Kind.CORRECTION: "corrected",
}
# vital sign -> (LOINC codings, text); sys/dia go into one blood-pressure panel
_VITALS: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "hr": ((("8867-4", "Heart rate"),), "Heart rate"),
    "spo2": (
        (
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ),
        "SpO2",
    ),
    "rr": ((("9279-1", "Respiratory rate"),), "Respiratory rate"),
    "temp": ((("8310-5", "Body temperature"),), "Body temperature"),
    "map": ((("8478-0", "Mean blood pressure"),), "Mean arterial pressure"),
}
_BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
_BP_PARTS = {"sys": ("8480-6", "Systolic blood pressure"), "dia": ("8462-4", "Diastolic blood pressure")}
# DICOM SOP classes -> modality, for ImagingStudy.series.modality (required); OT where unknown
_MODALITY = {
    "1.2.840.10008.5.1.4.1.1.1": "CR",
    "1.2.840.10008.5.1.4.1.1.1.1": "DX",
    "1.2.840.10008.5.1.4.1.1.1.2": "MG",
    "1.2.840.10008.5.1.4.1.1.2": "CT",
    "1.2.840.10008.5.1.4.1.1.2.1": "CT",
    "1.2.840.10008.5.1.4.1.1.4": "MR",
    "1.2.840.10008.5.1.4.1.1.4.1": "MR",
    "1.2.840.10008.5.1.4.1.1.6.1": "US",
    "1.2.840.10008.5.1.4.1.1.3.1": "US",
    "1.2.840.10008.5.1.4.1.1.12.1": "XA",
    "1.2.840.10008.5.1.4.1.1.20": "NM",
    "1.2.840.10008.5.1.4.1.1.128": "PT",
    "1.2.840.10008.5.1.4.1.1.9.1.1": "ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "ECG",
    "1.2.840.10008.5.1.4.1.1.77.1.4": "XC",
}


class FhirSendError(RuntimeError):
    """The server refused the bundle (or could not be reached): ``issues`` are its OperationOutcome's
    issues in plain words, ``status`` the HTTP status (None when no answer came)."""

    def __init__(self, message: str, *, status: int | None = None, issues: Sequence[str] = ()) -> None:
        self.status = status
        self.issues = list(issues)
        text = message + ("".join(f"\n- {i}" for i in self.issues) if self.issues else "")
        super().__init__(text)


def diagnostic_status(report: Report) -> str:
    """DiagnosticReport.status: draft and pending are preliminary; a final version is final, appended,
    amended or corrected by its kind."""
    if report.status is not Status.FINAL:
        return "preliminary"
    return _KIND_STATUS[report.kind]


def _observation_status(report: Report) -> str:
    status = diagnostic_status(report)
    return "final" if status == "appended" else status  # Observation has no "appended"


# building through the models ----------------------------------------------------------------------


def _make(cls: Any, **fields: Any) -> Any:
    """A fhirclient model with ``fields`` set; a name the model does not have is an error here (the
    models would accept any attribute and drop it silently). None values are left unset."""
    obj = cls()
    known = {p[0] for p in obj.elementProperties()}
    for name, value in fields.items():
        if name not in known:
            raise AttributeError(f"{cls.__name__} has no element {name!r}")
        if value is not None:
            setattr(obj, name, value)
    return obj


def _coding(system: str, code: str, display: str | None = None) -> Any:
    return _make(coding.Coding, system=system, code=code, display=display or None)


def _concept(codings: Sequence[Any] = (), text: str | None = None) -> Any:
    return _make(codeableconcept.CodeableConcept, coding=list(codings) or None, text=text or None)


def _ref(full_url: str, display: str | None = None) -> Any:
    return _make(fhirreference.FHIRReference, reference=full_url, display=display or None)


def _ident(system: str, value: str, **more: Any) -> Any:
    return _make(identifier.Identifier, system=system, value=value, **more)


def _quantity(value: float, unit: str) -> Any:
    return _make(quantity.Quantity, value=float(value), unit=unit, system=UCUM, code=unit)


def _note(text: str) -> Any:
    return _make(fhir_annotation.Annotation, text=text)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _datetime(when: datetime) -> Any:
    return fhirdatetime.FHIRDateTime(_aware(when).isoformat(timespec="seconds"))


def _instant(when: datetime) -> Any:
    return fhirinstant.FHIRInstant(_aware(when).isoformat(timespec="seconds"))


def _date(when: date) -> Any:
    return fhirdate.FHIRDate(when.isoformat())


def _language(code: str) -> str:
    """The report's language (``en``, ``zh_CN``) as a BCP-47 tag (``zh-CN``)."""
    return code.replace("_", "-")


def _search(system: str, value: str) -> str:
    return "identifier=" + quote(f"{system}|{value}", safe=":/")


def _oid(uid: str) -> str:
    return f"urn:oid:{uid}"


def _div(parts: Sequence[str]) -> str:
    return '<div xmlns="http://www.w3.org/1999/xhtml">' + "".join(parts) + "</div>"


def _p(title: str, text: str) -> str:
    body = html.escape(text).replace("\n", "<br/>")
    return f"<p><b>{html.escape(title)}</b>: {body}</p>"


class _Builder:
    """One report's bundle: entries in order, with stable fullUrls derived from the report's id."""

    def __init__(self, report: Report, patient_system: str, practitioner_system: str) -> None:
        self.report = report
        self.patient_system = patient_system
        self.practitioner_system = practitioner_system
        self.entries: list[Any] = []
        self.practitioners: dict[str, str] = {}  # username -> fullUrl
        self.studies: dict[str, str] = {}  # study uid -> fullUrl

    def full_url(self, key: str) -> str:
        return "urn:uuid:" + str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"teleconsult:{self.report.report_uid}:{key}")
        )

    def add(self, key: str, resource: Any, method: str, url: str, *, if_none_exist: str | None = None) -> str:
        full = self.full_url(key)
        request = _make(bundle.BundleEntryRequest, method=method, url=url, ifNoneExist=if_none_exist)
        self.entries.append(_make(bundle.BundleEntry, fullUrl=full, resource=resource, request=request))
        return full

    # Patient, Practitioner ------------------------------------------------------------------------
    def patient(self) -> str:
        p = self.report.patient
        family, _, rest = p.name.partition("^")
        given = [g for g in rest.split("^")[:2] if g]  # DICOM: family^given^middle^prefix^suffix
        name = _make(
            humanname.HumanName,
            use="official",
            family=family or None,
            given=given or None,
            text=_person(p.name) or None,  # as the report prints it: family name first
        )
        assigner = _ref_display(p.issuer) if p.issuer else None
        res = _make(
            patient.Patient,
            identifier=[_ident(self.patient_system, p.patient_id, use="usual", assigner=assigner)],
            name=[name],
            gender=_GENDER.get(p.sex.upper(), "unknown"),
            birthDate=_date(p.birth_date) if p.birth_date else None,
        )
        search = _search(self.patient_system, p.patient_id)
        return self.add("patient", res, "POST", "Patient", if_none_exist=search)

    def practitioner(self, who: Clinician | None) -> str | None:
        if who is None:
            return None
        if who.username in self.practitioners:
            return self.practitioners[who.username]
        res = _make(
            practitioner.Practitioner,
            identifier=[_ident(self.practitioner_system, who.username)],
            name=[_make(humanname.HumanName, text=who.display_name or who.username)],
        )
        search = _search(self.practitioner_system, who.username)
        full = self.add(f"practitioner:{who.username}", res, "POST", "Practitioner", if_none_exist=search)
        self.practitioners[who.username] = full
        return full

    # ServiceRequest ---------------------------------------------------------------------------
    def service_request(self, subject: str, requester: str | None, author: str) -> str:
        r = self.report
        consult = str(r.consult_id)
        res = _make(
            servicerequest.ServiceRequest,
            identifier=[_ident(CONSULT_SYSTEM, consult)],
            status="completed" if r.status is Status.FINAL else "active",
            intent="order",
            priority=_PRIORITY.get(r.urgency, "routine"),
            code=_concept([_coding(SNOMED, *TELECONSULTATION)], "Teleconsultation"),
            subject=_ref(subject, _person(r.patient.name)),
            requester=_ref(requester, _display(r.requested_by)) if requester else None,
            performerType=_concept(text=r.specialty) if r.specialty else None,
            performer=[_ref(author, _display(r.author))],
            reasonCode=[_concept(text=r.question)] if r.question.strip() else None,
            note=[_note(r.history)] if r.history.strip() else None,
        )
        url = "ServiceRequest?" + _search(CONSULT_SYSTEM, consult)
        return self.add("service-request", res, "PUT", url)

    # ImagingStudy ---------------------------------------------------------------------------------
    def imaging_studies(self, subject: str) -> None:
        r = self.report
        images = r.all_images()
        uids = ([r.study_uid] if r.study_uid else []) + [i.study_uid for i in images]
        for study_uid in dict.fromkeys(uids):
            series: dict[str, list[ImageRef]] = {}
            for ref in images:
                if ref.study_uid == study_uid:
                    series.setdefault(ref.series_uid, []).append(ref)
            res = _make(
                imagingstudy.ImagingStudy,
                identifier=[_ident(DICOM_UID, _oid(study_uid))],
                status="available",
                subject=_ref(subject),
                numberOfSeries=len(series) or None,
                numberOfInstances=sum(len(v) for v in series.values()) or None,
                series=[self._series(uid, refs) for uid, refs in series.items()] or None,
            )
            search = _search(DICOM_UID, _oid(study_uid))
            self.studies[study_uid] = self.add(
                f"study:{study_uid}", res, "POST", "ImagingStudy", if_none_exist=search
            )

    @staticmethod
    def _series(uid: str, refs: Sequence[ImageRef]) -> Any:
        modality = _MODALITY.get(refs[0].sop_class_uid, "OT")
        instances = [
            _make(
                imagingstudy.ImagingStudySeriesInstance,
                uid=ref.sop_instance_uid,
                sopClass=_coding(RFC3986, _oid(ref.sop_class_uid)),
            )
            for ref in refs
        ]
        return _make(
            imagingstudy.ImagingStudySeries,
            uid=uid,
            modality=_coding(DCM, modality),
            numberOfInstances=len(instances),
            instance=instances,
        )

    # Observations ---------------------------------------------------------------------------------
    def measurement(self, m: Measurement, subject: str, author: str) -> str:
        r = self.report
        code = (
            _concept([_coding(m.code.system, m.code.code, m.code.display)], m.label)
            if m.code
            else _concept(text=m.label)
        )
        studies = [self.studies[s] for s in dict.fromkeys(i.study_uid for i in m.images) if s in self.studies]
        notes = [_note("Measured on " + _image_text(i)) for i in m.images]
        res = _make(
            observation.Observation,
            identifier=[_ident(MEASUREMENT_SYSTEM, f"{r.report_uid}/{m.id}")],
            status=_observation_status(r),
            category=[_concept([_coding(OBS_CATEGORY, *_category(m))])],
            code=code,
            subject=_ref(subject),
            effectiveDateTime=_datetime(r.created_at),
            performer=[_ref(author, _display(r.author))],
            valueQuantity=_quantity(m.value, m.unit),
            method=_concept(text=m.method) if m.method else None,
            derivedFrom=[_ref(s) for s in studies] or None,
            note=notes or None,
        )
        url = "Observation?" + _search(MEASUREMENT_SYSTEM, f"{r.report_uid}/{m.id}")
        return self.add(f"measurement:{m.id}", res, "PUT", url)

    def vitals(self, subject: str) -> list[str]:
        snap = self.report.vitals
        if snap is None:
            return []
        out: list[str] = []
        category = [_concept([_coding(OBS_CATEGORY, "vital-signs", "Vital Signs")])]
        status = _observation_status(self.report)
        when = _datetime(snap.taken_at)
        for v in snap.values:
            if v.name in _BP_PARTS:
                continue
            codings, text = _VITALS.get(v.name, ((), v.name))
            res = _make(
                observation.Observation,
                status=status,
                category=category,
                code=_concept([_coding(LOINC, c, d) for c, d in codings], text),
                subject=_ref(subject),
                effectiveDateTime=when,
                valueQuantity=_quantity(v.value, v.unit),
            )
            out.append(self.add(f"vital:{v.name}", res, "POST", "Observation"))
        parts = [v for v in snap.values if v.name in _BP_PARTS]
        if parts:
            components = [
                _make(
                    observation.ObservationComponent,
                    code=_concept([_coding(LOINC, *_BP_PARTS[v.name])]),
                    valueQuantity=_quantity(v.value, v.unit),
                )
                for v in parts
            ]
            res = _make(
                observation.Observation,
                status=status,
                category=category,
                code=_concept([_coding(LOINC, *_BP_PANEL)], "Blood pressure"),
                subject=_ref(subject),
                effectiveDateTime=when,
                component=components,
            )
            out.append(self.add("vital:bp", res, "POST", "Observation"))
        if snap.news2 is not None:
            missing = ", ".join(snap.news2_missing)
            note = (
                f"Not scored, no value: {missing}. The total is a lower bound."
                if snap.news2_missing
                else None
            )
            res = _make(
                observation.Observation,
                status=status,
                category=[_concept([_coding(OBS_CATEGORY, "survey", "Survey")])],
                code=_concept([_coding(SNOMED, *NEWS2)], "NEWS2"),
                subject=_ref(subject),
                effectiveDateTime=when,
                valueInteger=int(snap.news2),
                derivedFrom=[_ref(u) for u in out] or None,
                note=[_note(note)] if note else None,
            )
            out.append(self.add("vital:news2", res, "POST", "Observation"))
        return out

    # Media (the key images as shown, annotations burnt in) --------------------------------------
    def key_images(self, subject: str) -> list[Any]:
        links = []
        for n, k in enumerate(self.report.key_images):
            if not k.png:
                continue
            title = k.caption or f"Key image {n + 1}"
            res = _make(
                media.Media,
                identifier=[_ident(DICOM_UID, _oid(k.ref.sop_instance_uid))],
                status="completed",
                type=_concept(
                    [_coding("http://terminology.hl7.org/CodeSystem/media-type", "image", "Image")]
                ),
                subject=_ref(subject),
                partOf=[_ref(self.studies[k.ref.study_uid])] if k.ref.study_uid in self.studies else None,
                content=_attachment(k.png, "image/png", title, None),
                note=[_note("; ".join(k.annotations))] if k.annotations else None,
            )
            full = self.add(f"key-image:{n}", res, "POST", "Media")
            links.append(_make(diagnosticreport.DiagnosticReportMedia, link=_ref(full), comment=title))
        return links

    # DiagnosticReport -----------------------------------------------------------------------------
    def diagnostic_report(
        self,
        *,
        subject: str,
        author: str,
        cosigner: str | None,
        request: str,
        results: list[str],
        media_links: list[Any],
        pdf: bytes | None,
    ) -> str:
        r = self.report
        version_id = f"{r.consult_id}/{r.version}"
        ids = [
            _ident(RFC3986, _report_urn(r.report_uid), use="official"),
            _ident(REPORT_SYSTEM, str(r.consult_id), use="secondary"),
            _ident(REPORT_VERSION_SYSTEM, version_id),
        ]
        ext = None
        if r.supersedes is not None:
            ext = [
                _make(
                    extension.Extension,
                    url=SUPERSEDES_URL,
                    valueIdentifier=_ident(REPORT_VERSION_SYSTEM, f"{r.consult_id}/{r.supersedes}"),
                )
            ]
        issued = r.cosigned_at or r.signed_at
        category = _coding(V2_0074, "RAD", "Radiology") if self.studies else _coding(V2_0074, "OTH", "Other")
        language = _language(r.language)
        res = _make(
            diagnosticreport.DiagnosticReport,
            language=language,
            text=_make(narrative.Narrative, status="additional", div=_div(self._narrative())),
            extension=ext,
            identifier=ids,
            basedOn=[_ref(request)],
            status=diagnostic_status(r),
            category=[_concept([category], r.specialty or None)],
            code=_concept([_coding(LOINC, *CONSULT_NOTE)], "Teleconsultation report"),
            subject=_ref(subject, _person(r.patient.name)),
            effectiveDateTime=_datetime(r.created_at),
            issued=_instant(issued) if issued else None,
            performer=[_ref(author, _display(r.author))],
            resultsInterpreter=[_ref(cosigner, _display(r.cosigner))] if cosigner else None,
            result=[_ref(u) for u in results] or None,
            imagingStudy=[_ref(u) for u in self.studies.values()] or None,
            media=media_links or None,
            conclusion=r.impression or None,
            presentedForm=[_attachment(pdf, "application/pdf", _pdf_title(r), language, r.signed_at)]
            if pdf
            else None,
        )
        url = "DiagnosticReport?" + _search(REPORT_VERSION_SYSTEM, version_id)
        return self.add("diagnostic-report", res, "PUT", url)

    def _narrative(self) -> list[str]:
        r = self.report
        parts = [f"<h3>{html.escape(_pdf_title(r))}</h3>"]
        if r.supersedes is not None:
            what = {Kind.ADDENDUM: "An addendum to", Kind.AMENDMENT: "Amends", Kind.CORRECTION: "Corrects"}
            lead = what.get(r.kind, "Follows")
            parts.append(f"<p>{html.escape(f'{lead} version {r.supersedes} of this report.')}</p>")
        for title, text in (
            ("Question", r.question),
            ("Findings", r.findings),
            ("Impression", r.impression),
            ("Recommendations", r.recommendations),
            ("Follow-up", r.follow_up),
        ):
            if text.strip():
                parts.append(_p(title, text))
        for s in r.sections:
            parts.append(f"<h4>{html.escape(s.title)}</h4>")
            if s.rows:
                head = "".join(f"<th>{html.escape(c)}</th>" for c in s.columns)
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in s.rows
                )
                parts.append(f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>")
            if s.note.strip():
                parts.append(_p("Note", s.note))
        return parts

    def build(self, pdf: bytes | None) -> dict[str, Any]:
        r = self.report
        subject = self.patient()
        author = self.practitioner(r.author)
        assert author is not None
        cosigner = self.practitioner(r.cosigner)
        requester = self.practitioner(r.requested_by)
        request = self.service_request(subject, requester, author)
        self.imaging_studies(subject)
        results = [self.measurement(m, subject, author) for m in r.all_measurements()]
        results += self.vitals(subject)
        media_links = self.key_images(subject)
        self.diagnostic_report(
            subject=subject,
            author=author,
            cosigner=cosigner,
            request=request,
            results=results,
            media_links=media_links,
            pdf=pdf,
        )
        b = _make(
            bundle.Bundle,
            type="transaction",
            timestamp=_instant(datetime.now(UTC)),
            entry=self.entries,
        )
        out: dict[str, Any] = b.as_json()
        return out


def _ref_display(text: str) -> Any:
    return _make(fhirreference.FHIRReference, display=text)


def _person(dicom_name: str) -> str:
    return " ".join(part for part in dicom_name.split("^") if part)


def _display(who: Clinician | None) -> str | None:
    return (who.display_name or who.username) if who else None


def _category(m: Measurement) -> tuple[str, str]:
    return ("imaging", "Imaging") if m.images else ("procedure", "Procedure")


def _image_text(ref: ImageRef) -> str:
    frame = f", frame {ref.frame}" if ref.frame else ""
    return f"SOP instance {ref.sop_instance_uid} (series {ref.series_uid}{frame})"


def _report_urn(report_uid: str) -> str:
    try:
        return f"urn:uuid:{uuid.UUID(report_uid)}"
    except ValueError:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'teleconsult:report:' + report_uid)}"


def _pdf_title(r: Report) -> str:
    return f"Teleconsultation report, consult {r.consult_id}, version {r.version}"


def _attachment(data: bytes, content_type: str, title: str, language: str | None, when: Any = None) -> Any:
    return _make(
        attachment.Attachment,
        contentType=content_type,
        language=language,
        data=base64.b64encode(data).decode("ascii"),
        size=len(data),
        hash=base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
        title=title,
        creation=_datetime(when) if isinstance(when, datetime) else None,
    )


def report_bundle(
    report: Report,
    *,
    pdf: bytes | None = None,
    patient_system: str = "urn:teleconsult:patient-id",
    practitioner_system: str = "urn:teleconsult:username",
) -> dict[str, Any]:
    """The report as a FHIR R4 ``transaction`` Bundle (a JSON dict), built and checked by fhirclient's
    models. ``pdf`` (the rendered report) goes in as DiagnosticReport.presentedForm."""
    return _Builder(report, patient_system, practitioner_system).build(pdf)


# checks ----------------------------------------------------------------------------------------


def _references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield path, ref
        for k, v in value.items():
            yield from _references(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _references(v, f"{path}[{i}]")


def validate_bundle(bundle_json: dict[str, Any]) -> list[str]:
    """What a sender checks before posting, in plain words; empty when the bundle may go: it parses as
    an R4 Bundle (fhirclient, strict: known elements, right types, required elements), it is a
    transaction with one DiagnosticReport, every entry has a unique fullUrl and a request, and every
    reference points at an entry of the bundle."""
    problems: list[str] = []
    try:
        parsed = bundle.Bundle(bundle_json, strict=True)
        parsed.as_json()  # the required elements are checked on the way out
    except fhirabstractbase.FHIRValidationError as e:
        problems.append(f"The bundle is not a valid FHIR R4 Bundle: {e}")
    except Exception as e:  # e.g. a resourceType fhirclient does not know
        problems.append(f"The bundle could not be read as FHIR R4: {e}")
    if bundle_json.get("resourceType") != "Bundle":
        problems.append("It is not a Bundle.")
        return problems
    if bundle_json.get("type") != "transaction":
        problems.append(f"The bundle's type is {bundle_json.get('type')!r}, not 'transaction'.")
    entries = bundle_json.get("entry") or []
    urls: dict[str, int] = {}
    for n, entry in enumerate(entries):
        full = entry.get("fullUrl")
        kind = (entry.get("resource") or {}).get("resourceType", "?")
        if not full:
            problems.append(f"Entry {n} ({kind}) has no fullUrl.")
        elif full in urls:
            problems.append(f"Entry {n} ({kind}) has the same fullUrl as entry {urls[full]}: {full}.")
        else:
            urls[full] = n
        if not entry.get("request"):
            problems.append(f"Entry {n} ({kind}) has no request (method and url).")
    for n, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType", "?")
        for path, ref in _references(resource, kind):
            if ref not in urls:
                problems.append(f"{path} in entry {n} points at {ref}, which is not in the bundle.")
    reports = [e for e in entries if (e.get("resource") or {}).get("resourceType") == "DiagnosticReport"]
    if len(reports) != 1:
        problems.append(f"The bundle has {len(reports)} DiagnosticReports; it needs exactly one.")
    return problems


# out -------------------------------------------------------------------------------------------


def export(bundle_json: dict[str, Any], folder: Path, name: str) -> Path:
    """Write the bundle to ``folder/<name>.fhir.json`` atomically (a temporary file, then a rename), for
    a site without a reachable FHIR server to load; returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.fhir.json"
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(bundle_json, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def outcome_issues(outcome: Any) -> list[str]:
    """An OperationOutcome's issues in plain words: ``severity: text (at where)``."""
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return []
    out = []
    for issue in outcome.get("issue") or []:
        text = (
            (issue.get("details") or {}).get("text")
            or issue.get("diagnostics")
            or issue.get("code")
            or "no details given"
        )
        where = issue.get("expression") or issue.get("location") or []
        at = f" (at {', '.join(where)})" if where else ""
        out.append(f"{issue.get('severity', 'error')}: {text}{at}")
    return out


def send(
    bundle_json: dict[str, Any],
    endpoint: str,
    *,
    token: str | None = None,
    timeout: float = 30,
    verify: bool | str = True,
) -> dict[str, Any]:
    """POST the transaction to the FHIR server's base URL ``endpoint``; returns the server's
    transaction-response Bundle. Raises :class:`FhirSendError` when the bundle fails
    :func:`validate_bundle`, the server cannot be reached, or it answers other than 2xx (with its
    OperationOutcome's issues)."""
    import httpx

    problems = validate_bundle(bundle_json)
    if problems:
        raise FhirSendError("The bundle was not sent: it does not pass the checks.", issues=problems)
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(bundle_json, ensure_ascii=False).encode("utf-8")
    try:
        with httpx.Client(timeout=timeout, verify=verify) as client:
            resp = client.post(endpoint.rstrip("/"), content=body, headers=headers)
    except httpx.HTTPError as e:
        raise FhirSendError(f"The FHIR server at {endpoint} could not be reached: {e}") from e
    try:
        answer: Any = resp.json()
    except ValueError:
        answer = None
    if not 200 <= resp.status_code < 300:
        issues = outcome_issues(answer)
        if not issues and resp.text.strip():
            issues = [resp.text.strip()[:500]]
        raise FhirSendError(
            f"The FHIR server refused the report (HTTP {resp.status_code}).",
            status=resp.status_code,
            issues=issues,
        )
    if not isinstance(answer, dict) or answer.get("resourceType") != "Bundle":
        raise FhirSendError(
            f"The FHIR server answered HTTP {resp.status_code} but not with a Bundle.",
            status=resp.status_code,
            issues=outcome_issues(answer),
        )
    return answer
