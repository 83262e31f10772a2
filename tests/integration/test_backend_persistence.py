"""Notes, chat and annotations: idempotent on op_id, members only, listed in insertion order."""

from __future__ import annotations

import threading
import uuid

import httpx

from tests.integration.conftest import Api


def test_note_resend_is_idempotent(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    op_id = str(uuid.uuid4())
    body = {"op_id": op_id, "text": "Nodule 14 mm, spiculated", "created_at": "2026-01-05T08:30:00+08:00"}
    first = api.call("POST", f"/consults/{cid}/notes", "dr.chen", json=body)
    assert first.status_code == 201
    again = api.call("POST", f"/consults/{cid}/notes", "dr.chen", json=body)
    assert again.status_code == 200
    assert again.json() == first.json()
    note = first.json()
    assert note["op_id"] == op_id and note["text"] == body["text"] and note["author"]["username"] == "dr.chen"
    assert note["created_at"] == "2026-01-05T00:30:00Z"
    listed = api.ok("GET", f"/consults/{cid}/notes", "dr.li")
    assert listed == [note]
    notes_audited = [r for r in api.ok("GET", "/audit?limit=1000", "it.admin") if r["action"] == "note.add"]
    assert len(notes_audited) == 1 and notes_audited[0]["details"]["op_id"] == op_id


def test_chat_and_annotations_in_order(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    chat_ids = [str(uuid.uuid4()) for _ in range(3)]
    for i, op_id in enumerate(chat_ids):
        api.ok(
            "POST",
            f"/consults/{cid}/chat",
            "dr.li" if i % 2 else "dr.chen",
            201,
            json={"op_id": op_id, "text": f"message {i}"},
        )
    api.ok("POST", f"/consults/{cid}/chat", "dr.chen", 200, json={"op_id": chat_ids[0], "text": "message 0"})
    chat = api.ok("GET", f"/consults/{cid}/chat", "student.zhao")
    assert [m["op_id"] for m in chat] == chat_ids
    assert [m["seq"] for m in chat] == sorted(m["seq"] for m in chat)
    op = {"kind": "add", "id": "a1", "shape": {"type": "arrow", "points": [[0.1, 0.2], [0.3, 0.4]]}}
    created = api.ok(
        "POST",
        f"/consults/{cid}/annotations",
        "dr.chen",
        201,
        json={"op_id": str(uuid.uuid4()), "lamport": 7, "op": op},
    )
    assert created["op"] == op and created["lamport"] == 7
    listed = api.ok("GET", f"/consults/{cid}/annotations", "dr.li")
    assert listed == [created]
    # Notes, chat and annotations are separate streams.
    assert api.ok("GET", f"/consults/{cid}/notes", "dr.li") == []


def test_concurrent_resends_store_one_row(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    body = {"op_id": str(uuid.uuid4()), "lamport": 1, "op": {"kind": "add"}}
    token = api.token("dr.chen")
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        with httpx.Client(base_url=api.api, timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}"}
            client.get("/me", headers=headers)
            barrier.wait()
            statuses.append(
                client.post(f"/consults/{cid}/annotations", headers=headers, json=body).status_code
            )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200, 200, 200, 201]
    assert len(api.ok("GET", f"/consults/{cid}/annotations", "dr.chen")) == 1


def test_persistence_validation(api: Api) -> None:
    cid = api.consult_in_state("in_session")
    bad = [
        {"op_id": "not-a-uuid", "lamport": 1, "op": {}},
        {"op_id": str(uuid.uuid4()), "lamport": -1, "op": {}},
        {"op_id": str(uuid.uuid4()), "lamport": 1, "op": [1, 2]},
        {"op_id": str(uuid.uuid4()), "lamport": 1, "op": {"blob": "x" * (64 * 1024)}},
        {"op_id": str(uuid.uuid4()), "lamport": 1},
    ]
    for body in bad:
        response = api.call("POST", f"/consults/{cid}/annotations", "dr.chen", json=body)
        assert response.status_code == 422, body
        assert "detail" in response.json()
    naive = {"op_id": str(uuid.uuid4()), "text": "x", "created_at": "2026-01-05T08:30:00"}
    assert api.call("POST", f"/consults/{cid}/notes", "dr.chen", json=naive).status_code == 422
    assert (
        api.call(
            "POST", "/consults/99999/notes", "dr.chen", json={"op_id": str(uuid.uuid4()), "text": "x"}
        ).status_code
        == 404
    )
    assert api.ok("GET", f"/consults/{cid}/annotations", "dr.chen") == []
