"""A real Orthanc on loopback for the PACS tests, started once per session, with two studies in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orthanc_server import OpenOrthanc, OrthancServer, PacsData, available
from viewers.dicom import synthetic


def _running_orthanc() -> Iterator[OrthancServer]:
    reason = available()
    if reason:
        pytest.fail(f"{reason}: apt install orthanc orthanc-dicomweb (scripts/system-deps.sh)", pytrace=False)
    server = OrthancServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def orthanc() -> Iterator[OrthancServer]:
    yield from _running_orthanc()


@pytest.fixture(scope="module")
def own_orthanc() -> Iterator[OrthancServer]:
    """An archive of the test module's own, so what it uploads never changes what other modules find.
    A module uses it by overriding ``orthanc`` with it."""
    yield from _running_orthanc()


@pytest.fixture(scope="session")
def pacs_data(orthanc: OrthancServer, tmp_path_factory: pytest.TempPathFactory) -> PacsData:
    root: Path = tmp_path_factory.mktemp("pacs-upload")
    plain = synthetic.write_ct_series(root / "plain", (12, 64, 48))
    jpeg = synthetic.write_ct_series(root / "jpeg", (6, 40, 40), study_uid=None, seed=3)
    synthetic.compress_series(jpeg, synthetic.JPEG_LOSSLESS_SV1)
    # the second study belongs to another patient, on another day
    import pydicom

    for path in jpeg.paths:
        ds = pydicom.dcmread(path)
        ds.PatientName = "Roe^Richard"
        ds.PatientID = "PID-777"
        ds.StudyDate = "20250615"
        ds.Modality = "CT"
        ds.save_as(path, enforce_file_format=True)
    orthanc.upload(plain.paths)
    orthanc.upload(jpeg.paths)
    return PacsData(plain, jpeg)


@pytest.fixture
def open_orthanc() -> Iterator[OpenOrthanc]:
    """An archive without a password, as the site file can name one today (the app's own flows)."""
    reason = available()
    if reason:
        pytest.fail(f"{reason}: apt install orthanc orthanc-dicomweb (scripts/system-deps.sh)", pytrace=False)
    server = OpenOrthanc()
    server.start()
    try:
        yield server
    finally:
        server.stop()
