"""Health, OpenAPI, input validation (4xx, never 500), the generic 500 body, TLS, user admin."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import httpx

from backend.app import create_app
from backend.config import ServerSettings
from backend.server import EmbeddedServer
from tests.integration.conftest import Api


def test_health_reports_database(api: Api, database_url: str) -> None:
    body = api.ok("GET", "/health", None)
    assert body["status"] == "ok" and body["version"]
    assert body["database"] == ("postgresql" if database_url.startswith("postgresql") else "sqlite")


def test_openapi_published(api: Api) -> None:
    schema = api.ok("GET", "/openapi.json", None)
    paths = set(schema["paths"])
    for path in (
        "/api/v1/health",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/consults",
        "/api/v1/consults/{consult_id}/accept",
        "/api/v1/consults/{consult_id}/annotations",
        "/api/v1/audit/verify",
    ):
        assert path in paths, path
    assert "ConsultOut" in schema["components"]["schemas"]
    docs = api.http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_bad_input_is_4xx_json(api: Api) -> None:
    token = api.token("dr.li")
    headers = {"Authorization": f"Bearer {token}"}
    good_patient = {"patient_id": "P", "name": "N", "sex": "M", "birth_date": None}
    cases = [
        ("POST", "/auth/login", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("POST", "/auth/login", {"json": {"username": "dr.li"}}),
        ("POST", "/auth/login", {"json": ["dr.li", "demo"]}),
        ("POST", "/auth/login", {"json": {"username": "", "password": "x"}}),
        ("POST", "/auth/refresh", {"json": {}}),
        ("POST", "/consults", {"json": {}, "headers": headers}),
        (
            "POST",
            "/consults",
            {
                "json": {
                    "patient": {**good_patient, "sex": "X"},
                    "question": "q",
                    "urgency": "routine",
                    "specialty": "radiology",
                },
                "headers": headers,
            },
        ),
        (
            "POST",
            "/consults",
            {
                "json": {
                    "patient": {**good_patient, "birth_date": "1961-13-45"},
                    "question": "q",
                    "urgency": "routine",
                    "specialty": "radiology",
                },
                "headers": headers,
            },
        ),
        (
            "POST",
            "/consults",
            {
                "json": {
                    "patient": good_patient,
                    "question": "q",
                    "urgency": "whenever",
                    "specialty": "radiology",
                },
                "headers": headers,
            },
        ),
        (
            "POST",
            "/consults",
            {
                "json": {
                    "patient": good_patient,
                    "question": "q",
                    "urgency": "routine",
                    "specialty": "radiology",
                    "study": {"study_instance_uid": "<script>", "source": "x"},
                },
                "headers": headers,
            },
        ),
        (
            "POST",
            "/consults",
            {
                "json": {
                    "patient": good_patient,
                    "question": "q" * 20_000,
                    "urgency": "routine",
                    "specialty": "radiology",
                },
                "headers": headers,
            },
        ),
        ("GET", "/consults/not-a-number", {"headers": headers}),
        ("GET", "/consults/99999999999999999999999", {"headers": headers}),
        ("GET", "/nowhere", {}),
    ]
    for method, path, kwargs in cases:
        response = api.http.request(method, path, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert "detail" in response.json()
        assert "Traceback" not in response.text
    admin = {"Authorization": f"Bearer {api.token('it.admin')}"}
    assert api.http.get("/audit?limit=0", headers=admin).status_code == 422
    bad_user = {"username": "has space", "password": "x", "display_name": "d", "role": "specialist"}
    assert api.http.post("/users", headers=admin, json=bad_user).status_code == 422
    assert (
        api.http.post("/users", headers=admin, json={**bad_user, "username": "ok", "role": "god"}).status_code
        == 422
    )


def test_create_and_list_users(api: Api) -> None:
    created = api.ok(
        "POST",
        "/users",
        "it.admin",
        201,
        json={
            "username": "dr.sun",
            "password": "s3cret-sun-2026",
            "display_name": "Dr. Sun",
            "role": "specialist",
            "specialties": ["ultrasound"],
        },
    )
    assert created["role"] == "specialist" and created["specialties"] == ["ultrasound"]
    assert (
        api.call(
            "POST",
            "/users",
            "it.admin",
            json={"username": "dr.sun", "password": "another-sun-26", "display_name": "Dup",
                  "role": "trainee"},
        ).status_code
        == 409
    )
    usernames = [u["username"] for u in api.ok("GET", "/users", "it.admin")]
    assert usernames == ["dr.chen", "dr.wang", "dr.li", "student.zhao", "it.admin", "dr.sun"]
    assert api.login("dr.sun", "s3cret-sun-2026")["user"]["id"] == created["id"]
    weak = {"username": "dr.moon", "password": "password123", "display_name": "Dr. Moon", "role": "trainee"}
    refused = api.call("POST", "/users", "it.admin", json=weak)
    assert refused.status_code == 422 and "password" in refused.text  # the rule holds on creation too


def test_unexpected_errors_get_a_generic_500(database_url: str) -> None:
    app = create_app(ServerSettings(database_url=database_url))

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/v1/boom")

    try:
        response = asyncio.run(call())
    finally:
        app.state.backend.db.dispose()
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert "secret internals" not in response.text


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_tls(database_url: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with EmbeddedServer(database_url, certfile=str(cert), keyfile=str(key)) as server:
        assert server.base_url is not None and server.base_url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        response = httpx.get(server.base_url + "/api/v1/health", verify=context)
        assert response.status_code == 200 and response.json()["status"] == "ok"
        plain = server.base_url.replace("https://", "http://")
        try:
            refused = httpx.get(plain + "/api/v1/health", timeout=5).status_code >= 400
        except httpx.HTTPError:
            refused = True
        assert refused
