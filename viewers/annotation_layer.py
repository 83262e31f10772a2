"""Patient-space annotations (issue 7) seen from one slice of one view. Qt-free.

Landmarks, trajectories (entry and target), planes and labels are stored in patient coordinates
(LPS, mm) in the consult's shared annotation document, so they stay anchored in every view and at
both sites. This module answers, for one slice of a 2D or MPR view, which of them lie in the slice
(within half a slice thickness), where on screen, and the numbers a needle plan needs: where a
trajectory crosses the slice, its depth there, its length and its angles. View pixels are the screen
image pixels of :mod:`viewers.reslice` (pixel centres at +0.5), so the Qt views only map them to
widget coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.observable import Event
from viewers.reslice import Plane, PlaneMapping, index_to_screen, plane_mapping, screen_to_index

if TYPE_CHECKING:
    from viewers.dicom.volume import Volume

Point = tuple[float, float, float]
Vector = Sequence[float] | np.ndarray

LANDMARK = "landmark"
TRAJECTORY = "trajectory"
PLANE = "plane"
LABEL = "label"
PATIENT_KINDS = (LANDMARK, TRAJECTORY, PLANE, LABEL)
PATIENT_SPACE = "patient"
EPS_MM = 1e-6


def _vec(value: Vector) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).reshape(3)


def _point(value: np.ndarray) -> Point:
    return (float(value[0]), float(value[1]), float(value[2]))


# one slice ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SliceGeometry:
    """Slice ``index`` of ``mapping``'s plane through ``volume``: patient space <-> view pixels."""

    volume: Volume
    mapping: PlaneMapping
    index: int

    @classmethod
    def of(cls, volume: Volume, plane: Plane, index: int) -> SliceGeometry:
        return cls(volume, plane_mapping(volume, plane), int(index))

    @property
    def half_thickness_mm(self) -> float:
        return self.mapping.slice_spacing / 2.0

    @property
    def normal(self) -> np.ndarray:
        """Unit LPS normal of the slice, towards increasing slice index."""
        n = _vec(self.mapping.normal)
        return n / max(float(np.linalg.norm(n)), EPS_MM)

    def view_to_lps(self, x: float, y: float) -> np.ndarray:
        ijk = screen_to_index(self.mapping, self.index, x, y)
        return self.volume.index_to_lps(ijk.tolist())

    def lps_to_view(self, point: Vector) -> tuple[float, float, float]:
        """(x, y, signed distance from the slice's mid-plane in mm) of an LPS point."""
        ijk = self.volume.lps_to_index(_vec(point).tolist())
        slice_coord, x, y = index_to_screen(self.mapping, ijk)
        return x, y, (slice_coord - self.index) * self.mapping.slice_spacing

    def distance_mm(self, point: Vector) -> float:
        return self.lps_to_view(point)[2]

    def contains(self, point: Vector) -> bool:
        """Whether the point lies in this slice: within half a slice thickness of its mid-plane."""
        return abs(self.distance_mm(point)) <= self.half_thickness_mm + EPS_MM

    def affine(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(LPS of view pixel (0, 0), LPS step per pixel right, per pixel down) on the mid-plane."""
        origin = self.view_to_lps(0.0, 0.0)
        return origin, self.view_to_lps(1.0, 0.0) - origin, self.view_to_lps(0.0, 1.0) - origin

    @property
    def size(self) -> tuple[float, float]:
        """The view image's (width, height) in pixels."""
        rows, cols = self.mapping.shape
        return float(cols), float(rows)


# trajectories ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrajectoryMetrics:
    length_mm: float
    direction: Point  # unit LPS vector from entry to target
    angle_to_axial_deg: float  # 0: lies in an axial plane; 90: head-foot
    angle_to_coronal_deg: float
    angle_to_sagittal_deg: float


def angle_to_plane_deg(direction: Vector, normal: Vector) -> float:
    """Angle between a line and a plane (0 when the line lies in it, 90 along its normal)."""
    d, n = _vec(direction), _vec(normal)
    nd, nn = float(np.linalg.norm(d)), float(np.linalg.norm(n))
    if nd < EPS_MM or nn < EPS_MM:
        return 0.0
    return math.degrees(math.asin(min(1.0, abs(float(d @ n)) / (nd * nn))))


def trajectory_metrics(entry: Vector, target: Vector) -> TrajectoryMetrics:
    a, b = _vec(entry), _vec(target)
    delta = b - a
    length = float(np.linalg.norm(delta))
    unit = delta / length if length > EPS_MM else np.zeros(3)
    return TrajectoryMetrics(
        length_mm=length,
        direction=_point(unit),
        angle_to_axial_deg=angle_to_plane_deg(unit, (0, 0, 1)),
        angle_to_coronal_deg=angle_to_plane_deg(unit, (0, 1, 0)),
        angle_to_sagittal_deg=angle_to_plane_deg(unit, (1, 0, 0)),
    )


@dataclass(frozen=True)
class Crossing:
    """Where a trajectory passes through a slice's mid-plane."""

    point: Point  # LPS
    x: float  # view pixels
    y: float
    depth_mm: float  # from the entry along the path
    remaining_mm: float  # from here to the target
    angle_to_slice_deg: float


def segment_crossing(
    geometry: SliceGeometry, entry: Vector, target: Vector
) -> Crossing | None:
    """The point where the segment entry-target crosses the slice's mid-plane, if it does."""
    a, b = _vec(entry), _vec(target)
    da, db = geometry.distance_mm(a), geometry.distance_mm(b)
    if (da > 0 and db > 0) or (da < 0 and db < 0) or abs(da - db) < EPS_MM:
        return None
    t = da / (da - db)
    p = a + t * (b - a)
    x, y, _d = geometry.lps_to_view(p)
    length = float(np.linalg.norm(b - a))
    angle = angle_to_plane_deg(b - a, geometry.normal)
    return Crossing(_point(p), x, y, t * length, (1.0 - t) * length, angle)


def slab_interval(da: float, db: float, half: float) -> tuple[float, float] | None:
    """Parameters (t0, t1) in [0, 1] of the part of a segment within ``half`` mm of a plane.

    ``da`` and ``db`` are the signed distances of its ends.
    """
    if abs(db - da) < EPS_MM:
        return (0.0, 1.0) if abs(da) <= half + EPS_MM else None
    t1, t2 = (-half - da) / (db - da), (half - da) / (db - da)
    lo, hi = max(0.0, min(t1, t2)), min(1.0, max(t1, t2))
    return (lo, hi) if lo <= hi + 1e-12 else None


# planes ------------------------------------------------------------------------------------------
def plane_from_points(points: Sequence[Vector]) -> tuple[np.ndarray, np.ndarray]:
    """(point, unit normal) of a plane given as three points on it (the first its centre), or as
    [point, normal]."""
    pts = [_vec(p) for p in points]
    if len(pts) == 2:
        origin, normal = pts
    elif len(pts) == 3:
        origin = pts[0]
        normal = np.cross(pts[1] - pts[0], pts[2] - pts[0])
    else:
        raise ValueError(f"a plane needs a point and a normal, or three points; got {len(pts)} points")
    norm = float(np.linalg.norm(normal))
    if norm < EPS_MM:
        raise ValueError("the plane's normal is zero (three points on one line?)")
    return origin, normal / norm


def plane_points(centre: Vector, normal: Vector, half_size_mm: float = 50.0) -> list[Point]:
    """Three points on the plane through ``centre`` with ``normal``, as the document stores a plane:
    the centre and two in-plane points ``half_size_mm`` away, ordered so that their cross product
    points along ``normal``."""
    c, n = _vec(centre), _vec(normal)
    norm = float(np.linalg.norm(n))
    if norm < EPS_MM:
        raise ValueError("the plane's normal is zero")
    n = n / norm
    helper = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(helper, n)
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    return [_point(c), _point(c + half_size_mm * u), _point(c + half_size_mm * v)]


def plane_frame(points: Sequence[Vector]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(centre, in-plane unit u, in-plane unit v, half size in mm) of a stored plane, for drawing it
    as a square."""
    origin, normal = plane_from_points(points)
    pts = [_vec(p) for p in points]
    if len(pts) == 3 and np.linalg.norm(pts[1] - pts[0]) > EPS_MM:
        u = pts[1] - pts[0]
        half = max(float(np.linalg.norm(pts[1] - pts[0])), float(np.linalg.norm(pts[2] - pts[0])))
    else:
        helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        u = np.cross(helper, normal)
        half = 50.0
    u = u / np.linalg.norm(u)
    v = np.cross(normal, u)
    return origin, u, v, max(half, 5.0)


def clip_line_to_rect(
    a: float, b: float, c: float, width: float, height: float
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The part of the line a*x + b*y + c = 0 inside [0, width] x [0, height], as two end points."""
    hits: list[tuple[float, float]] = []
    if abs(b) > 1e-12:
        for x in (0.0, width):
            y = -(a * x + c) / b
            if -1e-9 <= y <= height + 1e-9:
                hits.append((x, min(max(y, 0.0), height)))
    if abs(a) > 1e-12:
        for y in (0.0, height):
            x = -(b * y + c) / a
            if -1e-9 <= x <= width + 1e-9:
                hits.append((min(max(x, 0.0), width), y))
    if len(hits) < 2:
        return None
    # the two hits farthest apart (a corner hit is found twice)
    best = max(
        ((p, q) for i, p in enumerate(hits) for q in hits[i + 1 :]),
        key=lambda pq: math.hypot(pq[0][0] - pq[1][0], pq[0][1] - pq[1][1]),
    )
    if math.hypot(best[0][0] - best[1][0], best[0][1] - best[1][1]) < 1e-9:
        return None
    return best


@dataclass(frozen=True)
class PlaneCut:
    """How an annotation plane meets a slice: along a line, or the slice lies in the plane."""

    segment: tuple[tuple[float, float], tuple[float, float]] | None  # view pixels
    coincident: bool
    angle_deg: float  # between the annotation plane and the slice


def plane_cut(geometry: SliceGeometry, origin: Vector, normal: Vector) -> PlaneCut | None:
    p0, n = _vec(origin), _vec(normal)
    n = n / max(float(np.linalg.norm(n)), EPS_MM)
    o, u, v = geometry.affine()
    a, b, c = float(n @ u), float(n @ v), float(n @ (o - p0))
    cos = min(1.0, abs(float(n @ geometry.normal)))
    angle = math.degrees(math.acos(cos))
    width, height = geometry.size
    if math.hypot(a, b) < 1e-9:  # parallel: the same signed distance everywhere
        if abs(c) <= geometry.half_thickness_mm + EPS_MM:
            return PlaneCut(None, True, 0.0)
        return None
    segment = clip_line_to_rect(a, b, c, width, height)
    return PlaneCut(segment, False, angle) if segment is not None else None


# what a slice shows ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    role: str  # "landmark", "label", "entry", "target", "crossing", "pending"
    distance_mm: float = 0.0


@dataclass(frozen=True)
class Segment:
    x0: float
    y0: float
    x1: float
    y1: float
    role: str  # "path": in the slice; "shadow": projected from outside it; "plane": a plane's cut

    @property
    def length_px(self) -> float:
        return math.hypot(self.x1 - self.x0, self.y1 - self.y0)


@dataclass(frozen=True)
class Projection:
    """One annotation as one slice shows it, in view pixels."""

    annotation_id: str
    kind: str
    colour: str
    text: str
    markers: tuple[Marker, ...]
    segments: tuple[Segment, ...]
    crossing: Crossing | None = None
    metrics: TrajectoryMetrics | None = None
    plane_coincident: bool = False


def _field(annotation: Any, name: str, default: Any = "") -> Any:
    value = getattr(annotation, name, default)
    return default if value is None else value


def kind_of(annotation: Any) -> str:
    kind = _field(annotation, "kind")
    return str(getattr(kind, "value", kind))


def is_patient_annotation(annotation: Any) -> bool:
    space = _field(annotation, "space")
    return str(getattr(space, "value", space)) == PATIENT_SPACE and kind_of(annotation) in PATIENT_KINDS


def colour_of(annotation: Any, fallback: str = "#4dd0e1") -> str:
    colour = _field(annotation, "colour", fallback)
    if isinstance(colour, str) and colour:
        return colour
    if isinstance(colour, Sequence) and len(colour) >= 3:
        r, g, b = (int(float(v) * 255) if isinstance(v, float) and v <= 1.0 else int(v) for v in colour[:3])
        return f"#{r:02x}{g:02x}{b:02x}"
    return fallback


def project(annotation: Any, geometry: SliceGeometry) -> Projection | None:
    """What of ``annotation`` slice ``geometry`` shows, or None when nothing of it lies there.

    Landmarks and labels show when their point lies in the slice; a trajectory shows its part in the
    slice as a path, the rest projected as a shadow, its crossing point, and entry and target when
    they lie in the slice; a plane shows the line where it cuts the slice.
    """
    if not is_patient_annotation(annotation):
        return None
    kind = kind_of(annotation)
    points = [_vec(p) for p in _field(annotation, "points", [])]
    ident, colour = str(_field(annotation, "id")), colour_of(annotation)
    text = str(_field(annotation, "text"))
    half = geometry.half_thickness_mm
    if kind in (LANDMARK, LABEL):
        if not points:
            return None
        x, y, d = geometry.lps_to_view(points[0])
        if abs(d) > half + EPS_MM:
            return None
        return Projection(ident, kind, colour, text, (Marker(x, y, kind, d),), ())
    if kind == TRAJECTORY:
        if len(points) < 2:
            return None
        entry, target = points[0], points[1]
        xa, ya, da = geometry.lps_to_view(entry)
        xb, yb, db = geometry.lps_to_view(target)
        interval = slab_interval(da, db, half)
        crossing = segment_crossing(geometry, entry, target)
        if interval is None and crossing is None:
            return None
        segments = [Segment(xa, ya, xb, yb, "shadow")]
        if interval is not None:
            t0, t1 = interval
            dx, dy = xb - xa, yb - ya
            segments.append(Segment(xa + t0 * dx, ya + t0 * dy, xa + t1 * dx, ya + t1 * dy, "path"))
        markers = [Marker(x, y, role, d) for x, y, d, role in ((xa, ya, da, "entry"), (xb, yb, db, "target"))]
        markers = [m for m in markers if abs(m.distance_mm) <= half + EPS_MM]
        if crossing is not None:
            markers.append(Marker(crossing.x, crossing.y, "crossing"))
        metrics = trajectory_metrics(entry, target)
        return Projection(ident, kind, colour, text, tuple(markers), tuple(segments), crossing, metrics)
    if kind == PLANE:
        try:
            origin, normal = plane_from_points(points)
        except ValueError:
            return None
        cut = plane_cut(geometry, origin, normal)
        if cut is None:
            return None
        segs = () if cut.segment is None else (Segment(*cut.segment[0], *cut.segment[1], "plane"),)
        return Projection(ident, kind, colour, text, (), segs, plane_coincident=cut.coincident)
    return None


def project_all(annotations: Iterable[Any], geometry: SliceGeometry) -> list[Projection]:
    return [p for a in annotations if (p := project(a, geometry)) is not None]


# the state the views share -----------------------------------------------------------------------
class AnnotationContext:
    """What the 2D, MPR and 3D views of one imaging panel share about patient-space annotations.

    The document (the consult's shared annotation document, or a local one), the study and series
    new annotations belong to, and a trajectory being planned across views: its entry is placed in
    one slice, its target in another (or in another view). Qt-free; the views observe ``changed``.
    """

    def __init__(self, document: Any, *, strict_study: bool = False) -> None:
        self.document = document
        self.study_uid = ""
        self.series_uid = ""
        self.pending_entry: Point | None = None
        self.strict_study = strict_study
        self.changed: Event[[]] = Event()  # pending entry or series changed (the document has its own)
        # document events carry arguments the views do not need: one stable wrapper per callback
        self._wrappers: dict[Callable[[], object], Callable[..., None]] = {}

    def set_series(self, study_uid: str, series_uid: str) -> None:
        self.study_uid, self.series_uid = study_uid or "", series_uid or ""
        self.pending_entry = None
        self.changed.emit()

    def shown(self, annotation: Any) -> bool:
        """Patient-space annotations of our kinds; with ``strict_study``, only those of this study.

        Not strict by default: the two sites of a demo, and a trainee's de-identified copy, hold the
        same pictures under different study UIDs, and the consult discusses one study at a time.
        """
        if not is_patient_annotation(annotation):
            return False
        if not self.strict_study:
            return True
        study = str(_field(annotation, "study_uid"))
        return not (study and self.study_uid and study != self.study_uid)

    def annotations(self) -> list[Any]:
        return [a for a in self.document.annotations if self.shown(a)]

    def _add(self, kind: str, points: Sequence[Vector], **fields: Any) -> Any:
        pts = [_point(_vec(p)) for p in points]
        if self.study_uid:
            fields.setdefault("study_uid", self.study_uid)
        if self.series_uid:
            fields.setdefault("series_uid", self.series_uid)
        return self.document.add(kind, PATIENT_SPACE, pts, **fields)

    def add_landmark(self, point: Vector, text: str = "") -> Any:
        return self._add(LANDMARK, [point], **({"text": text} if text else {}))

    def add_label(self, point: Vector, text: str) -> Any:
        return self._add(LABEL, [point], text=text)

    def add_trajectory(self, entry: Vector, target: Vector, text: str = "") -> Any:
        self.set_pending_entry(None)
        return self._add(TRAJECTORY, [entry, target], **({"text": text} if text else {}))

    def add_plane(self, points: Sequence[Vector], text: str = "") -> Any:
        """A plane from three points on it (the first its centre), or from [centre, normal]."""
        origin, normal = plane_from_points(points)  # refuses a degenerate plane before it is shared
        stored = list(points) if len(points) == 3 else plane_points(origin, normal)
        return self._add(PLANE, stored, **({"text": text} if text else {}))

    def set_pending_entry(self, point: Vector | None) -> None:
        self.pending_entry = None if point is None else _point(_vec(point))
        self.changed.emit()

    def connect(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` whenever what the views show may have changed."""
        self.changed.connect(callback)
        if callback not in self._wrappers:

            def wrapper(*_args: Any, **_kwargs: Any) -> None:
                callback()

            self._wrappers[callback] = wrapper
            self.document.changed.connect(wrapper)

    def disconnect(self, callback: Callable[[], object]) -> None:
        self.changed.disconnect(callback)
        wrapper = self._wrappers.pop(callback, None)
        if wrapper is not None:
            self.document.changed.disconnect(wrapper)
