"""Send a study to the site's DICOMweb archive with STOW-RS (PS3.18 10.5), resumably. Qt-free.

The study goes in batches, each one ``multipart/related; type="application/dicom"`` POST with a known
length, streamed from the files. Before every attempt the archive is asked (QIDO-RS) which SOP
Instance UIDs it already holds, and those are skipped, so an upload cut by a dropped connection or a
cancel resumes where it stopped and never sends an instance twice on purpose. At the end the archive
is asked again: every local SOP Instance UID must be there, and the counts must match.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.discovery import PatientKey, patient_key
from viewers.dicom.pacs_common import PacsAuthError, PacsError, PacsProtocolError

log = logging.getLogger(__name__)

# (instances done, instances in the study, bytes sent in this run)
UploadProgress = Callable[[int, int, int], None]

DEFAULT_BATCH_INSTANCES = 16
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
_CHUNK = 256 * 1024


class UploadCancelledError(PacsError):
    """The upload stopped because its cancel event was set; what was stored stays stored."""


class UploadVerificationError(PacsError):
    """The archive does not hold every instance that was sent."""


@dataclass(frozen=True)
class LocalInstance:
    path: Path
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    size: int


@dataclass(frozen=True)
class LocalStudy:
    study_instance_uid: str
    instances: tuple[LocalInstance, ...]
    patient_name: str = ""
    patient_id: str = ""
    description: str = ""
    patient_birth_date: str = ""  # DICOM DA
    patient_sex: str = ""
    issuer: str = ""  # Issuer of Patient ID

    @property
    def sop_instance_uids(self) -> set[str]:
        return {i.sop_instance_uid for i in self.instances}

    @property
    def size(self) -> int:
        return sum(i.size for i in self.instances)


@dataclass
class UploadResult:
    study_instance_uid: str
    total: int  # distinct instances in the local study
    sent: int = 0  # instances sent in this run
    skipped: int = 0  # already in the archive before this run
    failed: list[str] = field(default_factory=list)  # SOP Instance UIDs the archive refused
    remote_count: int = 0  # distinct instances of the study the archive holds at the end
    missing: list[str] = field(default_factory=list)  # local SOP Instance UIDs absent at the end
    attempts: int = 1

    @property
    def verified(self) -> bool:
        return not self.missing and not self.failed and self.remote_count >= self.total


def scan_studies(paths: Iterable[Path]) -> list[LocalStudy]:
    """Group DICOM files (folders are walked) by study, reading headers only; other files are skipped.

    A SOP Instance UID seen twice (a copy of the same file) is kept once. A study whose files name
    different patients (discovery.patient_key) is a :class:`PacsError`: it is never sent as one."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
    by_study: dict[str, dict[str, LocalInstance]] = {}
    meta: dict[str, tuple[str, str, str, str, str, str]] = {}
    patients: dict[str, set[PatientKey]] = {}
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError) as exc:
            log.debug("not DICOM, not sent: %s (%s)", path, exc)
            continue
        study = str(getattr(ds, "StudyInstanceUID", "") or "")
        sop = str(getattr(ds, "SOPInstanceUID", "") or "")
        if not study or not sop or "SOPClassUID" not in ds:
            continue
        instances = by_study.setdefault(study, {})
        instances.setdefault(
            sop,
            LocalInstance(
                path=path,
                study_instance_uid=study,
                series_instance_uid=str(getattr(ds, "SeriesInstanceUID", "") or ""),
                sop_instance_uid=sop,
                size=path.stat().st_size,
            ),
        )
        patients.setdefault(study, set()).add(patient_key(ds))
        if study not in meta:
            meta[study] = (
                str(getattr(ds, "PatientName", "") or ""),
                str(getattr(ds, "PatientID", "") or ""),
                str(getattr(ds, "StudyDescription", "") or ""),
                str(getattr(ds, "PatientBirthDate", "") or ""),
                str(getattr(ds, "PatientSex", "") or ""),
                str(getattr(ds, "IssuerOfPatientID", "") or ""),
            )
    mixed = [uid for uid, keys in patients.items() if len(keys) > 1]
    if mixed:  # one Study Instance UID, several patients: never sent as one study
        raise PacsError(
            f"Study Instance UID {mixed[0]} holds images of {len(patients[mixed[0]])} different patients;"
            " it cannot be attached"
        )
    return [
        LocalStudy(uid, tuple(instances.values()), *meta.get(uid, ("", "", "", "", "", "")))
        for uid, instances in by_study.items()
    ]


def scan_study(paths: Iterable[Path]) -> LocalStudy:
    """The one study in ``paths``; a :class:`PacsError` when there is none or more than one."""
    studies = scan_studies(paths)
    if not studies:
        raise PacsError("no DICOM instances found to send")
    if len(studies) > 1:
        raise PacsError(f"{len(studies)} studies found; attach one study at a time")
    return studies[0]


def batches(
    instances: Sequence[LocalInstance], max_instances: int, max_bytes: int
) -> Iterator[list[LocalInstance]]:
    batch: list[LocalInstance] = []
    size = 0
    for instance in instances:
        if batch and (len(batch) >= max_instances or size + instance.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(instance)
        size += instance.size
    if batch:
        yield batch


def _sequence_uids(answer: dict[str, object], tag: str) -> list[str]:
    seq = answer.get(tag)
    items = seq.get("Value") if isinstance(seq, dict) else None
    uids = []
    for item in items if isinstance(items, list) else []:
        values = item.get("00081155", {}).get("Value") if isinstance(item, dict) else None
        if values:
            uids.append(str(values[0]))
    return uids


class StowUploader:
    """Upload one local study to a DICOMweb archive. Blocking: run it off the UI thread.

    ``retries`` automatic resumptions follow a dropped connection or a timeout (never a refusal of
    credentials, never a cancel); calling :meth:`upload` again later resumes the same way.
    """

    def __init__(
        self,
        client: DicomWebClient,
        *,
        batch_instances: int = DEFAULT_BATCH_INSTANCES,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        retries: int = 2,
    ) -> None:
        if batch_instances < 1 or batch_bytes < 1:
            raise ValueError("batch limits must be positive")
        self.client = client
        self.batch_instances = batch_instances
        self.batch_bytes = batch_bytes
        self.retries = retries

    def upload(
        self,
        study: LocalStudy,
        *,
        progress: UploadProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> UploadResult:
        result = UploadResult(study.study_instance_uid, total=len(study.instances))
        sent_bytes = [0]
        attempt = 0
        while True:
            attempt += 1
            result.attempts = attempt
            try:
                self._attempt(study, result, sent_bytes, progress, cancel, first=attempt == 1)
                break
            except (UploadCancelledError, PacsAuthError):
                raise
            except PacsError as exc:
                if attempt > self.retries:
                    raise
                log.warning("upload of %s interrupted (%s); resuming", study.study_instance_uid, exc)
        self._verify(study, result)
        return result

    def _attempt(
        self,
        study: LocalStudy,
        result: UploadResult,
        sent_bytes: list[int],
        progress: UploadProgress | None,
        cancel: threading.Event | None,
        *,
        first: bool,
    ) -> None:
        present = set(self.client.instance_uids(study.study_instance_uid))
        todo = [i for i in study.instances if i.sop_instance_uid not in present]
        if first:
            result.skipped = result.total - len(todo)
        done = result.total - len(todo)
        if progress is not None:
            progress(done, result.total, sent_bytes[0])
        for batch in batches(todo, self.batch_instances, self.batch_bytes):
            if cancel is not None and cancel.is_set():
                raise UploadCancelledError(f"upload cancelled after {done} of {result.total} instance(s)")
            answer = self._send(study.study_instance_uid, batch, sent_bytes, cancel)
            stored = set(_sequence_uids(answer, "00081199"))
            refused = _sequence_uids(answer, "00081198")
            result.failed.extend(uid for uid in refused if uid not in result.failed)
            batch_uids = {i.sop_instance_uid for i in batch}
            if not stored and not refused and answer.get("_status") == 200:
                stored = batch_uids  # a server that answers 200 with no body stored all of them
            result.sent += len(batch)
            done += len(batch_uids & (stored | set(refused)))
            if progress is not None:
                progress(done, result.total, sent_bytes[0])

    def _send(
        self,
        study_uid: str,
        batch: list[LocalInstance],
        sent_bytes: list[int],
        cancel: threading.Event | None,
    ) -> dict[str, object]:
        boundary = "tc-" + uuid.uuid4().hex
        heads = [f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode("ascii") for _ in batch]
        tail = f"\r\n--{boundary}--\r\n".encode("ascii")
        separator = b"\r\n"
        sizes = [i.path.stat().st_size for i in batch]
        length = sum(len(h) for h in heads) + sum(sizes) + len(separator) * (len(batch) - 1) + len(tail)

        def body() -> Iterator[bytes]:
            for k, (instance, head) in enumerate(zip(batch, heads, strict=True)):
                if k:
                    yield separator
                yield head
                with instance.path.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        if cancel is not None and cancel.is_set():
                            # abandoning the request mid-body: the server drops the partial batch
                            raise UploadCancelledError("upload cancelled during a batch")
                        sent_bytes[0] += len(chunk)
                        yield chunk
            yield tail

        content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
        return self.client.store(study_uid, body(), content_type, length)

    def _verify(self, study: LocalStudy, result: UploadResult) -> None:
        remote = set(self.client.instance_uids(study.study_instance_uid))
        result.remote_count = len(remote)
        result.missing = sorted(study.sop_instance_uids - remote)
        if result.failed:
            raise UploadVerificationError(
                f"the archive refused {len(result.failed)} of {result.total} instance(s)"
            )
        if result.missing:
            raise UploadVerificationError(
                f"the archive holds {result.total - len(result.missing)} of {result.total} instance(s) "
                f"of study {study.study_instance_uid}"
            )


def upload_study(
    client: DicomWebClient,
    paths: Iterable[Path],
    *,
    progress: UploadProgress | None = None,
    cancel: threading.Event | None = None,
    retries: int = 2,
) -> UploadResult:
    """Scan ``paths`` for one study and send it; see :class:`StowUploader`."""
    study = scan_study(paths)
    if not study.instances:
        raise PacsProtocolError("the study has no instances")
    return StowUploader(client, retries=retries).upload(study, progress=progress, cancel=cancel)
