"""DICOMweb client: QIDO-RS search and WADO-RS retrieve (PS3.18), with httpx.

Retrieval streams: each part of the ``multipart/related; type="application/dicom"`` answer is
written to its own file as its bytes arrive, so a study never sits in memory whole. Every request
has a timeout; failures become the :mod:`viewers.dicom.pacs_common` exceptions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from viewers.dicom.pacs_common import (
    DEFAULT_TIMEOUT_S,
    PacsAuthError,
    PacsError,
    PacsProtocolError,
    PacsTimeoutError,
    PacsUnreachableError,
    RetrieveCancelledError,
    RetrieveProgress,
    RetrieveResult,
    SearchQuery,
    SeriesMatch,
    StudyMatch,
    to_int,
)

_STUDY_FIELDS = (
    "00080020",  # StudyDate
    "00080050",  # AccessionNumber
    "00080061",  # ModalitiesInStudy
    "00081030",  # StudyDescription
    "00100010",  # PatientName
    "00100020",  # PatientID
    "0020000D",  # StudyInstanceUID
    "00201206",  # NumberOfStudyRelatedSeries
    "00201208",  # NumberOfStudyRelatedInstances
)
_SERIES_FIELDS = ("00080060", "0008103E", "00200011", "0020000E", "00201209")
_CHUNK = 256 * 1024
_QUERY_SAFE = "*?^,-._~"


def _value(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value") or []
    if not values:
        return None
    first = values[0]
    if isinstance(first, dict):  # PN: {"Alphabetic": "Doe^Jane"}
        return first.get("Alphabetic", "")
    return first


def _values(item: dict[str, Any], tag: str) -> tuple[str, ...]:
    return tuple(str(v) for v in item.get(tag, {}).get("Value") or [])


def _text(item: dict[str, Any], tag: str) -> str:
    value = _value(item, tag)
    return "" if value is None else str(value)


def _boundary(content_type: str) -> bytes:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            return value.strip().strip('"').encode("latin-1")
    raise PacsProtocolError(f"multipart answer without a boundary: {content_type!r}")


class MultipartWriter:
    """Split a multipart/related byte stream into files, one per part, as the bytes arrive."""

    def __init__(self, boundary: bytes, folder: Path, prefix: str = "wado") -> None:
        self._delimiter = b"\r\n--" + boundary
        self._buffer = bytearray(b"\r\n")  # the first delimiter has no CRLF before it
        self._state = "preamble"
        self._folder = folder
        self._prefix = prefix
        self._out: BinaryIO | None = None
        self._current: Path | None = None
        self.files: list[Path] = []
        self.finished = False

    def _open_part(self) -> None:
        self._current = self._folder / f"{self._prefix}-{len(self.files):06d}.dcm"
        self._out = self._current.open("wb")

    def _close_part(self) -> Path:
        assert self._out is not None and self._current is not None
        self._out.close()
        self._out = None
        self.files.append(self._current)
        return self._current

    def feed(self, chunk: bytes) -> list[Path]:
        """Consume ``chunk``; return the files completed by it."""
        buf = self._buffer
        buf += chunk
        done: list[Path] = []
        keep = len(self._delimiter)
        while not self.finished:
            if self._state == "preamble":
                at = buf.find(self._delimiter)
                if at < 0:
                    del buf[: max(0, len(buf) - keep)]
                    break
                del buf[: at + keep]
                self._state = "after_delimiter"
            elif self._state == "after_delimiter":
                if len(buf) < 2:
                    break
                if buf[:2] == b"--":
                    self.finished = True
                    break
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > 64 * 1024:
                        raise PacsProtocolError("multipart part headers too long")
                    break
                del buf[: end + 4]
                self._open_part()
                self._state = "body"
            else:  # body
                assert self._out is not None
                at = buf.find(self._delimiter)
                if at < 0:
                    safe = len(buf) - keep
                    if safe > 0:
                        self._out.write(buf[:safe])
                        del buf[:safe]
                    break
                self._out.write(buf[:at])
                del buf[: at + keep]
                done.append(self._close_part())
                self._state = "after_delimiter"
        return done

    def close(self) -> None:
        """Drop a part left incomplete (stream cut or cancelled)."""
        if self._out is not None and self._current is not None:
            self._out.close()
            self._out = None
            self._current.unlink(missing_ok=True)


class DicomWebClient:
    """One DICOMweb service root, e.g. ``http://pacs:8042/dicom-web``."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        verify: bool | str = True,
    ) -> None:
        self.url = url.rstrip("/")
        auth = httpx.BasicAuth(username, password or "") if username else None
        # read timeout bounds each wait for bytes, so a long retrieve that keeps streaming never trips it
        self._client = httpx.Client(
            auth=auth, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)), verify=verify
        )
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._client.close()

    def __enter__(self) -> DicomWebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except PacsError:
            raise
        except httpx.TimeoutException as exc:
            raise PacsTimeoutError(f"{self.url}: no answer in time ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            raise PacsUnreachableError(f"{self.url}: cannot connect ({exc})") from exc
        except httpx.HTTPError as exc:
            raise PacsError(f"{self.url}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            raise PacsAuthError(
                f"{response.url}: the server refused the credentials ({response.status_code})"
            )
        if response.status_code >= 400:
            raise PacsProtocolError(f"{response.url}: HTTP {response.status_code}")

    def _get_json(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        # Wildcards and the PN component separator go unescaped: some servers (Orthanc 1.10's
        # DICOMweb plugin) match "Doe%2A" literally instead of decoding it to "Doe*".
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe=_QUERY_SAFE)}" for k, v in params.items())
        with self._errors():
            response = self._client.get(
                self.url + path + ("?" + query if query else ""), headers={"Accept": "application/dicom+json"}
            )
            self._check(response)
            if response.status_code == 204 or not response.content:
                return []
            try:
                data = response.json()
            except ValueError as exc:
                raise PacsProtocolError(f"{response.url}: answer is not JSON") from exc
        if not isinstance(data, list):
            raise PacsProtocolError(f"{self.url}{path}: expected a JSON array")
        return [item for item in data if isinstance(item, dict)]

    def ping(self) -> None:
        """Raise unless the service answers a minimal QIDO-RS query."""
        self._get_json("/studies", {"limit": "1"})

    def search_studies(self, query: SearchQuery, *, limit: int = 200) -> list[StudyMatch]:
        params = {"limit": str(limit), "includefield": ",".join(_STUDY_FIELDS)}
        terms = {
            "PatientName": query.name_pattern(),
            "PatientID": query.patient_id.strip(),
            "StudyDate": query.date_range(),
            "ModalitiesInStudy": query.modality.strip(),
            "AccessionNumber": query.accession_number.strip(),
            "StudyInstanceUID": query.study_instance_uid.strip(),
        }
        params.update({k: v for k, v in terms.items() if v})
        return [
            StudyMatch(
                study_instance_uid=_text(item, "0020000D"),
                patient_name=_text(item, "00100010"),
                patient_id=_text(item, "00100020"),
                study_date=_text(item, "00080020"),
                modalities=_values(item, "00080061"),
                description=_text(item, "00081030"),
                accession_number=_text(item, "00080050"),
                series_count=to_int(_value(item, "00201206")),
                instance_count=to_int(_value(item, "00201208")),
            )
            for item in self._get_json("/studies", params)
        ]

    def search_series(self, study_instance_uid: str, *, modality: str = "") -> list[SeriesMatch]:
        params = {"includefield": ",".join(_SERIES_FIELDS)}
        if modality:
            params["Modality"] = modality
        items = self._get_json(f"/studies/{study_instance_uid}/series", params)
        return [
            SeriesMatch(
                study_instance_uid=study_instance_uid,
                series_instance_uid=_text(item, "0020000E"),
                modality=_text(item, "00080060"),
                description=_text(item, "0008103E"),
                series_number=to_int(_value(item, "00200011")),
                instance_count=to_int(_value(item, "00201209")),
            )
            for item in items
        ]

    def instance_uids(self, study_instance_uid: str, *, page: int = 1000) -> list[str]:
        """SOP Instance UIDs the server holds for a study (QIDO-RS, paged); [] when it has none."""
        found: list[str] = []
        while True:
            params = {"includefield": "00080018", "limit": str(page), "offset": str(len(found))}
            try:
                items = self._get_json(f"/studies/{study_instance_uid}/instances", params)
            except PacsProtocolError as exc:
                if "HTTP 404" in str(exc):  # some servers answer 404 for a study they do not hold
                    return found
                raise
            found.extend(uid for uid in (_text(item, "00080018") for item in items) if uid)
            if len(items) < page:
                return found

    def store(
        self, study_instance_uid: str | None, content: Iterable[bytes], content_type: str, length: int
    ) -> dict[str, Any]:
        """STOW-RS POST of a ready-made multipart body (``length`` bytes); the server's JSON answer.

        HTTP 200 (all stored), 202 (some failed) and 409 (none stored) all carry the per-instance
        result, so they are returned, not raised; the caller reads the Referenced/Failed SOP sequences.
        """
        path = "/studies" + (f"/{study_instance_uid}" if study_instance_uid else "")
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(length),
            "Accept": "application/dicom+json",
        }
        with self._errors():
            response = self._client.post(self.url + path, content=content, headers=headers)
            if response.status_code not in (409,):
                self._check(response)
            if not response.content:
                return {}
            try:
                data = response.json()
            except ValueError as exc:
                raise PacsProtocolError(f"{response.url}: STOW-RS answer is not JSON") from exc
        if isinstance(data, list):  # a few servers wrap the answer in an array
            data = data[0] if data else {}
        if not isinstance(data, dict):
            raise PacsProtocolError(f"{self.url}{path}: expected a JSON object")
        data["_status"] = response.status_code
        return data

    def retrieve(
        self,
        folder: Path,
        study_instance_uid: str,
        series_instance_uid: str | None = None,
        *,
        expected: int = 0,
        progress: RetrieveProgress | None = None,
        cancel: threading.Event | None = None,
        transfer_syntax: str = "*",
    ) -> RetrieveResult:
        """WADO-RS retrieve of a study or one series into ``folder``, one file per instance.

        ``transfer_syntax="*"`` asks for the instances as stored (compressed stays compressed; the
        loader decodes). ``expected`` (from a search's instance count) only feeds ``progress``.
        """
        folder.mkdir(parents=True, exist_ok=True)
        path = f"/studies/{study_instance_uid}"
        if series_instance_uid:
            path += f"/series/{series_instance_uid}"
        accept = f'multipart/related; type="application/dicom"; transfer-syntax={transfer_syntax}'
        result = RetrieveResult(folder)
        with self._errors(), self._client.stream("GET", self.url + path, headers={"Accept": accept}) as resp:
            self._check(resp)
            content_type = resp.headers.get("content-type", "")
            if not content_type.lower().startswith("multipart/related"):
                raise PacsProtocolError(f"{resp.url}: expected multipart/related, got {content_type!r}")
            writer = MultipartWriter(_boundary(content_type), folder)
            try:
                for chunk in resp.iter_bytes(_CHUNK):
                    if cancel is not None and cancel.is_set():
                        raise RetrieveCancelledError(
                            f"retrieve cancelled after {len(writer.files)} instance(s)"
                        )
                    finished = writer.feed(chunk)
                    if finished and progress is not None:
                        progress(len(writer.files), max(expected, len(writer.files)))
                    if writer.finished:
                        break
            finally:
                writer.close()
                result.files = list(writer.files)
            if not writer.finished:
                raise PacsProtocolError(f"{resp.url}: the answer ended before its closing boundary")
        return result
