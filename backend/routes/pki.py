"""The site PKI: clinicians enrol a signing key, IT revokes certificates, everyone reads the CA and CRL.

The workstation makes the key and keeps it (core/report/keys.py); it sends a certificate signing
request, and the site CA (backend/pki.py) certifies its public key with a subject written from the
caller's account, never from the request. Issued certificates are kept in ``certificates``: the report
routes (backend/routes/reports.py) accept a signature only from the signer's own, unrevoked, unexpired
certificate, and the CRL served here lists the revoked ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend import audit
from backend.db import execute_rowcount
from backend.deps import AdminUser, AnyUser, Participant, StateDep, client_address
from backend.models import Certificate, User
from backend.pki import PkiError
from backend.schemas import CertificateOut, EnrollIn, RevokeIn
from backend.state import AppState

router = APIRouter(prefix="/pki", tags=["pki"])

Serial = Annotated[str, Path(pattern=r"^[0-9]{1,60}$", description="certificate serial, decimal")]
PKIX_CERT_PEM = "application/x-pem-file"
PKIX_CRL = "application/pkix-crl"


def certificate_out(row: Certificate) -> CertificateOut:
    return CertificateOut.model_validate(
        {
            "serial": row.serial,
            "user_id": row.user_id,
            "username": row.user.username,
            "pem": row.pem,
            "not_before": row.not_before,
            "not_after": row.not_after,
            "revoked_at": row.revoked_at,
            "revoked_reason": row.revoked_reason,
        }
    )


def current_crl(state: AppState, session: Session, now: datetime | None = None) -> bytes:
    """The CRL (DER) of every revoked certificate, signed now by the site CA."""
    rows = session.execute(
        select(Certificate.serial, Certificate.revoked_at).where(Certificate.revoked_at.is_not(None))
    ).all()
    return state.site_ca().crl([(int(serial), when) for serial, when in rows if when is not None], now=now)


def revoke_user_certificates(session: Session, user_id: int, reason: str, now: datetime | None = None) -> int:
    """Revoke every unrevoked certificate of ``user_id`` (for when IT disables an account); returns how
    many. The caller audits, in its own transaction."""
    return execute_rowcount(
        session,
        update(Certificate)
        .where(Certificate.user_id == user_id, Certificate.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC), revoked_reason=reason),
    )


@router.get("/ca", response_class=Response, responses={200: {"content": {PKIX_CERT_PEM: {}}}})
def ca_certificate(_user: AnyUser, state: StateDep) -> Response:
    """The site CA's certificate (PEM): the trust anchor a workstation validates report signatures with."""
    return Response(state.site_ca().cert_pem, media_type=PKIX_CERT_PEM, headers={"Cache-Control": "no-cache"})


@router.get("/crl", response_class=Response, responses={200: {"content": {PKIX_CRL: {}}}})
async def revocation_list(_user: AnyUser, state: StateDep) -> Response:
    """The current CRL (DER), made fresh on every request."""

    def make() -> bytes:
        with state.db.transaction(readonly=True) as session:
            return current_crl(state, session)

    return Response(await run_in_threadpool(make), media_type=PKIX_CRL, headers={"Cache-Control": "no-store"})


@router.post(
    "/enroll", response_model=CertificateOut, status_code=status.HTTP_201_CREATED, responses={422: {}}
)
def enroll(body: EnrollIn, user: Participant, request: Request, state: StateDep) -> CertificateOut:
    """Certify the caller's signing key. The subject is the caller's account; the CSR gives only the key."""
    try:
        issued = state.site_ca().issue(
            body.csr_pem.encode("ascii", errors="replace"),
            username=user.username,
            display_name=user.display_name,
            role=user.role,
        )
    except PkiError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    with state.db.transaction() as session:
        row = Certificate(
            serial=str(issued.serial_number),
            user_id=user.id,
            pem=issued.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            not_before=issued.not_valid_before_utc,
            not_after=issued.not_valid_after_utc,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        session.flush()
        audit.by_user(
            session,
            "pki.issue",
            user,
            client_address(request),
            details={"serial": row.serial, "not_after": row.not_after.isoformat()},
        )
        session.refresh(row)
        return certificate_out(row)


@router.get("/certificates/mine", response_model=list[CertificateOut])
def my_certificates(user: AnyUser, state: StateDep) -> list[CertificateOut]:
    with state.db.transaction(readonly=True) as session:
        rows = session.scalars(
            select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.created_at)
        )
        return [certificate_out(r) for r in rows]


@router.get("/certificates", response_model=list[CertificateOut])
def all_certificates(_admin: AdminUser, state: StateDep) -> list[CertificateOut]:
    with state.db.transaction(readonly=True) as session:
        rows = session.scalars(select(Certificate).order_by(Certificate.created_at))
        return [certificate_out(r) for r in rows]


@router.post("/certificates/{serial}/revoke", response_model=CertificateOut, responses={404: {}, 409: {}})
def revoke(
    serial: Serial, body: RevokeIn, admin: AdminUser, request: Request, state: StateDep
) -> CertificateOut:
    with state.db.transaction() as session:
        row = session.get(Certificate, serial)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such certificate")
        changed = execute_rowcount(
            session,
            update(Certificate)
            .where(Certificate.serial == serial, Certificate.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), revoked_reason=body.reason),
        )
        if changed != 1:
            raise HTTPException(status.HTTP_409_CONFLICT, "the certificate is already revoked")
        session.refresh(row)
        audit.by_user(
            session,
            "pki.revoke",
            admin,
            client_address(request),
            details={"serial": serial, "user_id": row.user_id, "reason": body.reason},
        )
        return certificate_out(row)


def issued_certificate(session: Session, user: User, serial: str, cert_der: bytes) -> Certificate:
    """The ``certificates`` row of ``user`` with this serial and exactly these bytes; ValueError saying
    why a signature by it is refused (not theirs, revoked, expired or not yet valid)."""
    row = session.get(Certificate, serial)
    if row is None or row.user_id != user.id:
        raise ValueError(
            f"the signing certificate (serial {serial}) is not one the site issued to {user.username}"
        )
    issued = x509.load_pem_x509_certificate(row.pem.encode("ascii"))
    if issued.public_bytes(serialization.Encoding.DER) != cert_der:
        raise ValueError(f"the signing certificate (serial {serial}) differs from the one the site issued")
    now = datetime.now(UTC)
    if row.revoked_at is not None:
        raise ValueError(f"the signing certificate (serial {serial}) was revoked: {row.revoked_reason}")
    if not row.not_before <= now <= row.not_after:
        raise ValueError(
            f"the signing certificate (serial {serial}) is not valid now (expired or not yet valid)"
        )
    return row
