"""A consult from request to final report, end to end, through the real parts: the backend (its site CA,
statuses and audit), a real Orthanc archive, the OS keyring for the signing keys, and the outside
validators (pdfsig, dciodvfy, DicomSRValidator, HL7's R4 JSON schema and FHIR.js).

request -> accept -> measurements on the study -> report -> author's signature -> second signature ->
final (PDF + SR + KOS + FHIR bundle, stored together) -> published to the archive -> acknowledged by
the county doctor -> the consult closes without being asked for a reason."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pydicom
import pytest
from PIL import Image

from core.client.backend import BackendClient, BackendError
from core.report.desk import ReportDesk, ReportError
from core.report.dicom_sr import load_sources, measured_values
from core.report.keys import SigningKeys
from core.report.model import Clinician, KeyImage, Kind, Status
from core.report.prefill import (
    ImagingReading,
    build_report,
    imaging_label,
    measurements_from_readings,
    section_from_plugin,
    vitals_snapshot,
)
from core.report.signing import TrustAnchors, verify
from plugins.api import ReportFigure, ReportSection
from tests.fhir_validate import fhirjs_bundle, schema_errors
from tests.integration.conftest import Api
from tests.orthanc_server import USER, OrthancServer
from tests.report_samples import PATIENT, write_study
from tests.report_validators import (
    dciodvfy_clean,
    dicom_sr_validator,
    nss_db_trusting,
    pdfsig,
    sr_validator_problems,
)
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.discovery import discover
from viewers.dicom.keyimage import store_key_images
from viewers.dicom.pacs import PacsSettings
from viewers.dicom.volume import load_volume
from viewers.measure import Kind as MeasureKind
from viewers.measure import MeasurementDocument

CHEN = Clinician("dr.chen", "Dr. Chen Jing", "specialist", "cardiology")
WANG = Clinician("dr.wang", "Dr. Wang Lei", "specialist", "cardiology")


@pytest.fixture
def orthanc(own_orthanc: OrthancServer) -> OrthancServer:
    return own_orthanc


def _readings(folder: Path) -> tuple[list[ImagingReading], list[KeyImage]]:
    """Two lengths and an area measured on the loaded series as the imaging panel measures them, and the
    middle slice as a key image (PNG, as the panel grabs it)."""
    series = discover([folder]).all_series()[0]
    volume = load_volume(series.instances).volume
    doc = MeasurementDocument(volume)
    k = len(series.instances) // 2
    inst = series.instances[k]
    from core.report.model import ImageRef

    ref = ImageRef(
        str(inst.dataset.StudyInstanceUID),
        series.series_instance_uid,
        inst.sop_instance_uid,
        inst.sop_class_uid,
    )
    made = [
        doc.add(MeasureKind.DISTANCE, [volume.index_to_lps(p) for p in ((10, 10, k), (40, 10, k))]),
        doc.add(MeasureKind.DISTANCE, [volume.index_to_lps(p) for p in ((20, 5, k), (20, 45, k))]),
        doc.add(
            MeasureKind.ELLIPSE, [volume.index_to_lps(p) for p in ((30, 30, k), (38, 30, k), (30, 35, k))]
        ),
    ]
    readings = []
    for m in made:
        r = doc.reading(m)
        label = imaging_label(m.kind.value, len(readings) + 1)
        readings.append(ImagingReading(label, r.value, r.unit, m.kind.value, r.refused, (ref,), m.id))
    grey = (np.random.default_rng(1).random((64, 64)) * 255).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(grey).save(png, "PNG")
    return readings, [KeyImage(ref, "Right upper lobe nodule", ("arrow: nodule",), png.getvalue())]


async def _client(base: str, username: str) -> BackendClient:
    client = BackendClient(base)
    await client.login(username, "demo")
    return client


def test_request_to_final_report_through_the_real_parts(
    api: Api, orthanc: OrthancServer, tmp_path: Path
) -> None:
    base = api.server.base_url
    assert base is not None
    study = write_study(tmp_path / "study", slices=8)
    archive = PacsSettings(
        "site-archive", "dicomweb", url=orthanc.dicomweb_url, username=USER[0], password=USER[1]
    )
    web = DicomWebClient(orthanc.dicomweb_url, username=USER[0], password=USER[1])
    store_key_images(web, [pydicom.dcmread(f) for f in study.files])  # the county doctor sent the study

    # request -> accept
    consult = api.ok(
        "POST",
        "/consults",
        "dr.li",
        expect=201,
        json={
            "patient": {
                "patient_id": PATIENT.patient_id,
                "name": "Zhang Wei",
                "sex": "M",
                "birth_date": PATIENT.birth_date.isoformat() if PATIENT.birth_date else None,
            },
            "question": "Chest pain for 3 hours, ST depression in V4-V6. Transfer?",
            "urgency": "urgent",
            "specialty": "cardiology",
            "study": {"study_instance_uid": study.study_uid, "source": "site-archive"},
        },
    )
    cid = consult["id"]
    consult = api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    assert consult["report_status"] == "none"

    # measurements, vitals and the cardiology section, as the workstation gathers them
    readings, key_images = _readings(study.folder)
    measurements = measurements_from_readings(readings)
    assert [m.unit for m in measurements] == ["mm", "mm", "mm2"]
    vitals = vitals_snapshot({"hr": 112.0, "spo2": 93.0, "rr": 22.0, "nibp_sys": 98.0, "nibp_dia": 60.0})
    ecg = section_from_plugin(
        ReportSection(
            "cardiology.ecg",
            "ECG measurements",
            ("Measure", "Value"),
            (("Heart rate", "112 /min"),),
            (
                ReportFigure(
                    "Heart rate",
                    112.0,
                    "/min",
                    "ECG beat detection",
                    "http://loinc.org",
                    "8867-4",
                    "Heart rate",
                ),
            ),
        )
    )
    assert ecg is not None
    draft = build_report(
        consult, CHEN, measurements=measurements, key_images=key_images, vitals=vitals, sections=[ecg]
    )
    draft = draft.__class__(**{**draft.__dict__, "impression": "NSTEMI likely. Incidental 9 mm nodule."})
    sources = load_sources(study.files)
    export = tmp_path / "export"

    async def scenario() -> dict[str, Any]:
        chen, wang, li = [await _client(base, u) for u in ("dr.chen", "dr.wang", "dr.li")]
        try:
            author = ReportDesk(chen, SigningKeys(), me=CHEN, sources=lambda _r: sources)
            second = ReportDesk(
                wang,
                SigningKeys.in_memory(),
                me=WANG,
                pacs=[archive],
                export_folder=export,
                sources=lambda _r: sources,
            )
            saved = await author.save_draft(draft)
            assert saved.status is Status.DRAFT and saved.version == 1
            with pytest.raises(BackendError):  # a final report is needed before closing, or a reason
                await chen.transition(cid, "close", {"outcome": "done"})
            pending = await author.sign(saved.id, saved.report)
            assert pending.status is Status.PENDING
            with pytest.raises(ReportError, match="author"):
                await author.cosign(saved.id)
            assert [p.id for p in await second.pending()] == [saved.id]
            final, published = await second.cosign(saved.id)
            assert final.status is Status.FINAL and final.cosigner
            assert published.failures == [] and published.archive == "site-archive"
            reader = ReportDesk(
                li, SigningKeys.in_memory(), me=Clinician("dr.li", "Dr. Li Na", "county_doctor")
            )
            checked = await reader.verification(saved.id)
            acknowledged = await reader.acknowledge(saved.id)
            trust = await reader.trust()
            closed = await chen.transition(cid, "close", {"outcome": "Transferred to the PCI centre."})
            return {
                "checked": checked,
                "acknowledged": acknowledged,
                "trust": trust,
                "closed": closed,
                "pdf": await reader.pdf(saved.id),
                "final": final,
                "published": published,
            }
        finally:
            for c in (chen, wang, li):
                await c.aclose()

    out = asyncio.run(asyncio.wait_for(scenario(), 120))

    # the signatures, as the viewer shows them and as poppler sees them
    checked = out["checked"]
    assert checked.ok and checked.tampered_revision is None, checked.plain_words("en")
    assert [s.kind for s in checked.signatures] == ["certification", "approval"]
    trust: TrustAnchors = out["trust"]
    assert verify(out["pdf"], trust).ok
    sigs = pdfsig(out["pdf"], tmp_path, nss_db_trusting(trust.ca_pem, tmp_path / "nss"))
    assert len(sigs) == 2
    for s in sigs:
        assert s["Signature Validation"] == "Signature is Valid.", s
        assert s["Certificate Validation"] == "Certificate is Trusted.", s

    # the SR, KOS and bundle that went out, from the export folder
    folder = out["published"].exported
    assert folder is not None
    sr_path, kos_path = folder / "report-sr.dcm", folder / "report-kos.dcm"
    dciodvfy_clean(sr_path)
    dciodvfy_clean(kos_path)
    assert sr_validator_problems(dicom_sr_validator(sr_path)) == []
    sr = pydicom.dcmread(sr_path)
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("COMPLETE", "VERIFIED")
    values = measured_values(sr)
    assert len(values) == 4  # three on the images, the ECG's heart rate
    import json

    bundle = json.loads((folder / "report.fhir.json").read_text("utf-8"))
    assert schema_errors(bundle) == []
    fhirjs = fhirjs_bundle(bundle)
    assert fhirjs.errors == [], fhirjs.errors
    report_resource = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    assert report_resource["status"] == "final"

    # the archive holds the SR and the KOS beside the study, and gives them back
    with httpx.Client(auth=USER, timeout=30) as http:
        found = http.get(
            f"{orthanc.dicomweb_url}/studies/{study.study_uid}/series", params={"Modality": "SR"}
        ).json()
        assert len(found) == 1
        kos = http.get(
            f"{orthanc.dicomweb_url}/studies/{study.study_uid}/series", params={"Modality": "KO"}
        ).json()
        assert len(kos) == 1

    # the county doctor's worklist and the closing
    assert out["acknowledged"].acknowledged_at is not None
    assert out["closed"]["state"] == "closed"
    listed = {c["id"]: c for c in api.ok("GET", "/consults", "dr.li")}
    assert listed[cid]["report_status"] == "final" and listed[cid]["report_acknowledged"] is True
    assert out["final"].report.kind is Kind.ORIGINAL and out["final"].report.cosigned_at <= datetime.now(UTC)
