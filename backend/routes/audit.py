"""Reading and verifying the audit chain (it_admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from backend import audit
from backend.deps import MAX_ID, AdminUser, StateDep
from backend.models import AuditRecord
from backend.schemas import AuditOut, VerifyOut
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
