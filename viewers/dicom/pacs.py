"""One facade over the two kinds of PACS connection: DICOMweb (QIDO-RS/WADO-RS) and DIMSE.

Takes anything shaped like ``core.config.settings.PacsEndpoint`` (name, kind, url, host, port, called_ae,
calling_ae) without importing the domain; credentials and the C-MOVE port come as arguments (or as
``username``/``password``/``move_port`` attributes when the endpoint has them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.dimse import DimseClient
from viewers.dicom.pacs_common import (
    DEFAULT_TIMEOUT_S,
    AssociationRejectedError,
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
)

__all__ = [
    "AssociationRejectedError",
    "EndpointLike",
    "PacsAuthError",
    "PacsClient",
    "PacsError",
    "PacsProtocolError",
    "PacsSettings",
    "PacsTimeoutError",
    "PacsUnreachableError",
    "RetrieveCancelledError",
    "RetrieveResult",
    "SearchQuery",
    "SeriesMatch",
    "StudyMatch",
]


class EndpointLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def url(self) -> object | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def called_ae(self) -> str | None: ...
    @property
    def calling_ae(self) -> str: ...


@dataclass(frozen=True)
class PacsSettings:
    name: str
    kind: Literal["dicomweb", "dimse"]
    url: str | None = None
    host: str | None = None
    port: int | None = None
    called_ae: str | None = None
    calling_ae: str = "TELECONSULT"
    username: str | None = None
    password: str | None = None
    move_port: int | None = None  # DIMSE: retrieve by C-MOVE to this local port instead of C-GET
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.kind == "dicomweb" and not self.url:
            raise ValueError(f"PACS {self.name!r}: a DICOMweb endpoint needs a url")
        if self.kind == "dimse" and not (self.host and self.port and self.called_ae):
            raise ValueError(f"PACS {self.name!r}: a DIMSE endpoint needs host, port and called_ae")
        if self.kind not in ("dicomweb", "dimse"):
            raise ValueError(f"PACS {self.name!r}: unknown kind {self.kind!r}")

    @classmethod
    def from_endpoint(
        cls,
        endpoint: EndpointLike,
        *,
        username: str | None = None,
        password: str | None = None,
        move_port: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> PacsSettings:
        kind = str(endpoint.kind)
        if kind not in ("dicomweb", "dimse"):
            raise ValueError(f"PACS {endpoint.name!r}: unknown kind {kind!r}")
        return cls(
            name=str(endpoint.name),
            kind="dicomweb" if kind == "dicomweb" else "dimse",
            url=str(endpoint.url) if endpoint.url else None,
            host=endpoint.host,
            port=endpoint.port,
            called_ae=endpoint.called_ae,
            calling_ae=endpoint.calling_ae,
            username=username or getattr(endpoint, "username", None),
            password=password or getattr(endpoint, "password", None),
            move_port=move_port or getattr(endpoint, "move_port", None),
            timeout_s=timeout_s,
        )


class PacsClient:
    """Search and retrieve through whichever protocol ``settings.kind`` names. Blocking: run it off
    the UI thread. ``close()`` is harmless twice."""

    def __init__(self, settings: PacsSettings | EndpointLike) -> None:
        self.settings = (
            settings if isinstance(settings, PacsSettings) else PacsSettings.from_endpoint(settings)
        )
        s = self.settings
        self._web: DicomWebClient | None = None
        self._dimse: DimseClient | None = None
        if s.kind == "dicomweb":
            assert s.url is not None
            self._web = DicomWebClient(s.url, username=s.username, password=s.password, timeout_s=s.timeout_s)
        else:
            assert s.host is not None and s.port is not None and s.called_ae is not None
            self._dimse = DimseClient(s.host, s.port, s.called_ae, s.calling_ae, timeout_s=s.timeout_s)

    @property
    def name(self) -> str:
        return self.settings.name

    def check(self) -> None:
        """C-ECHO or a minimal QIDO-RS query; raises a :class:`PacsError` when it fails."""
        if self._web is not None:
            self._web.ping()
        else:
            assert self._dimse is not None
            self._dimse.echo()

    def search_studies(self, query: SearchQuery) -> list[StudyMatch]:
        if self._web is not None:
            return self._web.search_studies(query)
        assert self._dimse is not None
        return self._dimse.search_studies(query)

    def search_series(self, study_instance_uid: str, *, modality: str = "") -> list[SeriesMatch]:
        if self._web is not None:
            return self._web.search_series(study_instance_uid, modality=modality)
        assert self._dimse is not None
        return self._dimse.search_series(study_instance_uid, modality=modality)

    def retrieve(
        self,
        folder: Path,
        study_instance_uid: str,
        series_instance_uid: str | None = None,
        *,
        expected: int = 0,
        progress: RetrieveProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> RetrieveResult:
        """Retrieve a study (or one series) into ``folder``, one file per instance, as they arrive."""
        if self._web is not None:
            return self._web.retrieve(
                folder,
                study_instance_uid,
                series_instance_uid,
                expected=expected,
                progress=progress,
                cancel=cancel,
            )
        assert self._dimse is not None
        if self.settings.move_port:
            return self._dimse.move(
                folder,
                study_instance_uid,
                series_instance_uid,
                store_port=self.settings.move_port,
                expected=expected,
                progress=progress,
                cancel=cancel,
            )
        return self._dimse.retrieve(
            folder,
            study_instance_uid,
            series_instance_uid,
            expected=expected,
            progress=progress,
            cancel=cancel,
        )

    def close(self) -> None:
        if self._web is not None:
            self._web.close()

    def __enter__(self) -> PacsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
