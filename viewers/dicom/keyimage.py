"""Key images for a written answer: an annotated 2D view saved as DICOM Secondary Capture. Qt-free.

The specialist's workstation renders the current view with its annotations to an RGB array (the Qt
side grabs the widget; :func:`window_to_rgb` and :func:`burn_line` / :func:`burn_ellipse` do the same
without Qt for tests and scripts). :func:`secondary_capture` wraps it as a Secondary Capture Image in
the *same study* (a new series, fresh UIDs, patient and study attributes copied from an instance of
the study, ConversionType WSD, BurnedInAnnotation YES, a Source Image Sequence naming the slice it
came from), :func:`store_key_images` STOWs it to the site PACS, and :func:`fetch_key_images` brings
key images back at the requesting site.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from viewers.dicom.pacs_common import PacsError, PacsProtocolError

if TYPE_CHECKING:
    from viewers.dicom.dicomweb import DicomWebClient

log = logging.getLogger(__name__)


class _Retrieved(Protocol):
    files: list[Path]


class Retriever(Protocol):
    """DicomWebClient or viewers.dicom.pacs.PacsClient (WADO-RS, C-GET or C-MOVE): whatever the site has."""

    def retrieve(
        self, folder: Path, study_instance_uid: str, series_instance_uid: str | None = None
    ) -> _Retrieved: ...


SECONDARY_CAPTURE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
KEY_IMAGE_SERIES_NUMBER = 9001
# Patient and study attributes copied from the source instance, so the key image files with its study.
COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "IssuerOfPatientID",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
)


class KeyImageError(PacsError):
    """The archive did not store a key image, or a key image could not be read back."""


@dataclass(frozen=True)
class KeyImageRef:
    """What the backend's answer records for one key image (schemas.KeyImageRef)."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str

    def as_json(self) -> dict[str, str]:
        return {
            "study_instance_uid": self.study_instance_uid,
            "series_instance_uid": self.series_instance_uid,
            "sop_instance_uid": self.sop_instance_uid,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyImageRef:
        return cls(
            str(data["study_instance_uid"]), str(data["series_instance_uid"]), str(data["sop_instance_uid"])
        )


# --- rendering without Qt ---------------------------------------------------------------------------


def window_to_rgb(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """A 2D slice (modality values, e.g. HU) through a window to an (H, W, 3) uint8 grey image."""
    if values.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {values.shape}")
    width = max(float(width), 1.0)
    low = center - width / 2.0
    grey = np.clip((values.astype(np.float32) - low) / width, 0.0, 1.0) * 255.0
    return np.repeat(np.rint(grey).astype(np.uint8)[:, :, None], 3, axis=2)


def _stamp(
    rgb: np.ndarray, rows: np.ndarray, cols: np.ndarray, colour: Sequence[int], thickness: int
) -> None:
    h, w = rgb.shape[:2]
    r = max(0, thickness // 2)
    for dr in range(-r, r + 1):
        for dc in range(-r, r + 1):
            rr, cc = rows + dr, cols + dc
            keep = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            rgb[rr[keep], cc[keep]] = colour


def burn_line(
    rgb: np.ndarray,
    start: tuple[float, float],
    end: tuple[float, float],
    colour: Sequence[int] = (255, 220, 0),
    thickness: int = 1,
) -> None:
    """Draw a line between two (column, row) pixel points into ``rgb`` in place."""
    steps = int(max(abs(end[0] - start[0]), abs(end[1] - start[1]))) + 1
    cols = np.rint(np.linspace(start[0], end[0], steps)).astype(int)
    rows = np.rint(np.linspace(start[1], end[1], steps)).astype(int)
    _stamp(rgb, rows, cols, colour, thickness)


def burn_ellipse(
    rgb: np.ndarray,
    center: tuple[float, float],
    radii: tuple[float, float],
    colour: Sequence[int] = (255, 220, 0),
    thickness: int = 1,
) -> None:
    """Draw an ellipse outline, centre and radii in (column, row) pixels, into ``rgb`` in place."""
    n = int(2 * np.pi * max(radii)) * 2 + 8
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    cols = np.rint(center[0] + radii[0] * np.cos(t)).astype(int)
    rows = np.rint(center[1] + radii[1] * np.sin(t)).astype(int)
    _stamp(rgb, rows, cols, colour, thickness)


# --- the DICOM object -------------------------------------------------------------------------------


def secondary_capture(
    rgb: np.ndarray,
    source: Dataset,
    *,
    series_instance_uid: str | None = None,
    instance_number: int = 1,
    series_description: str = "Key images",
    author: str = "",
    now: datetime | None = None,
) -> Dataset:
    """Wrap an (H, W, 3) uint8 image as a Secondary Capture in ``source``'s study (a new series unless
    ``series_instance_uid`` names the answer's key-image series). ``source`` is an instance of the
    study, read with or without its pixels; its pixels are never copied."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    if not str(source.get("StudyInstanceUID", "")):
        raise ValueError("the source instance has no Study Instance UID")
    stamp = now or datetime.now().astimezone()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword in COPIED:
        if keyword in source:
            setattr(ds, keyword, source.data_element(keyword).value)  # type: ignore[union-attr]
    ds.SOPClassUID = SECONDARY_CAPTURE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_instance_uid or generate_uid()
    ds.Modality = "OT"
    # Type 2C in General Series / General Image: a key image has no paired body part of its own and no
    # patient-based geometry, so both stay present and empty (dciodvfy requires them).
    ds.Laterality = str(source.get("Laterality", "") or "")  # the source series's side, when it has one
    ds.PatientOrientation = ""
    ds.SeriesNumber = KEY_IMAGE_SERIES_NUMBER
    ds.SeriesDescription = series_description[:64]
    ds.InstanceNumber = instance_number
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.DerivationDescription = "Annotated view saved as a key image for a written consult answer"
    ds.InstanceCreationDate = ds.ContentDate = ds.SeriesDate = stamp.strftime("%Y%m%d")
    ds.InstanceCreationTime = ds.ContentTime = ds.SeriesTime = stamp.strftime("%H%M%S")
    if author:
        ds.OperatorsName = author
    ds.Manufacturer = "Teleconsult Workstation"
    if "SOPInstanceUID" in source:
        ref = Dataset()
        ref.ReferencedSOPClassUID = source.SOPClassUID
        ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
        ds.SourceImageSequence = DicomSequence([ref])
    rows, cols = rgb.shape[:2]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.LossyImageCompression = "00"
    ds.PixelData = np.ascontiguousarray(rgb).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


def ref_of(ds: Dataset) -> KeyImageRef:
    return KeyImageRef(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID))


def part10(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _sequence_uids(answer: dict[str, Any], tag: str) -> list[str]:
    seq = answer.get(tag, {})
    items = seq.get("Value", []) if isinstance(seq, dict) else []
    found = []
    for item in items:
        value = item.get("00081155", {}).get("Value", []) if isinstance(item, dict) else []
        if value:
            found.append(str(value[0]))
    return found


def store_key_images(client: DicomWebClient, datasets: Sequence[Dataset]) -> list[KeyImageRef]:
    """STOW-RS the key images (one request, their study) and return their references, in order.
    Raises KeyImageError unless the archive confirms every one of them."""
    if not datasets:
        return []
    study = {str(ds.StudyInstanceUID) for ds in datasets}
    if len(study) != 1:
        raise ValueError("key images of one answer belong to one study")
    parts = [part10(ds) for ds in datasets]
    boundary = "tc-key-" + uuid.uuid4().hex
    heads = [f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode("ascii") for _ in parts]
    tail = f"\r\n--{boundary}--\r\n".encode("ascii")
    body = b"".join(
        (b"\r\n" if i else b"") + head + part for i, (head, part) in enumerate(zip(heads, parts, strict=True))
    )
    body += tail
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    answer = client.store(study.pop(), [body], content_type, len(body))
    stored = set(_sequence_uids(answer, "00081199"))
    failed = _sequence_uids(answer, "00081198")
    refs = [ref_of(ds) for ds in datasets]
    missing = [r.sop_instance_uid for r in refs if r.sop_instance_uid not in stored]
    if failed or missing:
        raise KeyImageError(f"the archive did not store {len(set(failed) | set(missing))} key image(s)")
    log.info("stored %d key image(s) in study %s", len(refs), refs[0].study_instance_uid)
    return refs


# --- reading them back ------------------------------------------------------------------------------


def read_rgb(path: Path) -> np.ndarray:
    """A key image file as (H, W, 3) uint8 (grey images are repeated to three channels)."""
    try:
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
    except (InvalidDicomError, OSError, AttributeError, ValueError) as exc:
        raise KeyImageError(f"{path.name}: not a readable key image ({exc})") from exc
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise KeyImageError(f"{path.name}: unexpected pixel shape {pixels.shape}")
    if pixels.dtype != np.uint8:
        top = float(pixels.max()) or 1.0
        pixels = np.clip(pixels.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(pixels)


def _index(files: Iterable[Path]) -> Iterator[tuple[str, Path]]:
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
        except (InvalidDicomError, OSError):
            continue
        uid = str(ds.get("SOPInstanceUID", ""))
        if uid:
            yield uid, path


def fetch_key_images(client: Retriever, refs: Sequence[KeyImageRef], folder: Path) -> dict[str, Path]:
    """Retrieve the series holding ``refs`` (WADO-RS) into ``folder``; SOP Instance UID -> file.
    Files already in ``folder`` from an earlier call are used without asking the archive again."""
    wanted = {r.sop_instance_uid for r in refs}
    found = (
        {uid: p for uid, p in _index(p for p in folder.rglob("*") if p.is_file()) if uid in wanted}
        if folder.exists()
        else {}
    )
    for series in sorted({(r.study_instance_uid, r.series_instance_uid) for r in refs}):
        if all(
            r.sop_instance_uid in found
            for r in refs
            if (r.study_instance_uid, r.series_instance_uid) == series
        ):
            continue
        try:
            result = client.retrieve(folder / series[1], series[0], series[1])
        except PacsProtocolError as exc:
            if "HTTP 404" not in str(exc):  # a series the archive does not hold: reported below
                raise
            continue
        found.update({uid: p for uid, p in _index(result.files) if uid in wanted})
    missing = wanted - found.keys()
    if missing:
        raise KeyImageError(f"the archive does not hold {len(missing)} key image(s)")
    return found


def load_key_images(client: Retriever, refs: Sequence[dict[str, str]], folder: Path) -> dict[str, np.ndarray]:
    """The answer's key images (backend JSON refs) as SOP Instance UID -> RGB, fetched into ``folder``."""
    parsed = [KeyImageRef.from_json(r) for r in refs]
    return {uid: read_rgb(path) for uid, path in fetch_key_images(client, parsed, folder).items()}


def study_header(source: Dataset) -> Dataset:
    """Only the patient and study attributes of ``source``: for a key image whose exact source slice is
    not known (no Source Image Sequence is better than a wrong one)."""
    header = Dataset()
    for keyword in COPIED:
        if keyword in source:
            setattr(header, keyword, source.data_element(keyword).value)  # type: ignore[union-attr]
    return header
