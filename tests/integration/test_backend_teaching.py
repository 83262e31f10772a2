"""Teaching on the real backend (SQLite and PostgreSQL): trainees never receive the patient's identity on
any route, the identity route is for participants only and its refusals are audited, the instructor's
recording switch, and an 0002 database upgrading to 0003."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text

from backend.db import Database
from backend.migrate import alembic_config, upgrade
from backend.pseudonym import pseudonym_for, scrubber_for
from backend.server import EmbeddedServer
from core.client.backend import BackendClient, BackendError
from tests.helpers import CONSULT_REQUEST
from tests.integration.conftest import Api

NAME, PATIENT_ID, BIRTH = "Wang Min", "CT-2026-0042", "1954-03-08"
PATIENT = {"patient_id": PATIENT_ID, "name": NAME, "sex": "F", "birth_date": BIRTH}
STUDY_UID = "1.2.826.0.1.3680043.10.1234.77"
# Every spelling a clinician might type; none of them may reach a trainee.
LEAKS = ("wang", "ct-2026-0042", "1954-03-08", "19540308", "08/03/1954", "1954年3月8日")


def _op(text_label: str) -> dict[str, Any]:
    return {
        "op_id": str(uuid.uuid4()),
        "lamport": 1,
        "op": {
            "op": "add",
            "id": "t1",
            "data": {"kind": "text", "text": text_label, "points": [[0.1, 0.2]], "tags": [PATIENT_ID]},
            "study_instance_uid": STUDY_UID,
        },
    }


def _seeded_consult(api: Api) -> int:
    """A consult whose question, notes, chat, annotation labels, answer and outcome name the patient."""
    consult = api.new_consult(
        "radiology",
        patient=PATIENT,
        study={"study_instance_uid": STUDY_UID, "source": "pacs"},
        question=f"{NAME} ({PATIENT_ID}, born {BIRTH}): nodule? Mrs Wang smokes.",
    )
    cid = int(consult["id"])
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    api.ok("POST", f"/consults/{cid}/start", "dr.li")
    api.ok(
        "POST",
        f"/consults/{cid}/notes",
        "dr.chen",
        201,
        json={"op_id": str(uuid.uuid4()), "text": "WANG^MIN, DOB 19540308: 8 mm nodule, wait 5 min"},
    )
    api.ok(
        "POST",
        f"/consults/{cid}/chat",
        "dr.li",
        201,
        json={"op_id": str(uuid.uuid4()), "text": f"min wang ({PATIENT_ID.lower()}) 08/03/1954 1954年3月8日"},
    )
    api.ok("POST", f"/consults/{cid}/annotations", "dr.chen", 201, json=_op(f"{NAME}'s nodule"))
    key = {
        "study_instance_uid": STUDY_UID,
        "series_instance_uid": STUDY_UID + ".1",
        "sop_instance_uid": STUDY_UID + ".1.1",
    }
    answer = {"text": f"Benign-looking; follow up {NAME} in 6 months.", "key_images": [key]}
    api.ok("POST", f"/consults/{cid}/answer", "dr.chen", json=answer)
    report = {
        "content": {"patient": {"name": NAME, "patient_id": PATIENT_ID}, "findings": f"{NAME}: nodule."}
    }
    api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json=report)  # a draft, never signed
    api.ok(
        "POST",
        f"/consults/{cid}/close",
        "dr.chen",
        json={"outcome": f"Discussed with {NAME}.", "no_report_reason": "none written"},
    )
    return cid


def _trainee_walk(api: Api, cid: int) -> dict[str, tuple[int, str]]:
    """Every GET route the API publishes, as the trainee, ids filled in: path -> (status, body)."""
    spec = api.ok("GET", "/openapi.json", None)
    photo_id = 1  # the trainee is refused before the photo is looked up
    report_id = api.ok("GET", f"/consults/{cid}/reports", "dr.chen")[0]["id"]
    seen: dict[str, tuple[int, str]] = {}
    for path, methods in spec["paths"].items():
        if "get" not in methods:
            continue
        concrete = path.removeprefix("/api/v1").replace("{consult_id}", str(cid))
        concrete = concrete.replace("{photo_id}", str(photo_id)).replace("{report_id}", str(report_id))
        assert "{" not in concrete, f"unknown path parameter in {path}: extend the walk"
        response = api.call("GET", concrete, "student.zhao")
        seen[concrete] = (response.status_code, response.text)
    for query in ("/consults?state=closed", "/audit?limit=1000"):
        response = api.call("GET", query, "student.zhao")
        seen[query] = (response.status_code, response.text)
    return seen


def test_trainee_never_receives_the_identity(api: Api) -> None:
    cid = _seeded_consult(api)
    walked = _trainee_walk(api, cid)
    # The walk reached the clinical routes (not just refusals) ...
    for path in (f"/consults/{cid}", f"/consults/{cid}/notes", f"/consults/{cid}/chat"):
        assert walked[path][0] == 200, path
    assert walked[f"/consults/{cid}/annotations"][0] == 200
    assert walked[f"/consults/{cid}/recording"][0] == 200
    assert walked[f"/consults/{cid}/identity"][0] == 403
    assert walked[f"/consults/{cid}/photos"][0] == 403
    # ... and nothing in any of it names the patient.
    for path, (status, body) in walked.items():
        for leak in LEAKS:
            assert leak not in body.lower(), f"{leak!r} leaked to the trainee by GET {path} ({status})"
    # The text is pseudonymised, not dropped: the same stable pseudonym everywhere.
    consult = json.loads(walked[f"/consults/{cid}"][1])
    pseudonym = consult["patient"]["name"]
    assert re.fullmatch(r"Patient [0-9A-F]{8}", pseudonym)
    anon_id = consult["patient"]["patient_id"]
    assert consult["question"].startswith(f"{pseudonym} ({anon_id}, born [birth date])")
    assert f"Mrs {pseudonym} smokes" in consult["question"]
    assert pseudonym in consult["answer"]["text"] and pseudonym in consult["outcome"]
    assert consult["answer"]["key_images"][0]["study_instance_uid"] == STUDY_UID  # UIDs stay intact
    note = json.loads(walked[f"/consults/{cid}/notes"][1])[0]["text"]
    assert note == f"{pseudonym}, DOB [birth date]: 8 mm nodule, wait 5 min"
    chat = json.loads(walked[f"/consults/{cid}/chat"][1])[0]["text"]
    assert chat == f"{pseudonym} ({anon_id}) [birth date] [birth date]"
    op = json.loads(walked[f"/consults/{cid}/annotations"][1])[0]["op"]
    assert op["data"]["text"] == f"{pseudonym}'s nodule" and op["study_instance_uid"] == STUDY_UID
    assert op["data"]["tags"] == [consult["patient"]["patient_id"]] and op["data"]["points"] == [[0.1, 0.2]]
    listed = json.loads(walked["/consults?state=closed"][1])
    assert [c["patient"]["name"] for c in listed] == [pseudonym]
    # The participants still read the record as written.
    assert api.ok("GET", f"/consults/{cid}", "dr.chen")["question"].startswith(f"{NAME} ({PATIENT_ID}")
    assert NAME in api.ok("GET", f"/consults/{cid}/annotations", "dr.li")[0]["op"]["data"]["text"]


def _audit(api: Api, action: str, cid: int) -> list[dict[str, Any]]:
    records = api.ok("GET", "/audit?limit=1000", "it.admin")
    return [r for r in records if r["action"] == action and r["consult_id"] == cid]


def test_identity_for_participants_only_and_refusals_audited(api: Api) -> None:
    cid = api.new_consult("radiology", patient=PATIENT)["id"]
    # Open: the requester already has it; a trainee (not even shown the consult yet) is refused.
    identity = api.ok("GET", f"/consults/{cid}/identity", "dr.li")
    code = identity.pop("pseudonym_code")
    assert identity == PATIENT and re.fullmatch(r"[0-9A-F]{8}", code)
    # (an open consult is not the trainee's to know of: 404, as for a missing one; the refusal is audited)
    assert api.call("GET", f"/consults/{cid}/identity", "student.zhao").status_code == 404
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    api.ok("POST", f"/consults/{cid}/start", "dr.li")
    assert api.ok("GET", f"/consults/{cid}/identity", "dr.chen") == {**PATIENT, "pseudonym_code": code}
    # The trainee sees the session (403: not the identity); the others do not see it at all (404).
    for outsider, status in (("student.zhao", 403), ("dr.wang", 404), ("it.admin", 404)):
        refused = api.call("GET", f"/consults/{cid}/identity", outsider)
        assert refused.status_code == status, outsider
        assert set(refused.json()) == {"detail"} and "wang" not in refused.text.lower()
    assert api.call("GET", f"/consults/{cid}/identity", None).status_code == 401
    assert api.call("GET", "/consults/999999/identity", "student.zhao").status_code == 404
    # The trainee's refused photo requests are identity refusals too.
    assert api.call("GET", f"/consults/{cid}/photos", "student.zhao").status_code == 403
    assert api.call("GET", f"/consults/{cid}/photos/1", "student.zhao").status_code == 403

    refusals = _audit(api, "identity.refused", cid)
    assert [(r["actor"], r["details"]["asked"]) for r in refusals] == [
        ("student.zhao", {"route": "identity"}),
        ("student.zhao", {"route": "identity"}),
        ("dr.wang", {"route": "identity"}),
        ("it.admin", {"route": "identity"}),
        ("student.zhao", {"route": "photos"}),
        ("student.zhao", {"route": "photo", "photo_id": 1}),
    ]
    assert all(r["client"] == "127.0.0.1" and r["actor_id"] is not None for r in refusals)
    assert refusals[0]["details"]["role"] == "trainee"
    assert [r["actor"] for r in _audit(api, "identity.access", cid)] == ["dr.li", "dr.chen"]
    # Nothing identifying is written into the audit details of a refusal.
    assert not any("wang" in json.dumps(r["details"]).lower() for r in refusals)
    assert api.ok("GET", "/audit/verify", "it.admin")["ok"] is True


def test_participants_learn_the_pseudonym_trainees_see(api: Api) -> None:
    """The instructor's workstation scrubs what it forwards to a class with the backend's pseudonym."""
    cid = api.new_consult("radiology", patient=PATIENT)["id"]
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    api.ok("POST", f"/consults/{cid}/start", "dr.li")
    seen_by_trainee = api.ok("GET", f"/consults/{cid}", "student.zhao")["patient"]
    seen_by_instructor = api.ok("GET", f"/consults/{cid}", "dr.chen")["patient"]
    assert seen_by_trainee["pseudonym_code"] is None
    code = seen_by_instructor["pseudonym_code"]
    assert seen_by_instructor["name"] == PATIENT["name"]
    assert seen_by_trainee["name"] == f"Patient {code}" and seen_by_trainee["patient_id"] == f"ANON-{code}"


def test_recording_switch_is_the_instructors(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    assert api.ok("GET", f"/consults/{cid}/recording", "student.zhao") == {"on": False, "since": None}
    for other, status in (("student.zhao", 403), ("dr.li", 403), ("dr.wang", 404), ("it.admin", 403)):
        response = api.call("POST", f"/consults/{cid}/recording", other, json={"on": True})
        assert response.status_code == status, other
    assert api.call("POST", f"/consults/{cid}/recording", "dr.chen", json={"on": "yes"}).status_code == 422
    assert api.call("POST", f"/consults/{cid}/recording", "dr.chen", json={}).status_code == 422

    started = api.ok("POST", f"/consults/{cid}/recording", "dr.chen", json={"on": True})
    assert started["on"] is True
    since = datetime.fromisoformat(started["since"])
    assert since.tzinfo is not None and abs((datetime.now(UTC) - since).total_seconds()) < 60
    # Every site sees the indicator: trainee, county doctor, instructor.
    for user in ("student.zhao", "dr.li", "dr.chen"):
        assert api.ok("GET", f"/consults/{cid}/recording", user) == started, user
    # Switching on again changes nothing and is not audited twice.
    assert api.ok("POST", f"/consults/{cid}/recording", "dr.chen", json={"on": True}) == started
    stopped = api.ok("POST", f"/consults/{cid}/recording", "dr.chen", json={"on": False})
    assert stopped == {"on": False, "since": None}
    assert api.ok("POST", f"/consults/{cid}/recording", "dr.chen", json={"on": False}) == stopped
    assert [r["actor"] for r in _audit(api, "recording.started", cid)] == ["dr.chen"]
    stop_records = _audit(api, "recording.stopped", cid)
    assert len(stop_records) == 1 and stop_records[0]["details"]["seconds"] >= 0

    # Closing the consult ends a running recording (audited); a closed consult never records again.
    api.ok("POST", f"/consults/{cid}/recording", "dr.chen", json={"on": True})
    api.ok(
        "POST",
        f"/consults/{cid}/close",
        "dr.chen",
        json={"outcome": "done", "no_report_reason": "none written"},
    )
    assert api.ok("GET", f"/consults/{cid}/recording", "student.zhao") == {"on": False, "since": None}
    assert _audit(api, "recording.stopped", cid)[-1]["details"]["reason"] == "closed"
    assert api.call("POST", f"/consults/{cid}/recording", "dr.chen", json={"on": True}).status_code == 409
    # An accepted consult (the call about to start) may be recorded; an open one has no instructor yet.
    accepted = api.consult_in_state("accepted")
    assert api.ok("POST", f"/consults/{accepted}/recording", "dr.chen", json={"on": True})["on"] is True
    open_ = api.consult_in_state("open")
    assert api.call("POST", f"/consults/{open_}/recording", "dr.chen", json={"on": True}).status_code == 403
    # Trainees read the state only where they may see the consult.
    assert api.call("GET", f"/consults/{accepted}/recording", "student.zhao").status_code == 404
    assert api.ok("GET", "/audit/verify", "it.admin")["ok"] is True


def test_0002_database_upgrades_to_0003(database_url: str) -> None:
    db = Database(database_url)
    try:
        config = alembic_config(db.engine)
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        assert "recording_since" not in {c["name"] for c in inspect(db.engine).get_columns("consults")}
        with db.engine.begin() as connection:
            user_id = connection.execute(text("SELECT id FROM users WHERE username = 'dr.li'")).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO consults (state, patient_id, patient_name, patient_sex, question, urgency, "
                    "specialty, requested_by_id, created_at) VALUES ('open', 'P-8', 'Older', 'M', 'q', "
                    "'routine', 'radiology', :u, :t)"
                ),
                {"u": user_id, "t": datetime.now(UTC)},
            )
        upgrade(db.engine)
        assert "recording_since" in {c["name"] for c in inspect(db.engine).get_columns("consults")}
        with db.engine.connect() as connection:
            row = connection.execute(
                text("SELECT patient_name, recording_since FROM consults WHERE patient_id = 'P-8'")
            ).one()
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(config).get_current_head()
        assert tuple(row) == ("Older", None) and version == head  # 0003, and every later one, applied
    finally:
        db.dispose()


def test_backend_client_teaching_methods(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        doctor, specialist, trainee = BackendClient(base), BackendClient(base), BackendClient(base)
        try:
            await doctor.login("dr.li", "demo")
            await specialist.login("dr.chen", "demo")
            await trainee.login("student.zhao", "demo")
            cid = int((await doctor.create_consult(CONSULT_REQUEST))["id"])
            await specialist.transition(cid, "accept")
            await doctor.transition(cid, "start")
            identity = await specialist.patient_identity(cid)
            assert identity.pop("pseudonym_code") and identity == CONSULT_REQUEST["patient"]
            with pytest.raises(BackendError) as refused:
                await trainee.patient_identity(cid)
            assert refused.value.status == 403 and not refused.value.retryable
            assert await trainee.recording(cid) == {"on": False, "since": None}
            on = await specialist.set_recording(cid, True)
            assert on["on"] is True and (await trainee.recording(cid)) == on
            with pytest.raises(BackendError) as not_instructor:
                await doctor.set_recording(cid, False)
            assert not_instructor.value.status == 403
            assert (await specialist.set_recording(cid, False))["on"] is False
            seen = await trainee.consult(cid)
            assert seen["patient"]["name"].startswith("Patient ") and "Wang" not in json.dumps(seen)
        finally:
            for client in (doctor, specialist, trainee):
                await client.aclose()

    asyncio.run(scenario())


def test_scrubber_spellings() -> None:
    """backend.pseudonym on its own: every spelling of the name, the id and the birth date, whole words."""
    salt = b"site-salt"
    scrub = scrubber_for(PATIENT_ID, NAME, date(1954, 3, 8), salt)
    p = pseudonym_for(PATIENT_ID, salt)
    assert p == scrubber_for(PATIENT_ID, "Other Name", None, salt).pseudonym  # stable per patient id
    assert scrub.text("Wang Min is stable") == f"{p.name} is stable"
    assert scrub.text("WANG^MIN / Min Wang / wang, min") == f"{p.name} / {p.name} / {p.name}"
    assert scrub.text(f"MRN {PATIENT_ID.lower()}; Mrs Wang") == f"MRN {p.patient_id}; Mrs {p.name}"
    dates = "born 08.03.1954, 19540308, Mar 8, 1954"
    assert scrub.text(dates) == "born [birth date], [birth date], [birth date]"
    # ordinary words and numbers inside UIDs are left alone
    ordinary = "wait 5 min; Wangaratta; 1.2.840.19540308.1"
    assert scrub.text(ordinary) == ordinary
    # one pass: a pseudonym is never rewritten, even when it contains a word of the name
    odd = scrubber_for("P-1", "Test Patient", None, salt)
    assert odd.text("Test Patient") == odd.pseudonym.name
    cjk = scrubber_for("P-7", "王敏", None, salt)
    assert cjk.text("患者王敏血压下降") == f"患者{cjk.pseudonym.name}血压下降"
    assert scrub.value({"a": ["Wang Min", 3, {"b": PATIENT_ID}]}) == {"a": [p.name, 3, {"b": p.patient_id}]}
