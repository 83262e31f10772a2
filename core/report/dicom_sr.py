"""The consult report as DICOM: a TID 1500 Measurement Report (Comprehensive 3D SR) and a Key Object
Selection of its key images, filed in the study they were made on. Qt-free.

:func:`measurement_report` writes every figure of :meth:`Report.all_measurements` (the imaging panel's
and the specialty sections') as one TID 1501 measurement group each: the figure with its UCUM unit, its
name (the measurement's own code, else SCT Length / Area by unit, else a private ``99TLC`` code with the
label as meaning), the method as a TID 300 Measurement Method (private ``99TLC`` code, the method text as
meaning), the images it was made on (Source Image For Measurement, with the frame for multi-frame
images) and the label as the group's tracking identifier. The author is the person observer; a final
report is COMPLETE and VERIFIED by its cosigner, anything else PARTIAL and UNVERIFIED.

:func:`key_object_selection` writes the key images as a KOS titled "Of Interest", the captions and the
annotations' text as its Key Object Description.

UIDs are derived from the report: the series from ``report_uid`` (every version of one report in one
series), the instance from ``report_uid``, version and status (a draft and the final of one version are
different objects, so they never share a SOP Instance UID). Patient and study attributes come from the
source images (``sources``, SOP Instance UID -> header), which are also the documents' evidence.

Everything is checked before anything is built: a measurement or key image whose source is not in
``sources``, or sources of another patient, raise :class:`ValueError` naming them, so a report is never
sent half-way. :func:`validate_dataset` is the cheap check a sender runs before sending.
"""

from __future__ import annotations

import copy
import hashlib
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import highdicom as hd
import pydicom
from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid
from pydicom.valuerep import DT

from core.report.model import Clinician, ImageRef, Measurement, Report, Status

SR_SERIES_NUMBER = 9101
KOS_SERIES_NUMBER = 9102
SR_SERIES_DESCRIPTION = "Consult report measurements"
KOS_SERIES_DESCRIPTION = "Consult report key images"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"

PRIVATE_SCHEME = "99TLC"
PRIVATE_SCHEME_NAME = "Teleconsult Workstation local codes"

REPORT_TITLE = CodedConcept("126000", "DCM", "Imaging Measurement Report")
KOS_TITLE = CodedConcept("113000", "DCM", "Of Interest")
LENGTH = CodedConcept("410668003", "SCT", "Length")
AREA = CodedConcept("42798000", "SCT", "Area")
IMAGING_PROCEDURE = CodedConcept("363679005", "SCT", "Imaging procedure")
PROCEDURES = {  # Modality of the sources -> Procedure Reported (CID 100)
    "CT": CodedConcept("25045-6", "LN", "CT unspecified body region"),
    "MR": CodedConcept("25056-3", "LN", "MRI unspecified body region"),
    "NM": CodedConcept("49118-3", "LN", "NM unspecified body region"),
    "PT": CodedConcept("44136-0", "LN", "PET unspecified body region"),
}

# FHIR code systems -> DICOM coding scheme designators
SCHEMES = {
    "http://snomed.info/sct": "SCT",
    "http://loinc.org": "LN",
    "http://dicom.nema.org/resources/ontology/DCM": "DCM",
    "http://unitsofmeasure.org": "UCUM",
    "http://radlex.org": "RADLEX",
}
LENGTH_UNITS = {"mm", "cm", "m", "um"}
AREA_UNITS = {"mm2", "cm2", "m2"}
UNIT_MEANINGS = {
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "um": "micrometer",
    "mm2": "square millimeter",
    "cm2": "square centimeter",
    "m2": "square meter",
    "mm3": "cubic millimeter",
    "ml": "milliliter",
    "mL": "milliliter",
    "deg": "degree",
    "s": "second",
    "ms": "millisecond",
    "/min": "per minute",
    "{beats}/min": "beats per minute",
    "cm/s": "centimeter per second",
    "m/s": "meter per second",
    "%": "percent",
    "mm[Hg]": "millimeter of mercury",
    "Cel": "degree Celsius",
    "[hnsf'U]": "Hounsfield unit",
    "1": "no units",
}

# what an SR or a KOS needs before it is sent (a sender's check, not the IOD's full list)
REQUIRED = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SeriesNumber",
    "InstanceNumber",
    "Modality",
    "PatientID",
    "PatientName",
    "ContentDate",
    "ContentTime",
    "ValueType",
    "ConceptNameCodeSequence",
    "ContentSequence",
    "CurrentRequestedProcedureEvidenceSequence",
)
SR_REQUIRED = ("CompletionFlag", "VerificationFlag", "PreliminaryFlag")


# --- building blocks --------------------------------------------------------------------------------


def _private(text: str, kind: str) -> CodedConcept:
    """A private code (scheme 99TLC) whose meaning is ``text``; its value a short hash of the text."""
    meaning = " ".join(text.split())[:64] or kind
    value = kind[0].upper() + hashlib.sha1(f"{kind}:{meaning.lower()}".encode()).hexdigest()[:10]
    return CodedConcept(value, PRIVATE_SCHEME, meaning)


def unit_code(unit: str) -> CodedConcept:
    """A UCUM unit as a coded concept (scheme UCUM)."""
    return CodedConcept(unit, "UCUM", UNIT_MEANINGS.get(unit, unit))


def name_code(m: Measurement) -> CodedConcept:
    """What was measured: the measurement's own code where its system maps to a DICOM scheme, else
    SCT Length (length units) or SCT Area (area units), else a private 99TLC code meaning its label."""
    if m.code is not None and m.code.system in SCHEMES and m.code.code:
        return CodedConcept(m.code.code, SCHEMES[m.code.system], m.code.display[:64] or m.label[:64])
    if m.unit in LENGTH_UNITS:
        return LENGTH
    if m.unit in AREA_UNITS:
        return AREA
    return _private(m.label, "measurement")


def method_code(method: str) -> CodedConcept:
    """How it was measured (TID 300 Measurement Method): a private 99TLC code meaning the method text."""
    return _private(method, "method")


def person_name(clinician: Clinician) -> str:
    """A clinician's name as a DICOM PN: a name already in PN form is kept; a display name ("Chen Jing")
    becomes one family-name component with a trailing caret, so no name order is guessed."""
    name = " ".join((clinician.display_name or clinician.username).split())
    return name if "^" in name else name + "^"


def _uid(*parts: object) -> str:
    return str(generate_uid(entropy_srcs=[str(p) for p in parts]))


def _content_time(report: Report) -> datetime:
    return report.cosigned_at or report.signed_at or report.created_at


def _missing_sources(refs: Iterable[ImageRef], sources: Mapping[str, Dataset]) -> list[str]:
    problems = []
    for ref in refs:
        ds = sources.get(ref.sop_instance_uid)
        if ds is None:
            problems.append(f"image {ref.sop_instance_uid} is not among the sources")
        elif str(ds.get("SOPClassUID", "")) != ref.sop_class_uid:
            problems.append(
                f"image {ref.sop_instance_uid} is a {ds.get('SOPClassUID', '?')} in the sources, "
                f"not a {ref.sop_class_uid}"
            )
    return problems


def _check_inputs(report: Report, sources: Mapping[str, Dataset], what: str) -> None:
    """Raise ValueError, naming every problem, unless the sources cover the report and are its patient's."""
    if not sources:
        raise ValueError(f"{what}: no source images were given")
    problems: list[str] = []
    for m in report.all_measurements():
        if not math.isfinite(m.value) or not m.unit.strip():
            problems.append(f"measurement {m.label!r} has no value or no unit")
        problems += [f"measurement {m.label!r}: {p}" for p in _missing_sources(m.images, sources)]
    for k in report.key_images:
        problems += [
            f"key image {k.caption or k.ref.sop_instance_uid!r}: {p}"
            for p in _missing_sources([k.ref], sources)
        ]
    for uid, ds in sources.items():
        if str(ds.get("SOPInstanceUID", uid)) != uid:
            problems.append(f"source {uid} is filed under another SOP Instance UID ({ds.SOPInstanceUID})")
        patient_id = str(ds.get("PatientID", ""))
        if patient_id != report.patient.patient_id:
            problems.append(
                f"source {uid} belongs to patient {patient_id!r}, not {report.patient.patient_id!r}"
            )
    if problems:
        raise ValueError(f"{what} not built: " + "; ".join(problems))


def _evidence(report: Report, sources: Mapping[str, Dataset]) -> list[Dataset]:
    """The sources, those of the report's study first (the document inherits its study from the first)."""
    study = report.study_uid or next(iter(sources.values())).StudyInstanceUID
    ordered = sorted(sources.values(), key=lambda ds: str(ds.StudyInstanceUID) != study)
    # highdicom copies the first one's patient and study elements by reference: a copy, so that
    # changing the document never changes the caller's sources
    return [copy.deepcopy(ordered[0]), *ordered[1:]]


def _observer(author: Clinician, organization: str | None = None) -> hd.sr.ObserverContext:
    return hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=person_name(author), login_name=author.username or None, organization_name=organization
        ),
    )


def _coding_scheme_identification() -> Dataset:
    item = Dataset()
    item.CodingSchemeDesignator = PRIVATE_SCHEME
    item.CodingSchemeName = PRIVATE_SCHEME_NAME
    item.CodingSchemeResponsibleOrganization = "Teleconsult Workstation"
    return item


def _group(report: Report, m: Measurement) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    images = [
        hd.sr.SourceImageForMeasurement(
            referenced_sop_class_uid=ref.sop_class_uid,
            referenced_sop_instance_uid=ref.sop_instance_uid,
            referenced_frame_numbers=[ref.frame] if ref.frame else None,
        )
        for ref in m.images
    ]
    measurement = hd.sr.Measurement(
        name=name_code(m),
        value=float(m.value),
        unit=unit_code(m.unit),
        method=method_code(m.method) if m.method.strip() else None,
        referenced_images=images or None,
    )
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=_uid(report.report_uid, m.id, "tracking"), identifier=m.label[:64] or "measurement"
        ),
        measurements=[measurement],
    )


# --- the documents ----------------------------------------------------------------------------------


def measurement_report(
    report: Report,
    sources: Mapping[str, Dataset],
    *,
    series_uid: str | None = None,
    instance_number: int = 1,
    manufacturer: str = "Teleconsult",
    institution: str | None = None,
    predecessor: tuple[str, str, str] | None = None,
) -> Dataset:
    """The report's measurements as a DICOM SR Measurement Report (TID 1500, Comprehensive 3D SR).

    ``sources`` maps SOP Instance UID -> the header of every image the report refers to (and may hold
    more: all of them are recorded as evidence). ``institution`` names the verifying organisation
    (default: the cosigner's specialty, else the report's). ``predecessor`` is (study, series, SOP
    instance UID) of the SR of the version this one supersedes, for the Predecessor Documents Sequence.
    Raises ValueError, before building anything, when an image is not in ``sources`` or a source is
    another patient's."""
    _check_inputs(report, sources, "the measurement report")
    final = report.status is Status.FINAL
    cosigner = report.cosigner
    if final and cosigner is None:
        raise ValueError("the measurement report not built: a final report has no cosigner")
    evidence = _evidence(report, sources)
    modality = str(evidence[0].get("Modality", ""))
    groups = [_group(report, m) for m in report.all_measurements()]
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_person_context=_observer(report.author, institution)
        ),
        procedure_reported=PROCEDURES.get(modality, IMAGING_PROCEDURE),
        imaging_measurements=groups or None,
        title=REPORT_TITLE,
    )
    previous = None
    if predecessor is not None:
        pre = Dataset()
        pre.StudyInstanceUID, pre.SeriesInstanceUID, pre.SOPInstanceUID = predecessor
        pre.SOPClassUID = COMPREHENSIVE_3D_SR
        previous = [pre]
    when = _content_time(report)
    ds = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=content,
        series_instance_uid=series_uid or _uid(report.report_uid, "sr-series"),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=_uid(report.report_uid, report.version, report.status.value, "sr"),
        instance_number=instance_number,
        manufacturer=manufacturer,
        is_complete=final,
        is_final=final,
        is_verified=final,
        institution_name=institution,
        verifying_observer_name=person_name(cosigner) if final and cosigner else None,
        verifying_organization=(institution or cosigner.specialty or report.specialty or manufacturer)
        if final and cosigner
        else None,
        previous_versions=previous,
        content_date=when.date(),
        content_time=when.time(),
    )
    if final and report.cosigned_at is not None:
        ds.VerifyingObserverSequence[0].VerificationDateTime = DT(report.cosigned_at)
    ds.SeriesDescription = SR_SERIES_DESCRIPTION
    ds.CodingSchemeIdentificationSequence = [_coding_scheme_identification()]
    _unicode(ds)
    return ds


def _unicode(ds: Dataset) -> None:
    """UTF-8 (ISO_IR 192) whenever any text is beyond ASCII: a clinician's label ("mm²"), a Chinese name
    or caption. Without it the default repertoire makes those characters invalid (dciodvfy: "Character
    invalid for character repertoire")."""
    texts: list[str] = []

    def collect(dataset: Dataset, elem: Any) -> None:
        if elem.VR in ("LO", "LT", "PN", "SH", "ST", "UC", "UT") and elem.value is not None:
            texts.extend(str(v) for v in (elem.value if elem.VM > 1 else [elem.value]))

    ds.walk(collect)
    if any(not t.isascii() for t in texts):
        ds.SpecificCharacterSet = "ISO_IR 192"


def key_object_selection(
    report: Report,
    sources: Mapping[str, Dataset],
    *,
    series_uid: str | None = None,
    instance_number: int = 1,
    manufacturer: str = "Teleconsult",
) -> Dataset:
    """The report's key images as a Key Object Selection titled "Of Interest"; the captions and the
    annotations' text are its Key Object Description. Raises ValueError as :func:`measurement_report`."""
    _check_inputs(report, sources, "the key object selection")
    if not report.key_images:
        raise ValueError("the key object selection not built: the report has no key images")
    chosen: dict[str, Dataset] = {}
    frames: dict[str, list[int]] = {}
    lines = []
    for i, k in enumerate(report.key_images, 1):
        chosen.setdefault(k.ref.sop_instance_uid, sources[k.ref.sop_instance_uid])
        if k.ref.frame:
            frames.setdefault(k.ref.sop_instance_uid, []).append(k.ref.frame)
        text = k.caption.strip() or f"Key image {i}"
        if k.annotations:
            text += ": " + "; ".join(a.strip() for a in k.annotations if a.strip())
        lines.append(text)
    content = hd.ko.KeyObjectSelection(
        document_title=KOS_TITLE,
        referenced_objects=list(chosen.values()),
        observer_person_context=_observer(report.author),
        description="\n".join(lines),
    )
    when = _content_time(report)
    evidence = _evidence(report, sources)
    ds = hd.ko.KeyObjectSelectionDocument(
        evidence=evidence,
        content=content,
        series_instance_uid=series_uid or _uid(report.report_uid, "kos-series"),
        series_number=KOS_SERIES_NUMBER,
        sop_instance_uid=_uid(report.report_uid, report.version, report.status.value, "kos"),
        instance_number=instance_number,
        manufacturer=manufacturer,
        content_date=when.date(),
        content_time=when.time(),
    )
    for item in ds.ContentSequence:
        if item.ValueType not in ("IMAGE", "COMPOSITE", "WAVEFORM"):
            continue
        # TID 2010 forbids a Purpose of Reference on the references (highdicom names them "Source")
        if "ConceptNameCodeSequence" in item:
            del item.ConceptNameCodeSequence
        # the frames of multi-frame key images
        ref = item.ReferencedSOPSequence[0]
        if ref.ReferencedSOPInstanceUID in frames:
            ref.ReferencedFrameNumber = sorted(set(frames[ref.ReferencedSOPInstanceUID]))
    ds.SeriesDescription = KOS_SERIES_DESCRIPTION
    _unicode(ds)
    return ds


# --- before sending ---------------------------------------------------------------------------------


def _referenced(ds: Dataset) -> list[tuple[str, str]]:
    """(SOP Instance UID, Study Instance UID) of every instance the document lists as evidence."""
    found = []
    for tag in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in ds.get(tag, []):
            for series in study.get("ReferencedSeriesSequence", []):
                for inst in series.get("ReferencedSOPSequence", []):
                    found.append((str(inst.ReferencedSOPInstanceUID), str(study.StudyInstanceUID)))
    return found


def _encode(ds: Dataset) -> bytes:
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def validate_dataset(ds: Dataset, sources: Mapping[str, Dataset] | None = None) -> list[str]:
    """The problems a sender checks for before sending an SR or KOS, in plain words; [] when none.

    Required attributes present; the flags of an SR consistent (a VERIFIED one names its verifier);
    with ``sources``, every instance it lists as evidence is among them and of the same patient; and it
    round-trips through ``dcmwrite``/``dcmread`` unchanged."""
    problems = [f"{name} is missing or empty" for name in REQUIRED if not ds.get(name)]
    if str(ds.get("SOPClassUID", "")) != KEY_OBJECT_SELECTION:
        problems += [f"{name} is missing or empty" for name in SR_REQUIRED if not ds.get(name)]
        if ds.get("VerificationFlag") == "VERIFIED":
            observers = ds.get("VerifyingObserverSequence", [])
            if not observers:
                problems.append("the document is VERIFIED but names no verifying observer")
            for obs in observers:
                for name in ("VerifyingObserverName", "VerifyingOrganization", "VerificationDateTime"):
                    if not obs.get(name):
                        problems.append(f"the verifying observer has no {name}")
        if ds.get("VerificationFlag") == "VERIFIED" and ds.get("CompletionFlag") != "COMPLETE":
            problems.append("the document is VERIFIED but not COMPLETE")
    if ds.get("ValueType") not in (None, "CONTAINER"):
        problems.append(f"the root content item is a {ds.ValueType}, not a CONTAINER")
    if sources is not None:
        for uid, study in _referenced(ds):
            source = sources.get(uid)
            if source is None:
                problems.append(f"evidence {uid} is not among the sources")
                continue
            if str(source.get("PatientID", "")) != str(ds.get("PatientID", "")):
                problems.append(
                    f"the patient id {ds.get('PatientID', '')!r} differs from source {uid}'s "
                    f"{source.get('PatientID', '')!r}"
                )
            if str(source.get("StudyInstanceUID", "")) != study:
                problems.append(f"evidence {uid} is listed under another study")
    try:
        first = _encode(ds)
        again = pydicom.dcmread(io.BytesIO(first))
        if str(again.SOPInstanceUID) != str(ds.get("SOPInstanceUID", "")):
            problems.append("the SOP Instance UID changes when written and read back")
        elif _encode(again) != first:
            problems.append("the dataset changes when written and read back")
    except Exception as exc:  # whatever stops the encoding is the problem to report
        problems.append(f"the dataset cannot be written and read back: {type(exc).__name__}: {exc}")
    return problems


def load_sources(paths: Iterable[Path | str]) -> dict[str, Dataset]:
    """Headers (no pixels) of DICOM files, by SOP Instance UID."""
    found: dict[str, Dataset] = {}
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        found[str(ds.SOPInstanceUID)] = ds
    return found


def measured_values(ds: Dataset) -> list[tuple[str, float, str, tuple[str, ...]]]:
    """(concept meaning, value, UCUM unit, referenced SOP Instance UIDs) of every NUM item in an SR,
    read back with pydicom alone (depth-first, in document order)."""
    out: list[tuple[str, float, str, tuple[str, ...]]] = []

    def walk(items: Sequence[Dataset]) -> None:
        for item in items:
            if item.get("ValueType") == "NUM" and item.get("MeasuredValueSequence"):
                mv = item.MeasuredValueSequence[0]
                refs = tuple(
                    str(child.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
                    for child in item.get("ContentSequence", [])
                    if child.get("ValueType") == "IMAGE"
                )
                out.append(
                    (
                        str(item.ConceptNameCodeSequence[0].CodeMeaning),
                        float(mv.NumericValue),
                        str(mv.MeasurementUnitsCodeSequence[0].CodeValue),
                        refs,
                    )
                )
            walk(item.get("ContentSequence", []))

    walk(ds.get("ContentSequence", []))
    return out
