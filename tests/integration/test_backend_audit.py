"""The audit hash chain: what is recorded, concurrent appends, and tamper detection (API and CLI)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import uuid

import httpx
from sqlalchemy import delete, update

from backend.models import AuditRecord
from tests.integration.conftest import Api


def _verify_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", "verify-audit", "--database-url", database_url],
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
    assert api.call("POST", "/audit/events", "dr.wang", json=event).status_code == 403
    assert api.ok("GET", "/audit/verify", "it.admin")["ok"] is True
