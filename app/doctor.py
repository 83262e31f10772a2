"""``teleconsult doctor``: what a clinician's workstation needs, checked one item at a time.

Qt-free. Each check returns a :class:`CheckResult`: a verdict (ok, warn, fail), what was found, and
what to do about it. A failed *critical* check makes the command exit non-zero. Checks that could
hang (a broken GPU driver, an unreachable server) run with timeouts; the test render runs in a child
process so a driver that never returns cannot take the doctor with it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import email.utils
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.turn_probe import turn_allocate
from core.config.paths import AppPaths
from core.config.settings import (
    ConfigError,
    IceServer,
    PacsEndpoint,
    SiteConfig,
    find_site_config,
    load_site_config,
)

GIB = 1024**3
CERT_WARN_DAYS = 21
SKEW_WARN_S = 30.0
SKEW_FAIL_S = 120.0  # tokens and TLS start failing when clocks disagree by minutes


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    name: str
    verdict: Verdict
    detail: str
    action: str = ""  # what to do; empty when nothing needs doing
    critical: bool = False  # a failure here stops the workstation from doing its job

    @property
    def blocking(self) -> bool:
        return self.critical and self.verdict is Verdict.FAIL

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


def _ok(name: str, detail: str, critical: bool = False) -> CheckResult:
    return CheckResult(name, Verdict.OK, detail, "", critical)


# --- OpenGL / EGL and a VTK test render ------------------------------------------------------------


def render_probe() -> dict[str, Any]:
    """Render a sphere offscreen with VTK and count the lit pixels (runs in the child process)."""
    if sys.platform.startswith("linux"):
        # EGL needs no display, so the check means the same on a locked screen and over SSH.
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL factories)
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersSources import vtkSphereSource
    from vtkmodules.vtkRenderingCore import (
        vtkActor,
        vtkPolyDataMapper,
        vtkRenderer,
        vtkRenderWindow,
        vtkWindowToImageFilter,
    )

    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(64, 64)
    renderer = vtkRenderer()
    window.AddRenderer(renderer)
    source = vtkSphereSource()
    mapper = vtkPolyDataMapper()
    mapper.SetInputConnection(source.GetOutputPort())
    actor = vtkActor()
    actor.SetMapper(mapper)
    renderer.AddActor(actor)
    window.Render()
    capabilities = window.ReportCapabilities() or ""
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.Update()
    pixels = vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars())
    lit = int((pixels.max(axis=1) > 0).sum())
    info = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in capabilities.splitlines()
        if ":" in line and "string" in line
    }
    window.Finalize()
    return {
        "window": type(window).__name__,
        "renderer": info.get("OpenGL renderer string", "unknown"),
        "version": info.get("OpenGL version string", "unknown"),
        "lit_pixels": lit,
        "total_pixels": int(pixels.shape[0]),
    }


def _probe_command() -> list[str]:
    if getattr(sys, "frozen", False):  # the PyInstaller bundle: its executable is the workstation
        return [sys.executable, "doctor", "--render-probe"]
    return [sys.executable, "-m", "app.doctor", "--render-probe"]


def check_render(command: Sequence[str] | None = None, timeout: float = 60.0) -> CheckResult:
    name = "3D rendering (OpenGL/EGL, VTK)"
    action = (
        "Install or update the graphics driver (Debian: libegl1 libgl1-mesa-dri); "
        "3D and MPR views need OpenGL 3.2 or newer."
    )
    try:
        done = subprocess.run(
            list(command or _probe_command()), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return CheckResult(
            name, Verdict.FAIL, f"the test render did not finish within {timeout:g} s", action, True
        )
    except OSError as exc:
        return CheckResult(name, Verdict.FAIL, f"the test render could not start: {exc}", action, True)
    result: dict[str, Any] | None = None
    for line in reversed(done.stdout.splitlines()):
        with contextlib.suppress(ValueError):
            parsed = json.loads(line)
            if isinstance(parsed, dict):
                result = parsed
                break
    if done.returncode != 0 or result is None:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return CheckResult(
            name, Verdict.FAIL, f"the test render failed (exit {done.returncode}): {tail}", action, True
        )
    detail = f"{result.get('renderer')}, OpenGL {result.get('version')} via {result.get('window')}"
    if int(result.get("lit_pixels", 0)) == 0:
        return CheckResult(name, Verdict.FAIL, f"{detail}: the test render came out blank", action, True)
    if "llvmpipe" in str(result.get("renderer", "")).lower():
        return CheckResult(
            name,
            Verdict.WARN,
            f"{detail} (software rendering: 3D views will be slow)",
            "Install the GPU vendor's driver if this machine has a graphics card.",
            True,
        )
    return _ok(name, detail, True)


# --- cameras and microphones -----------------------------------------------------------------------


def list_cameras(dev: Path = Path("/dev")) -> list[Path]:
    return sorted(dev.glob("video*"))


def list_microphones(asound: Path = Path("/proc/asound")) -> list[str]:
    """ALSA capture devices from /proc/asound/pcm ("00-00: name : name : playback 1 : capture 1")."""
    try:
        lines = (asound / "pcm").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = [p.strip() for p in line.split(":")]
        if any(p.startswith("capture") for p in parts[1:]) and len(parts) > 1:
            found.append(f"{parts[0]} {parts[1]}")
    return found


def check_cameras(dev: Path = Path("/dev")) -> CheckResult:
    name = "Cameras"
    if not sys.platform.startswith("linux"):
        return CheckResult(name, Verdict.WARN, "not checked on this system", "Test the camera in a call.")
    cameras = list_cameras(dev)
    if not cameras:
        return CheckResult(
            name,
            Verdict.WARN,
            "no camera found (no /dev/video*)",
            "Connect a USB camera (UVC) or check that the ultrasound capture card's driver is loaded.",
        )
    usable = [c for c in cameras if os.access(c, os.R_OK | os.W_OK)]
    if not usable:
        return CheckResult(
            name,
            Verdict.WARN,
            f"{len(cameras)} found but none can be opened by this user",
            "Add the user to the 'video' group (sudo usermod -aG video USER) and log in again.",
        )
    return _ok(name, ", ".join(str(c) for c in usable))


def check_microphones(asound: Path = Path("/proc/asound")) -> CheckResult:
    name = "Microphones"
    if not sys.platform.startswith("linux"):
        return CheckResult(name, Verdict.WARN, "not checked on this system", "Test the microphone in a call.")
    mics = list_microphones(asound)
    if not mics:
        return CheckResult(
            name,
            Verdict.WARN,
            "no audio capture device found (ALSA)",
            "Connect a headset or microphone; check `arecord -l`.",
        )
    return _ok(name, "; ".join(mics))


# --- backend, TLS certificate, clock ---------------------------------------------------------------


def fetch_certificate(
    host: str, port: int, ca_file: Path | None, timeout: float
) -> tuple[str | None, dt.datetime | None]:
    """(verification error or None, notAfter in UTC) for the server's certificate."""
    from cryptography import x509

    error: str | None = None
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            pass
    except ssl.SSLCertVerificationError as exc:
        error = exc.verify_message or str(exc)
    loose = ssl.create_default_context()
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        loose.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        return error or "no certificate", None
    return error, x509.load_der_x509_certificate(der).not_valid_after_utc


def check_tls(url: str, ca_file: Path | None, verify: bool, timeout: float = 10.0) -> CheckResult:
    name = "Backend TLS certificate"
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        error, not_after = fetch_certificate(host, port, ca_file, timeout)
    except (OSError, ssl.SSLError) as exc:
        # Not counted again: the Backend item above already fails for the same reason.
        return CheckResult(name, Verdict.FAIL, f"no TLS handshake with {host}:{port}: {exc}", "See Backend.")
    days = (not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400 if not_after else None
    expiry = f"expires {not_after:%Y-%m-%d} ({days:.0f} days)" if not_after and days is not None else ""
    if days is not None and days < 0:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"expired on {not_after:%Y-%m-%d}",
            "Renew the backend's certificate (teleconsult-server serve --cert/--key) and restart it.",
            True,
        )
    if error is not None:
        action = (
            "Install the hospital's CA certificate and name it in the site file ([backend] ca_file), "
            "or have the backend use a certificate from a trusted CA."
        )
        if not verify:
            return CheckResult(
                name,
                Verdict.WARN,
                f"not trusted ({error}); verification is turned off in the site file. {expiry}",
                action,
                True,
            )
        return CheckResult(name, Verdict.FAIL, f"not trusted: {error}. {expiry}", action, True)
    if days is not None and days < CERT_WARN_DAYS:
        return CheckResult(
            name, Verdict.WARN, f"valid, {expiry}", "Renew the backend's certificate soon.", True
        )
    return _ok(name, f"valid, {expiry}", True)


def clock_skew(server_date: str, sent: float, received: float) -> float:
    """Seconds the local clock is ahead of the server (the Date header has 1 s resolution)."""
    server = email.utils.parsedate_to_datetime(server_date).timestamp()
    return (sent + received) / 2 - server


def check_clock(skew: float | None) -> CheckResult:
    name = "Clock"
    if skew is None:
        return CheckResult(
            name, Verdict.WARN, "not measured (the backend did not answer with a Date)", "", True
        )
    direction = "ahead of" if skew > 0 else "behind"
    detail = f"{abs(skew):.0f} s {direction} the backend"
    action = "Turn on network time (timedatectl set-ntp true, or the hospital's NTP server)."
    if abs(skew) > SKEW_FAIL_S:
        return CheckResult(name, Verdict.FAIL, detail + ": sign-in tokens will be rejected", action, True)
    if abs(skew) > SKEW_WARN_S:
        return CheckResult(name, Verdict.WARN, detail, action, True)
    return _ok(name, detail, True)


def _unhealthy_backend(name: str, base: str, response: Any) -> CheckResult:
    """The backend answered, but not 200: a 503 from /health names the dependencies that failed."""
    failed: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("failed"), dict):
            failed = body["failed"]
    if response.status_code == 503 and failed:
        what = ", ".join(f"{dep} {str(why)[:80]}" for dep, why in sorted(failed.items()))
        action = "Look at the backend's log (journalctl -u teleconsult-server)"
        if "database" in failed:
            action += "; is its PostgreSQL running (systemctl status postgresql)?"
        return CheckResult(name, Verdict.FAIL, f"{base} runs but is unhealthy: {what}", action, True)
    return CheckResult(
        name,
        Verdict.FAIL,
        f"{base}/api/v1/health answered HTTP {response.status_code}",
        "Look at the backend's log (journalctl -u teleconsult-server).",
        True,
    )


def check_backend(
    url: str, ca_file: Path | None = None, verify: bool = True, timeout: float = 10.0
) -> list[CheckResult]:
    """Reachability (GET /api/v1/health), then the certificate for https, then the clock skew."""
    import httpx

    name = "Backend"
    if url == "embedded":
        return [
            _ok(name, "embedded backend on this machine (nothing to reach)", True),
            _ok("Clock", "the embedded backend shares this machine's clock", True),
        ]
    base = url.rstrip("/")
    results: list[CheckResult] = []
    tls_verify: ssl.SSLContext | bool = False
    if verify:
        tls_verify = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    skew: float | None = None
    try:
        sent = time.time()
        response = httpx.get(f"{base}/api/v1/health", timeout=timeout, verify=tls_verify)
        received = time.time()
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        results.append(
            CheckResult(
                name,
                Verdict.FAIL,
                f"{base} cannot be reached: {reason}",
                "Check the network and the [backend] url in the site file; is teleconsult-server running?",
                True,
            )
        )
    else:
        if response.status_code == 200:
            body = response.json() if "json" in response.headers.get("content-type", "") else {}
            database = body.get("database") if isinstance(body, dict) else None
            extra = f" ({database})" if database else ""
            results.append(_ok(name, f"{base} answers{extra}", True))
        else:
            results.append(_unhealthy_backend(name, base, response))
        date = response.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                skew = clock_skew(date, sent, received)
    if base.startswith("https://"):
        results.append(check_tls(base, ca_file, verify, timeout))
    results.append(check_clock(skew))
    return results


# --- TURN: a real allocation (app/turn_probe.py) ------------------------------------------------


def check_ice_server(server: IceServer, timeout: float = 5.0) -> list[CheckResult]:
    results = []
    for url in server.urls:
        name = f"TURN {url}" if not url.startswith("stun:") else f"STUN {url}"
        try:
            host, port = turn_allocate(url, server.username, server.credential, timeout)
        except PermissionError as exc:
            results.append(
                CheckResult(
                    name,
                    Verdict.FAIL,
                    str(exc),
                    "Check username and credential under [[ice_servers]] in the site file "
                    "against the TURN server's user database.",
                )
            )
        except (OSError, TimeoutError) as exc:
            results.append(
                CheckResult(
                    name,
                    Verdict.FAIL,
                    f"no answer: {exc or type(exc).__name__}",
                    "Open UDP/TCP 3478 (and 5349 for turns:) to the TURN server in the firewall; "
                    "calls between hospitals need it.",
                )
            )
        except (RuntimeError, KeyError, ValueError) as exc:
            results.append(
                CheckResult(name, Verdict.FAIL, f"unexpected answer: {exc}", "Check the TURN server's log.")
            )
        else:
            what = "relay allocated at" if not url.startswith("stun:") else "this machine is seen as"
            results.append(_ok(name, f"{what} {host}:{port}"))
    return results


# --- PACS --------------------------------------------------------------------------------------------


def check_pacs(
    endpoint: PacsEndpoint,
    timeout: float = 10.0,
    *,
    username: str | None = None,
    password: str | None = None,
) -> CheckResult:
    """DICOMweb: a QIDO-RS search for one study, with HTTP basic credentials when given (or when the
    endpoint carries ``username``/``password``); DIMSE: a C-ECHO."""
    name = f"PACS {endpoint.name}"
    if endpoint.kind == "dimse":
        return _check_dimse(name, endpoint, timeout)
    import httpx

    username = username or getattr(endpoint, "username", None)
    password = password or getattr(endpoint, "password", None)
    auth = httpx.BasicAuth(username, password or "") if username else None
    url = str(endpoint.url).rstrip("/") + "/studies"
    try:
        response = httpx.get(
            url,
            params={"limit": 1},
            headers={"Accept": "application/dicom+json"},
            auth=auth,
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{url} cannot be reached: {exc or type(exc).__name__}",
            "Check the network and the [[pacs]] url in the site file.",
        )
    if response.status_code in (200, 204):
        return _ok(name, f"DICOMweb QIDO-RS answers at {url}")
    if response.status_code == 401:
        if username:
            return CheckResult(
                name,
                Verdict.FAIL,
                f"{url} refused access: the credentials of user {username!r} were not accepted (HTTP 401)",
                "Check the PACS username and password with the PACS administrator.",
            )
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{url} refused access: it asks for credentials (HTTP 401) and none are configured",
            "Ask the PACS administrator for an account for this workstation.",
        )
    if response.status_code == 403:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{url} refused access (HTTP 403)",
            "Ask the PACS administrator to allow this workstation.",
        )
    return CheckResult(
        name,
        Verdict.FAIL,
        f"{url} answered HTTP {response.status_code}",
        "Check that the url points at the DICOMweb root (e.g. http://pacs:8042/dicom-web).",
    )


def _check_dimse(name: str, endpoint: PacsEndpoint, timeout: float) -> CheckResult:
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    ae = AE(ae_title=endpoint.calling_ae)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = timeout
    where = f"{endpoint.called_ae}@{endpoint.host}:{endpoint.port}"
    try:
        assoc = ae.associate(str(endpoint.host), int(endpoint.port or 0), ae_title=str(endpoint.called_ae))
        if assoc.is_rejected:
            return CheckResult(
                name,
                Verdict.FAIL,
                f"{where} rejected the association",
                f"Register this workstation (AE title {endpoint.calling_ae}) on the PACS, "
                "and check called_ae in the site file.",
            )
        if not assoc.is_established:
            return CheckResult(
                name,
                Verdict.FAIL,
                f"{where} cannot be reached",
                "Check host and port under [[pacs]] and the firewall (DICOM usually uses 104 or 11112).",
            )
        try:
            status = assoc.send_c_echo()
        finally:
            assoc.release()
    finally:
        ae.shutdown()
    code = getattr(status, "Status", None)
    if code == 0:
        return _ok(name, f"C-ECHO to {where} succeeded")
    return CheckResult(name, Verdict.FAIL, f"C-ECHO to {where} answered status {code}", "Check the PACS log.")


# --- keyring, disk, log folder ---------------------------------------------------------------------


def check_keyring() -> CheckResult:
    import keyring
    from keyring.backends import chainer, fail

    name = "Keyring (sign-in tokens)"
    backend = keyring.get_keyring()
    label = f"{type(backend).__module__}.{type(backend).__name__}"
    action = (
        "Sign in to a desktop session with a keyring (GNOME Keyring / KWallet on Linux, "
        "Credential Manager on Windows); the refresh token is never written to a plain file."
    )
    if isinstance(backend, fail.Keyring) or (
        isinstance(backend, chainer.ChainerBackend) and not backend.backends
    ):
        return CheckResult(name, Verdict.FAIL, f"no usable keyring ({label})", action, True)
    if "plaintext" in label.lower() or type(backend).__module__.startswith("keyrings.alt"):
        return CheckResult(name, Verdict.FAIL, f"{label} stores secrets in plain text", action, True)
    service, user, secret = "teleconsult-doctor", "probe", uuid.uuid4().hex
    try:
        keyring.set_password(service, user, secret)
        back = keyring.get_password(service, user)
        keyring.delete_password(service, user)
    except Exception as exc:  # any backend error means tokens cannot be kept
        return CheckResult(name, Verdict.FAIL, f"{label} failed: {exc}", action, True)
    if back != secret:
        return CheckResult(name, Verdict.FAIL, f"{label} did not give the secret back", action, True)
    return _ok(name, f"{label} stores and returns secrets", True)


def check_disk(folder: Path, fail_below: int = 1 * GIB, warn_below: int = 5 * GIB) -> CheckResult:
    name = "Disk space"
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    detail = f"{free / GIB:.1f} GiB free at {folder}"
    action = "Free disk space: studies, recordings and logs are kept there."
    if free < fail_below:
        return CheckResult(name, Verdict.FAIL, detail, action, True)
    if free < warn_below:
        return CheckResult(name, Verdict.WARN, detail, action, True)
    return _ok(name, detail, True)


def check_log_folder(folder: Path) -> CheckResult:
    name = "Log folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".doctor-{uuid.uuid4().hex}"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{folder} is not writable: {exc.strerror or exc}",
            "Give the user write access to it, or set TELECONSULT_HOME to a writable folder.",
            True,
        )
    return _ok(name, f"{folder} is writable", True)


# --- all together -------------------------------------------------------------------------------------


def run_checks(site: SiteConfig, paths: AppPaths, render_timeout: float = 60.0) -> list[CheckResult]:
    """Every check, the slow network ones side by side; the report keeps this order."""
    backend = site.backend
    jobs: list[Callable[[], list[CheckResult]]] = [
        lambda: [check_render(timeout=render_timeout)],
        lambda: [check_cameras(), check_microphones()],
        lambda: check_backend(str(backend.url), backend.ca_file, backend.verify_tls),
        *[(lambda s=server: check_ice_server(s)) for server in site.ice_servers],
        *[(lambda p=pacs: [check_pacs(p)]) for pacs in site.pacs],
        lambda: [check_keyring()],
        lambda: [check_disk(paths.data_dir)],
        lambda: [check_log_folder(paths.log_dir)],
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [result for future in futures for result in future.result()]


_MARK = {Verdict.OK: "[ OK ]", Verdict.WARN: "[WARN]", Verdict.FAIL: "[FAIL]"}


def format_report(results: Sequence[CheckResult]) -> str:
    lines = []
    for result in results:
        lines.append(f"{_MARK[result.verdict]} {result.name}: {result.detail}")
        if result.action and result.verdict is not Verdict.OK:
            lines.append(f"       what to do: {result.action}")
    blocking = [r for r in results if r.blocking]
    warned = [r for r in results if r.verdict is Verdict.WARN]
    failed = [r for r in results if r.verdict is Verdict.FAIL]
    if blocking:
        summary = f"NOT READY: {len(blocking)} critical problem(s)"
    elif failed or warned:
        summary = f"READY with {len(failed)} failure(s) and {len(warned)} warning(s) to look at"
    else:
        summary = "READY: every check passed"
    lines.append("")
    lines.append(summary)
    return "\n".join(lines)


def exit_code(results: Sequence[CheckResult]) -> int:
    return 1 if any(r.blocking for r in results) else 0


def doctor_main(argv: Sequence[str], paths: AppPaths, version: str = "") -> int:
    parser = argparse.ArgumentParser(
        prog="teleconsult doctor",
        description="Check what this workstation needs and say what to do. "
        "Exit status 1 when a critical check fails, 2 when the site file is unusable.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--site-config", type=Path, help="site configuration file (TOML)")
    parser.add_argument("--render-timeout", type=float, default=60.0, help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv))
    site_file = find_site_config(args.site_config)
    try:
        site = load_site_config(site_file)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    results = run_checks(site, paths, args.render_timeout)
    code = exit_code(results)
    if args.json:
        report = {
            "version": version,
            "site_file": str(site_file) if site_file else None,
            "ok": code == 0,
            "checks": [r.as_dict() for r in results],
        }
        print(json.dumps(report, indent=2))
    else:
        where = site_file or "none (built-in defaults)"
        print(f"teleconsult {version} doctor, site file: {where}\n\n{format_report(results)}")
    return code


if __name__ == "__main__":
    if sys.argv[1:] == ["--render-probe"]:
        print(json.dumps(render_probe()), flush=True)
        raise SystemExit(0)
    raise SystemExit("usage: teleconsult doctor [--json]")
