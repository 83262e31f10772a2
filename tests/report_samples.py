"""A consult report as the tests and benchmarks/report.py use it: built over a real (synthetic) CT series
written to disk, so the DICOM SR and KOS reference images that exist and can be stored beside them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pydicom

from core.report.model import (
    Clinician,
    Coding,
    ImageRef,
    KeyImage,
    Measurement,
    PatientRef,
    Report,
    Section,
    VitalSign,
    VitalsSnapshot,
)
from viewers.dicom.synthetic import write_ct_series

AUTHOR = Clinician("dr.chen", "Chen Jing", "specialist", "cardiology")
COSIGNER = Clinician("dr.wang", "Wang Lei", "specialist", "cardiology")
COUNTY = Clinician("dr.li", "Li Ming", "county_doctor", "")
PATIENT = PatientRef("P-2026-0042", "Zhang^Wei", "M", date(1961, 3, 14), issuer="County Hospital 3")


@dataclass(frozen=True)
class SampleStudy:
    folder: Path
    files: tuple[Path, ...]  # one per slice, in slice order
    refs: tuple[ImageRef, ...]  # the same, as report references
    study_uid: str


def write_study(folder: Path, slices: int = 10, size: int = 64) -> SampleStudy:
    """A small CT series of ``slices`` images for Zhang Wei (the report's patient)."""
    series = write_ct_series(
        folder,
        (slices, size, size),
        anatomy="chest",
        patient_name=PATIENT.name,
        patient_id=PATIENT.patient_id,
        patient_sex=PATIENT.sex,
        patient_birth_date="19610314",
        shuffle_names=False,
    )
    files = list(series.paths)
    refs = []
    for f in files:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        refs.append(ImageRef(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.SOPClassUID))
    return SampleStudy(folder, tuple(files), tuple(refs), refs[0].study_uid)


def _png(seed: int, size: int = 96) -> bytes:
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    grey = (rng.random((size, size)) * 80 + 60).astype(np.uint8)
    img = Image.fromarray(grey).convert("RGB")
    draw = ImageDraw.Draw(img)
    draw.line((10, size - 10, size - 10, 10), fill=(255, 200, 0), width=2)  # an annotation, burnt in
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def sample_report(
    study: SampleStudy | None = None,
    *,
    measurements: int = 4,
    key_images: int = 2,
    language: str = "en",
    consult_id: int = 42,
) -> Report:
    """A filled-in cardiology report: ``measurements`` lengths/areas on the study's images, ``key_images``
    key images with a burnt-in arrow, vitals with NEWS2, and the ECG section a plugin would add."""
    refs = (
        study.refs
        if study
        else tuple(
            ImageRef(
                "1.2.826.0.1.3680043.8.498.1",
                "1.2.826.0.1.3680043.8.498.2",
                f"1.2.826.0.1.3680043.8.498.3.{i}",
                "1.2.840.10008.5.1.4.1.1.2",
            )
            for i in range(1, 11)
        )
    )
    ms = []
    for i in range(measurements):
        ref = refs[i % len(refs)]
        if i % 3 == 2:
            ms.append(Measurement(f"Nodule {i + 1} area", 40.0 + i, "mm2", "ellipse area", (ref,)))
        else:
            ms.append(
                Measurement(
                    f"Nodule {i + 1} long axis",
                    8.5 + i * 0.75,
                    "mm",
                    "distance",
                    (ref,),
                    Coding("http://snomed.info/sct", "103339001", "Long axis"),
                )
            )
    keys = tuple(
        KeyImage(refs[i % len(refs)], f"Key image {i + 1}", ("arrow: nodule",), _png(i))
        for i in range(key_images)
    )
    vitals = VitalsSnapshot(
        taken_at=datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
        values=(
            VitalSign("hr", 112.0, "/min"),
            VitalSign("spo2", 93.0, "%"),
            VitalSign("rr", 22.0, "/min"),
            VitalSign("sys", 98.0, "mm[Hg]"),
            VitalSign("dia", 60.0, "mm[Hg]"),
            VitalSign("temp", 38.2, "Cel"),
        ),
        news2=7,
    )
    ecg = Section(
        "cardiology.ecg",
        "ECG measurements",
        ("Measure", "Value", "Unit"),
        (("Heart rate", "112", "/min"), ("QRS", "96", "ms"), ("QTc", "452", "ms")),
        (
            Measurement(
                "Heart rate",
                112.0,
                "/min",
                "ECG beat detection",
                code=Coding("http://loinc.org", "8867-4", "Heart rate"),
            ),
            Measurement(
                "QRS duration",
                96.0,
                "ms",
                "ECG interval",
                code=Coding("http://loinc.org", "8633-0", "QRS duration"),
            ),
            Measurement(
                "QTc interval",
                452.0,
                "ms",
                "ECG interval (Bazett)",
                code=Coding("http://loinc.org", "8636-3", "QTc interval"),
            ),
        ),
    )
    return Report(
        consult_id=consult_id,
        patient=PATIENT,
        specialty="cardiology",
        author=AUTHOR,
        requested_by=COUNTY,
        question="Chest pain for 3 hours, ST depression in V4-V6. Transfer?",
        history="Hypertension for 10 years. Smoker.",
        study_uid=refs[0].study_uid,
        findings="Sinus tachycardia. 9 mm nodule in the right upper lobe. No pneumothorax.",
        impression="NSTEMI likely. Incidental pulmonary nodule.",
        recommendations="Aspirin 300 mg, transfer to the PCI centre. CT follow-up of the nodule in 3 months.",
        follow_up="Call back in 2 hours with troponin.",
        urgency="urgent",
        measurements=tuple(ms),
        key_images=keys,
        vitals=vitals,
        sections=(ecg,),
        language=language,
    )
