"""The audit hash chain: what is recorded, concurrent appends, and tamper detection (API and CLI)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select, update

from backend import audit
from backend.models import AuditRecord, Setting
from tests.integration.conftest import Api


def _verify_cli(database_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", "verify-audit", "--database-url", database_url, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _activity(api: Api) -> int:
    api.http.post("/auth/login", json={"username": "dr.chen", "password": "wrong"})
    cid = api.consult_in_state("in_session")
    api.ok("POST", f"/consults/{cid}/notes", "dr.chen", 201, json={"op_id": str(uuid.uuid4()), "text": "n"})
    api.ok("GET", f"/consults/{cid}", "dr.li")
    return cid


def test_chain_records_and_links(api: Api, database_url: str) -> None:
    _activity(api)
    records = api.ok("GET", "/audit?limit=1000", "it.admin")
    actions = {r["action"] for r in records}
    assert {
        "user.create",
        "auth.login",
        "auth.login_failed",
        "consult.create",
        "consult.accept",
        "consult.start",
        "note.add",
        "record.access",
    } <= actions
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    assert records[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(records))
    failed = next(r for r in records if r["action"] == "auth.login_failed")
    assert failed["actor"] == "dr.chen" and failed["client"] == "127.0.0.1"
    page = api.ok("GET", "/audit?limit=2&after_id=3", "it.admin")
    assert [r["id"] for r in page] == [4, 5]
    verified = api.ok("GET", "/audit/verify", "it.admin")
    assert verified["ok"] is True and verified["first_broken_id"] is None
    assert verified["checked"] >= len(records)
    done = _verify_cli(database_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().startswith("audit chain intact (") and "records)" in done.stdout


def test_concurrent_appends_never_fork(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    tokens = [api.token("dr.chen"), api.token("dr.li")]

    def write(i: int) -> None:
        with httpx.Client(base_url=api.api, timeout=60) as client:
            headers = {"Authorization": f"Bearer {tokens[i % 2]}"}
            for _ in range(5):
                response = client.post(
                    f"/consults/{cid}/chat", headers=headers, json={"op_id": str(uuid.uuid4()), "text": "x"}
                )
                assert response.status_code == 201

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(api.ok("GET", f"/consults/{cid}/chat", "dr.li")) == 40
    verified = api.ok("GET", "/audit/verify", "it.admin")
    assert verified["ok"] is True, verified
    records = api.ok("GET", "/audit?limit=1000", "it.admin")
    assert sum(r["action"] == "chat.add" for r in records) == 40


def test_altered_record_is_reported(api: Api, database_url: str) -> None:
    _activity(api)
    with api.server.database.transaction() as session:
        session.execute(update(AuditRecord).where(AuditRecord.id == 7).values(actor="someone.else"))
    verified = api.ok("GET", "/audit/verify", "it.admin")
    assert verified == {
        "ok": False,
        "checked": 6,
        "first_broken_id": 7,
        "reason": "record 7: altered (hash mismatch)",
    }
    done = _verify_cli(database_url)
    assert done.returncode == 1
    assert "record 7" in done.stdout and "altered" in done.stdout


def test_deleted_records_are_reported(api: Api, database_url: str) -> None:
    _activity(api)
    with api.server.database.transaction() as session:
        session.execute(delete(AuditRecord).where(AuditRecord.id == 8))
    verified = api.ok("GET", "/audit/verify", "it.admin")
    assert verified["ok"] is False and verified["first_broken_id"] == 9
    assert "8..8 missing" in verified["reason"]
    done = _verify_cli(database_url)
    assert done.returncode == 1 and "record 9" in done.stdout


def test_deleting_the_newest_records_is_reported(api: Api) -> None:
    _activity(api)
    # Stop auditing (verify itself writes nothing), then drop the tail.
    newest = api.ok("GET", "/audit?limit=1000", "it.admin")[-1]["id"]
    with api.server.database.transaction() as session:
        session.execute(delete(AuditRecord).where(AuditRecord.id >= newest - 1))
    verified = api.ok("GET", "/audit/verify", "it.admin")
    assert verified["ok"] is False and verified["first_broken_id"] == newest - 1
    assert "newest records removed" in verified["reason"]


def test_workstations_record_vitals_events_but_cannot_forge_others(api: Api) -> None:
    consult = api.consult_in_state("in_session")
    event = {
        "action": "vitals.alarm.onset",
        "consult_id": consult,
        "details": {"alarm": "spo2_low", "value": 84},
    }
    recorded = api.ok("POST", "/audit/events", "dr.chen", 201, json=event)
    rows = api.ok("GET", f"/audit?after_id={recorded['id'] - 1}", "it.admin")
    assert rows[0]["action"] == "vitals.alarm.onset"
    assert rows[0]["actor"] == "dr.chen" and rows[0]["consult_id"] == consult
    assert rows[0]["details"] == {"alarm": "spo2_low", "value": 84}
    # Only the workstation's own event families; never sign-ins, record access or the like.
    for action in ("auth.login", "consult.accept", "vitals", "vitals.ALARM"):
        forged = api.call("POST", "/audit/events", "dr.chen", json={"action": action})
        assert forged.status_code == 422, action
    too_big = {"action": "vitals.note", "details": {"x": "y" * 5000}}
    assert api.call("POST", "/audit/events", "dr.chen", json=too_big).status_code == 422
    # Someone else's consult: refused.
    assert api.call("POST", "/audit/events", "dr.wang", json=event).status_code == 404  # not his consult
    assert api.ok("GET", "/audit/verify", "it.admin")["ok"] is True


# The keyed chain and its checkpoints: tampering by whoever can write the database but not the key.


def _keyed(make_server: Callable[..., Api], tmp_path: Path) -> tuple[Api, list[str]]:
    key, points = tmp_path / "audit.key", tmp_path / "checkpoints.log"
    api = make_server(audit_key_file=str(key), audit_checkpoint_file=str(points), audit_checkpoint_every=1)
    _activity(api)
    assert api.ok("GET", "/audit/verify", "it.admin")["ok"] is True
    assert key.stat().st_mode & 0o777 == 0o600
    cli = ["--audit-key-file", str(key), "--audit-checkpoint-file", str(points)]
    return api, cli


def _newest(api: Api) -> int:
    newest: int = api.ok("GET", "/audit?limit=1000", "it.admin")[-1]["id"]
    return newest


def _broken(api: Api, database_url: str, cli: list[str]) -> tuple[dict[str, Any], str]:
    verified: dict[str, Any] = api.ok("GET", "/audit/verify", "it.admin")
    assert verified["ok"] is False, verified
    done = _verify_cli(database_url, *cli)
    assert done.returncode == 1, done.stdout + done.stderr
    return verified, done.stdout


def test_keyed_records_are_hmac_and_old_ones_stay_verifiable(
    make_server: Callable[..., Api], tmp_path: Path, database_url: str
) -> None:
    api, cli = _keyed(make_server, tmp_path)
    with api.server.database.transaction(readonly=True) as session:
        algs = [r.alg for r in session.scalars(select(AuditRecord).order_by(AuditRecord.id))]
    # The template's records predate the key; everything this server wrote is keyed.
    assert algs[0] == "sha256" and algs[-1] == "hmac-sha256"
    assert algs == sorted(algs, key=lambda a: a == "hmac-sha256")
    done = _verify_cli(database_url, *cli)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (tmp_path / "checkpoints.log").read_text().splitlines()
    assert lines and json.loads(lines[-1])["last_id"] >= 1


def test_deleting_the_tail_and_rewriting_the_head_is_reported(
    make_server: Callable[..., Api], tmp_path: Path, database_url: str
) -> None:
    api, cli = _keyed(make_server, tmp_path)
    newest = _newest(api)
    with api.server.database.transaction() as session:
        keep = session.get(AuditRecord, newest - 3)
        assert keep is not None
        session.execute(delete(AuditRecord).where(AuditRecord.id > newest - 3))
        session.execute(
            update(Setting).where(Setting.key == "audit_head").values(value=f"{keep.id}:{keep.hash}")
        )
    verified, out = _broken(api, database_url, cli)
    assert verified["first_broken_id"] == newest - 2
    assert f"record(s) {newest - 2}..{newest} missing" in verified["reason"]
    assert f"record {newest - 2}" in out and "checkpoint" in out


def test_deleting_the_head_row_is_reported(
    make_server: Callable[..., Api], tmp_path: Path, database_url: str
) -> None:
    api, cli = _keyed(make_server, tmp_path)
    with api.server.database.transaction() as session:
        session.execute(delete(Setting).where(Setting.key == "audit_head"))
    verified, out = _broken(api, database_url, cli)
    assert "head is missing" in verified["reason"] and "head is missing" in out


def test_emptying_the_table_is_reported(
    make_server: Callable[..., Api], tmp_path: Path, database_url: str
) -> None:
    api, cli = _keyed(make_server, tmp_path)
    newest = _newest(api)
    with api.server.database.transaction() as session:
        session.execute(delete(AuditRecord))
        session.execute(update(Setting).where(Setting.key == "audit_head").values(value=f"0:{'0' * 64}"))
    verified, out = _broken(api, database_url, cli)
    assert verified["first_broken_id"] == 1 and f"record(s) 1..{newest} missing" in verified["reason"]
    assert "record 1" in out


def test_removing_a_record_and_rehashing_the_rest_is_reported(
    make_server: Callable[..., Api], tmp_path: Path, database_url: str
) -> None:
    api, cli = _keyed(make_server, tmp_path)
    newest = _newest(api)
    victim = newest - 4
    with api.server.database.transaction() as session:
        rows = list(
            session.scalars(select(AuditRecord).where(AuditRecord.id >= victim).order_by(AuditRecord.id))
        )
        session.execute(delete(AuditRecord).where(AuditRecord.id >= victim))
        session.flush()
        prev = session.get(AuditRecord, victim - 1)
        assert prev is not None
        prev_hash = prev.hash
        # Renumber and rehash every later record, as unkeyed SHA-256 and as HMAC with a guessed key.
        for new_id, old in enumerate(rows[1:], start=victim):
            forged = AuditRecord(
                id=new_id, ts=old.ts, actor_id=old.actor_id, actor=old.actor, action=old.action,
                consult_id=old.consult_id, client=old.client, details=old.details, prev_hash=prev_hash,
                alg=old.alg,
            )  # fmt: skip
            forged.hash = audit.compute_hash(prev_hash, forged, None if old.alg == "sha256" else b"guess")
            session.add(forged)
            prev_hash = forged.hash
        session.flush()
        session.execute(
            update(Setting).where(Setting.key == "audit_head").values(value=f"{newest - 1}:{prev_hash}")
        )
    verified, out = _broken(api, database_url, cli)
    assert verified["first_broken_id"] == victim and f"record {victim}" in out
    # Even relabelled as unkeyed SHA-256 the rewrite is caught.
    with api.server.database.transaction() as session:
        rows = list(
            session.scalars(select(AuditRecord).where(AuditRecord.id >= victim).order_by(AuditRecord.id))
        )
        prev = session.get(AuditRecord, victim - 1)
        assert prev is not None
        prev_hash = prev.hash
        for row in rows:
            row.prev_hash, row.alg = prev_hash, "sha256"
            row.hash = audit.compute_hash(prev_hash, row)
            prev_hash = row.hash
        session.execute(
            update(Setting).where(Setting.key == "audit_head").values(value=f"{newest - 1}:{prev_hash}")
        )
    verified, _ = _broken(api, database_url, cli)
    assert verified["first_broken_id"] == victim


def test_a_forged_checkpoint_is_reported(
    make_server: Callable[..., Api], tmp_path: Path, database_url: str
) -> None:
    api, cli = _keyed(make_server, tmp_path)
    with (tmp_path / "checkpoints.log").open("a") as out:
        out.write('{"count":1,"last_id":1,"last_hash":"x","mac":"00","ts":"t"}\n')
    verified, out_text = _broken(api, database_url, cli)
    assert "forged" in verified["reason"] and "forged" in out_text
