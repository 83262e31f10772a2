"""Sending the report's FHIR bundle (core.report.fhir.send) to a FHIR server over HTTP.

No real FHIR server can be installed where these tests run (HAPI FHIR needs Maven Central, which is not
reachable; the npm ``fhir-server`` package does not install; packages.fhir.org is not reachable), so the
server here is a STAND-IN written in this module: a loopback HTTP server that answers a transaction the
way the FHIR R4 RESTful API says a server does (http://hl7.org/fhir/R4/http.html#transaction): a
``transaction-response`` Bundle with one ``response`` per entry, in order, or, when it refuses, an HTTP
4xx with an OperationOutcome. It checks what a server would check of the request (the media type, the
bearer token, that the body is a transaction Bundle that fhirclient's R4 models parse strictly) and keeps
what it received, so the tests see the bytes on the wire. It does not store resources or resolve
conditional requests; that is the site's server's part, and the bundle itself is checked against HL7's
schema and FHIR.js in tests/unit/test_report_fhir.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fhirclient.models import bundle as fhir_bundle

from core.report.fhir import FhirSendError, report_bundle, send
from core.report.model import Status
from tests.fhir_validate import schema_errors
from tests.helpers import free_port
from tests.report_samples import COSIGNER, sample_report

TOKEN = "site-token-123"


@dataclass
class FakeFhirServer:
    base: str
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    refuse_with: dict[str, Any] | None = None  # an OperationOutcome to answer 422 with


def _outcome(*issues: tuple[str, str, str, str]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": sev, "code": code, "diagnostics": text, "expression": [where]}
            for sev, code, text, where in issues
        ],
    }


def _handler(state: FakeFhirServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            state.headers.append(dict(self.headers.items()))
            if self.path.rstrip("/") != "/fhir":
                self._answer(404, _outcome(("error", "not-found", f"No endpoint {self.path}", "URL")))
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, _outcome(("error", "login", "Missing or wrong bearer token", "header")))
                return
            if not self.headers.get("Content-Type", "").startswith("application/fhir+json"):
                self._answer(
                    415, _outcome(("error", "not-supported", "Send application/fhir+json", "header"))
                )
                return
            try:
                body = json.loads(raw)
                fhir_bundle.Bundle(body, strict=True).as_json()
            except Exception as e:
                self._answer(400, _outcome(("error", "structure", f"Unparseable R4 Bundle: {e}", "Bundle")))
                return
            state.received.append(body)
            if body.get("type") != "transaction":
                self._answer(400, _outcome(("error", "invalid", "Only transactions here", "Bundle.type")))
                return
            if state.refuse_with is not None:
                self._answer(422, state.refuse_with)
                return
            now = datetime.now(UTC).isoformat(timespec="seconds")
            entries = []
            for n, entry in enumerate(body["entry"]):
                kind = entry["resource"]["resourceType"]
                entries.append(
                    {
                        "response": {
                            "status": "201 Created",
                            "location": f"{kind}/{n + 1}/_history/1",
                            "etag": 'W/"1"',
                            "lastModified": now,
                        }
                    }
                )
            self._answer(
                200,
                {
                    "resourceType": "Bundle",
                    "id": "response-1",
                    "type": "transaction-response",
                    "link": [{"relation": "self", "url": state.base}],
                    "entry": entries,
                },
            )

    return Handler


@pytest.fixture
def fhir_server() -> Iterator[FakeFhirServer]:
    state = FakeFhirServer(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _final_bundle() -> dict[str, Any]:
    report = sample_report(None).with_status(
        Status.FINAL,
        cosigner=COSIGNER,
        signed_at=datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        cosigned_at=datetime(2026, 12, 7, 10, 20, tzinfo=UTC),
    )
    return report_bundle(report, pdf=b"%PDF-1.7\n%%EOF\n")


def test_send_returns_the_transaction_response(fhir_server: FakeFhirServer) -> None:
    bundle = _final_bundle()
    answer = send(bundle, fhir_server.base + "/", token=TOKEN, timeout=10)

    assert answer["resourceType"] == "Bundle"
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(bundle["entry"])
    assert answer["entry"][-1]["response"]["location"].startswith("DiagnosticReport/")
    assert schema_errors(answer) == []  # what the stand-in answers is itself valid R4
    assert fhir_server.received == [bundle]  # the bundle went out unchanged
    sent = fhir_server.headers[0]
    assert sent["Content-Type"] == "application/fhir+json"
    assert sent["Accept"] == "application/fhir+json"


def test_a_refusal_raises_with_the_outcome_in_plain_words(fhir_server: FakeFhirServer) -> None:
    fhir_server.refuse_with = _outcome(
        (
            "error",
            "business-rule",
            "Patient P-2026-0042 is not registered at this site",
            "Patient.identifier",
        ),
        ("warning", "code-invalid", "Unknown code 11797002", "ServiceRequest.code"),
    )
    with pytest.raises(FhirSendError) as caught:
        send(_final_bundle(), fhir_server.base, token=TOKEN, timeout=10)

    err = caught.value
    assert err.status == 422
    assert err.issues == [
        "error: Patient P-2026-0042 is not registered at this site (at Patient.identifier)",
        "warning: Unknown code 11797002 (at ServiceRequest.code)",
    ]
    assert "HTTP 422" in str(err)
    assert "is not registered at this site" in str(err)


def test_a_wrong_token_is_refused(fhir_server: FakeFhirServer) -> None:
    with pytest.raises(FhirSendError) as caught:
        send(_final_bundle(), fhir_server.base, token="wrong", timeout=10)
    assert caught.value.status == 401
    assert caught.value.issues == ["error: Missing or wrong bearer token (at header)"]
    assert fhir_server.received == []


def test_a_bundle_that_fails_the_checks_is_not_sent(fhir_server: FakeFhirServer) -> None:
    bundle = _final_bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    with pytest.raises(FhirSendError) as caught:
        send(bundle, fhir_server.base, token=TOKEN, timeout=10)
    assert caught.value.status is None
    assert any("not in the bundle" in i for i in caught.value.issues)
    assert fhir_server.headers == []  # nothing reached the server


def test_an_unreachable_server_raises() -> None:
    with pytest.raises(FhirSendError, match="could not be reached"):
        send(_final_bundle(), f"http://127.0.0.1:{free_port()}/fhir", token=TOKEN, timeout=5)
