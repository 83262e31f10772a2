"""Measurements on a volume: distance, angle, ellipse and polygon ROIs. Qt-free.

Points are kept in patient coordinates (LPS, mm), so a measurement made in one view shows in every
view whose plane contains it, at both sites of a consultation, whatever the zoom. Lengths and areas
come from those millimetre positions (the real pixel spacing), statistics from the volume's rescaled
values (HU for CT).

What a length *means* comes from the image's :class:`~viewers.dicom.calibration.Calibration`
(:meth:`MeasurementDocument.reading`): millimetres in the patient, millimetres measured at a
radiograph's detector, an ultrasound region's own units (refused across regions or outside them), or
pixels, never called millimetres, where nothing calibrates the image.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from core.i18n import tr
from core.observable import Event
from viewers.dicom.calibration import Calibration, Source, UsRegion, unit_symbol

if TYPE_CHECKING:
    from viewers.dicom.volume import Volume

Point = tuple[float, float, float]
PointLike = Sequence[float] | np.ndarray


class Kind(StrEnum):
    DISTANCE = "distance"
    ANGLE = "angle"
    ELLIPSE = "ellipse"  # points: centre, end of the first semi-axis, end of the second semi-axis
    POLYGON = "polygon"  # points: the vertices, closed implicitly


POINTS_NEEDED = {Kind.DISTANCE: 2, Kind.ANGLE: 3, Kind.ELLIPSE: 3}


@dataclass(frozen=True)
class RoiStats:
    mean: float
    sd: float
    minimum: float
    maximum: float
    area_mm2: float
    pixels: int


@dataclass
class Measurement:
    kind: Kind
    points: list[Point]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    author: str = ""

    def to_dict(self) -> dict[str, Any]:
        points = [list(p) for p in self.points]
        return {"id": self.id, "kind": self.kind.value, "points": points, "author": self.author}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        kind = Kind(str(data["kind"]))
        points = [_point(p) for p in data["points"]]
        check_points(kind, points)
        return cls(kind, points, str(data.get("id") or uuid.uuid4().hex), str(data.get("author", "")))


def _point(value: Sequence[float] | np.ndarray) -> Point:
    x, y, z = (float(v) for v in value)
    if not all(math.isfinite(v) for v in (x, y, z)):
        raise ValueError("point coordinates must be finite")
    return (x, y, z)


def check_points(kind: Kind, points: Sequence[Point]) -> None:
    needed = POINTS_NEEDED.get(kind)
    if needed is not None and len(points) != needed:
        raise ValueError(f"{kind.value} needs {needed} points, got {len(points)}")
    if kind is Kind.POLYGON and len(points) < 3:
        raise ValueError(f"polygon needs at least 3 points, got {len(points)}")


# geometry -------------------------------------------------------------------------------------
def distance_mm(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.linalg.norm(np.asarray(b, float) - np.asarray(a, float)))


def angle_deg(a: Sequence[float], vertex: Sequence[float], b: Sequence[float]) -> float:
    u = np.asarray(a, float) - np.asarray(vertex, float)
    v = np.asarray(b, float) - np.asarray(vertex, float)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu < 1e-9 or nv < 1e-9:
        return 0.0
    cos = float(np.clip((u @ v) / (nu * nv), -1.0, 1.0))
    return math.degrees(math.acos(cos))


def polygon_area_mm2(points: Sequence[PointLike]) -> float:
    """Area of a planar polygon in 3D (half the norm of the summed cross products)."""
    pts = np.asarray(points, float)
    if len(pts) < 3:
        return 0.0
    total = np.zeros(3)
    for k in range(len(pts)):
        total += np.cross(pts[k], pts[(k + 1) % len(pts)])
    return float(np.linalg.norm(total) / 2.0)


def ellipse_area_mm2(points: Sequence[PointLike]) -> float:
    centre, a, b = (np.asarray(p, float) for p in points)
    return math.pi * float(np.linalg.norm(a - centre)) * float(np.linalg.norm(b - centre))


def _in_polygon(xs: np.ndarray, ys: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule for many points at once; ``poly`` is (n, 2)."""
    inside = np.zeros(xs.shape, dtype=bool)
    n = len(poly)
    for k in range(n):
        x1, y1 = poly[k]
        x2, y2 = poly[(k + 1) % n]
        crosses = (y1 > ys) != (y2 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (xs < x_at)
    return inside


def roi_stats(measurement: Measurement, volume: Volume) -> RoiStats | None:
    """Mean, SD, min, max of the voxels whose centres lie inside an ROI on the slice it was drawn on.

    The ROI's plane must be one of the volume's index planes (as drawn in the axial, coronal or
    sagittal views); None when it is not an ROI, lies outside the volume or covers no voxel centre.
    """
    if measurement.kind not in (Kind.ELLIPSE, Kind.POLYGON) or volume.array.ndim != 3:
        return None
    ijk = np.array([volume.lps_to_index(p) for p in measurement.points])  # (n, 3) as i, j, k
    extent = ijk.max(axis=0) - ijk.min(axis=0)
    fixed = int(np.argmin(extent))  # index component constant across the ROI
    in_plane = [c for c in (0, 1, 2) if c != fixed]
    layer = round(float(ijk[:, fixed].mean()))
    shape_ijk = (volume.array.shape[2], volume.array.shape[1], volume.array.shape[0])
    if not 0 <= layer < shape_ijk[fixed]:
        return None
    u_axis, v_axis = in_plane
    if measurement.kind is Kind.ELLIPSE:
        centre, a_end, b_end = ijk
        a_vec, b_vec = a_end - centre, b_end - centre
        corners = np.array(
            [centre + sa * a_vec + sb * b_vec for sa in (-1, 1) for sb in (-1, 1)]
        )
        lo = np.floor(corners.min(axis=0))
        hi = np.ceil(corners.max(axis=0))
    else:
        lo, hi = np.floor(ijk.min(axis=0)), np.ceil(ijk.max(axis=0))
    u0, u1 = max(int(lo[u_axis]), 0), min(int(hi[u_axis]), shape_ijk[u_axis] - 1)
    v0, v1 = max(int(lo[v_axis]), 0), min(int(hi[v_axis]), shape_ijk[v_axis] - 1)
    if u1 < u0 or v1 < v0:
        return None
    vv, uu = np.mgrid[v0 : v1 + 1, u0 : u1 + 1].astype(np.float64)
    if measurement.kind is Kind.ELLIPSE:
        centre, a_end, b_end = ijk
        a_vec = (a_end - centre)[[u_axis, v_axis]]
        b_vec = (b_end - centre)[[u_axis, v_axis]]
        basis = np.column_stack([a_vec, b_vec])
        if abs(np.linalg.det(basis)) < 1e-12:
            return None
        rel = np.stack([uu - centre[u_axis], vv - centre[v_axis]], axis=-1)
        coeffs = rel @ np.linalg.inv(basis).T
        mask = (coeffs**2).sum(axis=-1) <= 1.0
        area = ellipse_area_mm2(measurement.points)
    else:
        mask = _in_polygon(uu, vv, ijk[:, [u_axis, v_axis]])
        area = polygon_area_mm2(measurement.points)
    index: list[Any] = [0, 0, 0]  # numpy order k, j, i
    index[2 - fixed] = layer
    index[2 - u_axis] = slice(u0, u1 + 1)
    index[2 - v_axis] = slice(v0, v1 + 1)
    region = np.asarray(volume.array[tuple(index)], dtype=np.float64)
    # the region's remaining axes are in numpy order; put them as (v, u) like the mask
    if (2 - v_axis) > (2 - u_axis):
        region = region.T
    values = region[mask]
    if values.size == 0:
        return None
    return RoiStats(
        mean=float(values.mean()),
        sd=float(values.std()),
        minimum=float(values.min()),
        maximum=float(values.max()),
        area_mm2=area,
        pixels=int(values.size),
    )


def distance_to_plane(point: Sequence[float], origin: Sequence[float], normal: Sequence[float]) -> float:
    n = np.asarray(normal, float)
    offset = np.asarray(point, float) - np.asarray(origin, float)
    return float(abs(offset @ n) / max(np.linalg.norm(n), 1e-12))


def lies_in_plane(
    measurement: Measurement, origin: Sequence[float], normal: Sequence[float], tolerance_mm: float
) -> bool:
    """Whether every point of ``measurement`` is within ``tolerance_mm`` of the plane (a view's slice)."""
    return all(distance_to_plane(p, origin, normal) <= tolerance_mm for p in measurement.points)


# calibrated readings ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """A measurement as the user reads it: the label, and its figure in ``unit`` (None when refused or
    when it has no single figure, e.g. a time and a velocity along a Doppler line)."""

    text: str
    value: float | None = None
    unit: str = ""  # "mm", "mm²", "px", "px²", "°", or an ultrasound region's unit
    refused: str = ""  # why no figure is given (shown on screen)

    @property
    def length_mm(self) -> float | None:
        """The length in millimetres, or None: never a pixel count passed off as millimetres."""
        return self.value if self.unit == "mm" and not self.refused else None


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"


def calibration_title(calibration: Calibration | None) -> str:
    """The calibration named as PS3.3 describes it, for the view's overlay."""
    if calibration is None or calibration.source is Source.PATIENT:
        return ""
    source = calibration.source
    if source is Source.DETECTOR:
        return tr("Measurement", "Measured at the detector (Imager Pixel Spacing)")
    if source is Source.CALIBRATED:
        detail = " ".join(x for x in (calibration.calibration_type, calibration.description) if x)
        if detail:
            return tr("Measurement", "Calibrated (%1)").replace("%1", detail)
        return tr("Measurement", "Calibrated (Pixel Spacing)")
    if source is Source.STATED:
        return tr("Measurement", "Pixel Spacing, calibration not stated")
    if source is Source.ULTRASOUND:
        return tr("Measurement", "Ultrasound regions: %1").replace("%1", str(len(calibration.regions)))
    return tr("Measurement", "px, not calibrated")


def _refused(reason: str) -> Reading:
    return Reading(tr("Measurement", "Not measured: %1").replace("%1", reason), refused=reason)


def _scaled_figure(kind: Kind, xy: np.ndarray) -> float:
    """Length (distance) or area (ROI) of 2D points already scaled to physical units."""
    if kind is Kind.DISTANCE:
        return float(np.linalg.norm(xy[1] - xy[0]))
    if kind is Kind.ELLIPSE:
        centre, a, b = xy
        return math.pi * float(np.linalg.norm(a - centre)) * float(np.linalg.norm(b - centre))
    pts = np.column_stack([xy, np.zeros(len(xy))])
    return polygon_area_mm2(list(pts))


def _in_units(kind: Kind, value: float, unit: str, suffix: str = "") -> Reading:
    if kind is Kind.DISTANCE:
        text = tr("Measurement", "%1 %2").replace("%1", _fmt(value)).replace("%2", unit)
        return Reading(text + suffix, value, unit)
    area_unit = f"{unit}²"
    text = tr("Measurement", "Area %1 %2").replace("%1", _fmt(value)).replace("%2", area_unit)
    return Reading(text + suffix, value, area_unit)


def _ultrasound_reading(kind: Kind, xy: np.ndarray, calibration: Calibration) -> Reading:
    regions = [calibration.region_at(float(x), float(y)) for x, y in xy]
    if any(r is None for r in regions):
        return _refused(tr("Measurement", "outside the calibrated ultrasound regions"))
    region: UsRegion = regions[0]  # type: ignore[assignment]
    if any(r is not region for r in regions):
        return _refused(tr("Measurement", "the points lie in different ultrasound regions"))
    delta = np.array([region.delta_x, region.delta_y])
    if region.is_length:
        scaled = xy * delta * region.mm_per_unit
        return _in_units(kind, _scaled_figure(kind, scaled), "mm")
    if kind is not Kind.DISTANCE or 0 in (region.unit_x, region.unit_y):
        return _refused(tr("Measurement", "this ultrasound region is not calibrated in length"))
    dx, dy = np.abs(xy[1] - xy[0]) * delta  # e.g. time along x, velocity along y (Doppler, M-mode)
    text = (
        tr("Measurement", "Δx %1 %2, Δy %3 %4")
        .replace("%1", _fmt(float(dx)))
        .replace("%2", unit_symbol(region.unit_x))
        .replace("%3", _fmt(float(dy)))
        .replace("%4", unit_symbol(region.unit_y))
    )
    return Reading(text)


# the document ---------------------------------------------------------------------------------
class MeasurementDocument:
    """The measurements on one study; views subscribe to its events and redraw.

    Events: ``added(m)``, ``changed(m)``, ``removed(m)``, ``cleared()``. Mutate on the UI thread.
    """

    def __init__(self, volume: Volume | None = None, calibration: Calibration | None = None) -> None:
        self.volume = volume
        # None: the volume's geometry is taken as millimetres in the patient (the volume alone is known)
        self.calibration = calibration
        self._items: dict[str, Measurement] = {}
        self._stats: dict[str, RoiStats | None] = {}
        self.added: Event[[Measurement]] = Event()
        self.changed: Event[[Measurement]] = Event()
        self.removed: Event[[Measurement]] = Event()
        self.cleared: Event[[]] = Event()

    def __iter__(self) -> Iterator[Measurement]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def get(self, measurement_id: str) -> Measurement | None:
        return self._items.get(measurement_id)

    def add(self, kind: Kind, points: Sequence[PointLike], author: str = "") -> Measurement:
        pts = [_point(p) for p in points]
        check_points(kind, pts)
        m = Measurement(kind, pts, author=author)
        self._items[m.id] = m
        self.added.emit(m)
        return m

    def update(self, measurement_id: str, points: Sequence[PointLike]) -> Measurement:
        m = self._items[measurement_id]
        pts = [_point(p) for p in points]
        check_points(m.kind, pts)
        m.points = pts
        self._stats.pop(m.id, None)
        self.changed.emit(m)
        return m

    def remove(self, measurement_id: str) -> None:
        m = self._items.pop(measurement_id, None)
        self._stats.pop(measurement_id, None)
        if m is not None:
            self.removed.emit(m)

    def clear(self) -> None:
        self._items.clear()
        self._stats.clear()
        self.cleared.emit()

    def set_volume(self, volume: Volume | None, calibration: Calibration | None = None) -> None:
        """A new volume: measurements of the previous one no longer apply."""
        self.volume = volume
        self.calibration = calibration
        self.clear()

    def set_calibration(self, calibration: Calibration | None) -> None:
        """What a pixel of the volume measures (read from its dataset); the views redraw their labels."""
        self.calibration = calibration
        for m in self:
            self.changed.emit(m)

    def stats(self, measurement: Measurement) -> RoiStats | None:
        if measurement.kind not in (Kind.ELLIPSE, Kind.POLYGON) or self.volume is None:
            return None
        if measurement.id not in self._stats:
            self._stats[measurement.id] = roi_stats(measurement, self.volume)
        return self._stats[measurement.id]

    def value(self, measurement: Measurement) -> float:
        """The headline figure: mm for a distance, degrees for an angle, mm² for an ROI."""
        pts = measurement.points
        if measurement.kind is Kind.DISTANCE:
            return distance_mm(pts[0], pts[1])
        if measurement.kind is Kind.ANGLE:
            return angle_deg(pts[0], pts[1], pts[2])
        if measurement.kind is Kind.ELLIPSE:
            return ellipse_area_mm2(pts)
        return polygon_area_mm2(list(pts))

    def _image_xy(self, measurement: Measurement) -> np.ndarray:
        """The points as image positions (column x, row y) of the volume's pixels, (n, 2)."""
        if self.volume is None:
            return np.array([p[:2] for p in measurement.points], dtype=np.float64)
        return np.array([self.volume.lps_to_index(p)[:2] for p in measurement.points], dtype=np.float64)

    def reading(self, measurement: Measurement) -> Reading:
        """The measurement in the units the image's calibration gives it, with its on-screen label."""
        kind, cal = measurement.kind, self.calibration
        source = cal.source if cal is not None else Source.PATIENT
        if kind is Kind.ANGLE:
            if source is Source.PATIENT or cal is None:
                degrees = self.value(measurement)
            else:
                xy = self._image_xy(measurement)
                scale = np.array([cal.spacing[1], cal.spacing[0]]) if cal.spacing else np.ones(2)
                region = cal.region_at(*xy[1]) if source is Source.ULTRASOUND else None
                if region is not None and region.unit_x == region.unit_y:
                    scale = np.array([region.delta_x, region.delta_y])
                pts = [(*(p * scale), 0.0) for p in xy]
                degrees = angle_deg(pts[0], pts[1], pts[2])
            return Reading(tr("Measurement", "%1°").replace("%1", f"{degrees:.1f}"), degrees, "°")
        if source is Source.PATIENT or cal is None:
            return _in_units(kind, self.value(measurement), "mm")
        xy = self._image_xy(measurement)
        if source is Source.ULTRASOUND:
            return _ultrasound_reading(kind, xy, cal)
        if source is Source.NONE or cal.spacing is None:
            return _in_units(kind, _scaled_figure(kind, xy), "px", tr("Measurement", ", not calibrated"))
        scaled = xy * np.array([cal.spacing[1], cal.spacing[0]])
        suffix = {
            Source.DETECTOR: tr("Measurement", " (at the detector)"),
            Source.CALIBRATED: tr("Measurement", " (calibrated)"),
        }.get(source, tr("Measurement", " (calibration not stated)"))
        return _in_units(kind, _scaled_figure(kind, scaled), "mm", suffix)

    def lengths_mm(self) -> list[tuple[Measurement, float]]:
        """The distances that are lengths in millimetres (what may leave the viewer as one, e.g. to a
        plugin's ``ImagingMeasurement.length_mm``): pixel counts and refused lines are left out."""
        out = []
        for m in self:
            if m.kind is Kind.DISTANCE:
                length = self.reading(m).length_mm
                if length is not None:
                    out.append((m, length))
        return out

    def to_list(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self._items.values()]
