"""Measurements on a volume: distance, angle, ellipse and polygon ROIs. Qt-free.

Points are kept in patient coordinates (LPS, mm), so a measurement made in one view shows in every
view whose plane contains it, at both sites of a consultation, whatever the zoom. Lengths and areas
come from those millimetre positions (the real pixel spacing), statistics from the volume's rescaled
values (HU for CT).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from core.observable import Event

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


# the document ---------------------------------------------------------------------------------
class MeasurementDocument:
    """The measurements on one study; views subscribe to its events and redraw.

    Events: ``added(m)``, ``changed(m)``, ``removed(m)``, ``cleared()``. Mutate on the UI thread.
    """

    def __init__(self, volume: Volume | None = None) -> None:
        self.volume = volume
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

    def set_volume(self, volume: Volume | None) -> None:
        """A new volume: measurements of the previous one no longer apply."""
        self.volume = volume
        self.clear()

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
        return polygon_area_mm2(pts)

    def to_list(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self._items.values()]
