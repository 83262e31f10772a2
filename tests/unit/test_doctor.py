"""teleconsult doctor: every check passing and failing, against real servers on loopback.

coturn, the backend over TLS, a pynetdicom SCP, small HTTP servers, gnome-keyring and an EGL render
are the real things; nothing is mocked.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from app.doctor import (
    CheckResult,
    Verdict,
    check_backend,
    check_cameras,
    check_clock,
    check_disk,
    check_ice_server,
    check_keyring,
    check_log_folder,
    check_microphones,
    check_pacs,
    check_render,
    clock_skew,
    exit_code,
    format_report,
)
from app.turn_probe import parse_ice_url, turn_allocate
from backend.server import EmbeddedServer
from core.config.settings import IceServer, PacsEndpoint, SiteConfig
from tests.helpers import free_port
from tests.secret_service import running_secret_service

ROOT = Path(__file__).resolve().parents[2]


def free_udp_port() -> int:
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


# --- servers -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn is missing: `make test` installs it (Debian package coturn)", pytrace=False)
    port = free_udp_port()
    log = tmp_path_factory.mktemp("coturn") / "turn.log"
    # fmt: off
    command = [
        binary, "-n", "--listening-ip", "127.0.0.1", "--listening-port", str(port),
        "--relay-ip", "127.0.0.1", "--lt-cred-mech", "--user", "u:p", "--realm", "test",
        "--no-tls", "--no-dtls", "--allow-loopback-peers", "--no-cli", "--log-file", str(log),
        "--min-port", "49152", "--max-port", "65535", "--pidfile", str(log.with_suffix(".pid")),
    ]
    # fmt: on
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                turn_allocate(f"stun:127.0.0.1:{port}", None, None, timeout=0.5)
                break
            except (OSError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text(errors="replace")
                    raise RuntimeError(f"turnserver did not start: {text}") from None
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def make_cert(folder: Path, days_valid: int, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (also its own CA), valid `days_valid` days from now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "teleconsult test backend")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    start = now - dt.timedelta(days=30) if days_valid >= 0 else now - dt.timedelta(days=400)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=days_valid))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, Path]]]:
    """The real backend over TLS three times: a good certificate, one expiring soon, an expired one."""
    folder = tmp_path_factory.mktemp("tls")
    servers = {}
    try:
        for name, days in (("good", 365), ("soon", 5), ("expired", -3)):
            cert, key = make_cert(folder, days, name)
            server = EmbeddedServer(
                f"sqlite:///{folder / name}.sqlite3", certfile=str(cert), keyfile=str(key)
            )
            servers[name] = (server, cert)
            server.start()
        yield {name: (str(server.base_url), cert) for name, (server, cert) in servers.items()}
    finally:
        for server, _ in servers.values():
            server.stop()


class _Handler(BaseHTTPRequestHandler):
    date_offset_s = 0.0
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def do_GET(self) -> None:
        status, body = self.routes.get(self.path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return email.utils.formatdate(time.time() + self.date_offset_s, usegmt=True)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"routes": {}, "date_offset_s": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def echo_scp() -> Iterator[int]:
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    ae = AE(ae_title="TESTPACS")
    ae.add_supported_context(Verification)
    ae.require_called_aet = True
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_ECHO, lambda _e: 0)])
    assert server is not None
    try:
        yield port
    finally:
        server.shutdown()


# --- 3D rendering ----------------------------------------------------------------------------------------


def test_render_passes_with_a_real_offscreen_vtk_render() -> None:
    result = check_render(timeout=90)
    assert result.verdict in (Verdict.OK, Verdict.WARN), result
    assert "OpenGL" in result.detail
    assert not result.blocking


def test_render_fails_when_the_probe_hangs_and_is_not_waited_for() -> None:
    started = time.monotonic()
    result = check_render([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1.0)
    assert time.monotonic() - started < 20
    assert result.verdict is Verdict.FAIL and result.blocking
    assert "did not finish" in result.detail and "driver" in result.action


def test_render_fails_when_the_probe_crashes_or_renders_blank() -> None:
    crashed = check_render([sys.executable, "-c", "import sys; sys.exit('EGL_NOT_INITIALIZED')"])
    assert crashed.verdict is Verdict.FAIL and "EGL_NOT_INITIALIZED" in crashed.detail
    blank_json = json.dumps({"renderer": "x", "version": "3.3", "window": "w", "lit_pixels": 0})
    blank = check_render([sys.executable, "-c", f"print({blank_json!r})"])
    assert blank.verdict is Verdict.FAIL and "blank" in blank.detail


# --- devices --------------------------------------------------------------------------------------------


def test_cameras_and_microphones_found(tmp_path: Path) -> None:
    (tmp_path / "video0").touch()
    (tmp_path / "pcm").write_text(
        "00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1\n00-03: HDMI 0 : HDMI 0 : playback 1\n"
    )
    cams = check_cameras(tmp_path)
    mics = check_microphones(tmp_path)
    assert cams.verdict is Verdict.OK and "video0" in cams.detail
    assert mics.verdict is Verdict.OK and "ALC892" in mics.detail and "HDMI" not in mics.detail


def test_no_cameras_or_microphones_warn_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "pcm").write_text("00-03: HDMI 0 : HDMI 0 : playback 1\n")
    cams, mics = check_cameras(tmp_path), check_microphones(tmp_path)
    assert cams.verdict is Verdict.WARN and "camera" in cams.action.lower()
    assert mics.verdict is Verdict.WARN and "arecord" in mics.action
    assert not cams.blocking and not mics.blocking


# --- backend, TLS, clock -----------------------------------------------------------------------------


def test_backend_over_tls_with_trusted_certificate(tls_backends: dict[str, tuple[str, Path]]) -> None:
    url, cert = tls_backends["good"]
    backend, tls, clock = check_backend(url, ca_file=cert)
    assert backend.verdict is Verdict.OK and "sqlite" in backend.detail
    assert tls.verdict is Verdict.OK and "days" in tls.detail
    assert clock.verdict is Verdict.OK
    assert exit_code([backend, tls, clock]) == 0


def test_self_signed_certificate_not_trusted_fails(tls_backends: dict[str, tuple[str, Path]]) -> None:
    url, _ = tls_backends["good"]
    results = {r.name: r for r in check_backend(url)}
    assert results["Backend"].verdict is Verdict.FAIL  # the HTTPS request itself is refused
    tls = results["Backend TLS certificate"]
    assert tls.verdict is Verdict.FAIL and "self-signed" in tls.detail and "ca_file" in tls.action
    loose = {r.name: r for r in check_backend(url, verify=False)}
    assert loose["Backend"].verdict is Verdict.OK
    assert loose["Backend TLS certificate"].verdict is Verdict.WARN


def test_certificate_expiring_soon_warns(tls_backends: dict[str, tuple[str, Path]]) -> None:
    url, cert = tls_backends["soon"]
    tls = {r.name: r for r in check_backend(url, ca_file=cert)}["Backend TLS certificate"]
    assert tls.verdict is Verdict.WARN
    assert "(5 days)" in tls.detail or "(4 days)" in tls.detail


def test_expired_certificate_fails(tls_backends: dict[str, tuple[str, Path]]) -> None:
    url, cert = tls_backends["expired"]
    tls = {r.name: r for r in check_backend(url, ca_file=cert)}["Backend TLS certificate"]
    assert tls.verdict is Verdict.FAIL and tls.blocking and "expired" in tls.detail
    assert "Renew" in tls.action


def test_unreachable_backend_fails() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    backend, clock = check_backend(url, timeout=3)
    assert backend.verdict is Verdict.FAIL and backend.blocking and "cannot be reached" in backend.detail
    assert clock.verdict is Verdict.WARN  # nothing to compare with


def test_clock_skew_against_the_backend_date(http_server: tuple[str, type[_Handler]]) -> None:
    url, handler = http_server
    handler.routes["/api/v1/health"] = (200, b'{"status": "ok", "database": "sqlite"}')
    in_step = {r.name: r for r in check_backend(url)}
    assert in_step["Backend"].verdict is Verdict.OK and in_step["Clock"].verdict is Verdict.OK
    handler.date_offset_s = -600.0  # the server says it is ten minutes earlier: we are ahead
    skewed = {r.name: r for r in check_backend(url)}["Clock"]
    assert skewed.verdict is Verdict.FAIL and skewed.blocking
    assert "ahead of" in skewed.detail and "NTP" in skewed.action
    handler.date_offset_s = 60.0
    assert {r.name: r for r in check_backend(url)}["Clock"].verdict is Verdict.WARN


def test_clock_skew_arithmetic() -> None:
    now = time.time()
    date = email.utils.formatdate(now - 100, usegmt=True)
    assert clock_skew(date, now - 0.2, now + 0.2) == pytest.approx(100, abs=1.1)
    assert check_clock(5).verdict is Verdict.OK
    assert check_clock(-45).verdict is Verdict.WARN and "behind" in check_clock(-45).detail


def test_health_endpoint_error_fails(http_server: tuple[str, type[_Handler]]) -> None:
    url, handler = http_server
    handler.routes["/api/v1/health"] = (503, b"{}")
    backend = check_backend(url)[0]
    assert backend.verdict is Verdict.FAIL and "503" in backend.detail


# --- TURN ------------------------------------------------------------------------------------------------


def test_ice_url_parsing() -> None:
    assert parse_ice_url("turn:turn.example.org:3478?transport=udp").transport == "udp"
    assert parse_ice_url("turn:10.0.0.1?transport=tcp").port == 3478
    turns = parse_ice_url("turns:turn.example.org")
    assert (turns.port, turns.transport) == (5349, "tcp")
    assert parse_ice_url("stun:[::1]:3479").host == "::1"


def test_turn_allocation_with_good_credentials(coturn: int) -> None:
    server = IceServer(urls=[f"turn:127.0.0.1:{coturn}?transport=udp"], username="u", credential="p")
    (result,) = check_ice_server(server)
    assert result.verdict is Verdict.OK, result
    assert "relay allocated at 127.0.0.1:" in result.detail


def test_turn_allocation_over_tcp(coturn: int) -> None:
    host, port = turn_allocate(f"turn:127.0.0.1:{coturn}?transport=tcp", "u", "p")
    assert host == "127.0.0.1" and port > 0


def test_turn_bad_credentials_fail(coturn: int) -> None:
    server = IceServer(urls=[f"turn:127.0.0.1:{coturn}"], username="u", credential="wrong")
    (result,) = check_ice_server(server)
    assert result.verdict is Verdict.FAIL and "credentials refused" in result.detail
    assert "credential" in result.action
    anonymous = check_ice_server(IceServer(urls=[f"turn:127.0.0.1:{coturn}"]))[0]
    assert anonymous.verdict is Verdict.FAIL and "none are configured" in anonymous.detail


def test_stun_binding_and_unreachable_turn(coturn: int) -> None:
    stun, dead = check_ice_server(
        IceServer(
            urls=[f"stun:127.0.0.1:{coturn}", f"turn:127.0.0.1:{free_udp_port()}"],
            username="u",
            credential="p",
        ),
        timeout=1.5,
    )
    assert stun.verdict is Verdict.OK and "127.0.0.1" in stun.detail
    assert dead.verdict is Verdict.FAIL and "firewall" in dead.action


# --- PACS -----------------------------------------------------------------------------------------------


def test_dimse_echo_passes(echo_scp: int) -> None:
    endpoint = PacsEndpoint(name="Test", kind="dimse", host="127.0.0.1", port=echo_scp, called_ae="TESTPACS")
    result = check_pacs(endpoint)
    assert result.verdict is Verdict.OK and "C-ECHO" in result.detail


def test_dimse_wrong_ae_title_and_unreachable_fail(echo_scp: int) -> None:
    wrong = PacsEndpoint(name="Test", kind="dimse", host="127.0.0.1", port=echo_scp, called_ae="OTHER")
    rejected = check_pacs(wrong, timeout=5)
    assert rejected.verdict is Verdict.FAIL and "rejected" in rejected.detail
    gone = PacsEndpoint(name="Gone", kind="dimse", host="127.0.0.1", port=free_port(), called_ae="X")
    unreachable = check_pacs(gone, timeout=3)
    assert unreachable.verdict is Verdict.FAIL and "cannot be reached" in unreachable.detail


def web_pacs(url: str) -> PacsEndpoint:
    return PacsEndpoint.model_validate({"name": "Web", "kind": "dicomweb", "url": url})


def test_dicomweb_passes_and_fails(http_server: tuple[str, type[_Handler]]) -> None:
    url, handler = http_server
    handler.routes["/dicom-web/studies?limit=1"] = (200, b"[]")
    ok = check_pacs(web_pacs(f"{url}/dicom-web"))
    assert ok.verdict is Verdict.OK
    wrong_root = check_pacs(web_pacs(f"{url}/wado"))
    assert wrong_root.verdict is Verdict.FAIL and "404" in wrong_root.detail
    handler.routes["/locked/studies?limit=1"] = (401, b"{}")
    locked = check_pacs(web_pacs(f"{url}/locked"))
    assert locked.verdict is Verdict.FAIL and "refused access" in locked.detail
    gone = check_pacs(web_pacs(f"http://127.0.0.1:{free_port()}/x"))
    assert gone.verdict is Verdict.FAIL and "cannot be reached" in gone.detail


# --- keyring, disk, log folder --------------------------------------------------------------------------


def test_keyring_secret_service_passes(tmp_path: Path) -> None:
    with running_secret_service(tmp_path / "session"):
        result = check_keyring()
    assert result.verdict is Verdict.OK and "SecretService" in result.detail


class PlaintextKeyring(keyring.backend.KeyringBackend):
    """Stands for keyrings.alt's file backend (not installed here): it keeps secrets readable on disk."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        pass

    def delete_password(self, service: str, username: str) -> None:
        pass


class BrokenKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked collection")

    def delete_password(self, service: str, username: str) -> None:
        pass


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        (fail.Keyring(), "no usable keyring"),
        (PlaintextKeyring(), "plain text"),
        (BrokenKeyring(), "locked collection"),
    ],
    ids=["fail", "plaintext", "broken"],
)
def test_keyring_unusable_backends_fail(backend: keyring.backend.KeyringBackend, expected: str) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        result = check_keyring()
    finally:
        keyring.set_keyring(previous)
    assert result.verdict is Verdict.FAIL and result.blocking
    assert expected in result.detail
    assert "plain file" in result.action


def test_disk_space_thresholds(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    assert check_disk(tmp_path / "not-yet", fail_below=1, warn_below=2).verdict is Verdict.OK
    assert check_disk(tmp_path, fail_below=1, warn_below=free * 2).verdict is Verdict.WARN
    low = check_disk(tmp_path, fail_below=free * 2, warn_below=free * 4)
    assert low.verdict is Verdict.FAIL and low.blocking and "GiB free" in low.detail


def test_log_folder_writable_and_not(tmp_path: Path) -> None:
    assert check_log_folder(tmp_path / "logs").verdict is Verdict.OK
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    bad = check_log_folder(blocker / "logs")  # even root cannot make a folder inside a file
    assert bad.verdict is Verdict.FAIL and bad.blocking and "TELECONSULT_HOME" in bad.action


# --- the report and the command ---------------------------------------------------------------------------


def test_report_and_exit_code() -> None:
    results = [
        CheckResult("A", Verdict.OK, "fine", critical=True),
        CheckResult("B", Verdict.WARN, "hmm", "do this"),
        CheckResult("C", Verdict.FAIL, "broken", "fix that", critical=False),
    ]
    text = format_report(results)
    assert "[ OK ] A: fine" in text and "[WARN] B: hmm" in text and "what to do: fix that" in text
    assert exit_code(results) == 0 and "READY with 1 failure(s)" in text
    results.append(CheckResult("D", Verdict.FAIL, "down", "restart", critical=True))
    assert exit_code(results) == 1 and "NOT READY: 1 critical" in format_report(results)


def test_doctor_command_json_and_exit_status(tmp_path: Path, coturn: int, echo_scp: int) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        f"""
[backend]
url = "http://127.0.0.1:{free_port()}"
[[ice_servers]]
urls = ["turn:127.0.0.1:{coturn}"]
username = "u"
credential = "p"
[[pacs]]
name = "Echo"
kind = "dimse"
host = "127.0.0.1"
port = {echo_scp}
called_ae = "TESTPACS"
"""
    )
    # No session bus: the keyring check fails fast instead of starting a gnome-keyring for this child.
    env = {**os.environ, "TELECONSULT_HOME": str(tmp_path / "home")}
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"
    done = subprocess.run(
        [sys.executable, "-m", "app", "doctor", "--json", "--site-config", str(site)],
        capture_output=True, text=True, timeout=110, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout)
    verdicts = {c["name"]: c["verdict"] for c in report["checks"]}
    assert done.returncode == 1 and report["ok"] is False  # the backend is down: critical
    assert verdicts["Backend"] == "fail"
    assert verdicts[f"TURN turn:127.0.0.1:{coturn}"] == "ok"
    assert verdicts["PACS Echo"] == "ok"
    assert verdicts["Log folder"] == "ok"
    assert verdicts["Keyring (sign-in tokens)"] == "fail"
    assert all(set(c) == {"name", "verdict", "detail", "action", "critical"} for c in report["checks"])


def test_doctor_command_rejects_a_bad_site_file(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[backend]\nurl = 5\n")
    done = subprocess.run(
        [sys.executable, "-m", "app", "doctor", "--site-config", str(site)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "backend.url" in done.stderr


def test_site_config_defaults_give_embedded_backend() -> None:
    backend, clock = check_backend(str(SiteConfig().backend.url))
    assert backend.verdict is Verdict.OK and clock.verdict is Verdict.OK
