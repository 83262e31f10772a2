"""PACS search and retrieve against a real Orthanc: DICOMweb (QIDO-RS/WADO-RS) and DIMSE."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest

from core.config.settings import PacsEndpoint
from tests.helpers import free_port
from tests.orthanc_server import OrthancServer, PacsData
from viewers.dicom import synthetic
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.dimse import DimseClient
from viewers.dicom.discovery import discover
from viewers.dicom.pacs import (
    AssociationRejectedError,
    PacsAuthError,
    PacsClient,
    PacsSettings,
    PacsTimeoutError,
    PacsUnreachableError,
    RetrieveCancelledError,
    SearchQuery,
)
from viewers.dicom.series import sort_series
from viewers.dicom.volume import load_volume


def _web(orthanc: OrthancServer, **kwargs: object) -> DicomWebClient:
    return DicomWebClient(
        orthanc.dicomweb_url,
        username=orthanc.user[0],
        password=orthanc.user[1],
        **kwargs,  # type: ignore[arg-type]
    )


def _dimse(orthanc: OrthancServer, **kwargs: object) -> DimseClient:
    return DimseClient("127.0.0.1", orthanc.dicom_port, orthanc.aet, orthanc.client_aet, **kwargs)  # type: ignore[arg-type]


def _load(folder: Path) -> np.ndarray:
    result = discover(folder)
    assert result.rejected == []
    (series,) = result.all_series()
    return load_volume(sort_series(series.instances), max_workers=2).volume.array


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    sock.close()


# --- DIMSE -----------------------------------------------------------------------------------------


def test_c_echo_succeeds(orthanc: OrthancServer) -> None:
    _dimse(orthanc).echo()


def test_c_echo_to_a_closed_port_fails_clearly_and_fast(orthanc: OrthancServer) -> None:
    start = time.monotonic()
    with pytest.raises(PacsUnreachableError, match="cannot connect"):
        DimseClient("127.0.0.1", free_port(), "NOBODY", timeout_s=5).echo()
    assert time.monotonic() - start < 5


def test_c_echo_with_an_unknown_called_ae_is_rejected(orthanc: OrthancServer) -> None:
    with pytest.raises(AssociationRejectedError, match="rejected the association"):
        DimseClient("127.0.0.1", orthanc.dicom_port, "NOT-ORTHANC").echo()


def test_c_echo_to_a_silent_peer_times_out(silent_server: int) -> None:
    start = time.monotonic()
    with pytest.raises(PacsTimeoutError):
        DimseClient("127.0.0.1", silent_server, "SILENT", timeout_s=1.0).echo()
    assert time.monotonic() - start < 10


def test_c_find_studies_and_series(orthanc: OrthancServer, pacs_data: PacsData) -> None:
    client = _dimse(orthanc)
    (study,) = client.search_studies(SearchQuery(patient_name="Doe"))
    assert study.study_instance_uid == pacs_data.plain.study_uid
    assert study.patient_id == "PID-12345"
    assert study.modalities == ("CT",)
    assert study.instance_count == 12
    assert client.search_studies(SearchQuery(patient_id="PID-777"))[0].patient_name == "Roe^Richard"
    assert client.search_studies(SearchQuery(modality="MR")) == []
    (series,) = client.search_series(study.study_instance_uid)
    assert series.series_instance_uid == pacs_data.plain.series_uid
    assert series.instance_count == 12


def test_c_get_retrieves_a_series_that_loads_equal(
    orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    result = _dimse(orthanc).retrieve(
        tmp_path,
        pacs_data.plain.study_uid,
        pacs_data.plain.series_uid,
        expected=12,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.count == 12 and result.failed == 0
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == list(range(1, 13))
    np.testing.assert_array_equal(_load(tmp_path), pacs_data.plain.hu)


def test_c_move_to_our_storage_scp(orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path) -> None:
    result = _dimse(orthanc).move(
        tmp_path, pacs_data.plain.study_uid, pacs_data.plain.series_uid, store_port=orthanc.store_port
    )
    assert result.count == 12
    np.testing.assert_array_equal(_load(tmp_path), pacs_data.plain.hu)


def test_c_get_of_a_compressed_series_keeps_its_syntax_and_decodes(
    orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path
) -> None:
    result = _dimse(orthanc).retrieve(tmp_path, pacs_data.jpeg.study_uid)
    assert result.count == 6
    ds = pydicom.dcmread(result.files[0], stop_before_pixels=True)
    assert ds.file_meta.TransferSyntaxUID == synthetic.JPEG_LOSSLESS_SV1
    np.testing.assert_array_equal(_load(tmp_path), pacs_data.jpeg.hu)


def test_c_get_can_be_cancelled(orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path) -> None:
    cancel = threading.Event()
    with pytest.raises(RetrieveCancelledError):
        _dimse(orthanc).retrieve(
            tmp_path, pacs_data.plain.study_uid, progress=lambda done, total: cancel.set(), cancel=cancel
        )
    assert 1 <= len(list(tmp_path.iterdir())) < 12


# --- DICOMweb --------------------------------------------------------------------------------------


def test_qido_search_by_patient_id_modality_and_date(orthanc: OrthancServer, pacs_data: PacsData) -> None:
    with _web(orthanc) as client:
        (study,) = client.search_studies(SearchQuery(patient_name="doe"))  # prefix, any case
        assert study.study_instance_uid == pacs_data.plain.study_uid
        assert (study.patient_name, study.study_date, study.modalities) == ("Doe^Jane", "20260101", ("CT",))
        assert (study.series_count, study.instance_count) == (1, 12)
        (other,) = client.search_studies(SearchQuery(patient_id="PID-777"))
        assert other.study_instance_uid == pacs_data.jpeg.study_uid
        assert len(client.search_studies(SearchQuery(modality="CT"))) == 2
        assert client.search_studies(SearchQuery(modality="MR")) == []
        in_2025 = client.search_studies(SearchQuery(date_from="20250101", date_to="20251231"))
        assert [s.patient_id for s in in_2025] == ["PID-777"]
        (series,) = client.search_series(study.study_instance_uid)
        assert (series.series_instance_uid, series.modality, series.instance_count) == (
            pacs_data.plain.series_uid,
            "CT",
            12,
        )


def test_wado_rs_retrieves_a_series_that_loads_equal(
    orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    with _web(orthanc) as client:
        result = client.retrieve(
            tmp_path,
            pacs_data.plain.study_uid,
            pacs_data.plain.series_uid,
            expected=12,
            progress=lambda done, total: seen.append((done, total)),
        )
    assert result.count == 12
    assert seen and seen[-1] == (12, 12)
    np.testing.assert_array_equal(_load(tmp_path), pacs_data.plain.hu)


def test_wado_rs_compressed_study_as_stored_decodes(
    orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path
) -> None:
    with _web(orthanc) as client:
        result = client.retrieve(tmp_path, pacs_data.jpeg.study_uid)
    assert result.count == 6
    ds = pydicom.dcmread(result.files[0], stop_before_pixels=True)
    assert ds.file_meta.TransferSyntaxUID == synthetic.JPEG_LOSSLESS_SV1
    np.testing.assert_array_equal(_load(tmp_path), pacs_data.jpeg.hu)


def test_wado_rs_cancel_stops_the_stream(orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with _web(orthanc) as client, pytest.raises(RetrieveCancelledError):
        client.retrieve(tmp_path, pacs_data.plain.study_uid, cancel=cancel)
    assert list(tmp_path.glob("*.dcm")) == []  # a part cut short is removed, not left half-written


def test_dicomweb_wrong_password_is_an_auth_error(orthanc: OrthancServer) -> None:
    client = DicomWebClient(orthanc.dicomweb_url, username="reader", password="wrong")
    with client, pytest.raises(PacsAuthError, match="refused the credentials"):
        client.search_studies(SearchQuery())


def test_dicomweb_unreachable_and_silent_servers(silent_server: int) -> None:
    closed = DicomWebClient(f"http://127.0.0.1:{free_port()}/dicom-web")
    with closed, pytest.raises(PacsUnreachableError):
        closed.ping()
    start = time.monotonic()
    silent = DicomWebClient(f"http://127.0.0.1:{silent_server}/dicom-web", timeout_s=1.0)
    with silent, pytest.raises(PacsTimeoutError):
        silent.ping()
    assert time.monotonic() - start < 10


# --- the facade, from the application's endpoint settings --------------------------------------------


@pytest.mark.parametrize("kind", ["dicomweb", "dimse"])
def test_facade_over_both_kinds(
    orthanc: OrthancServer, pacs_data: PacsData, tmp_path: Path, kind: str
) -> None:
    if kind == "dicomweb":
        endpoint = PacsEndpoint(name="Orthanc web", kind="dicomweb", url=orthanc.dicomweb_url)  # type: ignore[arg-type]
    else:
        endpoint = PacsEndpoint(
            name="Orthanc DIMSE",
            kind="dimse",
            host="127.0.0.1",
            port=orthanc.dicom_port,
            called_ae=orthanc.aet,
            calling_ae=orthanc.client_aet,
        )
    settings = PacsSettings.from_endpoint(endpoint, username=orthanc.user[0], password=orthanc.user[1])
    with PacsClient(settings) as client:
        client.check()
        (study,) = client.search_studies(SearchQuery(patient_id="PID-777"))
        (series,) = client.search_series(study.study_instance_uid)
        result = client.retrieve(tmp_path, study.study_instance_uid, series.series_instance_uid)
        client.close()
    assert result.count == 6
    np.testing.assert_array_equal(_load(tmp_path), pacs_data.jpeg.hu)


def test_settings_refuse_incomplete_endpoints() -> None:
    with pytest.raises(ValueError, match="needs a url"):
        PacsSettings(name="x", kind="dicomweb")
    with pytest.raises(ValueError, match="needs host, port and called_ae"):
        PacsSettings(name="y", kind="dimse", host="pacs")
