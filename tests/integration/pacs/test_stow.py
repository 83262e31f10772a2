"""Attaching a study: STOW-RS upload to a real Orthanc, cut mid-way and resumed, verified by UIDs."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.orthanc_server import OrthancServer
from viewers.dicom import synthetic
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.pacs_common import PacsAuthError, PacsError, PacsTimeoutError, PacsUnreachableError
from viewers.dicom.stow import (
    LocalStudy,
    StowUploader,
    UploadCancelledError,
    scan_study,
    upload_study,
)


@pytest.fixture(scope="module")
def orthanc(own_orthanc: OrthancServer) -> OrthancServer:
    return own_orthanc  # this module uploads: an archive of its own


class CuttingProxy:
    """A loopback TCP proxy to the PACS that drops the connection after ``cut_after`` request bytes,
    once (``cut_after=None``: forward everything). ``silent=True`` accepts and never answers."""

    def __init__(self, target_port: int, cut_after: int | None = None, silent: bool = False) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.silent = silent
        self.cuts = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                continue
            self._conns.append(client)
            if self.silent:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._conns.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, request: bool) -> None:
        forwarded = 0
        try:
            while data := src.recv(65536):
                if request and self.cut_after is not None and forwarded + len(data) > self.cut_after:
                    dst.sendall(data[: self.cut_after - forwarded])
                    self.cut_after = None
                    self.cuts += 1
                    for sock in (src, dst):
                        sock.shutdown(socket.SHUT_RDWR)
                    return
                forwarded += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self._sock.close()


@pytest.fixture
def ct_study(tmp_path: Path) -> LocalStudy:
    synthetic.write_ct_series(tmp_path / "ct", (24, 64, 64))
    return scan_study([tmp_path / "ct"])


def _client(orthanc: OrthancServer, port: int | None = None, **kwargs: object) -> DicomWebClient:
    url = orthanc.dicomweb_url if port is None else f"http://127.0.0.1:{port}/dicom-web"
    return DicomWebClient(url, username=orthanc.user[0], password=orthanc.user[1], **kwargs)  # type: ignore[arg-type]


def _orthanc_sop_uids(orthanc: OrthancServer, study_uid: str) -> list[str]:
    """Every instance of the study as Orthanc's own REST API lists it (duplicates would show here)."""
    with httpx.Client(auth=orthanc.user, timeout=30) as http:
        ids = http.post(orthanc.url + "/tools/lookup", content=study_uid).json()
        if not ids:
            return []
        instances = http.get(f"{orthanc.url}/studies/{ids[0]['ID']}/instances").json()
        return [str(i["MainDicomTags"]["SOPInstanceUID"]) for i in instances]


@pytest.fixture
def cut_proxy(orthanc: OrthancServer) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(orthanc.http_port, cut_after=100_000)  # about 45 % of the study
    yield proxy
    proxy.close()


def test_dropped_connection_then_resume_stores_every_instance_once(
    orthanc: OrthancServer, ct_study: LocalStudy, cut_proxy: CuttingProxy
) -> None:
    seen: list[tuple[int, int]] = []
    with _client(orthanc, cut_proxy.port) as client:
        uploader = StowUploader(client, batch_instances=4, retries=0)
        with pytest.raises(PacsError) as failure:
            uploader.upload(ct_study, progress=lambda done, total, _b: seen.append((done, total)))
        assert not isinstance(failure.value, UploadCancelledError)
        assert cut_proxy.cuts == 1
        partial = set(client.instance_uids(ct_study.study_instance_uid))
        assert 0 < len(partial) < len(ct_study.instances)  # cut mid-way, earlier batches kept
        assert partial <= ct_study.sop_instance_uids

        result = uploader.upload(ct_study)  # the connection is back: resume
    assert result.verified and result.missing == [] and result.failed == []
    assert result.skipped == len(partial)
    assert result.sent == len(ct_study.instances) - len(partial)  # nothing already there is re-sent
    stored = _orthanc_sop_uids(orthanc, ct_study.study_instance_uid)
    assert sorted(stored) == sorted(ct_study.sop_instance_uids)  # every SOP Instance UID exactly once
    assert seen[0] == (0, len(ct_study.instances))


def test_automatic_resume_after_a_drop(
    orthanc: OrthancServer, ct_study: LocalStudy, cut_proxy: CuttingProxy
) -> None:
    with _client(orthanc, cut_proxy.port) as client:
        result = StowUploader(client, batch_instances=4, retries=2).upload(ct_study)
    assert cut_proxy.cuts == 1 and result.attempts == 2
    assert result.verified and result.remote_count == len(ct_study.instances)
    stored = _orthanc_sop_uids(orthanc, ct_study.study_instance_uid)
    assert sorted(stored) == sorted(ct_study.sop_instance_uids)


def test_cancel_mid_way_then_resume(orthanc: OrthancServer, ct_study: LocalStudy) -> None:
    cancel = threading.Event()
    progress: list[int] = []

    def on_progress(done: int, total: int, sent_bytes: int) -> None:
        progress.append(done)
        if done >= 8:
            cancel.set()

    with _client(orthanc) as client:
        uploader = StowUploader(client, batch_instances=4)
        with pytest.raises(UploadCancelledError):
            uploader.upload(ct_study, progress=on_progress, cancel=cancel)
        assert len(client.instance_uids(ct_study.study_instance_uid)) == 8
        resumed: list[int] = []
        result = uploader.upload(ct_study, progress=lambda d, t, b: resumed.append(d))
    assert progress == [0, 4, 8]
    assert resumed[0] == 8 and resumed[-1] == len(ct_study.instances)  # the bar resumes, not restarts
    assert result.skipped == 8 and result.sent == 16 and result.verified


def test_cancel_inside_a_batch_leaves_no_partial_instance(
    orthanc: OrthancServer, ct_study: LocalStudy
) -> None:
    cancel = threading.Event()
    with _client(orthanc) as client:
        uploader = StowUploader(client, batch_instances=100)

        def on_progress(done: int, total: int, sent_bytes: int) -> None:
            cancel.set()  # set before the single batch's body is streamed

        with pytest.raises(UploadCancelledError):
            uploader.upload(ct_study, progress=on_progress, cancel=cancel)
        assert client.instance_uids(ct_study.study_instance_uid) == []
        assert uploader.upload(ct_study).verified


def test_upload_study_from_folder_and_clear_errors(
    orthanc: OrthancServer, tmp_path: Path, ct_study: LocalStudy
) -> None:
    folder = ct_study.instances[0].path.parent
    (folder / "notes.txt").write_text("not DICOM")
    with _client(orthanc) as client:
        result = upload_study(client, [folder])
    assert result.verified and result.total == 24

    wrong = DicomWebClient(orthanc.dicomweb_url, username="reader", password="wrong")
    with wrong as client, pytest.raises(PacsAuthError):
        StowUploader(client).upload(ct_study)
    with _client(orthanc, 1) as client, pytest.raises(PacsUnreachableError):
        StowUploader(client, retries=0).upload(ct_study)
    other = synthetic.write_ct_series(tmp_path / "other", (2, 16, 16))
    with pytest.raises(PacsError, match="2 studies"):
        scan_study([folder, other.paths[0].parent])
    with pytest.raises(PacsError, match="no DICOM"):
        scan_study([tmp_path / "nothing-here"])


def test_silent_archive_times_out(orthanc: OrthancServer, ct_study: LocalStudy) -> None:
    proxy = CuttingProxy(orthanc.http_port, silent=True)
    try:
        with _client(orthanc, proxy.port, timeout_s=0.5) as client, pytest.raises(PacsTimeoutError):
            StowUploader(client, retries=1).upload(ct_study)
    finally:
        proxy.close()
