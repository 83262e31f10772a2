"""Store-and-forward through the real backend on SQLite and PostgreSQL: request with a vitals snapshot
and photos, accept, written answer with key images, the requester reads it; role refusals; bad photos;
an 0001 database upgrading to 0002."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from PIL import Image
from sqlalchemy import inspect, text

from backend.db import Database
from backend.migrate import alembic_config, upgrade
from backend.routes.store_forward import MAX_PHOTO_BYTES
from backend.server import EmbeddedServer
from core.client.backend import BackendClient, BackendError, vitals_snapshot
from core.worklist.model import ConsultItem
from tests.helpers import CONSULT_REQUEST
from tests.integration.conftest import Api

STUDY_UID = "1.2.826.0.1.3680043.10.1234.99"
STUDY = {"study_instance_uid": STUDY_UID, "source": "regional-pacs"}
KEY_IMAGE = {
    "study_instance_uid": STUDY_UID,
    "series_instance_uid": "1.2.826.0.1.3680043.10.1234.99.900",
    "sop_instance_uid": "1.2.826.0.1.3680043.10.1234.99.900.1",
}


def vitals() -> dict[str, Any]:
    return {
        "taken_at": datetime(2026, 11, 23, 8, 30, tzinfo=UTC).isoformat(),
        "numerics": {"HR": {"value": 112, "unit": "/min"}, "SpO2": {"value": 91, "unit": "%"}},
        "waveforms": {"ECG II": {"unit": "mV", "rate_hz": 250, "samples": [0.0, 0.1, 1.2, -0.3, 0.0] * 100}},
    }


def photo(fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 60)).save(out, fmt)
    return out.getvalue()


def upload(api: Api, cid: int, data: bytes, as_: str = "dr.li", media: str = "image/jpeg") -> Any:
    headers = {**api.headers(as_), "Content-Type": media}
    return api.http.post(f"/consults/{cid}/photos?caption=wound", content=data, headers=headers)


def test_store_forward_request_to_answered(api: Api) -> None:
    created = api.new_consult("radiology", study=STUDY, vitals=vitals(), question="Fracture?")
    cid = created["id"]
    assert created["vitals"]["numerics"]["HR"] == {"value": 112.0, "unit": "/min"}
    assert len(created["vitals"]["waveforms"]["ECG II"]["samples"]) == 500
    assert created["answer"] is None
    jpeg, png = photo("JPEG"), photo("PNG")
    first = upload(api, cid, jpeg)
    assert first.status_code == 201, first.text
    assert first.json()["media_type"] == "image/jpeg" and first.json()["caption"] == "wound"
    # Stored re-encoded (backend/routes/store_forward.py reencode_image): the hash is of what is served.
    assert first.json()["size"] > 0 and len(first.json()["sha256"]) == 64
    # The type comes from the bytes, not from what the client claimed.
    second = upload(api, cid, png, media="image/jpeg")
    assert second.status_code == 201 and second.json()["media_type"] == "image/png"

    # Before accepting, a specialist of the specialty sees a summary of the request: not its vitals
    # snapshot, not its photos (backend/access.py).
    pending = api.ok("GET", f"/consults/{cid}", "dr.chen")
    assert pending["identity"] == "withheld" and pending["vitals"] is None and pending["patient"] is None
    assert api.call("GET", f"/consults/{cid}/photos", "dr.chen").status_code == 403
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    listed = api.ok("GET", f"/consults/{cid}/photos", "dr.chen")
    assert [p["media_type"] for p in listed] == ["image/jpeg", "image/png"]
    got = api.call("GET", f"/consults/{cid}/photos/{listed[0]['id']}", "dr.chen")
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert hashlib.sha256(got.content).hexdigest() == first.json()["sha256"]
    assert Image.open(io.BytesIO(got.content)).size == Image.open(io.BytesIO(jpeg)).size

    answered = api.ok(
        "POST",
        f"/consults/{cid}/answer",
        "dr.chen",
        json={"text": "No fracture. Soft-tissue swelling, see key image.", "key_images": [KEY_IMAGE]},
    )
    assert answered["state"] == "answered"
    assert answered["answer"]["key_images"] == [KEY_IMAGE]
    assert answered["answer"]["answered_by"]["username"] == "dr.chen"
    # Answered once: a second answer is a conflict; closing still works from "answered".
    again = api.call("POST", f"/consults/{cid}/answer", "dr.chen", json={"text": "again"})
    assert again.status_code == 409

    # The county doctor sees it answered in the worklist, with the text and key images.
    mine = api.ok("GET", "/consults?state=answered", "dr.li")
    assert [c["id"] for c in mine] == [cid]
    assert mine[0]["answer"]["text"].startswith("No fracture")
    assert api.ok("GET", f"/consults/{cid}/photos", "dr.li")[1]["id"] == listed[1]["id"]
    closed = api.ok(
        "POST",
        f"/consults/{cid}/close",
        "dr.chen",
        json={"outcome": "answered in writing", "no_report_reason": "none written"},
    )
    assert closed["state"] == "closed" and closed["answer"]["text"].startswith("No fracture")

    actions = [(r["action"], r["actor"]) for r in api.ok("GET", "/audit?limit=1000", "it.admin")]
    assert ("consult.answer", "dr.chen") in actions
    assert actions.count(("photo.upload", "dr.li")) == 2
    assert ("photo.access", "dr.chen") in actions
    assert api.ok("GET", "/audit/verify", "it.admin")["ok"] is True


def test_store_forward_role_refusals(api: Api) -> None:
    cid = api.new_consult("radiology", study=STUDY)["id"]
    assert upload(api, cid, photo()).status_code == 201
    # Only the requester attaches photos.
    assert upload(api, cid, photo(), as_="dr.chen").status_code == 403
    body = {"text": "Looks fine.", "key_images": [KEY_IMAGE]}
    # Nobody answers an open consult; after acceptance, only the accepting specialist.
    assert api.call("POST", f"/consults/{cid}/answer", "dr.chen", json=body).status_code == 403
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    # 403 for a role that may not answer at all; 404 for a specialist the consult is not visible to.
    for other, status in (("dr.wang", 404), ("dr.li", 403), ("student.zhao", 403), ("it.admin", 403)):
        assert api.call("POST", f"/consults/{cid}/answer", other, json=body).status_code == status, other
    photo_id = api.ok("GET", f"/consults/{cid}/photos", "dr.li")[0]["id"]
    for other, status in (("dr.wang", 404), ("student.zhao", 404), ("it.admin", 403)):
        assert api.call("GET", f"/consults/{cid}/photos/{photo_id}", other).status_code == status, other
    assert api.call("GET", f"/consults/{cid}/photos", "dr.wang").status_code == 404
    # Key images from another study are refused (wrong patient's pixels).
    foreign = {**KEY_IMAGE, "study_instance_uid": "1.2.3.4"}
    wrong = {"text": "x", "key_images": [foreign]}
    refused = api.call("POST", f"/consults/{cid}/answer", "dr.chen", json=wrong)
    assert refused.status_code == 422
    api.ok("POST", f"/consults/{cid}/start", "dr.li")
    # A trainee sees the session (pseudonymised) but never its photos.
    assert api.ok("GET", f"/consults/{cid}", "student.zhao")["patient"]["name"] != "Test Patient"
    assert api.call("GET", f"/consults/{cid}/photos", "student.zhao").status_code == 403
    # Answering from in_session works too.
    assert api.ok("POST", f"/consults/{cid}/answer", "dr.chen", json=body)["state"] == "answered"
    # No photos once answered.
    assert upload(api, cid, photo()).status_code == 409


def test_bad_photos_and_vitals_refused(api: Api) -> None:
    cid = api.new_consult("radiology")["id"]
    assert upload(api, cid, b"GIF89a" + b"\0" * 100, media="image/gif").status_code == 415
    assert upload(api, cid, b"<html>not a photo</html>").status_code == 415
    assert upload(api, cid, b"").status_code == 415
    # A PNG signature followed by HTML is not a picture: refused, never stored to be served.
    html = b"<html><script>alert(document.cookie)</script></html>"
    assert upload(api, cid, b"\x89PNG\r\n\x1a\n" + html, media="image/png").status_code == 415
    assert upload(api, cid, b"\xff\xd8\xff\xe0" + html).status_code == 415
    too_big = b"\xff\xd8\xff\xe0" + b"\0" * MAX_PHOTO_BYTES
    assert upload(api, cid, too_big).status_code == 413
    assert api.ok("GET", f"/consults/{cid}/photos", "dr.li") == []
    for _ in range(8):
        assert upload(api, cid, photo()).status_code == 201
    assert upload(api, cid, photo()).status_code == 409
    # Vitals: bounded excerpt, timezone required, unknown fields refused.
    long = vitals()
    long["waveforms"]["ECG II"]["samples"] = [0.0] * 5001
    assert api.call("POST", "/consults", "dr.li", json=_request(long)).status_code == 422
    naive = {**vitals(), "taken_at": "2026-11-23T08:30:00"}
    assert api.call("POST", "/consults", "dr.li", json=_request(naive)).status_code == 422
    extra = {**vitals(), "video": "x"}
    assert api.call("POST", "/consults", "dr.li", json=_request(extra)).status_code == 422
    # Eight waveforms of 5000 samples each pass the per-field bounds but not the 64 KiB total.
    bulky = vitals()
    bulky["waveforms"] = {f"W{i}": {"rate_hz": 500, "samples": [0.123456] * 5000} for i in range(8)}
    assert api.call("POST", "/consults", "dr.li", json=_request(bulky)).status_code == 422


def test_polyglot_photos_lose_what_follows_the_image(api: Api) -> None:
    """A real PNG (or JPEG) with an HTML page appended decodes as an image: it is stored re-encoded, so
    the page does not survive, and served with its sniffed type and ``nosniff``."""
    cid = api.new_consult("radiology")["id"]
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    for fmt, media in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        polyglot = photo(fmt) + html
        stored = upload(api, cid, polyglot, media="text/html")
        assert stored.status_code == 201, stored.text
        assert stored.json()["media_type"] == media
        served = api.call("GET", f"/consults/{cid}/photos/{stored.json()['id']}", "dr.li")
        assert served.status_code == 200
        assert served.headers["content-type"] == media
        assert served.headers["x-content-type-options"] == "nosniff"
        assert b"<html" not in served.content and b"script" not in served.content
        assert Image.open(io.BytesIO(served.content)).format == fmt


def _request(vitals_body: dict[str, Any]) -> dict[str, Any]:
    return {
        "patient": {"patient_id": "P-2", "name": "Other", "sex": "M"},
        "question": "?",
        "urgency": "routine",
        "specialty": "radiology",
        "vitals": vitals_body,
    }


def test_0001_database_upgrades(database_url: str) -> None:
    db = Database(database_url)
    try:
        config = alembic_config(db.engine)
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert "consult_photos" not in inspect(db.engine).get_table_names()
        with db.engine.begin() as connection:
            user_id = connection.execute(text("SELECT id FROM users WHERE username = 'dr.li'")).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO consults (state, patient_id, patient_name, patient_sex, question, urgency, "
                    "specialty, requested_by_id, created_at) VALUES ('open', 'P-9', 'Old', 'F', 'q', "
                    "'routine', 'radiology', :u, :t)"
                ),
                {"u": user_id, "t": datetime.now(UTC)},
            )
        upgrade(db.engine)
        columns = {c["name"] for c in inspect(db.engine).get_columns("consults")}
        assert {"vitals_snapshot", "answer_text", "answer_key_images", "answered_at"} <= columns
        assert "consult_photos" in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            row = connection.execute(
                text("SELECT patient_name, answer_text FROM consults WHERE patient_id = 'P-9'")
            ).one()
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert tuple(row) == ("Old", None) and version == head and head >= "0002"
    finally:
        db.dispose()


def test_backend_client_store_forward(server: EmbeddedServer) -> None:
    """The workstation's client: request with a vitals snapshot, photo up and down, answer, worklist item."""
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        doctor, specialist = BackendClient(base), BackendClient(base)
        try:
            await doctor.login("dr.li", "demo")
            await specialist.login("dr.chen", "demo")
            snapshot = vitals_snapshot(
                {"HR": (97.0, "/min")}, {"ECG II": (250.0, [0.1] * 4000, "mV")}, taken_at=datetime.now(UTC)
            )
            assert len(snapshot["waveforms"]["ECG II"]["samples"]) == 2500  # the last 10 s
            request = {**CONSULT_REQUEST, "study": STUDY, "vitals": snapshot}
            consult = await doctor.create_consult(request)
            cid = int(consult["id"])
            jpeg = photo()
            sent = await doctor.upload_photo(cid, jpeg, caption="left forearm")
            assert sent["caption"] == "left forearm" and sent["media_type"] == "image/jpeg"
            with pytest.raises(BackendError) as bad:
                await doctor.upload_photo(cid, b"not an image")
            assert bad.value.status == 415
            await specialist.transition(cid, "accept")
            assert [p["id"] for p in await specialist.photos(cid)] == [sent["id"]]
            served = await specialist.photo(cid, int(sent["id"]))  # re-encoded on upload, same picture
            assert hashlib.sha256(served).hexdigest() == sent["sha256"]
            assert Image.open(io.BytesIO(served)).size == Image.open(io.BytesIO(jpeg)).size
            answered = await specialist.answer(cid, "Cellulitis; oral antibiotics.", [KEY_IMAGE])
            assert answered["state"] == "answered"
            item = ConsultItem.from_json(await doctor.consult(cid), 0.0)
            assert item.state == "answered" and item.answer_text == "Cellulitis; oral antibiotics."
            assert item.key_images == (KEY_IMAGE,)
        finally:
            await doctor.aclose()
            await specialist.aclose()

    asyncio.run(scenario())
