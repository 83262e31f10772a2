"""Prefetch on accept: the county doctor's study (sent by STOW-RS) reaches the specialist's cache
through the real backend and a real Orthanc, by WADO-RS and by C-GET."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest

from backend.server import EmbeddedServer
from core.worklist.model import WorklistModel
from core.worklist.prefetch import Prefetcher, StudyState
from core.worklist.study_cache import StudyCache
from tests.helpers import CONSULT_REQUEST
from tests.orthanc_server import OrthancServer
from viewers.dicom import synthetic
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.pacs import PacsSettings
from viewers.dicom.stow import LocalStudy, StowUploader, scan_study


@pytest.fixture(scope="module")
def orthanc(own_orthanc: OrthancServer) -> OrthancServer:
    return own_orthanc  # this module uploads: an archive of its own


class Api:
    def __init__(self, server: EmbeddedServer) -> None:
        assert server.base_url is not None
        self.http = httpx.Client(base_url=server.base_url + "/api/v1", timeout=30)
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, user: str, **kwargs: Any) -> Any:
        if user not in self.tokens:
            login = self.http.post("/auth/login", json={"username": user, "password": "demo"})
            assert login.status_code == 200, login.text
            self.tokens[user] = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        response = self.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


@pytest.fixture
def api(server: EmbeddedServer) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.http.close()


def _web_settings(orthanc: OrthancServer) -> PacsSettings:
    return PacsSettings(
        name="regional",
        kind="dicomweb",
        url=orthanc.dicomweb_url,
        username=orthanc.user[0],
        password=orthanc.user[1],
    )


def _dimse_settings(orthanc: OrthancServer) -> PacsSettings:
    return PacsSettings(
        name="regional-dimse",
        kind="dimse",
        host="127.0.0.1",
        port=orthanc.dicom_port,
        called_ae=orthanc.aet,
        calling_ae=orthanc.client_aet,
    )


@pytest.fixture
def attached(orthanc: OrthancServer, tmp_path: Path) -> LocalStudy:
    """The county doctor's CT, sent to the regional archive as the attach dialog does."""
    synthetic.write_ct_series(tmp_path / "county-ct", (20, 128, 128))  # several stream chunks
    study = scan_study([tmp_path / "county-ct"])
    with DicomWebClient(orthanc.dicomweb_url, username=orthanc.user[0], password=orthanc.user[1]) as client:
        assert StowUploader(client).upload(study).verified
    return study


def _sop_uids(folder: Path) -> set[str]:
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.iterdir()}


def test_accept_prefetches_the_study_and_the_worklist_shows_it(
    orthanc: OrthancServer, api: Api, attached: LocalStudy, tmp_path: Path
) -> None:
    study_ref = {"study_instance_uid": attached.study_instance_uid, "source": "regional"}
    request = {**CONSULT_REQUEST, "study": study_ref}
    consult = api.call("POST", "/consults", "dr.li", json=request)
    assert consult["study"]["study_instance_uid"] == attached.study_instance_uid  # the request records it

    worklist = WorklistModel()
    worklist.replace(api.call("GET", "/consults", "dr.chen"))
    item = worklist.get(consult["id"])
    assert item is not None and item.study_uid == attached.study_instance_uid
    assert item.study_source == "regional"

    cache = StudyCache(tmp_path / "cache")
    prefetcher = Prefetcher(cache, [_dimse_settings(orthanc), _web_settings(orthanc)])
    seen: list[tuple[str, float]] = []

    def show(consult_id: int) -> None:
        status = prefetcher.status(consult_id)
        worklist.set_study(consult_id, status.state.value, status.fraction, status.error)
        seen.append((status.state.value, status.fraction))

    prefetcher.changed.connect(show)
    try:
        prefetcher.track(item.id, item.study_uid)
        assert prefetcher.status(item.id).state is StudyState.MISSING

        accepted = api.call("POST", f"/consults/{consult['id']}/accept", "dr.chen")
        started = prefetcher.on_consult(accepted)
        assert started is not None and started.state is StudyState.DOWNLOADING
        status = prefetcher.wait(consult["id"], timeout=60)
        assert status.state is StudyState.READY, status.error
        assert status.path is not None and _sop_uids(status.path) == attached.sop_instance_uids
        assert cache.path_for(attached.study_instance_uid) == status.path
        assert seen[-1] == ("ready", 1.0) and ("downloading", 0.0) in seen
        assert any(state == "downloading" and 0 < fraction < 1 for state, fraction in seen), seen
        assert worklist.studies[consult["id"]][0] == "ready"

        # a second consult on the same study opens at once from the cache
        second = api.call("POST", "/consults", "dr.li", json=request)
        assert prefetcher.on_consult(second) == status.__class__(
            StudyState.READY, attached.study_instance_uid, 1.0, path=status.path
        )
    finally:
        prefetcher.close()
        prefetcher.close()


def test_dimse_endpoint_retrieves_by_c_get(
    orthanc: OrthancServer, attached: LocalStudy, tmp_path: Path
) -> None:
    cache = StudyCache(tmp_path / "cache")
    progress: list[tuple[int, int]] = []
    folder = cache.ensure(
        attached.study_instance_uid, _dimse_settings(orthanc), lambda r, e: progress.append((r, e))
    )
    assert _sop_uids(folder) == attached.sop_instance_uids
    assert progress[-1] == (20, 20)
    assert cache.entries()[0].instances == 20 and cache.entries()[0].source == "regional-dimse"


def test_missing_study_fails_with_a_reason_and_no_pacs_says_missing(
    orthanc: OrthancServer, tmp_path: Path
) -> None:
    cache = StudyCache(tmp_path / "cache")
    prefetcher = Prefetcher(cache, [_web_settings(orthanc)])
    nowhere = Prefetcher(cache, [])
    try:
        prefetcher.request(7, "1.2.3.4.5.6.7.8.9")
        status = prefetcher.wait(7, timeout=30)
        assert status.state is StudyState.FAILED and "no study" in status.error
        assert not (cache.root / "1.2.3.4.5.6.7.8.9").exists()
        assert list(cache.root.glob("*.partial")) == []
        assert nowhere.request(8, "1.2.3").state is StudyState.MISSING
        assert nowhere.status(8).error == "no PACS is configured"
        assert nowhere.status(9).state is StudyState.NONE
    finally:
        prefetcher.close()
        nowhere.close()


def test_cached_study_survives_eviction_of_older_ones(
    orthanc: OrthancServer, attached: LocalStudy, tmp_path: Path
) -> None:
    cache = StudyCache(tmp_path / "cache", max_bytes=1)  # smaller than any study: keeps only the latest
    older = tmp_path / "older"
    synthetic.write_ct_series(older, (3, 16, 16))
    cache.add_folder("1.2.9.9", older)
    folder = cache.ensure(attached.study_instance_uid, _web_settings(orthanc))
    assert [e.study_instance_uid for e in cache.entries()] == [attached.study_instance_uid]
    assert not (cache.root / "1.2.9.9").exists() and folder.is_dir()
