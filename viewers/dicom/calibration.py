"""What makes a pixel a length: the calibration of an image, read from its dataset. Qt-free.

PS3.3 gives an image its physical scale in one of several places, and they do not mean the same:

* **Ultrasound**: the Sequence of Ultrasound Regions (C.8.5.5). Each region is a rectangle of the
  image with its own Physical Delta X/Y in its own Physical Units (C.8.5.5.1.15: 3 = cm, 4 = seconds,
  7 = cm/s...). A measurement is valid inside one region only, in that region's units; Pixel Spacing is
  normally absent.
* **Projection radiographs** (CR, DX, MG, IO, PX, RF, XA): Imager Pixel Spacing is the spacing at the
  detector (the body is magnified by the beam's divergence, so a length is "measured at the
  detector"); Pixel Spacing, when present and different (or with a Pixel Spacing Calibration Type), has
  been calibrated to the patient (10.7.1.3).
* **Cross-sectional images** (CT, MR, PET...): Pixel Spacing is in the patient.
* **Nothing**: a length can be given in pixels only, and must never be called millimetres.

This module only reads; wording for the screen is the view's (``viewers.measure``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "PROJECTION_MODALITIES",
    "UNIT_CM",
    "Calibration",
    "Source",
    "UsRegion",
    "calibration_from_dataset",
    "unit_symbol",
]

PROJECTION_MODALITIES = frozenset({"CR", "DX", "MG", "IO", "PX", "RF", "XA", "RG", "DR"})

# Physical Units X/Y Direction (0018,6024)/(0018,6026), PS3.3 C.8.5.5.1.15
UNIT_NONE, UNIT_PERCENT, UNIT_DB, UNIT_CM, UNIT_SECONDS = 0, 1, 2, 3, 4
UNIT_SYMBOLS = {
    0: "",
    1: "%",
    2: "dB",
    3: "cm",
    4: "s",
    5: "Hz",
    6: "dB/s",
    7: "cm/s",
    8: "cm²",
    9: "dB/cm",
    10: "cm³",
    11: "cm³/s",
    12: "°",
}
MM_PER_UNIT = {UNIT_CM: 10.0}  # the length units, to millimetres


def unit_symbol(code: int) -> str:
    return UNIT_SYMBOLS.get(code, "?")


class Source(StrEnum):
    PATIENT = "patient"  # Pixel Spacing of a cross-sectional image
    CALIBRATED = "calibrated"  # projection: Pixel Spacing calibrated to the patient
    DETECTOR = "detector"  # projection: Imager Pixel Spacing, measured at the detector
    STATED = "stated"  # projection: Pixel Spacing alone, its calibration not stated
    ULTRASOUND = "ultrasound"  # Sequence of Ultrasound Regions
    NONE = "none"  # nothing calibrates the image: pixels


@dataclass(frozen=True)
class UsRegion:
    """One ultrasound region: pixel bounds (inclusive, columns x and rows y) and its physical deltas."""

    x0: int
    y0: int
    x1: int
    y1: int
    delta_x: float  # physical units per pixel along a row
    delta_y: float  # physical units per pixel down a column
    unit_x: int
    unit_y: int
    spatial_format: int = 0
    data_type: int = 0

    def contains(self, x: float, y: float) -> bool:
        """Whether image position (x, y) (pixel centres at integers) lies in the region."""
        return self.x0 - 0.5 <= x <= self.x1 + 0.5 and self.y0 - 0.5 <= y <= self.y1 + 0.5

    @property
    def is_length(self) -> bool:
        """Both axes in one length unit: a distance and an area can be measured."""
        return self.unit_x == self.unit_y and self.unit_x in MM_PER_UNIT

    @property
    def mm_per_unit(self) -> float:
        return MM_PER_UNIT.get(self.unit_x, 1.0)


@dataclass(frozen=True)
class Calibration:
    source: Source
    spacing: tuple[float, float] | None = None  # (row spacing = y, column spacing = x) in mm
    regions: tuple[UsRegion, ...] = ()
    calibration_type: str = ""  # Pixel Spacing Calibration Type (0028,0A02): GEOMETRY, FIDUCIAL
    description: str = ""  # Pixel Spacing Calibration Description (0028,0A04)
    modality: str = ""

    def region_at(self, x: float, y: float) -> UsRegion | None:
        """The ultrasound region containing (x, y); the first one where regions overlap."""
        for region in self.regions:
            if region.contains(x, y):
                return region
        return None

    @property
    def is_calibrated(self) -> bool:
        return self.source is not Source.NONE

    @classmethod
    def none(cls, modality: str = "") -> Calibration:
        return cls(Source.NONE, modality=modality)


def _floats(value: Any, count: int) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    try:
        values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        items = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    if len(items) != count or not all(v > 0 and v == v and v != float("inf") for v in items):
        return None
    return tuple(items)


def _int(item: Any, keyword: str, default: int = 0) -> int:
    value = item.get(keyword)
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _regions(ds: Any) -> tuple[UsRegion, ...]:
    regions: list[UsRegion] = []
    for item in ds.get("SequenceOfUltrasoundRegions") or []:
        try:
            dx = abs(float(item.get("PhysicalDeltaX")))
            dy = abs(float(item.get("PhysicalDeltaY")))
        except (TypeError, ValueError):
            continue
        if not (dx > 0 and dy > 0):
            continue
        x0 = _int(item, "RegionLocationMinX0")
        y0 = _int(item, "RegionLocationMinY0")
        x1 = _int(item, "RegionLocationMaxX1", x0)
        y1 = _int(item, "RegionLocationMaxY1", y0)
        regions.append(
            UsRegion(
                min(x0, x1),
                min(y0, y1),
                max(x0, x1),
                max(y0, y1),
                dx,
                dy,
                _int(item, "PhysicalUnitsXDirection"),
                _int(item, "PhysicalUnitsYDirection"),
                _int(item, "RegionSpatialFormat"),
                _int(item, "RegionDataType"),
            )
        )
    return tuple(regions)


def _functional_spacing(ds: Any) -> tuple[float, ...] | None:
    for seq in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        groups = ds.get(seq) or []
        if not groups:
            continue
        measures = groups[0].get("PixelMeasuresSequence") or []
        if measures:
            spacing = _floats(measures[0].get("PixelSpacing"), 2)
            if spacing:
                return spacing
    return None


def calibration_from_dataset(ds: Any | None) -> Calibration:
    """The calibration of an image from its (header) dataset; ``Calibration.none()`` when nothing does."""
    if ds is None:
        return Calibration.none()
    modality = str(ds.get("Modality", "") or "").upper()
    regions = _regions(ds)
    if regions:
        return Calibration(Source.ULTRASOUND, regions=regions, modality=modality)
    pixel = _floats(ds.get("PixelSpacing"), 2) or _functional_spacing(ds)
    imager = _floats(ds.get("ImagerPixelSpacing"), 2)
    kind = str(ds.get("PixelSpacingCalibrationType", "") or "").strip().upper()
    description = str(ds.get("PixelSpacingCalibrationDescription", "") or "").strip()
    cross_sectional = modality in ("CT", "MR", "PT")
    projection = modality in PROJECTION_MODALITIES or (imager is not None and not cross_sectional)
    if projection:
        if pixel is not None and (kind or (imager is not None and pixel != imager)):
            return Calibration(Source.CALIBRATED, (pixel[0], pixel[1]), (), kind, description, modality)
        if imager is not None:
            return Calibration(Source.DETECTOR, (imager[0], imager[1]), (), "", "", modality)
        if pixel is not None:
            return Calibration(Source.STATED, (pixel[0], pixel[1]), (), "", description, modality)
        return Calibration.none(modality)
    if pixel is not None:
        return Calibration(Source.PATIENT, (pixel[0], pixel[1]), modality=modality)
    return Calibration.none(modality)
