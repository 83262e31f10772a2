"""What the DICOMweb and DIMSE clients share: search terms, matches, errors. No network code here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

RetrieveProgress = Callable[[int, int], None]  # (instances received, instances expected or 0)

DEFAULT_TIMEOUT_S = 15.0


class PacsError(Exception):
    """Any PACS failure; the message is written for the person at the workstation."""


class PacsUnreachableError(PacsError):
    """Nothing answered at that address (refused, no route, DNS)."""


class PacsTimeoutError(PacsError):
    """The server stopped answering within the time allowed."""


class PacsAuthError(PacsError):
    """The server refused our credentials (HTTP 401/403)."""


class AssociationRejectedError(PacsError):
    """The DICOM peer rejected the association (wrong AE title, not allowed)."""


class PacsProtocolError(PacsError):
    """The server answered, but not with what the standard says (or with a failure status)."""


class RetrieveCancelledError(PacsError):
    """The retrieve stopped because its cancel event was set; files already written stay."""


_DATE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class SearchQuery:
    """Study or series search terms; empty strings mean "any".

    ``patient_name`` matches as a prefix unless it holds a wildcard (``*`` or ``?``);
    ``date_from``/``date_to`` are YYYYMMDD.
    """

    patient_name: str = ""
    patient_id: str = ""
    date_from: str = ""
    date_to: str = ""
    modality: str = ""
    accession_number: str = ""
    study_instance_uid: str = ""

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value and not _DATE.match(value):
                raise ValueError(f"{name} must be YYYYMMDD, got {value!r}")

    def name_pattern(self) -> str:
        name = self.patient_name.strip()
        if not name or any(c in name for c in "*?"):
            return name
        return name + "*"

    def date_range(self) -> str:
        if not self.date_from and not self.date_to:
            return ""
        if self.date_from == self.date_to:
            return self.date_from
        return f"{self.date_from}-{self.date_to}"


@dataclass(frozen=True)
class StudyMatch:
    study_instance_uid: str
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    modalities: tuple[str, ...] = ()
    description: str = ""
    accession_number: str = ""
    series_count: int | None = None
    instance_count: int | None = None


@dataclass(frozen=True)
class SeriesMatch:
    study_instance_uid: str
    series_instance_uid: str
    modality: str = ""
    description: str = ""
    series_number: int | None = None
    instance_count: int | None = None


@dataclass
class RetrieveResult:
    folder: Path
    files: list[Path] = field(default_factory=list)
    failed: int = 0  # sub-operations the server reported as failed

    @property
    def count(self) -> int:
        return len(self.files)


def to_int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
