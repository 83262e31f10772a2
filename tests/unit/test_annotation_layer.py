"""Patient-space annotation maths (issue 7): LPS <-> view pixels in every plane, what a slice shows of
landmarks, trajectories and planes, and the needle-plan numbers. No Qt."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.annotations.model import AnnotationDocument
from viewers.annotation_layer import (
    AnnotationContext,
    SliceGeometry,
    clip_line_to_rect,
    plane_cut,
    plane_from_points,
    plane_points,
    project,
    project_all,
    segment_crossing,
    slab_interval,
    trajectory_metrics,
)
from viewers.dicom.volume import Volume
from viewers.reslice import Plane

SHAPE = (20, 48, 40)  # z, y, x
SPACING = (0.7, 0.9, 2.5)  # anisotropic: x, y, z in mm


def rotation(axis: tuple[float, float, float], degrees: float) -> np.ndarray:
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = math.radians(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * (k @ k)


def oblique_volume() -> Volume:
    """Anisotropic voxels, an origin far from zero and a tilted gantry (rows/columns not on LPS axes)."""
    direction = rotation((1.0, 0.3, 0.2), 17.0)
    return Volume(np.zeros(SHAPE, np.int16), SPACING, (-123.4, 56.7, -890.1), direction)


def axial_volume() -> Volume:
    return Volume(np.zeros(SHAPE, np.int16), SPACING, (-20.0, -30.0, 100.0), np.eye(3))


def centre_of(volume: Volume) -> np.ndarray:
    nz, ny, nx = volume.array.shape
    return volume.index_to_lps([(nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2])


class _Ann:
    def __init__(self, kind: str, points: list[tuple[float, ...]], text: str = "", ident: str = "a1") -> None:
        self.id, self.kind, self.space, self.points = ident, kind, "patient", points
        self.colour, self.text, self.study_uid = "#ff8800", text, ""


@pytest.mark.parametrize("make", [oblique_volume, axial_volume])
def test_lps_round_trips_between_axial_coronal_and_sagittal_within_0_01_mm(make) -> None:  # type: ignore[no-untyped-def]
    volume = make()
    rng = np.random.default_rng(7)
    nz, ny, nx = volume.array.shape
    for _ in range(40):
        ijk = rng.uniform([0, 0, 0], [nx - 1, ny - 1, nz - 1])
        point = volume.index_to_lps(ijk.tolist())
        seen = {}
        for plane in Plane:
            mapping_slice = SliceGeometry.of(volume, plane, 0)
            # the slice that holds the point, then back from its view pixel to patient space
            slice_index = round(mapping_slice.lps_to_view(point)[2] / mapping_slice.mapping.slice_spacing)
            geometry = SliceGeometry.of(volume, plane, slice_index)
            x, y, distance = geometry.lps_to_view(point)
            assert abs(distance) <= geometry.half_thickness_mm + 1e-9
            assert geometry.contains(point)
            back = geometry.view_to_lps(x, y) + distance * geometry.normal
            np.testing.assert_allclose(back, point, atol=0.01)
            seen[plane] = (geometry, x, y)
        # a point picked in one plane lands on the same patient position in the other two
        axial, ax, ay = seen[Plane.AXIAL]
        picked = axial.view_to_lps(ax, ay)
        for plane in (Plane.CORONAL, Plane.SAGITTAL):
            geometry, _x, _y = seen[plane]
            px, py, d = geometry.lps_to_view(picked)
            np.testing.assert_allclose(geometry.view_to_lps(px, py) + d * geometry.normal, picked, atol=0.01)


def test_views_of_a_plain_axial_volume_put_points_at_the_expected_pixels() -> None:
    volume = axial_volume()
    point = volume.index_to_lps([10, 20, 5])  # i (x, column), j (y, row), k (slice)
    axial = SliceGeometry.of(volume, Plane.AXIAL, 5)
    coronal = SliceGeometry.of(volume, Plane.CORONAL, 20)
    sagittal = SliceGeometry.of(volume, Plane.SAGITTAL, 10)
    assert axial.lps_to_view(point) == pytest.approx((10.5, 20.5, 0.0))
    # coronal: columns along x, rows head (top) to feet: slice 5 of 20 is row 14 from the top
    assert coronal.lps_to_view(point) == pytest.approx((10.5, 14.5, 0.0))
    # sagittal: anterior on the left (y runs right), head at the top
    assert sagittal.lps_to_view(point) == pytest.approx((20.5, 14.5, 0.0))
    # a point 1 mm beyond the axial slice is still in it (2.5 mm slices), 1.5 mm is not
    up = np.array([0.0, 0.0, 1.0])
    assert axial.contains(point + 1.0 * up) and not axial.contains(point + 1.5 * up)
    assert axial.distance_mm(point + 1.5 * up) == pytest.approx(1.5)


def test_a_landmark_shows_only_in_the_slices_that_hold_it() -> None:
    volume = oblique_volume()
    point = tuple(volume.index_to_lps([12.0, 30.0, 7.2]).tolist())
    landmark = _Ann("landmark", [point])
    shown = [k for k in range(SHAPE[0]) if project(landmark, SliceGeometry.of(volume, Plane.AXIAL, k))]
    assert shown == [7]
    projection = project(landmark, SliceGeometry.of(volume, Plane.AXIAL, 7))
    assert projection is not None and projection.markers[0].role == "landmark"
    assert (projection.markers[0].x, projection.markers[0].y) == pytest.approx((12.5, 30.5))
    assert projection.markers[0].distance_mm == pytest.approx(0.2 * SPACING[2])
    # other kinds and spaces are not ours
    video = _Ann("arrow", [(0.1, 0.2), (0.3, 0.4)])
    video.space = "video"
    assert project(video, SliceGeometry.of(volume, Plane.AXIAL, 7)) is None


def test_trajectory_crossing_depth_and_remaining_distance() -> None:
    volume = axial_volume()
    entry = volume.index_to_lps([5, 5, 2])
    target = volume.index_to_lps([25, 35, 14])
    length = float(np.linalg.norm(target - entry))
    geometry = SliceGeometry.of(volume, Plane.AXIAL, 8)  # halfway in k
    crossing = segment_crossing(geometry, entry, target)
    assert crossing is not None
    assert (crossing.x, crossing.y) == pytest.approx((15.5, 20.5))
    assert crossing.depth_mm == pytest.approx(length / 2)
    assert crossing.remaining_mm == pytest.approx(length / 2)
    dz = 12 * SPACING[2]
    assert crossing.angle_to_slice_deg == pytest.approx(math.degrees(math.asin(dz / length)))
    # slices beyond the target are not crossed; the target's own slice shows the target marker
    assert segment_crossing(SliceGeometry.of(volume, Plane.AXIAL, 16), entry, target) is None
    needle = _Ann("trajectory", [tuple(entry), tuple(target)])
    at_target = project(needle, SliceGeometry.of(volume, Plane.AXIAL, 14))
    assert at_target is not None
    assert {m.role for m in at_target.markers} >= {"target", "crossing"}
    assert "entry" not in {m.role for m in at_target.markers}
    path = [s for s in at_target.segments if s.role == "path"]
    shadow = [s for s in at_target.segments if s.role == "shadow"]
    assert len(path) == 1 and len(shadow) == 1
    assert path[0].length_px < shadow[0].length_px  # only the part within the slab is solid
    assert project(needle, SliceGeometry.of(volume, Plane.AXIAL, 18)) is None


def test_trajectory_metrics_length_and_angles() -> None:
    metrics = trajectory_metrics((0, 0, 0), (30, 0, 40))
    assert metrics.length_mm == pytest.approx(50.0)
    assert metrics.direction == pytest.approx((0.6, 0.0, 0.8))
    assert metrics.angle_to_axial_deg == pytest.approx(math.degrees(math.asin(0.8)))
    assert metrics.angle_to_sagittal_deg == pytest.approx(math.degrees(math.asin(0.6)))
    assert metrics.angle_to_coronal_deg == pytest.approx(0.0)
    assert trajectory_metrics((1, 2, 3), (1, 2, 3)).length_mm == 0.0


def test_slab_interval() -> None:
    assert slab_interval(-4.0, 4.0, 1.0) == pytest.approx((0.375, 0.625))
    assert slab_interval(0.5, 0.5, 1.0) == (0.0, 1.0)  # parallel, inside
    assert slab_interval(2.0, 2.0, 1.0) is None  # parallel, outside
    assert slab_interval(2.0, 5.0, 1.0) is None
    assert slab_interval(0.0, 10.0, 1.0) == pytest.approx((0.0, 0.1))


def test_plane_cuts_slices_along_the_right_line() -> None:
    volume = axial_volume()
    centre = centre_of(volume)
    # a sagittal-like plane (normal along x) through the centre cuts every axial slice along a column
    origin, normal = plane_from_points(plane_points(centre, (1.0, 0.0, 0.0)))
    np.testing.assert_allclose(normal, (1, 0, 0), atol=1e-9)
    axial = SliceGeometry.of(volume, Plane.AXIAL, 3)
    cut = plane_cut(axial, origin, normal)
    assert cut is not None and cut.segment is not None and not cut.coincident
    (x0, y0), (x1, y1) = cut.segment
    assert x0 == pytest.approx(20.0) and x1 == pytest.approx(20.0)  # the column through the centre
    assert sorted((y0, y1)) == pytest.approx([0.0, 48.0])  # top to bottom of the view
    assert cut.angle_deg == pytest.approx(90.0)
    # the same plane seen in a sagittal slice through it: coincident; one far off: nothing
    sag_index = round(SliceGeometry.of(volume, Plane.SAGITTAL, 0).lps_to_view(centre)[2] / SPACING[0])
    through = plane_cut(SliceGeometry.of(volume, Plane.SAGITTAL, sag_index), origin, normal)
    assert through is not None and through.coincident
    assert plane_cut(SliceGeometry.of(volume, Plane.SAGITTAL, 0), origin, normal) is None
    # an oblique plane (45° about x) cuts the coronal slices along a diagonal
    tilted = plane_points(centre, (0.0, 1.0, 1.0))
    coronal = SliceGeometry.of(volume, Plane.CORONAL, 24)
    projection = project(_Ann("plane", tilted), coronal)
    assert projection is not None and len(projection.segments) == 1
    seg = projection.segments[0]
    a = coronal.view_to_lps(seg.x0, seg.y0)
    b = coronal.view_to_lps(seg.x1, seg.y1)
    for p in (a, b):  # both ends lie on the plane
        assert float((p - centre) @ (np.array([0, 1, 1]) / math.sqrt(2))) == pytest.approx(0.0, abs=1e-6)


def test_clip_line_to_rect() -> None:
    assert clip_line_to_rect(1.0, -1.0, 0.0, 10.0, 10.0) == ((0.0, 0.0), (10.0, 10.0))  # the diagonal
    assert clip_line_to_rect(1.0, 0.0, -3.0, 10.0, 5.0) == ((3.0, 0.0), (3.0, 5.0))
    assert clip_line_to_rect(1.0, 0.0, -30.0, 10.0, 5.0) is None  # outside


def test_degenerate_planes_are_refused() -> None:
    with pytest.raises(ValueError, match="normal is zero"):
        plane_from_points([(0, 0, 0), (1, 1, 1), (2, 2, 2)])
    with pytest.raises(ValueError, match="normal is zero"):
        plane_points((0, 0, 0), (0, 0, 0))


def test_context_adds_to_the_shared_document_and_filters_what_views_show() -> None:
    doc = AnnotationDocument("site-a", "dr.chen")
    context = AnnotationContext(doc)
    context.set_series("1.2.3", "1.2.3.4")
    calls: list[int] = []

    def seen() -> None:
        calls.append(1)

    context.connect(seen)
    landmark = context.add_landmark(np.array([1.234, -5.678, 90.0]))
    assert landmark.kind == "landmark" and landmark.points == ((1.23, -5.68, 90.0),)
    assert landmark.study_uid == "1.2.3" and landmark.series_uid == "1.2.3.4"
    trajectory = context.add_trajectory((0, 0, 0), (10, 20, 30), text="biopsy")
    plane = context.add_plane([(0, 0, 0), (0, 0, 1)])  # point and normal: stored as three points
    assert len(plane.points) == 3
    assert plane_from_points(plane.points)[1] == pytest.approx((0, 0, 1))
    label = context.add_label((1, 1, 1), "tumour")
    assert [a.kind for a in context.annotations()] == ["landmark", "trajectory", "plane", "label"]
    assert len(calls) >= 4
    doc.add("arrow", "video", [(0.1, 0.1), (0.2, 0.2)])  # video annotations are not ours
    assert len(context.annotations()) == 4
    # the pending entry of a trajectory planned across slices
    context.set_pending_entry((1, 2, 3))
    assert context.pending_entry == (1.0, 2.0, 3.0)
    context.add_trajectory(context.pending_entry, (4, 5, 6))
    assert context.pending_entry is None
    # another study's annotations hide only when asked to be strict
    other = AnnotationDocument("site-b", "dr.li")
    sent: list[dict[str, object]] = []
    other.op_emitted.connect(sent.append)
    other.add("landmark", "patient", [(0, 0, 0)], study_uid="9.9.9")
    assert all(doc.apply_remote(op) for op in sent)
    assert len(context.annotations()) == 6
    context.strict_study = True
    assert len(context.annotations()) == 5
    context.disconnect(seen)
    before = len(calls)
    doc.delete(label.id)
    assert len(calls) == before
    assert trajectory.text == "biopsy"
    geometry = SliceGeometry.of(axial_volume(), Plane.AXIAL, 0)
    assert isinstance(project_all(context.annotations(), geometry), list)

