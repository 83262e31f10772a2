"""The server decides who sees the patient's identity (backend/access.py), on SQLite and PostgreSQL.

Name, patient ID, birth date, notes and photos go to the consult's participants (the requesting county
doctor, the accepting specialist) and to IT (the audit chain), never to other users. A specialist deciding
whether to accept an open consult reads a summary; trainees read pseudonyms (test_backend_teaching).

The acceptance walk takes every GET route the backend publishes in its OpenAPI, fills its path
parameters from seeded consults, calls it as every kind of user and looks for each patient's
identifiers (and a note's text) in every response body: they may appear only where they belong.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from core.worklist.model import ConsultItem, WorklistModel
from tests.integration.conftest import Api

SPECIALTY = "cardiology"  # dr.chen and dr.wang both practise it; student.zhao is a cardiology trainee
OTHER_COUNTY = "dr.guo"
# Who walks: the accepting specialist, a specialist of the same specialty who is no participant, the
# requesting county doctor, another county doctor, a trainee of the specialty, IT.
USERS = ("dr.chen", "dr.wang", "dr.li", OTHER_COUNTY, "student.zhao", "it.admin")
PARAMS = ("consult_id", "photo_id", "report_id")  # the path parameters the walk knows how to fill
REFUSED = "the patient's identity is not shown to you"


@dataclass(frozen=True)
class Seeded:
    """A consult whose question, notes, chat, annotations, photo (and answer, outcome) name its patient."""

    id: int
    state: str
    name: str
    patient_id: str
    birth: str
    sex: str
    note: str  # a note's text, free of identifiers
    photo_id: int
    participants: frozenset[str]
    report_id: int | None = None  # a draft report naming the patient (in session only)

    def needles(self) -> list[re.Pattern[str]]:
        given, family = self.name.split()
        born = date.fromisoformat(self.birth)
        spellings = [
            self.name,
            f"{family} {given}",
            f"{given}^{family}",
            f"{family}^{given}",
            self.patient_id,
            self.birth,
            born.strftime("%Y%m%d"),
            born.strftime("%d/%m/%Y"),
            self.note,
        ]
        words = [rf"\b{re.escape(part)}\b" for part in (given, family)]
        return [re.compile(p, re.IGNORECASE) for p in [*map(re.escape, spellings), *words]]

    def identity_for(self, user: str) -> bool:
        """Whom the identity and the notes belong to: the participants, and IT."""
        return user in self.participants or user == "it.admin"

    def note_for(self, user: str) -> bool:
        """The note's text also reaches a trainee watching the consult, pseudonymised (as before)."""
        return self.identity_for(user) or (user == "student.zhao" and self.state in ("in_session", "closed"))


def _photo(name: str, patient_id: str) -> bytes:
    """A PNG that names its patient in a text chunk, as a photo of a wristband would in its pixels."""
    info = PngInfo()
    info.add_text("Comment", f"{name} {patient_id}")
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 80, 60)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _seed(api: Api, state: str, name: str, patient_id: str, birth: str, sex: str) -> Seeded:
    question = f"{name} ({patient_id}, born {birth}): chest pain since 06:00. Is {name.split()[1]} for PCI?"
    vitals = {"taken_at": datetime.now(UTC).isoformat(), "numerics": {"HR": {"value": 112, "unit": "/min"}}}
    consult = api.new_consult(
        SPECIALTY,
        patient={"patient_id": patient_id, "name": name, "sex": sex, "birth_date": birth},
        question=question,
        urgency="urgent",
        vitals=vitals,
    )
    cid = int(consult["id"])
    headers = {**api.headers("dr.li"), "Content-Type": "image/png"}
    uploaded = api.http.post(f"/consults/{cid}/photos", content=_photo(name, patient_id), headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    note = f"Note {uuid.uuid4().hex[:12]}: troponin rising"
    api.ok("POST", f"/consults/{cid}/notes", "dr.li", 201, json={"op_id": str(uuid.uuid4()), "text": note})
    chat = {"op_id": str(uuid.uuid4()), "text": f"ECG of {name} ({patient_id}) attached"}
    api.ok("POST", f"/consults/{cid}/chat", "dr.li", 201, json=chat)
    label = {"kind": "text", "text": f"{name} {birth}", "points": [[0.1, 0.2]]}
    op = {"op_id": str(uuid.uuid4()), "lamport": 1, "op": {"op": "add", "id": "t1", "data": label}}
    api.ok("POST", f"/consults/{cid}/annotations", "dr.li", 201, json=op)
    participants = {"dr.li"}
    if state != "open":
        api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
        api.ok("POST", f"/consults/{cid}/start", "dr.li")
        participants.add("dr.chen")
    report_id = None
    if state == "in_session":
        # A draft report is the participants' (a would-be co-signer sees it once it is signed).
        content = {"patient": {"name": name, "patient_id": patient_id}, "findings": f"{name}: ST elevation."}
        report_id = int(
            api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json={"content": content})["id"]
        )
    if state == "closed":
        answer = {"text": f"Send {name} for PCI.", "key_images": []}
        api.ok("POST", f"/consults/{cid}/answer", "dr.chen", json=answer)
        api.ok(
            "POST",
            f"/consults/{cid}/close",
            "dr.chen",
            json={"outcome": f"{name} transferred.", "no_report_reason": "none written"},
        )
    return Seeded(
        cid,
        state,
        name,
        patient_id,
        birth,
        sex,
        note,
        int(uploaded.json()["id"]),
        frozenset(participants),
        report_id,
    )


@pytest.fixture
def seeded(api: Api) -> dict[str, Seeded]:
    """Three consults of three patients: open (nobody accepted it yet), in session, closed."""
    api.add_user(OTHER_COUNTY, "county_doctor", "Dr. Guo")
    return {
        "open": _seed(api, "open", "Fang Liu", "CARD-A-4471", "1958-06-21", "F"),
        "in_session": _seed(api, "in_session", "Tao Huang", "CARD-B-5582", "1944-11-02", "M"),
        "closed": _seed(api, "closed", "Ying Xu", "CARD-C-6693", "1990-01-30", "F"),
    }


def _get_routes(api: Api) -> list[str]:
    spec = api.ok("GET", "/openapi.json", None)
    routes = [path.removeprefix("/api/v1") for path, methods in spec["paths"].items() if "get" in methods]
    for path in routes:
        unknown = set(re.findall(r"\{(\w+)\}", path)) - set(PARAMS)
        assert not unknown, f"GET {path}: path parameters {unknown} the walk cannot fill; extend PARAMS"
    return routes


def _walk(api: Api, consults: list[Seeded]) -> list[tuple[str, str, int, str]]:
    """Every GET route as every user, once per consult where it names one: (user, path, status, body)."""
    concrete: list[str] = ["/consults?state=open", "/consults?state=closed", "/audit?limit=1000"]
    for path in _get_routes(api):
        if "{report_id}" in path:
            concrete.extend(path.replace("{report_id}", str(c.report_id)) for c in consults if c.report_id)
            continue
        if "{consult_id}" not in path:
            concrete.append(path)
            continue
        for consult in consults:
            filled = path.replace("{consult_id}", str(consult.id)).replace(
                "{photo_id}", str(consult.photo_id)
            )
            concrete.append(filled)
    seen: list[tuple[str, str, int, str]] = []
    for user in USERS:
        for path in concrete:
            response = api.call("GET", path, user)
            # Photos are bytes; latin-1 keeps every byte, so a name in a PNG text chunk shows.
            seen.append((user, path, response.status_code, response.content.decode("latin-1")))
    return seen


def _age_band(birth: str) -> str:
    born, today = date.fromisoformat(birth), datetime.now(UTC).date()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return "90+" if age >= 90 else f"{age // 10 * 10}-{age // 10 * 10 + 9}"


def test_every_get_route_gives_the_identity_only_to_whom_it_belongs(
    api: Api, seeded: dict[str, Seeded]
) -> None:
    consults = list(seeded.values())
    walked = _walk(api, consults)
    leaks = []
    for user, path, status, body in walked:
        assert status < 500, f"GET {path} as {user}: {status}"
        for consult in consults:
            allowed_identity, allowed_note = consult.identity_for(user), consult.note_for(user)
            for needle in consult.needles():
                allowed = allowed_note if needle.pattern == re.escape(consult.note) else allowed_identity
                if not allowed and needle.search(body):
                    leaks.append(
                        f"{needle.pattern!r} of consult {consult.id} to {user} by GET {path} ({status})"
                    )
    assert not leaks, "\n".join(leaks)

    # The walk is not vacuous: the participants read it all, the trainee the pseudonymised notes.
    got = {(user, path): (status, body) for user, path, status, body in walked}
    open_, live = seeded["open"], seeded["in_session"]
    assert open_.name in got[("dr.li", f"/consults/{open_.id}")][1]
    assert live.name in got[("dr.chen", f"/consults/{live.id}")][1]
    assert live.note in got[("dr.chen", f"/consults/{live.id}/notes")][1]
    assert live.note in got[("student.zhao", f"/consults/{live.id}/notes")][1]
    assert open_.patient_id in got[("dr.li", f"/consults/{open_.id}/identity")][1]
    assert got[("dr.li", f"/consults/{open_.id}/photos/{open_.photo_id}")][0] == 200
    # A specialist deciding whether to accept reads the open consult's summary, in the list and alone.
    for user in ("dr.chen", "dr.wang"):
        status, _body = got[(user, f"/consults/{open_.id}")]
        assert status == 200, user
        listed = [c["id"] for c in api.ok("GET", "/consults?state=open", user)]
        assert listed == [open_.id], user


def test_the_summary_a_specialist_reads_before_accepting(api: Api, seeded: dict[str, Seeded]) -> None:
    open_ = seeded["open"]
    summary = api.ok("GET", f"/consults/{open_.id}", "dr.wang")
    assert summary["identity"] == "withheld" and summary["patient"] is None
    assert summary["summary"] == {"age_band": _age_band(open_.birth), "sex": "F"}
    assert summary["question"] == (
        "[name] ([patient ID], born [birth date]): chest pain since 06:00. Is [name] for PCI?"
    )
    assert summary["vitals"] is None and summary["answer"] is None and summary["outcome"] is None
    assert (summary["state"], summary["urgency"], summary["specialty"]) == ("open", "urgent", SPECIALTY)
    assert summary["waiting_seconds"] >= 0 and summary["requested_by"]["username"] == "dr.li"
    listed = api.ok("GET", "/consults", "dr.wang")  # the worklist gives the same summary
    assert len(listed) == 1 and {**listed[0], "waiting_seconds": summary["waiting_seconds"]} == summary
    # The participants read the same consult identified; trainees keep their pseudonym.
    mine = api.ok("GET", f"/consults/{open_.id}", "dr.li")
    assert mine["identity"] == "full" and mine["summary"] is None and mine["patient"]["name"] == open_.name
    live = seeded["in_session"]
    watched = api.ok("GET", f"/consults/{live.id}", "student.zhao")
    assert watched["identity"] == "pseudonym" and watched["patient"]["name"].startswith("Patient ")
    assert watched["summary"] is None
    # Accepting makes dr.wang a participant: the answer carries the identity.
    accepted = api.ok("POST", f"/consults/{open_.id}/accept", "dr.wang")
    assert accepted["identity"] == "full" and accepted["patient"]["patient_id"] == open_.patient_id
    assert api.ok("GET", f"/consults/{open_.id}/notes", "dr.wang")[0]["text"] == open_.note
    # ... and dr.chen, who did not, no longer sees the consult at all.
    # (404, the answer for a consult that does not exist: the id's existence is not told either)
    missing = api.call("GET", "/consults/999999", "dr.chen")
    gone = api.call("GET", f"/consults/{open_.id}", "dr.chen")
    assert gone.status_code == missing.status_code == 404 and gone.json() == missing.json()


def test_refusals_of_identifying_routes_are_audited(api: Api, seeded: dict[str, Seeded]) -> None:
    open_ = seeded["open"]
    routes = {
        "notes": "notes",
        "chat": "chat",
        "annotations": "annotations",
        "photos": "photos",
        f"photos/{open_.photo_id}": "photo",
        "identity": "identity",
    }
    # dr.wang may read the open consult's summary: 403 for its identity. The other county doctor may not
    # see the consult at all: 404, exactly as for one that does not exist. Both refusals are audited.
    missing = api.call("GET", "/consults/999999/notes", OTHER_COUNTY).json()
    for user, status, detail in (("dr.wang", 403, {"detail": REFUSED}), (OTHER_COUNTY, 404, missing)):
        for path in routes:
            response = api.call("GET", f"/consults/{open_.id}/{path}", user)
            assert response.status_code == status, (user, path)
            assert response.json() == detail, (user, path)
    records = [
        r
        for r in api.ok("GET", "/audit?limit=1000", "it.admin")
        if r["action"] == "identity.refused" and r["consult_id"] == open_.id
    ]
    assert [(r["actor"], r["details"]["asked"]["route"]) for r in records] == [
        (user, route) for user in ("dr.wang", OTHER_COUNTY) for route in routes.values()
    ]
    assert {r["details"]["role"] for r in records} == {"specialist", "county_doctor"}
    # Reading the summary is audited as a record access, marked as such.
    api.ok("GET", f"/consults/{open_.id}", "dr.wang")
    access = [r for r in api.ok("GET", "/audit?limit=1000", "it.admin") if r["action"] == "record.access"]
    assert access[-1]["actor"] == "dr.wang" and access[-1]["details"] == {"identity": "withheld"}
    assert api.ok("GET", "/audit/verify", "it.admin")["ok"] is True


def test_the_worklist_item_of_a_withheld_consult(api: Api, seeded: dict[str, Seeded]) -> None:
    """The workstation's model: a stand-in patient with no identity, the summary, the participants."""
    open_, live = seeded["open"], seeded["in_session"]
    item = ConsultItem.from_json(api.ok("GET", f"/consults/{open_.id}", "dr.wang"), 0.0)
    assert item.withheld and item.summary is not None
    assert (item.patient.name, item.patient.patient_id, item.patient.birth_date) == ("", "", None)
    assert (item.summary.age_band, item.summary.sex, item.patient.sex) == (_age_band(open_.birth), "F", "F")
    assert item.participants == frozenset({"dr.li"})
    full = ConsultItem.from_json(api.ok("GET", f"/consults/{live.id}", "dr.chen"), 0.0)
    assert not full.withheld and full.patient.name == live.name
    assert full.participants == frozenset({"dr.li", "dr.chen"})
    model = WorklistModel()
    model.replace(api.ok("GET", "/consults", "dr.wang"))
    assert [i.id for i in model.items] == [open_.id] and model.items[0].withheld


@pytest.mark.gui
def test_the_worklist_shows_a_withheld_consult_without_identity(
    api: Api, seeded: dict[str, Seeded], qtbot: Any
) -> None:
    from widgets.worklist_panel import QUESTION_CHARS, QtWorklistPanel

    open_ = seeded["open"]
    model = WorklistModel()
    panel = QtWorklistPanel(model, can_accept=True, can_close=True)
    qtbot.addWidget(panel)
    model.replace(api.ok("GET", "/consults", "dr.wang"))
    cell = panel.table.item(0, 1)
    assert cell is not None
    band = _age_band(open_.birth)
    question = model.items[0].question
    assert question.startswith("[name] ([patient ID], born [birth date]): chest pain")
    shortened = question if len(question) <= QUESTION_CHARS else question[: QUESTION_CHARS - 1] + "…"
    assert cell.text() == f"Female, {band} — {shortened}" and cell.toolTip() == question
    panel.select(open_.id)
    assert panel.accept_button.isEnabled()
    with qtbot.assertNotEmitted(panel.sig_open):  # nothing of it to open before accepting
        panel.table.itemDoubleClicked.emit(cell)
    assert f"Female, {band}" in panel.details.text() and "accept" in panel.details.text()
    shown = [panel.details.text()] + [
        f"{c.text()} {c.toolTip()}"
        for row in range(panel.table.rowCount())
        for column in range(panel.table.columnCount())
        if (c := panel.table.item(row, column)) is not None
    ]
    for needle in open_.needles():
        assert not any(needle.search(text) for text in shown), needle.pattern
    panel.close_model()
