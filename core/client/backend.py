"""The workstation's client for the thin backend (REST over httpx). Qt-free, asyncio.

Runs on the rtc runtime's loop; the UI reaches it through widgets.qt_async. Access tokens are kept in
memory only; the refresh token goes to the caller's ``on_refresh_token`` (the keyring), never to a file.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

if TYPE_CHECKING:
    import httpx  # imported when the first request is made: keeps it off the start-up path

log = logging.getLogger(__name__)
API = "/api/v1"


class BackendError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail

    @property
    def retryable(self) -> bool:
        """Worth sending again later: the backend was unreachable or failed on its side."""
        return self.status == 0 or self.status >= 500 or self.status == 429


class BackendUnreachableError(BackendError):
    def __init__(self, detail: str) -> None:
        super().__init__(0, detail)


class NotSignedInError(BackendError):
    def __init__(self, detail: str = "not signed in") -> None:
        super().__init__(401, detail)


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: str
    specialties: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UserInfo:
        return cls(
            id=int(data["id"]),
            username=str(data["username"]),
            display_name=str(data.get("display_name") or data["username"]),
            role=str(data["role"]),
            specialties=tuple(data.get("specialties") or ()),
        )


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        )
    return str(detail)


class BackendClient:
    def __init__(
        self,
        base_url: str,
        verify: bool | str = True,
        timeout: float = 10.0,
        on_refresh_token: Callable[[str | None], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._verify = verify
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._refresh_lock: asyncio.Lock | None = None
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.user: UserInfo | None = None
        self.on_refresh_token = on_refresh_token

    # plumbing ------------------------------------------------------------------------------
    def _client(self) -> httpx.AsyncClient:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url + API, verify=self._verify, timeout=self._timeout
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _send(self, method: str, path: str, json: Any = None, auth: bool = True) -> httpx.Response:
        headers = {}
        if auth:
            if self.access_token is None:
                raise NotSignedInError()
            headers["Authorization"] = f"Bearer {self.access_token}"
        import httpx

        try:
            return await self._client().request(method, path, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise BackendUnreachableError(
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ) from exc

    async def request(self, method: str, path: str, json: Any = None, auth: bool = True) -> Any:
        response = await self._send(method, path, json, auth)
        if response.status_code == 401 and auth and self.refresh_token:
            await self.refresh()
            response = await self._send(method, path, json, auth)
        if response.status_code >= 400:
            raise BackendError(response.status_code, _detail(response))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _take_tokens(self, body: dict[str, Any]) -> UserInfo:
        self.access_token = str(body["access_token"])
        self.refresh_token = str(body["refresh_token"])
        self.user = UserInfo.from_json(body["user"])
        if self.on_refresh_token is not None:
            self.on_refresh_token(self.refresh_token)
        return self.user

    # identity ------------------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/health", auth=False)
        return result

    async def login(self, username: str, password: str) -> UserInfo:
        body = await self.request(
            "POST", "/auth/login", {"username": username, "password": password}, auth=False
        )
        return self._take_tokens(body)

    async def refresh(self) -> UserInfo:
        """Exchange the refresh token (rotated by the server). Concurrent callers share one exchange."""
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        token_before = self.refresh_token
        async with self._refresh_lock:
            if self.refresh_token != token_before and self.user is not None:
                return self.user  # another caller already refreshed
            if not self.refresh_token:
                raise NotSignedInError()
            response = await self._send(
                "POST", "/auth/refresh", {"refresh_token": self.refresh_token}, auth=False
            )
            if response.status_code >= 400:
                if response.status_code == 401:
                    self.access_token = self.refresh_token = None
                    if self.on_refresh_token is not None:
                        self.on_refresh_token(None)
                raise BackendError(response.status_code, _detail(response))
            return self._take_tokens(response.json())

    async def resume(self, refresh_token: str) -> UserInfo:
        """Sign in again with a refresh token kept from an earlier session."""
        self.refresh_token = refresh_token
        return await self.refresh()

    async def logout(self) -> None:
        token, self.refresh_token = self.refresh_token, None
        self.access_token = None
        self.user = None
        if self.on_refresh_token is not None:
            self.on_refresh_token(None)
        if token:
            try:
                await self.request("POST", "/auth/logout", {"refresh_token": token}, auth=False)
            except BackendError as exc:
                log.warning("logout not confirmed by the backend: %s", exc)

    # accounts (IT administration; one's own password) ---------------------------------------
    async def users(self) -> list[dict[str, Any]]:
        """Every account with `disabled` and `locked` (it_admin only)."""
        result: list[dict[str, Any]] = await self.request("GET", "/users")
        return result

    async def user_action(
        self, user_id: int, action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`disable`, `enable`, `unlock` or `password` ({"new_password": ...}) on one account."""
        if action not in ("disable", "enable", "unlock", "password"):
            raise ValueError(f"unknown account action {action!r}")
        result: dict[str, Any] = await self.request("POST", f"/users/{int(user_id)}/{action}", body)
        return result

    async def change_password(self, old_password: str, new_password: str) -> None:
        """Change one's own password; this sign-in goes on, every other one is revoked."""
        body = {
            "old_password": old_password,
            "new_password": new_password,
            "refresh_token": self.refresh_token,
        }
        await self.request("POST", "/me/password", body)

    # worklist ------------------------------------------------------------------------------
    async def consults(self, state: str | None = None) -> list[dict[str, Any]]:
        path = "/consults" + (f"?state={quote(state)}" if state else "")
        result: list[dict[str, Any]] = await self.request("GET", path)
        return result

    async def consult(self, consult_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", f"/consults/{consult_id}")
        return result

    async def create_consult(self, request: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("POST", "/consults", request)
        return result

    async def transition(
        self, consult_id: int, action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``accept``, ``start`` or ``close``; the body is sent as given. Closing needs a final report or
        ``no_report_reason`` (docs/protocol.md): the workstation asks the specialist for the reason
        (app/wiring/report.py), never makes one up."""
        if action not in ("accept", "start", "close"):
            raise ValueError(f"unknown consult action {action!r}")
        result: dict[str, Any] = await self.request("POST", f"/consults/{consult_id}/{action}", body)
        return result

    async def close_consult(
        self, consult_id: int, outcome: str, no_report_reason: str | None = None
    ) -> dict[str, Any]:
        """Close a consult: with its final report, or with ``no_report_reason`` (409 otherwise)."""
        body: dict[str, Any] = {"outcome": outcome}
        if no_report_reason is not None:
            body["no_report_reason"] = no_report_reason
        result: dict[str, Any] = await self.request("POST", f"/consults/{consult_id}/close", body)
        return result

    # persistence (what the outbox sends) ---------------------------------------------------
    async def post_item(self, kind: str, consult_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        if kind not in ("notes", "chat", "annotations"):
            raise ValueError(f"unknown item kind {kind!r}")
        result: dict[str, Any] = await self.request("POST", f"/consults/{consult_id}/{kind}", payload)
        return result

    async def items(self, kind: str, consult_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.request("GET", f"/consults/{consult_id}/{kind}")
        return result

    async def audit_event(self, action: str, details: dict[str, Any], consult_id: int | None = None) -> int:
        """Record a clinical event (e.g. ``vitals.alarm.onset``) in the backend's audit chain."""
        body = {"action": action, "details": details, "consult_id": consult_id}
        result: dict[str, Any] = await self.request("POST", "/audit/events", body)
        return int(result["id"])

    async def link_study(self, consult_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Link another patient's study to the consult's patient (participants only), audited with both
        identities and the reason; ``body`` as viewers.study_identity.StudyLink.body()."""
        result: dict[str, Any] = await self.request("POST", f"/consults/{consult_id}/study-links", body)
        return result

    # signalling ----------------------------------------------------------------------------
    def signal_url(self, consult_id: int) -> str:
        """The room's URL with ``?token=`` for ``rtc.signalling.WebSocketSignalling``, which takes the
        token out of the URL and sends it in the socket's first message (docs/protocol.md section 2):
        never open this URL with another client, or the token travels in the request line."""
        if self.access_token is None:
            raise NotSignedInError()
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        path = f"{parts.path}{API}/rooms/{consult_id}/signal"
        return urlunsplit((scheme, parts.netloc, path, f"token={quote(self.access_token)}", ""))

    # store-and-forward ---------------------------------------------------------------------
    async def answer(self, consult_id: int, text: str, key_images: list[dict[str, str]]) -> dict[str, Any]:
        """The accepting specialist's written answer; ``key_images`` as keyimage.KeyImageRef.as_json()."""
        body = {"text": text, "key_images": key_images}
        result: dict[str, Any] = await self.request("POST", f"/consults/{consult_id}/answer", body)
        return result

    async def _send_bytes(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        import httpx

        for attempt in (0, 1):
            if self.access_token is None:
                raise NotSignedInError()
            headers = {"Authorization": f"Bearer {self.access_token}"}
            if content is not None:
                headers["Content-Type"] = "application/octet-stream"  # the server sniffs the type
            try:
                response = await self._client().request(method, path, content=content, headers=headers)
            except httpx.TransportError as exc:
                raise BackendUnreachableError(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code == 401 and attempt == 0 and self.refresh_token:
                await self.refresh()
                continue
            if response.status_code >= 400:
                raise BackendError(response.status_code, _detail(response))
            return response
        raise NotSignedInError()

    async def upload_photo(self, consult_id: int, data: bytes, caption: str = "") -> dict[str, Any]:
        """Attach a JPEG or PNG photo to the caller's own request (the body is the file itself)."""
        path = f"/consults/{consult_id}/photos" + (f"?caption={quote(caption)}" if caption else "")
        result: dict[str, Any] = (await self._send_bytes("POST", path, data)).json()
        return result

    async def photos(self, consult_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.request("GET", f"/consults/{consult_id}/photos")
        return result

    async def photo(self, consult_id: int, photo_id: int) -> bytes:
        return (await self._send_bytes("GET", f"/consults/{consult_id}/photos/{photo_id}")).content

    # the site PKI (signing keys) ---------------------------------------------------------------
    async def enroll(self, csr_pem: bytes | str) -> dict[str, Any]:
        """Have the site CA certify the key in ``csr_pem`` (the subject is the signed-in account's):
        {"serial", "user_id", "username", "pem", "not_before", "not_after", "revoked_at", ...}."""
        text = csr_pem.decode("ascii") if isinstance(csr_pem, bytes) else csr_pem
        result: dict[str, Any] = await self.request("POST", "/pki/enroll", {"csr_pem": text})
        return result

    async def ca_pem(self) -> bytes:
        """The site CA's certificate (PEM), the trust anchor for report signatures."""
        return (await self._send_bytes("GET", "/pki/ca")).content

    async def crl(self) -> bytes:
        """The site's current certificate revocation list (DER)."""
        return (await self._send_bytes("GET", "/pki/crl")).content

    async def my_certificates(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.request("GET", "/pki/certificates/mine")
        return result

    # the consult report --------------------------------------------------------------------------
    async def reports(self, consult_id: int) -> list[dict[str, Any]]:
        """Every version of the consult's report the caller may read, oldest first."""
        result: list[dict[str, Any]] = await self.request("GET", f"/consults/{int(consult_id)}/reports")
        return result

    async def report(self, report_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", f"/reports/{int(report_id)}")
        return result

    async def pending_reports(self) -> list[dict[str, Any]]:
        """The co-signing worklist: pending versions of the caller's specialties they did not author."""
        result: list[dict[str, Any]] = await self.request("GET", "/reports?status=pending")
        return result

    async def create_report(
        self,
        consult_id: int,
        content: dict[str, Any],
        kind: str = "original",
        supersedes_id: int | None = None,
    ) -> dict[str, Any]:
        """A new draft version (``content`` is Report.to_json()); an addendum, amendment or correction
        names the final version it supersedes."""
        body = {"content": content, "kind": kind, "supersedes_id": supersedes_id}
        result: dict[str, Any] = await self.request("POST", f"/consults/{int(consult_id)}/reports", body)
        return result

    async def update_report(self, report_id: int, content: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("PUT", f"/reports/{int(report_id)}", {"content": content})
        return result

    async def sign_report(self, report_id: int, pdf: bytes) -> dict[str, Any]:
        """Upload the PDF with the author's certification signature: draft -> pending."""
        body = {"pdf_base64": base64.b64encode(pdf).decode("ascii")}
        result: dict[str, Any] = await self.request("POST", f"/reports/{int(report_id)}/sign", body)
        return result

    async def cosign_report(
        self, report_id: int, pdf: bytes, sr: bytes | None, kos: bytes | None, fhir: dict[str, Any]
    ) -> dict[str, Any]:
        """Upload the PDF with the second reader's approval signature appended, with the DICOM SR, KOS and
        the FHIR transaction bundle: pending -> final (all or nothing)."""
        body = {
            "pdf_base64": base64.b64encode(pdf).decode("ascii"),
            "fhir": fhir,
        }
        if sr is not None:  # a report with nothing on images (an ECG consult) has no SR
            body["sr_base64"] = base64.b64encode(sr).decode("ascii")
        if kos is not None:  # a report without key images has no Key Object Selection
            body["kos_base64"] = base64.b64encode(kos).decode("ascii")
        result: dict[str, Any] = await self.request("POST", f"/reports/{int(report_id)}/cosign", body)
        return result

    async def acknowledge_report(self, report_id: int) -> dict[str, Any]:
        """The requesting county doctor has read the final version (idempotent)."""
        result: dict[str, Any] = await self.request("POST", f"/reports/{int(report_id)}/acknowledge")
        return result

    async def report_pdf(self, report_id: int) -> bytes:
        return (await self._send_bytes("GET", f"/reports/{int(report_id)}/pdf")).content

    # teaching ------------------------------------------------------------------------------
    async def patient_identity(self, consult_id: int) -> dict[str, Any]:
        """The identified patient (patient_id, name, sex, birth_date) for the consult's participants;
        anyone else gets BackendError 403, and the backend audits the refusal."""
        result: dict[str, Any] = await self.request("GET", f"/consults/{consult_id}/identity")
        return result

    async def set_recording(self, consult_id: int, on: bool) -> dict[str, Any]:
        """The instructor (accepting specialist) switches recording on or off: {"on", "since"}."""
        result: dict[str, Any] = await self.request(
            "POST", f"/consults/{consult_id}/recording", {"on": bool(on)}
        )
        return result

    async def recording(self, consult_id: int) -> dict[str, Any]:
        """Whether the session is being recorded, for every site's indicator: {"on", "since"}."""
        result: dict[str, Any] = await self.request("GET", f"/consults/{consult_id}/recording")
        return result


def vitals_snapshot(
    numerics: dict[str, tuple[float, str]],
    waveforms: dict[str, tuple[float, list[float], str]] | None = None,
    taken_at: datetime | None = None,
    max_seconds: float = 10.0,
) -> dict[str, Any]:
    """A consult request's ``vitals`` body: numerics {label: (value, unit)} and short waveform excerpts
    {label: (rate_hz, samples, unit)}, each cut to its last ``max_seconds`` (the backend's bound)."""
    when = taken_at or datetime.now(UTC)
    waves = {}
    for label, (rate, samples, unit) in (waveforms or {}).items():
        keep = max(1, min(5000, int(rate * max_seconds)))
        waves[label] = {"rate_hz": float(rate), "unit": unit, "samples": [float(v) for v in samples[-keep:]]}
    return {
        "taken_at": when.isoformat(),
        "numerics": {label: {"value": float(v), "unit": unit} for label, (v, unit) in numerics.items()},
        "waveforms": waves,
    }
