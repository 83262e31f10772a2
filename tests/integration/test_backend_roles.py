"""Every route x every role: the server, not the client, decides who may do what."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.integration.conftest import Api

ROLES = {"specialist": "dr.chen", "county_doctor": "dr.li", "trainee": "student.zhao", "it_admin": "it.admin"}
ANON = "anonymous"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "{id}" is a consult prepared in `state`
    expected: dict[str, int]  # role -> status; ANON too
    state: str | None = None
    body: Callable[[], Any] | None = None


def _all(status: int, **overrides: int) -> dict[str, int]:
    table = {role: status for role in ROLES}
    table.update(overrides)
    table.setdefault(ANON, 401)
    return table


def _note() -> dict[str, Any]:
    return {"op_id": str(uuid.uuid4()), "text": "note"}


def _annotation() -> dict[str, Any]:
    return {"op_id": str(uuid.uuid4()), "lamport": 1, "op": {"kind": "add"}}


def _consult() -> dict[str, Any]:
    return {
        "patient": {"patient_id": "X", "name": "X Y", "sex": "U", "birth_date": None},
        "question": "q",
        "urgency": "emergency",
        "specialty": "radiology",
        "study": None,
    }


def _user() -> dict[str, Any]:
    return {
        "username": f"u{uuid.uuid4().hex[:8]}",
        "password": "quiet-lantern-58",
        "display_name": "New",
        "role": "trainee",
        "specialties": ["radiology"],
    }


CLINICAL_READ = _all(200, it_admin=403)
MEMBER_WRITE = _all(201, trainee=403, it_admin=403)
# IT sees no consult (404, the same answer as for a consult that does not exist); a trainee sees this
# one in session but not its identity (403).
PARTICIPANT_READ = _all(200, trainee=403, it_admin=404)
TABLE = [
    Route("GET", "/health", _all(200, **{ANON: 200})),
    Route("GET", "/openapi.json", _all(200, **{ANON: 200})),
    Route("GET", "/me", _all(200)),
    Route("GET", "/users", _all(403, it_admin=200)),
    Route("POST", "/users", _all(403, it_admin=201), body=_user),
    Route("POST", "/consults", _all(403, county_doctor=201), body=_consult),
    Route("GET", "/consults", CLINICAL_READ),
    Route("GET", "/consults?state=open", CLINICAL_READ),
    Route("GET", "/consults/{id}", CLINICAL_READ, state="in_session"),
    Route("POST", "/consults/{id}/accept", _all(403, specialist=200), state="open"),
    Route("POST", "/consults/{id}/start", _all(403, specialist=200, county_doctor=200), state="accepted"),
    Route(
        "POST",
        "/consults/{id}/close",
        _all(403, specialist=200),
        state="in_session",
        body=lambda: {"outcome": "benign", "no_report_reason": "second opinion only"},
    ),
    Route("POST", "/consults/{id}/notes", MEMBER_WRITE, state="in_session", body=_note),
    Route("GET", "/consults/{id}/notes", CLINICAL_READ, state="in_session"),
    Route("POST", "/consults/{id}/chat", MEMBER_WRITE, state="in_session", body=_note),
    Route("GET", "/consults/{id}/chat", CLINICAL_READ, state="in_session"),
    Route("POST", "/consults/{id}/annotations", MEMBER_WRITE, state="in_session", body=_annotation),
    Route("GET", "/consults/{id}/annotations", CLINICAL_READ, state="in_session"),
    # Identity and photos only for the consult's participants; refusals are audited (test_backend_teaching).
    Route("GET", "/consults/{id}/identity", PARTICIPANT_READ, state="in_session"),
    # IT is refused photos by role, before any consult is looked up: the same 403 whether it exists.
    Route("GET", "/consults/{id}/photos", _all(200, trainee=403, it_admin=403), state="in_session"),
    # No photo 1 on a fresh consult: participants learn that (404), nobody else gets that far.
    Route("GET", "/consults/{id}/photos/1", _all(403, specialist=404, county_doctor=404), state="in_session"),
    Route(
        "POST",
        "/consults/{id}/answer",
        _all(403, specialist=200),
        state="in_session",
        body=lambda: {"text": "answer", "key_images": []},
    ),
    Route("GET", "/consults/{id}/recording", CLINICAL_READ, state="in_session"),
    # Linking an outside study to the consult's patient: its participants only, audited.
    Route(
        "POST",
        "/consults/{id}/study-links",
        _all(403, specialist=201, county_doctor=201),
        state="in_session",
        body=lambda: {
            "study_instance_uid": "1.2.3.4",
            "study_patient": {"patient_id": "OTHER-1", "name": "Other^Name"},
            "reason": "Outside hospital number; same patient confirmed by phone.",
        },
    ),
    Route(
        "POST",
        "/consults/{id}/recording",
        _all(403, specialist=200),
        state="in_session",
        body=lambda: {"on": True},
    ),
    Route(
        "POST",
        "/audit/events",
        _all(403, specialist=201, county_doctor=201),
        body=lambda: {"action": "vitals.alarm.onset", "details": {"alarm": "hr_high"}},
    ),
    Route("GET", "/audit", _all(403, it_admin=200)),
    Route("GET", "/audit/verify", _all(403, it_admin=200)),
    # The site PKI: the CA and CRL for everyone signed in; the certificate list for IT.
    Route("GET", "/pki/ca", _all(200)),
    Route("GET", "/pki/crl", _all(200)),
    Route("GET", "/pki/certificates/mine", _all(200)),
    Route("GET", "/pki/certificates", _all(403, it_admin=200)),
    # Reports: the consult's participants (and co-signers of its specialty); the co-signing worklist.
    Route("GET", "/consults/{id}/reports", _all(200, trainee=404, it_admin=403), state="in_session"),
    Route("GET", "/reports?status=pending", _all(403, specialist=200)),
]


def test_every_route_for_every_role(api: Api) -> None:
    mismatches = []
    for route in TABLE:
        for role, expected in route.expected.items():
            path = route.path
            if route.state is not None:
                # A fresh consult per attempt: state-changing routes must not see each other's effects.
                path = path.replace("{id}", str(api.consult_in_state(route.state)))
            kwargs = {"json": route.body()} if route.body else {}
            username = None if role == ANON else ROLES[role]
            response = api.call(route.method, path, username, **kwargs)
            if response.status_code != expected:
                mismatches.append(f"{route.method} {path} as {role}: {response.status_code}, want {expected}")
            if response.status_code in (401, 403):
                assert set(response.json()) == {"detail"}
    assert not mismatches, "\n".join(mismatches)


# Covered by their own tests: sign-in (test_backend_auth) and the binary photo upload (test_store_forward).
NOT_IN_TABLE = {
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/consults/{id}/photos"),
    # Account administration and one's own password: test_backend_user_admin checks every role.
    ("POST", "/me/password"),
    ("POST", "/users/{user_id}/disable"),
    ("POST", "/users/{user_id}/enable"),
    ("POST", "/users/{user_id}/password"),
    ("POST", "/users/{user_id}/unlock"),
    # Enrolment, revocation and every report step need keys, certificates and signed PDFs:
    # test_backend_pki and test_backend_reports check who may do each.
    ("POST", "/pki/enroll"),
    ("POST", "/pki/certificates/{serial}/revoke"),
    ("POST", "/consults/{id}/reports"),
    ("GET", "/reports/{report_id}"),
    ("PUT", "/reports/{report_id}"),
    ("GET", "/reports/{report_id}/pdf"),
    ("GET", "/reports/{report_id}/sr"),
    ("GET", "/reports/{report_id}/kos"),
    ("GET", "/reports/{report_id}/fhir"),
    ("POST", "/reports/{report_id}/sign"),
    ("POST", "/reports/{report_id}/cosign"),
    ("POST", "/reports/{report_id}/acknowledge"),
}


def test_table_covers_every_published_route(api: Api) -> None:
    """A new route must join the matrix (or name the test that checks its roles)."""
    spec = api.ok("GET", "/openapi.json", None)
    published = {
        (method.upper(), re.sub(r"\{consult_id\}", "{id}", path.removeprefix("/api/v1")))
        for path, methods in spec["paths"].items()
        for method in methods
    }
    published = {(m, re.sub(r"\{photo_id\}", "1", p)) for m, p in published}
    tabled = {(route.method, route.path.split("?")[0]) for route in TABLE}
    assert ("GET", "/consults/{id}/identity") in published and len(published) > 20
    assert published - tabled - NOT_IN_TABLE == set()


def test_object_level_rules(api: Api) -> None:
    """Right role, wrong consult: specialists of another specialty, other county doctors, bystanders."""
    api.add_user("dr.zhou", "county_doctor", "Dr. Zhou")
    radiology = api.consult_in_state("open", "radiology")
    # dr.wang is a cardiologist: cannot see or accept a radiology consult. A consult one may not see
    # answers 404, as one that does not exist (ids do not leak); 403 is for a consult one sees.
    assert api.call("GET", f"/consults/{radiology}", "dr.wang").status_code == 404
    assert api.call("POST", f"/consults/{radiology}/accept", "dr.wang").status_code == 404
    assert all(c["id"] != radiology for c in api.ok("GET", "/consults", "dr.wang"))
    # Another county doctor sees nothing of dr.li's consults.
    assert api.ok("GET", "/consults", "dr.zhou") == []
    assert api.call("GET", f"/consults/{radiology}", "dr.zhou").status_code == 404
    # Trainees see nothing until the consult is in session.
    assert api.call("GET", f"/consults/{radiology}", "student.zhao").status_code == 404
    accepted = api.consult_in_state("accepted", "radiology")
    # dr.wang is no member: cannot start, close or write notes.
    assert api.call("POST", f"/consults/{accepted}/start", "dr.zhou").status_code == 404
    assert (
        api.call(
            "POST",
            f"/consults/{accepted}/close",
            "dr.wang",
            json={"outcome": "x", "no_report_reason": "none written"},
        ).status_code
        == 404
    )
    assert api.call("POST", f"/consults/{accepted}/notes", "dr.zhou", json=_note()).status_code == 404
    # The requesting county doctor may start but not close.
    assert (
        api.call(
            "POST",
            f"/consults/{accepted}/close",
            "dr.li",
            json={"outcome": "x", "no_report_reason": "none written"},
        ).status_code
        == 403
    )
    assert api.call("GET", "/consults/999999", "dr.chen").status_code == 404
