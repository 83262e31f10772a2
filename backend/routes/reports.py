"""The consult report: versions, statuses and the signed files (issue #21).

The workstation writes the report (core/report/model.py), renders the PDF and signs it with the
clinician's own key; the backend keeps every *version* and moves its status, each step audited:

``draft`` (the author edits ``content``) -> ``pending`` (the author uploaded the PDF with their PAdES
certification signature) -> ``final`` (a second specialist of the consult's specialty appended their
approval signature, and uploaded the DICOM SR, the KOS and the FHIR bundle with it).

A final version never changes. An addendum, amendment or correction is a new version naming the final
one it supersedes; the earlier version is kept as it was (``superseded_by_id`` is derived). A consult has
at most one original and at most one unfinished (draft or pending) version at a time. What is checked of
an uploaded PDF is in backend/report_check.py; whose certificate signed it, here (the certificates table).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import audit
from backend.access import is_participant, not_found
from backend.db import execute_rowcount
from backend.deps import MAX_ID, ClinicalUser, ConsultId, CountyDoctor, Specialist, StateDep, client_address
from backend.models import Consult, Report, User
from backend.report_check import ReportCheckError, SignerInfo, Trust, check_approved, check_certified
from backend.routes.pki import current_crl, issued_certificate
from backend.schemas import (
    ReportCosignIn,
    ReportIn,
    ReportOut,
    ReportSignIn,
    ReportUpdateIn,
)
from backend.state import AppState
from backend.views import user_out

router = APIRouter(tags=["reports"])

ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="report version id")]
NO_REPORT = "no such report"
ORIGINAL_STATES = ("accepted", "in_session", "answered")
SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."  # every DICOM Structured Report storage class
KOS_CLASS = "1.2.840.10008.5.1.4.1.1.88.59"  # Key Object Selection Document
FILE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


# who may do what --------------------------------------------------------------------------------------
def may_cosign(consult: Consult, user: User) -> bool:
    """A specialist of the consult's specialty may be the second reader (the author is refused later).
    MDT members invited to the consult (issue #22) are to join here."""
    return user.role == "specialist" and consult.specialty in (user.specialties or [])


def may_read(consult: Consult, user: User) -> bool:
    """The consult's participants, and the specialists who may co-sign its report."""
    return is_participant(consult, user) or may_cosign(consult, user)


def _shown(consult: Consult, user: User, report: Report) -> bool:
    """A draft is the author's work in progress: the participants see it, a would-be co-signer does not."""
    return is_participant(consult, user) or report.status != "draft"


def _load(session: Session, report_id: int, user: User) -> tuple[Report, Consult]:
    """The version and its consult if ``user`` may read it; 404 alike for a missing one and one not theirs."""
    report = session.get(Report, report_id)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_REPORT)
    consult = session.get(Consult, report.consult_id)
    if consult is None or not may_read(consult, user) or not _shown(consult, user, report):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_REPORT)
    return report, consult


def report_out(session: Session, report: Report) -> ReportOut:
    superseded_by = session.scalar(select(Report.id).where(Report.supersedes_id == report.id).limit(1))
    key_images, on_images = _references_images(report.content or {})
    return ReportOut.model_validate(
        {
            "id": report.id,
            "consult_id": report.consult_id,
            "version": report.version,
            "kind": report.kind,
            "status": report.status,
            "supersedes_id": report.supersedes_id,
            "superseded_by_id": superseded_by,
            "content": report.content,
            "author": user_out(report.author),
            "cosigner": user_out(report.cosigner) if report.cosigner else None,
            "created_at": report.created_at,
            "updated_at": report.updated_at,
            "signed_at": report.signed_at,
            "cosigned_at": report.cosigned_at,
            "acknowledged_by_id": report.acknowledged_by_id,
            "acknowledged_at": report.acknowledged_at,
            "pdf_sha256": report.pdf_sha256,
            "has_pdf": report.pdf_sha256 is not None,
            "has_sr": report.status == "final" and on_images,
            "has_kos": report.status == "final" and key_images,
            "has_fhir": report.status == "final",
        }
    )


def _refuse(part: str, why: str) -> HTTPException:
    """422 naming the part of the upload that failed (pdf, sr, kos, fhir) and why."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{part}: {why}")


def _decode(part: str, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _refuse(part, "not valid base64") from exc


def _trust(state: AppState) -> Trust:
    with state.db.transaction(readonly=True) as session:
        crl = current_crl(state, session)
    return Trust(ca_pem=state.site_ca().cert_pem, crl_der=crl)


def _references_images(content: dict[str, Any]) -> tuple[bool, bool]:
    """(has key images, has anything on images): what decides whether a KOS and an SR must come with the
    final report. A report with no image (a consult on an ECG alone) has neither: TID 1500 is a report of
    measurements on images."""
    measurements = list(content.get("measurements") or [])
    for section in content.get("sections") or []:
        measurements += list(section.get("measurements") or []) if isinstance(section, dict) else []
    on_images = any(isinstance(m, dict) and m.get("images") for m in measurements)
    key_images = bool(content.get("key_images"))
    return key_images, key_images or on_images


def _dicom(part: str, data: bytes, consult: Consult, *, kos: bool) -> dict[str, str]:
    """Parse an SR or KOS document and check it is one and belongs to the consult's patient."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
        sop_class = str(dataset.get("SOPClassUID", ""))
        patient_id = str(dataset.get("PatientID", ""))
        sop_instance = str(dataset.get("SOPInstanceUID", ""))
    except (InvalidDicomError, Exception) as exc:  # pydicom raises many kinds for a broken file
        raise _refuse(part, f"not a readable DICOM file ({type(exc).__name__}: {exc})") from exc
    wanted_ok = (
        sop_class == KOS_CLASS if kos else sop_class.startswith(SR_CLASS_PREFIX) and sop_class != KOS_CLASS
    )
    if not wanted_ok:
        kind = "a Key Object Selection document" if kos else "a Structured Report"
        raise _refuse(part, f"not {kind} (SOP class {sop_class or 'missing'})")
    if patient_id != consult.patient_id:
        raise _refuse(part, f"PatientID {patient_id!r} is not the consult's patient")
    return {"sop_instance_uid": sop_instance, "sop_class_uid": sop_class}


def _fhir(bundle: dict[str, Any]) -> str:
    if bundle.get("resourceType") != "Bundle":
        raise _refuse("fhir", f"resourceType is {bundle.get('resourceType')!r}, not 'Bundle'")
    if bundle.get("type") != "transaction":
        raise _refuse("fhir", f"the bundle's type is {bundle.get('type')!r}, not 'transaction'")
    if not isinstance(bundle.get("entry", []), list):
        raise _refuse("fhir", "the bundle's entry is not a list")
    return json.dumps(bundle, separators=(",", ":"), ensure_ascii=False)


def _signer_row(session: Session, part: str, user: User, signer: SignerInfo) -> str:
    try:
        return issued_certificate(session, user, signer.serial, signer.cert_der).serial
    except ValueError as exc:
        raise _refuse(part, str(exc)) from exc


def _audit(
    session: Session, action: str, user: User, request: Request, report: Report, **details: Any
) -> None:
    audit.by_user(
        session,
        action,
        user,
        client_address(request),
        consult_id=report.consult_id,
        details={"report_id": report.id, "version": report.version, "kind": report.kind, **details},
    )


# reading ----------------------------------------------------------------------------------------------
@router.get("/consults/{consult_id}/reports", response_model=list[ReportOut])
def list_reports(consult_id: ConsultId, user: ClinicalUser, state: StateDep) -> list[ReportOut]:
    with state.db.transaction(readonly=True) as session:
        consult = session.get(Consult, consult_id)
        if consult is None or not may_read(consult, user):
            raise not_found()
        rows = session.scalars(select(Report).where(Report.consult_id == consult_id).order_by(Report.version))
        return [report_out(session, r) for r in rows if _shown(consult, user, r)]


@router.get("/reports", response_model=list[ReportOut])
def pending_reports(
    user: Specialist,
    state: StateDep,
    status_filter: Annotated[Literal["pending"], Query(alias="status")] = "pending",
) -> list[ReportOut]:
    """The co-signing worklist: pending versions of the caller's specialties that they did not author."""
    specialties = list(user.specialties or [])
    with state.db.transaction(readonly=True) as session:
        rows = session.scalars(
            select(Report)
            .join(Consult, Consult.id == Report.consult_id)
            .where(
                Report.status == status_filter,
                Consult.specialty.in_(specialties),
                Report.author_id != user.id,
            )
            .order_by(Report.signed_at, Report.id)
        )
        return [report_out(session, r) for r in rows]


@router.get("/reports/{report_id}", response_model=ReportOut)
def get_report(report_id: ReportId, user: ClinicalUser, state: StateDep) -> ReportOut:
    with state.db.transaction(readonly=True) as session:
        report, _ = _load(session, report_id, user)
        return report_out(session, report)


FILES = {
    "pdf": ("pdf", "application/pdf"),
    "sr": ("sr", "application/dicom"),
    "kos": ("kos", "application/dicom"),
    "fhir": ("fhir", "application/fhir+json"),
}


def _file(report_id: int, part: str, user: User, state: AppState) -> Response:
    column, media_type = FILES[part]
    with state.db.transaction(readonly=True) as session:
        report, _ = _load(session, report_id, user)
        data = getattr(report, column)
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"this version has no {part} yet")
    body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    headers = FILE_HEADERS | {"Content-Disposition": f'attachment; filename="report-{report_id}.{part}"'}
    if part == "pdf":
        headers["Content-Disposition"] = f'inline; filename="report-{report_id}.pdf"'
    return Response(body, media_type=media_type, headers=headers)


@router.get(
    "/reports/{report_id}/pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def report_pdf(report_id: ReportId, user: ClinicalUser, state: StateDep) -> Response:
    return _file(report_id, "pdf", user, state)


@router.get(
    "/reports/{report_id}/sr",
    response_class=Response,
    responses={200: {"content": {"application/dicom": {}}}},
)
def report_sr(report_id: ReportId, user: ClinicalUser, state: StateDep) -> Response:
    return _file(report_id, "sr", user, state)


@router.get(
    "/reports/{report_id}/kos",
    response_class=Response,
    responses={200: {"content": {"application/dicom": {}}}},
)
def report_kos(report_id: ReportId, user: ClinicalUser, state: StateDep) -> Response:
    return _file(report_id, "kos", user, state)


@router.get(
    "/reports/{report_id}/fhir",
    response_class=Response,
    responses={200: {"content": {"application/fhir+json": {}}}},
)
def report_fhir(report_id: ReportId, user: ClinicalUser, state: StateDep) -> Response:
    return _file(report_id, "fhir", user, state)


# writing ----------------------------------------------------------------------------------------------
@router.post(
    "/consults/{consult_id}/reports",
    response_model=ReportOut,
    status_code=status.HTTP_201_CREATED,
    responses={403: {}, 409: {}},
)
def create_report(
    consult_id: ConsultId, body: ReportIn, user: Specialist, request: Request, state: StateDep
) -> ReportOut:
    with state.db.transaction() as session:
        consult = session.get(Consult, consult_id)
        if consult is None or not may_read(consult, user):
            raise not_found()
        if consult.accepted_by_id != user.id or consult.specialty not in (user.specialties or []):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the accepting specialist writes the report")
        versions = list(
            session.scalars(select(Report).where(Report.consult_id == consult_id).order_by(Report.version))
        )
        unfinished = [v for v in versions if v.status != "final"]
        if unfinished:
            v = unfinished[0]
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"version {v.version} is still {v.status}: finish it before another"
            )
        if body.kind == "original":
            if body.supersedes_id is not None:
                raise HTTPException(status.HTTP_409_CONFLICT, "an original report supersedes nothing")
            if consult.state not in ORIGINAL_STATES:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"consult is {consult.state}: the report is written while it is accepted, in session "
                    "or answered",
                )
            if any(v.kind == "original" for v in versions):
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "the consult already has an original report: write an addendum, amendment or correction",
                )
        else:
            prior = next((v for v in versions if v.id == body.supersedes_id), None)
            if prior is None:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"an {body.kind} names the final version of this consult's report it supersedes",
                )
            if prior.status != "final":
                raise HTTPException(status.HTTP_409_CONFLICT, "only a final version can be superseded")
            later = next((v for v in versions if v.supersedes_id == prior.id), None)
            if later is not None:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"version {prior.version} is already superseded by version {later.version}",
                )
        now = datetime.now(UTC)
        report = Report(
            consult_id=consult_id,
            version=max((v.version for v in versions), default=0) + 1,
            kind=body.kind,
            status="draft",
            supersedes_id=body.supersedes_id if body.kind != "original" else None,
            content=body.content,
            author_id=user.id,
            created_at=now,
            updated_at=now,
        )
        session.add(report)
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent create took this version number
            raise HTTPException(
                status.HTTP_409_CONFLICT, "another version was created at the same time"
            ) from exc
        session.refresh(report)
        _audit(session, "report.create", user, request, report, supersedes_id=report.supersedes_id)
        return report_out(session, report)


@router.put("/reports/{report_id}", response_model=ReportOut, responses={403: {}, 409: {}})
def update_report(
    report_id: ReportId, body: ReportUpdateIn, user: Specialist, request: Request, state: StateDep
) -> ReportOut:
    with state.db.transaction() as session:
        report, _ = _load(session, report_id, user)
        if report.author_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the author edits a draft")
        changed = execute_rowcount(
            session,
            update(Report)
            .where(Report.id == report_id, Report.status == "draft")
            .values(content=body.content, updated_at=datetime.now(UTC)),
        )
        if changed != 1:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"version is {report.status}: only a draft is edited"
            )
        session.refresh(report)
        _audit(session, "report.update", user, request, report)
        return report_out(session, report)


@router.post("/reports/{report_id}/sign", response_model=ReportOut, responses={403: {}, 409: {}, 422: {}})
def sign_report(
    report_id: ReportId, body: ReportSignIn, user: ClinicalUser, request: Request, state: StateDep
) -> ReportOut:
    """The author uploads the PDF carrying their certification signature: draft -> pending."""
    with state.db.transaction(readonly=True) as session:
        report, _ = _load(session, report_id, user)
        if report.author_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the author signs a draft")
        if report.status != "draft":
            raise HTTPException(status.HTTP_409_CONFLICT, f"version is {report.status}, not draft")
    pdf = _decode("pdf", body.pdf_base64)
    try:
        signer = check_certified(pdf, _trust(state))
    except ReportCheckError as exc:
        raise _refuse("pdf", str(exc)) from exc
    digest = hashlib.sha256(pdf).hexdigest()
    with state.db.transaction() as session:
        serial = _signer_row(session, "pdf", user, signer)
        changed = execute_rowcount(
            session,
            update(Report)
            .where(Report.id == report_id, Report.status == "draft", Report.author_id == user.id)
            .values(status="pending", pdf=pdf, pdf_sha256=digest, signed_at=datetime.now(UTC)),
        )
        if changed != 1:
            raise HTTPException(status.HTTP_409_CONFLICT, "version is no longer a draft")
        signed = session.get(Report, report_id)
        assert signed is not None
        session.refresh(signed)
        report = signed
        _audit(session, "report.sign", user, request, report, pdf_sha256=digest, certificate=serial)
        return report_out(session, report)


@router.post("/reports/{report_id}/cosign", response_model=ReportOut, responses={403: {}, 409: {}, 422: {}})
def cosign_report(
    report_id: ReportId, body: ReportCosignIn, user: ClinicalUser, request: Request, state: StateDep
) -> ReportOut:
    """The second reader appends their approval signature and uploads SR, KOS and FHIR: pending -> final.
    All of it is checked before anything is written, and written in one transaction."""
    with state.db.transaction(readonly=True) as session:
        report, consult = _load(session, report_id, user)
        if not may_cosign(consult, user):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "only a specialist of the consult's specialty co-signs"
            )
        if report.author_id == user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the author cannot sign twice")
        if report.status != "pending" or report.pdf is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"version is {report.status}, not pending")
        base, base_sha = bytes(report.pdf), report.pdf_sha256
        key_images, on_images = _references_images(report.content or {})
        session.expunge(consult)
    pdf = _decode("pdf", body.pdf_base64)
    sr = _decode("sr", body.sr_base64) if body.sr_base64 is not None else None
    kos = _decode("kos", body.kos_base64) if body.kos_base64 is not None else None
    if sr is None and on_images:
        raise _refuse("sr", "the report has measurements on images: their DICOM SR is missing")
    if kos is None and key_images:
        raise _refuse("kos", "the report has key images: their Key Object Selection document is missing")
    try:
        signer = check_approved(pdf, base, _trust(state))
    except ReportCheckError as exc:
        raise _refuse("pdf", str(exc)) from exc
    sr_info = _dicom("sr", sr, consult, kos=False) if sr is not None else {"sop_instance_uid": ""}
    kos_info = _dicom("kos", kos, consult, kos=True) if kos is not None else {"sop_instance_uid": ""}
    fhir = _fhir(body.fhir)
    digest = hashlib.sha256(pdf).hexdigest()
    with state.db.transaction() as session:
        serial = _signer_row(session, "pdf", user, signer)
        changed = execute_rowcount(
            session,
            update(Report)
            .where(Report.id == report_id, Report.status == "pending", Report.pdf_sha256 == base_sha)
            .values(
                status="final",
                pdf=pdf,
                pdf_sha256=digest,
                sr=sr,
                kos=kos,
                fhir=fhir,
                cosigner_id=user.id,
                cosigned_at=datetime.now(UTC),
            ),
        )
        if changed != 1:
            raise HTTPException(status.HTTP_409_CONFLICT, "version is no longer pending")
        signed = session.get(Report, report_id)
        assert signed is not None
        session.refresh(signed)
        report = signed
        _audit(
            session,
            "report.cosign",
            user,
            request,
            report,
            pdf_sha256=digest,
            certificate=serial,
            sr=sr_info["sop_instance_uid"],
            kos=kos_info["sop_instance_uid"],
            supersedes_id=report.supersedes_id,
        )
        return report_out(session, report)


@router.post("/reports/{report_id}/acknowledge", response_model=ReportOut, responses={403: {}, 409: {}})
def acknowledge_report(
    report_id: ReportId, user: CountyDoctor, request: Request, state: StateDep
) -> ReportOut:
    """The requesting county doctor has read the final version. Idempotent: a second call changes nothing."""
    with state.db.transaction() as session:
        report, consult = _load(session, report_id, user)
        if consult.requested_by_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the requesting doctor acknowledges")
        if report.status != "final":
            raise HTTPException(status.HTTP_409_CONFLICT, f"version is {report.status}, not final")
        changed = execute_rowcount(
            session,
            update(Report)
            .where(Report.id == report_id, Report.acknowledged_at.is_(None))
            .values(acknowledged_by_id=user.id, acknowledged_at=datetime.now(UTC)),
        )
        session.refresh(report)
        if changed == 1:
            _audit(session, "report.acknowledge", user, request, report)
        return report_out(session, report)


def has_final_report(session: Session, consult_id: int) -> bool:
    found = session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.consult_id == consult_id, Report.status == "final")
    )
    return bool(found)
