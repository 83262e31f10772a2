"""The audit log: an append-only keyed hash chain, signed checkpoints outside the database, verification.

Each record stores prev_hash and hash = HMAC-SHA256(key, prev_hash + canonical JSON of its fields)
(`alg` "hmac-sha256"); records written before the key existed keep plain SHA-256 (`alg` "sha256") and
stay verifiable, but none may follow a keyed one. The key lives in a file outside the database (mode
0600), so whoever can only write the database cannot recompute the chain. After commits (every
`checkpoint_every` records) and on shutdown a checkpoint (count, last id and hash, time, HMAC with the
key) is appended to a file outside the database and sent to syslog where /dev/log exists: deleting
the newest records, the head row or every record is then caught by `verify`. Ids are
assigned here, one past the chain head, while the head row of `settings` is locked (SELECT ... FOR
UPDATE on PostgreSQL; on SQLite every writing transaction is BEGIN IMMEDIATE), so concurrent appends
are serialised and the chain never forks. The head row also records the last id and hash, which
makes deleting the newest records detectable too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend.config import ServerSettings, resolve_key_file
from backend.db import Database
from backend.models import AuditRecord, Setting, User
from backend.security import read_or_create_key_file

GENESIS = "0" * 64
HEAD_KEY = "audit_head"
PLAIN, KEYED = "sha256", "hmac-sha256"
log = logging.getLogger(__name__)


def default_paths(database_url: str, jwt_key_file: str | None = None) -> tuple[Path, Path]:
    """The chain key and checkpoint file by default: beside the server's JWT key file."""
    jwt_key = resolve_key_file(database_url, jwt_key_file)
    return jwt_key.with_name(jwt_key.name + ".audit"), jwt_key.with_name(jwt_key.name + ".audit-checkpoints")


def load_or_create_key(path: Path) -> bytes:
    """The chain key (hex in a 0600 file), created with 256 random bits when missing."""
    return bytes.fromhex(read_or_create_key_file(path))


@dataclass
class Keyring:
    """The key and checkpoint file of one database, and when the last checkpoint was written."""

    key: bytes
    checkpoint_file: Path
    checkpoint_every: int = 100
    syslog: bool = True
    last_checkpoint_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_KEYRINGS: dict[str, Keyring] = {}
_REGISTRY_LOCK = threading.Lock()


def _engine_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def configure(
    engine: Engine,
    key_file: Path | None = None,
    checkpoint_file: Path | None = None,
    *,
    jwt_key_file: str | None = None,
    checkpoint_every: int = 100,
    syslog: bool = True,
) -> Keyring:
    """Key this database's chain (defaults: default_paths, beside the JWT key file)."""
    default_key, default_points = default_paths(_engine_key(engine), jwt_key_file)
    ring = Keyring(
        load_or_create_key(key_file or default_key),
        checkpoint_file or default_points,
        checkpoint_every,
        syslog,
    )
    previous = read_checkpoints(ring)
    ring.last_checkpoint_id = max((c.last_id for c in previous if c.valid), default=0)
    with _REGISTRY_LOCK:
        _KEYRINGS[_engine_key(engine)] = ring
    return ring


def configure_from_settings(engine: Engine, settings: ServerSettings) -> Keyring:
    return configure(
        engine,
        Path(settings.audit_key_file) if settings.audit_key_file else None,
        Path(settings.audit_checkpoint_file) if settings.audit_checkpoint_file else None,
        jwt_key_file=settings.key_file,
        checkpoint_every=settings.audit_checkpoint_every,
    )


def shutdown_checkpoint(db: Database) -> None:
    """On shutdown: a checkpoint of the chain as it stands (nothing when the chain has no key)."""
    try:
        with db.transaction(readonly=True) as session:
            checkpoint_now(session)
    except Exception:
        log.exception("could not write the shutdown audit checkpoint")


def keyring_for(session: Session) -> Keyring | None:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _KEYRINGS.get(_engine_key(engine))


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


def compute_hash(prev_hash: str, record: AuditRecord, key: bytes | None = None) -> str:
    """SHA-256 (no key: records from before the key) or HMAC-SHA256 with the chain key."""
    payload = (prev_hash + canonical_json(record_fields(record))).encode("utf-8")
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


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
    ring = keyring_for(session)
    record.alg = KEYED if ring is not None else PLAIN
    record.hash = compute_hash(last_hash, record, ring.key if ring is not None else None)
    session.add(record)
    head.value = f"{record.id}:{record.hash}"
    session.flush()
    if ring is not None:
        session.info["audit_head"] = (record.id, record.hash)
    return record


# Checkpoints -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    count: int
    last_id: int
    last_hash: str
    ts: str
    valid: bool  # its HMAC checks out


def _checkpoint_mac(key: bytes, count: int, last_id: int, last_hash: str, ts: str) -> str:
    payload = canonical_json({"count": count, "last_id": last_id, "last_hash": last_hash, "ts": ts})
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def write_checkpoint(ring: Keyring, count: int, last_id: int, last_hash: str) -> None:
    """Append one signed checkpoint line to the file (and to syslog where /dev/log exists)."""
    ts = datetime.now(UTC).isoformat(timespec="microseconds")
    line = canonical_json(
        {
            "count": count,
            "last_id": last_id,
            "last_hash": last_hash,
            "ts": ts,
            "mac": _checkpoint_mac(ring.key, count, last_id, last_hash, ts),
        }
    )
    with ring.lock:
        if last_id < ring.last_checkpoint_id:
            return
        ring.checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(ring.checkpoint_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        ring.last_checkpoint_id = last_id
    if ring.syslog and os.path.exists("/dev/log"):
        _syslog("teleconsult-audit checkpoint " + line)


def _syslog(message: str) -> None:
    try:
        handler = logging.handlers.SysLogHandler(address="/dev/log")
    except OSError:
        return
    try:
        handler.emit(logging.LogRecord("teleconsult.audit", logging.INFO, __file__, 0, message, None, None))
    finally:
        handler.close()


def read_checkpoints(ring: Keyring) -> list[Checkpoint]:
    try:
        lines = ring.checkpoint_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found: list[Checkpoint] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            count, last_id, last_hash, ts = (
                int(data["count"]),
                int(data["last_id"]),
                str(data["last_hash"]),
                str(data["ts"]),
            )
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError):
            found.append(Checkpoint(-1, -1, "", "", False))
            continue
        valid = hmac.compare_digest(mac, _checkpoint_mac(ring.key, count, last_id, last_hash, ts))
        found.append(Checkpoint(count, last_id, last_hash, ts, valid))
    return found


def checkpoint_now(session: Session) -> bool:
    """Write a checkpoint of the chain as it stands (shutdown, or on demand); False without a key."""
    ring = keyring_for(session)
    if ring is None:
        return False
    head = session.get(Setting, HEAD_KEY)
    if head is None:
        return False
    last_id, last_hash = _parse_head(head.value)
    count = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
    write_checkpoint(ring, count, last_id, last_hash)
    return True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    head = session.info.pop("audit_head", None)
    if head is None:
        return
    ring = keyring_for(session)
    if ring is None or head[0] - ring.last_checkpoint_id < ring.checkpoint_every:
        return
    try:
        # Ids are dense from 1 when the chain is intact, so the count is the last id.
        write_checkpoint(ring, head[0], head[0], head[1])
    except OSError:
        log.exception("could not write the audit checkpoint")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("audit_head", None)


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


def verify(session: Session, ring: Keyring | None = None) -> VerifyResult:
    """Check the chain (with the key where the database is keyed) and, with a key, the checkpoints."""
    ring = ring or keyring_for(session)
    expected_id, expected_prev, checked = 1, GENESIS, 0
    keyed_seen = False
    seen: dict[int, str] = {}
    points = read_checkpoints(ring) if ring is not None else []
    wanted = {c.last_id for c in points if c.valid}
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
        if record.alg == KEYED:
            if ring is None:
                return VerifyResult(
                    False, checked, record.id, f"record {record.id}: keyed, but no audit key to check it"
                )
            keyed_seen = True
            expected = compute_hash(record.prev_hash, record, ring.key)
        elif record.alg == PLAIN and not keyed_seen:
            expected = compute_hash(record.prev_hash, record)
        else:
            return VerifyResult(
                False, checked, record.id, f"record {record.id}: altered (unkeyed after keyed records)"
            )
        if not hmac.compare_digest(expected, record.hash):
            return VerifyResult(False, checked, record.id, f"record {record.id}: altered (hash mismatch)")
        if record.id in wanted:
            seen[record.id] = record.hash
        checked += 1
        expected_id, expected_prev = record.id + 1, record.hash
    last_id = expected_id - 1
    for number, point in enumerate(points, 1):
        if not point.valid:
            return VerifyResult(
                False, checked, None, f"checkpoint {number} is not signed with the audit key: forged"
            )
    if points:
        number, latest = max(enumerate(points, 1), key=lambda p: p[1].last_id)
        if latest.last_id > last_id:
            return VerifyResult(
                False,
                checked,
                last_id + 1,
                f"record(s) {last_id + 1}..{latest.last_id} missing: checkpoint {number} ({latest.ts}) "
                f"counted {latest.count} records, the chain ends at record {last_id}",
            )
    for number, point in enumerate(points, 1):
        if point.last_id > 0 and seen.get(point.last_id) != point.last_hash:
            return VerifyResult(
                False,
                checked,
                point.last_id,
                f"record {point.last_id}: differs from checkpoint {number} ({point.ts}): chain rewritten",
            )
    head = session.get(Setting, HEAD_KEY)
    if head is None:
        if checked > 0 or points:
            return VerifyResult(False, checked, last_id + 1, "the chain head is missing: removed")
        return VerifyResult(True, checked, None, None)
    head_id, head_hash = _parse_head(head.value)
    if head_id != last_id or (head_id > 0 and head_hash != expected_prev):
        return VerifyResult(
            False,
            checked,
            expected_id,
            f"chain ends at record {last_id} but its head says {head_id}: newest records removed",
        )
    return VerifyResult(True, checked, None, None)
