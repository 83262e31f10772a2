"""DIMSE client (pynetdicom): C-ECHO, C-FIND at study and series level, C-GET and C-MOVE retrieve.

Every association has connection, ACSE, DIMSE and network timeouts, so a silent peer ends in
:class:`PacsTimeoutError` rather than a hang. Retrieved instances are written to a folder as they
arrive, one file each, named by SOP Instance UID.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from viewers.dicom.pacs_common import (
    DEFAULT_TIMEOUT_S,
    AssociationRejectedError,
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

VERIFICATION = "1.2.840.10008.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"

# Storage classes a teleconsultation reads; C-GET needs one SCP-role context per class, and an
# association holds at most 128 contexts.
STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.2",  # CT
    "1.2.840.10008.5.1.4.1.1.2.1",  # enhanced CT
    "1.2.840.10008.5.1.4.1.1.4",  # MR
    "1.2.840.10008.5.1.4.1.1.4.1",  # enhanced MR
    "1.2.840.10008.5.1.4.1.1.128",  # PET
    "1.2.840.10008.5.1.4.1.1.20",  # NM
    "1.2.840.10008.5.1.4.1.1.6.1",  # US
    "1.2.840.10008.5.1.4.1.1.3.1",  # US multi-frame
    "1.2.840.10008.5.1.4.1.1.1",  # CR
    "1.2.840.10008.5.1.4.1.1.1.1",  # DX
    "1.2.840.10008.5.1.4.1.1.1.2",  # mammography
    "1.2.840.10008.5.1.4.1.1.12.1",  # XA
    "1.2.840.10008.5.1.4.1.1.7",  # secondary capture
    "1.2.840.10008.5.1.4.1.1.7.4",  # multi-frame true colour SC
    "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL photographic
)
# offered for storage so compressed instances arrive as stored; the loader decodes them
TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.4.70",  # JPEG lossless SV1
    "1.2.840.10008.1.2.4.57",  # JPEG lossless
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE lossless
)

_PENDING = (0xFF00, 0xFF01)
_SUCCESS = 0x0000


def _quiet_pynetdicom() -> None:
    import logging

    # pynetdicom logs every refused connection as an error with a traceback; we raise instead
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value)


class DimseClient:
    """One remote application entity (``called_ae`` at ``host``:``port``)."""

    def __init__(
        self,
        host: str,
        port: int,
        called_ae: str,
        calling_ae: str = "TELECONSULT",
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.host = host
        self.port = port
        self.called_ae = called_ae
        self.calling_ae = calling_ae
        self.timeout_s = timeout_s
        _quiet_pynetdicom()

    def _ae(self) -> Any:
        from pynetdicom import AE

        ae = AE(ae_title=self.calling_ae)
        ae.connection_timeout = min(self.timeout_s, 5.0)
        ae.acse_timeout = self.timeout_s
        ae.dimse_timeout = self.timeout_s
        ae.network_timeout = self.timeout_s
        return ae

    def _where(self) -> str:
        return f"{self.called_ae}@{self.host}:{self.port}"

    def _probe(self) -> None:
        """Tell "nothing listens" from "it rejected us": pynetdicom reports both as not established."""
        try:
            with socket.create_connection((self.host, self.port), timeout=min(self.timeout_s, 5.0)):
                pass
        except TimeoutError as exc:
            raise PacsTimeoutError(f"{self._where()}: connection timed out") from exc
        except OSError as exc:
            raise PacsUnreachableError(f"{self._where()}: cannot connect ({exc.strerror or exc})") from exc

    @contextmanager
    def _association(self, ae: Any, **kwargs: Any) -> Iterator[Any]:
        self._probe()
        started = time.monotonic()
        assoc = ae.associate(self.host, self.port, ae_title=self.called_ae, **kwargs)
        if not assoc.is_established:
            ae.shutdown()
            if assoc.is_rejected:
                raise AssociationRejectedError(
                    f"{self._where()} rejected the association from {self.calling_ae}"
                    " (check the AE titles and that the PACS knows this workstation)"
                )
            # pynetdicom aborts when its ACSE timer runs out, so an abort that came that late is a timeout
            if assoc.is_aborted and time.monotonic() - started < 0.9 * self.timeout_s:
                raise PacsProtocolError(f"{self._where()} aborted the association")
            raise PacsTimeoutError(f"{self._where()}: no association within {self.timeout_s:g} s")
        try:
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()
            ae.shutdown()

    @staticmethod
    def _check_alive(assoc: Any, what: str) -> None:
        if assoc.is_aborted or not assoc.is_established:
            raise PacsTimeoutError(f"{what}: the association ended (timeout or abort)")

    def echo(self) -> None:
        """C-ECHO; raises unless the peer answers with Success."""
        ae = self._ae()
        ae.add_requested_context(VERIFICATION)
        with self._association(ae) as assoc:
            status = assoc.send_c_echo()
            self._check_alive(assoc, "C-ECHO")
            if not status or int(status.Status) != _SUCCESS:
                raise PacsProtocolError(f"{self._where()}: C-ECHO failed (status {status!r})")

    def _find(self, identifier: Dataset) -> list[Dataset]:
        ae = self._ae()
        ae.add_requested_context(STUDY_ROOT_FIND)
        found: list[Dataset] = []
        with self._association(ae) as assoc:
            for status, match in assoc.send_c_find(identifier, STUDY_ROOT_FIND):
                if not status:
                    self._check_alive(assoc, "C-FIND")
                    raise PacsTimeoutError(f"{self._where()}: C-FIND got no answer")
                code = int(status.Status)
                if code in _PENDING and match is not None:
                    found.append(match)
                elif code != _SUCCESS:
                    raise PacsProtocolError(f"{self._where()}: C-FIND failed with status 0x{code:04X}")
        return found

    def search_studies(self, query: SearchQuery) -> list[StudyMatch]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = query.study_instance_uid.strip()
        ds.PatientName = query.name_pattern()
        ds.PatientID = query.patient_id.strip()
        ds.StudyDate = query.date_range()
        ds.ModalitiesInStudy = query.modality.strip()
        ds.AccessionNumber = query.accession_number.strip()
        ds.StudyDescription = ""
        ds.NumberOfStudyRelatedSeries = ""
        ds.NumberOfStudyRelatedInstances = ""
        out = []
        for match in self._find(ds):
            modalities = match.get("ModalitiesInStudy") or []
            if isinstance(modalities, str):
                modalities = [modalities]
            out.append(
                StudyMatch(
                    study_instance_uid=_text(match, "StudyInstanceUID"),
                    patient_name=_text(match, "PatientName"),
                    patient_id=_text(match, "PatientID"),
                    study_date=_text(match, "StudyDate"),
                    modalities=tuple(str(m) for m in modalities if m),
                    description=_text(match, "StudyDescription"),
                    accession_number=_text(match, "AccessionNumber"),
                    series_count=to_int(match.get("NumberOfStudyRelatedSeries")),
                    instance_count=to_int(match.get("NumberOfStudyRelatedInstances")),
                )
            )
        return out

    def search_series(self, study_instance_uid: str, *, modality: str = "") -> list[SeriesMatch]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        ds.StudyInstanceUID = study_instance_uid
        ds.SeriesInstanceUID = ""
        ds.Modality = modality
        ds.SeriesDescription = ""
        ds.SeriesNumber = ""
        ds.NumberOfSeriesRelatedInstances = ""
        return [
            SeriesMatch(
                study_instance_uid=study_instance_uid,
                series_instance_uid=_text(match, "SeriesInstanceUID"),
                modality=_text(match, "Modality"),
                description=_text(match, "SeriesDescription"),
                series_number=to_int(match.get("SeriesNumber")),
                instance_count=to_int(match.get("NumberOfSeriesRelatedInstances")),
            )
            for match in self._find(ds)
        ]

    @staticmethod
    def _identifier(study_instance_uid: str, series_instance_uid: str | None) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES" if series_instance_uid else "STUDY"
        ds.StudyInstanceUID = study_instance_uid
        if series_instance_uid:
            ds.SeriesInstanceUID = series_instance_uid
        return ds

    def _run_retrieve(
        self,
        responses: Iterator[tuple[Dataset, Dataset | None]],
        assoc: Any,
        result: RetrieveResult,
        cancel: threading.Event | None,
        what: str,
    ) -> None:
        for status, _identifier in responses:
            if cancel is not None and cancel.is_set():
                assoc.abort()
                raise RetrieveCancelledError(f"{what} cancelled after {result.count} instance(s)")
            if not status:
                self._check_alive(assoc, what)
                raise PacsTimeoutError(f"{self._where()}: {what} got no answer")
            code = int(status.Status)
            if code in _PENDING:
                continue
            result.failed = to_int(status.get("NumberOfFailedSuboperations")) or 0
            if code not in (_SUCCESS, 0xB000):  # B000: some sub-operations failed, the rest arrived
                raise PacsProtocolError(f"{self._where()}: {what} failed with status 0x{code:04X}")
        if cancel is not None and cancel.is_set():
            raise RetrieveCancelledError(f"{what} cancelled after {result.count} instance(s)")

    def _store_handler(
        self,
        folder: Path,
        result: RetrieveResult,
        expected: int,
        progress: RetrieveProgress | None,
        cancel: threading.Event | None,
    ) -> Any:
        lock = threading.Lock()

        def on_store(event: Any) -> int:
            if cancel is not None and cancel.is_set():
                return 0xA702  # refused: out of resources; the retrieve is being cancelled
            uid = str(event.request.AffectedSOPInstanceUID)
            path = folder / f"{uid}.dcm"
            with path.open("wb") as fp:
                fp.write(event.encoded_dataset())
            with lock:
                result.files.append(path)
                count = result.count
            if progress is not None:
                progress(count, max(expected, count))
            return _SUCCESS

        return on_store

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
        """C-GET a study or series into ``folder`` over one association."""
        from pynetdicom import build_role, evt

        folder.mkdir(parents=True, exist_ok=True)
        ae = self._ae()
        ae.add_requested_context(STUDY_ROOT_GET)
        roles = []
        for sop_class in STORAGE_CLASSES:
            # one context for the native syntaxes and one per compressed syntax: an acceptor picks a
            # single syntax per context, and with them all in one it would pick native and transcode
            ae.add_requested_context(sop_class, list(TRANSFER_SYNTAXES[:2]))
            for syntax in TRANSFER_SYNTAXES[2:]:
                ae.add_requested_context(sop_class, [syntax])
            roles.append(build_role(sop_class, scp_role=True))
        result = RetrieveResult(folder)
        handler = self._store_handler(folder, result, expected, progress, cancel)
        with self._association(ae, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, handler)]) as assoc:
            responses = assoc.send_c_get(
                self._identifier(study_instance_uid, series_instance_uid), STUDY_ROOT_GET
            )
            self._run_retrieve(responses, assoc, result, cancel, "C-GET")
        return result

    def move(
        self,
        folder: Path,
        study_instance_uid: str,
        series_instance_uid: str | None = None,
        *,
        store_port: int,
        expected: int = 0,
        progress: RetrieveProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> RetrieveResult:
        """C-MOVE to ourselves: a storage SCP listens on ``store_port`` (the PACS must know our AE
        title at that port) while the move runs on a second association."""
        from pynetdicom import evt

        folder.mkdir(parents=True, exist_ok=True)
        result = RetrieveResult(folder)
        handler = self._store_handler(folder, result, expected, progress, cancel)
        scp_ae = self._ae()
        for sop_class in STORAGE_CLASSES:
            scp_ae.add_supported_context(sop_class, list(TRANSFER_SYNTAXES))
        try:
            server = scp_ae.start_server(
                ("127.0.0.1" if self.host in ("127.0.0.1", "localhost") else "", store_port),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, handler)],
            )
        except OSError as exc:
            raise PacsProtocolError(f"cannot listen for C-MOVE on port {store_port}: {exc}") from exc
        try:
            ae = self._ae()
            ae.add_requested_context(STUDY_ROOT_MOVE)
            with self._association(ae) as assoc:
                responses = assoc.send_c_move(
                    self._identifier(study_instance_uid, series_instance_uid),
                    self.calling_ae,
                    STUDY_ROOT_MOVE,
                )
                self._run_retrieve(responses, assoc, result, cancel, "C-MOVE")
        finally:
            server.shutdown()
            scp_ae.shutdown()
        return result
