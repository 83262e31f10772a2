"""The audit chain: clinicians' workstations add their events; IT reads and verifies it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select

from backend import audit
from backend.deps import MAX_ID, AdminUser, Participant, StateDep, client_address
from backend.models import AuditRecord
from backend.routes.consults import load_visible
from backend.schemas import AuditEventIn, AuditEventOut, AuditOut, VerifyOut
from backend.views import audit_out

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditOut])
def list_audit(
    _admin: AdminUser,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[AuditOut]:
    with state.db.transaction(readonly=True) as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.id > after_id).order_by(AuditRecord.id).limit(limit)
        )
        return [audit_out(r) for r in rows]


@router.get("/verify", response_model=VerifyOut)
def verify_audit(_admin: AdminUser, state: StateDep) -> VerifyOut:
    with state.db.transaction(readonly=True) as session:
        result = audit.verify(session)
    return VerifyOut(
        ok=result.ok, checked=result.checked, first_broken_id=result.first_broken_id, reason=result.reason
    )


@router.post("/events", response_model=AuditEventOut, status_code=status.HTTP_201_CREATED)
def record_event(body: AuditEventIn, user: Participant, request: Request, state: StateDep) -> AuditEventOut:
    with state.db.transaction() as session:
        if body.consult_id is not None:
            load_visible(session, body.consult_id, user)
        record = audit.by_user(
            session,
            body.action,
            user,
            client_address(request),
            consult_id=body.consult_id,
            details=body.details,
        )
        return AuditEventOut(id=record.id)
