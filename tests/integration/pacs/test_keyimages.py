"""Key images: a synthetic CT slice with an annotation burned in, saved as Secondary Capture in the same
study, STOWed to a real Orthanc, read back; and a store-and-forward consult from request to answered
with key images through the real backend and the real archive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest

from backend.server import EmbeddedServer
from tests.orthanc_server import OrthancServer
from viewers.dicom import synthetic
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.keyimage import (
    SECONDARY_CAPTURE_STORAGE,
    KeyImageError,
    KeyImageRef,
    burn_ellipse,
    burn_line,
    fetch_key_images,
    read_rgb,
    secondary_capture,
    store_key_images,
    window_to_rgb,
)

YELLOW = (255, 220, 0)


@pytest.fixture(scope="module")
def orthanc(own_orthanc: OrthancServer) -> OrthancServer:
    return own_orthanc  # this module uploads: an archive of its own


@pytest.fixture
def web(orthanc: OrthancServer) -> Iterator[DicomWebClient]:
    client = DicomWebClient(orthanc.dicomweb_url, username=orthanc.user[0], password=orthanc.user[1])
    yield client
    client.close()


def _ct(orthanc: OrthancServer, folder: Path, seed: int) -> synthetic.SyntheticSeries:
    series = synthetic.write_ct_series(
        folder, (4, 48, 64), study_uid=None, seed=seed, patient_id=f"PID-{seed}"
    )
    orthanc.upload(series.paths)
    return series


def _annotated(series: synthetic.SyntheticSeries, index: int = 2) -> tuple[np.ndarray, pydicom.Dataset]:
    source = pydicom.dcmread(series.paths[index], stop_before_pixels=True)
    rgb = window_to_rgb(series.hu[index], center=40, width=400)
    burn_ellipse(rgb, (32, 24), (10, 6), YELLOW, thickness=2)
    burn_line(rgb, (5, 40), (30, 40), YELLOW)
    return rgb, source


def test_secondary_capture_stored_and_read_back(
    orthanc: OrthancServer, web: DicomWebClient, tmp_path: Path
) -> None:
    series = _ct(orthanc, tmp_path / "ct", seed=21)
    rgb, source = _annotated(series)
    assert (rgb == YELLOW).all(axis=2).sum() > 40  # the annotation is in the pixels
    first = secondary_capture(rgb, source, author="Chen^Wei")
    second = secondary_capture(
        rgb[::-1].copy(), source, series_instance_uid=first.SeriesInstanceUID, instance_number=2
    )
    refs = store_key_images(web, [first, second])
    assert [r.sop_instance_uid for r in refs] == [first.SOPInstanceUID, second.SOPInstanceUID]
    assert {r.study_instance_uid for r in refs} == {series.study_uid}
    assert refs[0].series_instance_uid != series.series_uid  # a new series beside the CT

    # The archive files them under the same study, as a second series of Secondary Captures.
    found = {s.series_instance_uid: s for s in web.search_series(series.study_uid)}
    assert set(found) == {series.series_uid, first.SeriesInstanceUID}
    assert found[first.SeriesInstanceUID].instance_count == 2

    files = fetch_key_images(web, refs, tmp_path / "back")
    back = pydicom.dcmread(files[first.SOPInstanceUID])
    assert back.SOPClassUID == SECONDARY_CAPTURE_STORAGE
    assert back.ConversionType == "WSD" and back.BurnedInAnnotation == "YES"
    assert back.StudyInstanceUID == series.study_uid and back.SeriesNumber == 9001
    assert (back.PatientName, back.PatientID) == (source.PatientName, "PID-21")
    assert back.StudyDate == source.StudyDate and back.Modality == "OT"
    assert list(back.ImageType) == ["DERIVED", "SECONDARY"]
    assert back.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert (back.SamplesPerPixel, back.PhotometricInterpretation) == (3, "RGB")
    np.testing.assert_array_equal(read_rgb(files[first.SOPInstanceUID]), rgb)
    np.testing.assert_array_equal(read_rgb(files[second.SOPInstanceUID]), rgb[::-1])
    # Asked again, the files already fetched are used.
    again = fetch_key_images(web, refs[:1], tmp_path / "back")
    assert again[first.SOPInstanceUID] == files[first.SOPInstanceUID]


def test_refusals(orthanc: OrthancServer, web: DicomWebClient, tmp_path: Path) -> None:
    series = _ct(orthanc, tmp_path / "ct", seed=22)
    rgb, source = _annotated(series)
    with pytest.raises(ValueError, match="uint8"):
        secondary_capture(rgb.astype(np.float32), source)
    other = _ct(orthanc, tmp_path / "other", seed=23)
    mixed = [secondary_capture(rgb, source), secondary_capture(rgb, _annotated(other)[1])]
    with pytest.raises(ValueError, match="one study"):
        store_key_images(web, mixed)
    ghost = KeyImageRef(series.study_uid, "1.2.3.4.5", "1.2.3.4.5.6")
    with pytest.raises(KeyImageError, match="does not hold"):
        fetch_key_images(web, [ghost], tmp_path / "ghost")


def test_store_and_forward_consult_with_key_images(
    orthanc: OrthancServer, web: DicomWebClient, tmp_path: Path
) -> None:
    """Request with study, vitals and a photo -> accept -> answer with key images -> the county doctor
    reads the answer and opens the key images from the archive."""
    series = _ct(orthanc, tmp_path / "ct", seed=24)
    server = EmbeddedServer(f"sqlite:///{tmp_path / 'backend.sqlite3'}", seed_demo=True)
    server.start()
    assert server.base_url is not None
    http = httpx.Client(base_url=server.base_url + "/api/v1", timeout=30)
    try:

        def auth(user: str) -> dict[str, str]:
            body = http.post("/auth/login", json={"username": user, "password": "demo"}).json()
            return {"Authorization": f"Bearer {body['access_token']}"}

        li, chen = auth("dr.li"), auth("dr.chen")
        request = {
            "patient": {"patient_id": "PID-24", "name": "Doe^Jane", "sex": "F"},
            "question": "Network too weak for a call. Mass in the left lobe?",
            "urgency": "urgent",
            "specialty": "radiology",
            "study": {"study_instance_uid": series.study_uid, "source": "regional-pacs"},
            "vitals": {
                "taken_at": datetime.now(UTC).isoformat(),
                "numerics": {"HR": {"value": 88, "unit": "/min"}},
                "waveforms": {"Pleth": {"rate_hz": 100, "samples": [0.1, 0.5, 0.9, 0.4] * 50}},
            },
        }
        created = http.post("/consults", json=request, headers=li)
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        png = synthetic_png()
        assert http.post(f"/consults/{cid}/photos", content=png, headers=li).status_code == 201
        assert http.post(f"/consults/{cid}/accept", headers=chen).json()["state"] == "accepted"

        rgb, source = _annotated(series)
        refs = store_key_images(web, [secondary_capture(rgb, source, author="Chen^Wei")])
        answer = {"text": "Benign cyst, no mass. See key image.", "key_images": [r.as_json() for r in refs]}
        answered = http.post(f"/consults/{cid}/answer", json=answer, headers=chen)
        assert answered.status_code == 200, answered.text

        mine = http.get("/consults?state=answered", headers=li).json()
        assert [(c["id"], c["state"]) for c in mine] == [(cid, "answered")]
        got = [KeyImageRef.from_json(k) for k in mine[0]["answer"]["key_images"]]
        assert got == refs and mine[0]["vitals"]["numerics"]["HR"]["value"] == 88
        files = fetch_key_images(web, got, tmp_path / "county")
        np.testing.assert_array_equal(read_rgb(files[refs[0].sop_instance_uid]), rgb)
    finally:
        http.close()
        server.stop()


def synthetic_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 32), (180, 90, 70)).save(out, "PNG")
    return out.getvalue()
