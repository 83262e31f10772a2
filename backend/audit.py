"""The audit log: an append-only SHA-256 hash chain, and its verification.

Each record stores prev_hash and hash = SHA-256(prev_hash + canonical JSON of its fields). Ids are
assigned here, one past the chain head, while the head row of `settings` is locked (SELECT ... FOR
UPDATE on PostgreSQL; on SQLite every writing transaction is BEGIN IMMEDIATE), so concurrent appends
are serialised and the chain never forks. The head row also records the last id and hash, which
makes deleting the newest records detectable too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AuditRecord, Setting, User

GENESIS = "0" * 64
HEAD_KEY = "audit_head"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_fields(record: AuditRecord) -> dict[str, Any]:
    """The fields a record's hash covers (and what the API shows of it, with the hashes)."""
    return {
        "id": record.id,
        "ts": record.ts,
        "actor_id": record.actor_id,
        "actor": record.actor,
        "action": record.action,
        "consult_id": record.consult_id,
        "client": record.client,
        "details": record.details,
    }


def compute_hash(prev_hash: str, record: AuditRecord) -> str:
    payload = prev_hash + canonical_json(record_fields(record))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _parse_head(value: str) -> tuple[int, str]:
    last_id, _, last_hash = value.partition(":")
    return int(last_id), last_hash


def append(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    actor: str | None = None,
    consult_id: int | None = None,
    client: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record inside the caller's transaction (call it last: it holds the chain lock)."""
    head = session.scalars(select(Setting).where(Setting.key == HEAD_KEY).with_for_update()).one()
    last_id, last_hash = _parse_head(head.value)
    record = AuditRecord(
        id=last_id + 1,
        ts=datetime.now(UTC).isoformat(timespec="microseconds"),
        actor_id=actor_id,
        actor=actor,
        action=action,
        consult_id=consult_id,
        client=client,
        details=canonical_json(details or {}),
        prev_hash=last_hash,
    )
    record.hash = compute_hash(last_hash, record)
    session.add(record)
    head.value = f"{record.id}:{record.hash}"
    session.flush()
    return record


def by_user(
    session: Session,
    action: str,
    user: User,
    client: str,
    *,
    consult_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append what a signed-in user did, from which client (see append)."""
    return append(
        session,
        action,
        actor_id=user.id,
        actor=user.username,
        consult_id=consult_id,
        client=client,
        details=details,
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str | None


def _iter_records(session: Session, batch: int = 1000) -> Iterator[AuditRecord]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.id > after).order_by(AuditRecord.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def verify(session: Session) -> VerifyResult:
    expected_id, expected_prev, checked = 1, GENESIS, 0
    for record in _iter_records(session):
        if record.id != expected_id:
            return VerifyResult(
                False,
                checked,
                record.id,
                f"record(s) {expected_id}..{record.id - 1} missing before record {record.id}",
            )
        if record.prev_hash != expected_prev:
            return VerifyResult(
                False,
                checked,
                record.id,
                f"record {record.id}: prev_hash does not match the previous record",
            )
        if compute_hash(record.prev_hash, record) != record.hash:
            return VerifyResult(False, checked, record.id, f"record {record.id}: altered (hash mismatch)")
        checked += 1
        expected_id, expected_prev = record.id + 1, record.hash
    head = session.get(Setting, HEAD_KEY)
    if head is not None:
        head_id, head_hash = _parse_head(head.value)
        if head_id != expected_id - 1 or (head_id > 0 and head_hash != expected_prev):
            return VerifyResult(
                False,
                checked,
                expected_id,
                f"chain ends at record {expected_id - 1} but its head says {head_id}: newest records removed",
            )
    return VerifyResult(True, checked, None, None)
