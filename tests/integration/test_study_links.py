"""POST /consults/{id}/study-links on the real backend: participants only, written to the audit chain with
both identities (the study's as sent, the consult's from the database) and the clinician's reason."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from backend.server import EmbeddedServer

ZHANG = {"patient_id": "CT-2026-0042", "name": "Zhang Wei", "sex": "M", "birth_date": "1961-03-14"}
STUDY_PATIENT = {"patient_id": "TMP-0007", "name": "EMERGENCY UNKNOWN", "birth_date": "", "sex": "M",
                 "issuer": ""}  # fmt: skip
STUDY_UID = "1.2.826.0.1.3680043.10.99.1"
REASON = "Registered under a temporary emergency ID before admission"


@contextmanager
def _client(server: EmbeddedServer, username: str | None = None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url}/api/v1", timeout=30) as client:
        if username is not None:
            token = client.post("/auth/login", json={"username": username, "password": "demo"}).json()
            client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client


def _consult(server: EmbeddedServer) -> int:
    with _client(server, "dr.li") as li, _client(server, "dr.chen") as chen:
        body = {"patient": ZHANG, "question": "Nodule?", "urgency": "urgent", "specialty": "radiology",
                "study": None}  # fmt: skip
        consult_id = int(li.post("/consults", json=body).json()["id"])
        assert chen.post(f"/consults/{consult_id}/accept").status_code == 200
    return consult_id


def _link(client: httpx.Client, consult_id: int, **changes: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "study_instance_uid": STUDY_UID,
        "study_patient": STUDY_PATIENT,
        "reason": REASON,
        **changes,
    }
    return client.post(f"/consults/{consult_id}/study-links", json=body)


def test_a_participant_links_a_study_and_the_audit_chain_has_both_identities(server: EmbeddedServer) -> None:
    consult_id = _consult(server)
    with _client(server, "dr.chen") as chen:
        answer = _link(chen, consult_id)
        assert answer.status_code == 201, answer.text
        linked = answer.json()
        assert linked["consult_id"] == consult_id and linked["study_instance_uid"] == STUDY_UID
    with _client(server, "dr.li") as li:  # the requester is a participant too
        assert _link(li, consult_id).status_code == 201

    with _client(server, "it.admin") as admin:
        records = admin.get("/audit", params={"limit": 1000}).json()
        links = [r for r in records if r["action"] == "study.link"]
        assert [r["actor"] for r in links] == ["dr.chen", "dr.li"]
        record = links[0]
        assert record["id"] == linked["audit_id"] and record["consult_id"] == consult_id
        details = record["details"]
        assert details["study_patient"] == STUDY_PATIENT
        fields = ("patient_id", "name", "birth_date", "sex")
        assert details["consult_patient"] == {k: ZHANG[k] for k in fields}
        assert details["reason"] == REASON
        assert details["study_instance_uid"] == STUDY_UID
        assert admin.get("/audit/verify").json()["ok"] is True


def test_only_participants_link_and_a_reason_is_required(server: EmbeddedServer) -> None:
    consult_id = _consult(server)
    with _client(server, "dr.wang") as wang:  # a specialist of another specialty: he cannot see it,
        assert _link(wang, consult_id).status_code == 404  # so it answers as a consult that is not there
    with _client(server, "student.zhao") as trainee:
        assert _link(trainee, consult_id).status_code == 403
    with _client(server, "it.admin") as admin:
        assert _link(admin, consult_id).status_code == 403
    with _client(server) as anonymous:
        assert _link(anonymous, consult_id).status_code == 401
    with _client(server, "dr.chen") as chen:
        assert _link(chen, consult_id, reason="  ").status_code == 422
        assert _link(chen, consult_id, reason="short").status_code == 422
        assert _link(chen, consult_id, study_instance_uid="not-a-uid").status_code == 422
        assert _link(chen, consult_id, extra="no").status_code == 422
        assert _link(chen, 999_999).status_code == 404
    with _client(server, "it.admin") as admin:
        records = admin.get("/audit", params={"limit": 1000}).json()
        assert not [r for r in records if r["action"] == "study.link"]
