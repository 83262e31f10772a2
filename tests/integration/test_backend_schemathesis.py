"""Property-based tests of the live REST API from its own OpenAPI document (schemathesis), signed in as
each role: no request, however odd, gets a server error (5xx), and every documented response matches its
schema and content type. Bounded (a few examples per operation and role) to stay within a minute or two."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from backend.server import EmbeddedServer

MAX_EXAMPLES = 6
# it.admin last: what it may do to accounts (disable one, change a password) would sign the others out.
ROLES = ("dr.li", "dr.chen", "student.zhao", "dr.wang", "it.admin")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
PATIENT = {"patient_id": "P-77", "name": "Schema Thesis", "sex": "F", "birth_date": "1970-01-02"}


def _seed(http: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    """A few consults in different states, so ids 1..4 exist for the generated paths that hit them."""
    body = {"patient": PATIENT, "question": "?", "urgency": "routine", "specialty": "radiology"}
    for steps in ((), ("accept",), ("accept", "start"), ("accept", "start", "close")):
        cid = http.post("/consults", json=body, headers=tokens["dr.li"]).json()["id"]
        for step in steps:
            who = "dr.li" if step == "start" else "dr.chen"
            extra: dict[str, Any] = (
                {"json": {"outcome": "done", "no_report_reason": "seed"}} if step == "close" else {}
            )
            assert http.post(f"/consults/{cid}/{step}", headers=tokens[who], **extra).status_code == 200


def test_the_api_against_its_own_schema(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    api = server.base_url + "/api/v1"
    with httpx.Client(base_url=api, timeout=30) as http:
        tokens = {}
        for user in ROLES:
            login = http.post("/auth/login", json={"username": user, "password": "demo"})
            assert login.status_code == 200, login.text
            tokens[user] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        _seed(http, tokens)

    schema = schemathesis.openapi.from_url(api + "/openapi.json")
    results = list(schema.get_all_operations())
    invalid = [str(result.err()) for result in results if isinstance(result, Err)]
    assert not invalid, invalid  # every operation of the document is well-formed
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) > 10
    failures: list[str] = []
    for user in ROLES:
        for operation in operations:
            try:
                _property(operation, server.base_url, tokens[user])()
            except Exception as exc:  # one line per failing operation and role, all reported together
                failures.append(f"{user} {operation.label}: {str(exc).strip().splitlines()[0:8]}")
    assert failures == [], "\n".join(failures)


def _property(operation: Any, base_url: str, headers: dict[str, str]) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    return run
