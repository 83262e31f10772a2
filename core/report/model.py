"""The consult report: what the specialist writes, what the second reader co-signs, what goes out.

Qt-free and format-free: core/report/pdf.py, dicom_sr.py and fhir.py each turn one :class:`Report`
into their standard; the backend (backend/routes/reports.py) keeps the versions and enforces the
statuses. A report is one *version*: an addendum, an amendment or a correction is a new version that
names the one before it (``supersedes``), and earlier versions are kept.

Statuses (the backend moves them, each step audited):
``draft`` -> ``pending`` (signed by its author, awaiting a second specialist) -> ``final`` (co-signed).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"  # signed by the author, awaiting the second signature
    FINAL = "final"


class Kind(StrEnum):
    """What a version is. After ``final`` only a new version of another kind may follow."""

    ORIGINAL = "original"
    ADDENDUM = "addendum"  # adds to a final report; the earlier text stands (FHIR: appended)
    AMENDMENT = "amendment"  # changes a final report with new information (FHIR: amended)
    CORRECTION = "correction"  # corrects an error in a final report (FHIR: corrected)


URGENCIES = ("routine", "urgent", "emergency")


@dataclass(frozen=True)
class Coding:
    """A coded concept: ``system`` is a FHIR system URI (``http://loinc.org``, ``http://snomed.info/sct``,
    ``http://dicom.nema.org/resources/ontology/DCM``, ``http://unitsofmeasure.org``)."""

    system: str
    code: str
    display: str


@dataclass(frozen=True)
class Clinician:
    username: str
    display_name: str
    role: str = "specialist"  # specialist | county_doctor
    specialty: str = ""


@dataclass(frozen=True)
class PatientRef:
    """The patient's two identifiers (name and id) print on every page; sex is a DICOM code."""

    patient_id: str
    name: str
    sex: str = "U"  # M, F, O, U
    birth_date: date | None = None
    issuer: str = ""  # the assigning authority of patient_id, when known


@dataclass(frozen=True)
class ImageRef:
    """An image a measurement was made on or a key image: enough to reference it in DICOM SR and KOS."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    frame: int | None = None  # 1-based, for multi-frame images


@dataclass(frozen=True)
class Measurement:
    """One figure from the imaging panel or a plugin: ``unit`` is UCUM (``mm``, ``mm2``, ``deg``, ``ms``,
    ``/min``, ``cm/s``); ``method`` says how it was made (``distance``, ``ellipse area``, ``polygon area``,
    ``angle``, or a plugin's method); ``images`` are the images it was made on."""

    label: str
    value: float
    unit: str
    method: str
    images: tuple[ImageRef, ...] = ()
    code: Coding | None = None  # what was measured, where a code exists
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class KeyImage:
    """An image the specialist chose, with the annotations drawn on it (their text, for the record) and
    the image as shown, annotations burnt in (PNG), for the PDF."""

    ref: ImageRef
    caption: str = ""
    annotations: tuple[str, ...] = ()
    png: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class VitalSign:
    name: str  # hr | spo2 | rr | sys | dia | map | temp
    value: float
    unit: str  # UCUM: /min, %, mm[Hg], Cel


@dataclass(frozen=True)
class VitalsSnapshot:
    taken_at: datetime
    values: tuple[VitalSign, ...]
    news2: int | None = None
    news2_missing: tuple[str, ...] = ()  # what NEWS2 could not score (the total is then a lower bound)

    def get(self, name: str) -> VitalSign | None:
        return next((v for v in self.values if v.name == name), None)


@dataclass(frozen=True)
class Section:
    """A specialty's part of the report, from a plugin's template (plugins.api.ReportSection): a table
    (``columns`` headings, ``rows`` of text) and the figures behind it, which go out as measurements."""

    template_id: str  # e.g. "cardiology.ecg", "oncology.recist", "ultrasound.fast", "stroke.nihss"
    title: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    measurements: tuple[Measurement, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Report:
    consult_id: int
    patient: PatientRef
    specialty: str
    author: Clinician
    question: str = ""
    history: str = ""
    requested_by: Clinician | None = None
    study_uid: str | None = None
    findings: str = ""
    impression: str = ""
    recommendations: str = ""
    follow_up: str = ""
    urgency: str = "routine"
    measurements: tuple[Measurement, ...] = ()
    key_images: tuple[KeyImage, ...] = ()
    vitals: VitalsSnapshot | None = None
    sections: tuple[Section, ...] = ()
    language: str = "en"  # the reader's language for the PDF: en | zh_CN
    # the version: set by the backend
    version: int = 1
    kind: Kind = Kind.ORIGINAL
    supersedes: int | None = None  # the version this one follows (addendum, amendment, correction)
    status: Status = Status.DRAFT
    cosigner: Clinician | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    signed_at: datetime | None = None
    cosigned_at: datetime | None = None
    # one id for the report across its outputs (FHIR identifier; DICOM UIDs are derived from it)
    report_uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def problems(self) -> list[str]:
        """What stops this report from being signed, in plain words; empty when it may be signed."""
        out: list[str] = []
        if not self.impression.strip():
            out.append("The impression is empty.")
        if self.urgency not in URGENCIES:
            out.append(f"Unknown urgency {self.urgency!r}.")
        if not self.patient.patient_id or not self.patient.name:
            out.append("The patient's name and id are both needed.")
        for m in self.all_measurements():
            if m.value != m.value or not m.unit:  # NaN or no unit
                out.append(f"Measurement {m.label!r} has no value or no unit.")
        if self.kind is not Kind.ORIGINAL and self.supersedes is None:
            out.append(f"An {self.kind.value} must name the version it follows.")
        return out

    def all_measurements(self) -> tuple[Measurement, ...]:
        """The imaging panel's measurements, then each section's."""
        return self.measurements + tuple(m for s in self.sections for m in s.measurements)

    def all_images(self) -> tuple[ImageRef, ...]:
        """Every image referenced (measurements' sources and key images), each once, in order."""
        seen: dict[str, ImageRef] = {}
        for m in self.all_measurements():
            for ref in m.images:
                seen.setdefault(ref.sop_instance_uid, ref)
        for k in self.key_images:
            seen.setdefault(k.ref.sop_instance_uid, k.ref)
        return tuple(seen.values())

    def with_status(self, status: Status, **changes: Any) -> Report:
        return replace(self, status=status, **changes)

    # JSON (what the backend stores) ---------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return _jsonable(data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        def clinician(d: Mapping[str, Any] | None) -> Clinician | None:
            return Clinician(**d) if d else None

        def coding(d: Mapping[str, Any] | None) -> Coding | None:
            return Coding(**d) if d else None

        def image(d: Mapping[str, Any]) -> ImageRef:
            return ImageRef(**d)

        def measurement(d: Mapping[str, Any]) -> Measurement:
            return Measurement(
                label=d["label"],
                value=float(d["value"]),
                unit=d["unit"],
                method=d["method"],
                images=tuple(image(i) for i in d.get("images", ())),
                code=coding(d.get("code")),
                id=d.get("id") or uuid.uuid4().hex,
            )

        def key_image(d: Mapping[str, Any]) -> KeyImage:
            png = d.get("png")
            return KeyImage(
                ref=image(d["ref"]),
                caption=d.get("caption", ""),
                annotations=tuple(d.get("annotations", ())),
                png=base64.b64decode(png) if png else None,
            )

        def section(d: Mapping[str, Any]) -> Section:
            return Section(
                template_id=d["template_id"],
                title=d["title"],
                columns=tuple(d.get("columns", ())),
                rows=tuple(tuple(r) for r in d.get("rows", ())),
                measurements=tuple(measurement(m) for m in d.get("measurements", ())),
                note=d.get("note", ""),
            )

        vitals = data.get("vitals")
        p = data["patient"]
        author = clinician(data["author"])
        assert author is not None
        return cls(
            consult_id=int(data["consult_id"]),
            patient=PatientRef(
                patient_id=p["patient_id"],
                name=p["name"],
                sex=p.get("sex", "U"),
                birth_date=date.fromisoformat(p["birth_date"]) if p.get("birth_date") else None,
                issuer=p.get("issuer", ""),
            ),
            specialty=data["specialty"],
            author=author,
            question=data.get("question", ""),
            history=data.get("history", ""),
            requested_by=clinician(data.get("requested_by")),
            study_uid=data.get("study_uid"),
            findings=data.get("findings", ""),
            impression=data.get("impression", ""),
            recommendations=data.get("recommendations", ""),
            follow_up=data.get("follow_up", ""),
            urgency=data.get("urgency", "routine"),
            measurements=tuple(measurement(m) for m in data.get("measurements", ())),
            key_images=tuple(key_image(k) for k in data.get("key_images", ())),
            vitals=VitalsSnapshot(
                taken_at=_datetime(vitals["taken_at"]),
                values=tuple(VitalSign(**v) for v in vitals.get("values", ())),
                news2=vitals.get("news2"),
                news2_missing=tuple(vitals.get("news2_missing", ())),
            )
            if vitals
            else None,
            sections=tuple(section(s) for s in data.get("sections", ())),
            language=data.get("language", "en"),
            version=int(data.get("version", 1)),
            kind=Kind(data.get("kind", "original")),
            supersedes=data.get("supersedes"),
            status=Status(data.get("status", "draft")),
            cosigner=clinician(data.get("cosigner")),
            created_at=_datetime(data["created_at"]) if data.get("created_at") else datetime.now(UTC),
            signed_at=_datetime(data["signed_at"]) if data.get("signed_at") else None,
            cosigned_at=_datetime(data["cosigned_at"]) if data.get("cosigned_at") else None,
            report_uid=data.get("report_uid") or uuid.uuid4().hex,
        )


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def measurement_images(measurements: Sequence[Measurement]) -> tuple[ImageRef, ...]:
    """The distinct images a list of measurements was made on, in order."""
    seen: dict[str, ImageRef] = {}
    for m in measurements:
        for ref in m.images:
            seen.setdefault(ref.sop_instance_uid, ref)
    return tuple(seen.values())
