"""Landmarks, trajectories, planes and labels in the imaging views (issue 7): placed with the mouse in
2D, shown at the right pixels in the other MPR planes, following remote operations on the shared
document, and in the 3D VTK scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from core.annotations.model import AnnotationDocument
from viewers.annotation_layer import AnnotationContext, plane_points
from viewers.dicom.synthetic import phantom, write_ct_series
from viewers.dicom.volume import Volume
from viewers.imaging_panel import QtImagingPanel, ViewMode
from viewers.mpr_view import QtMprView
from viewers.reslice import Plane
from viewers.slice_view import QtSliceView, Tool

pytestmark = pytest.mark.gui

SPACING = (0.8, 0.8, 2.5)


def ct_volume() -> Volume:
    return Volume(phantom((24, 64, 64)), SPACING, (-25.6, -25.6, 40.0), np.eye(3))


def widget_point(view: QtSliceView, x: float, y: float) -> QPoint:
    return view.image_to_widget(QPointF(x, y)).toPoint()


def make_mpr(qtbot, context: AnnotationContext) -> QtMprView:  # type: ignore[no-untyped-def]
    mpr = QtMprView()
    qtbot.addWidget(mpr)
    mpr.resize(900, 900)
    mpr.set_volume(ct_volume())
    mpr.attach_annotations(context)
    mpr.show()
    qtbot.waitExposed(mpr)
    return mpr


def view_pixel(view: QtSliceView, point: tuple[float, ...]) -> tuple[float, float, float]:
    """(x, y, slice coordinate) of an LPS point in ``view``'s image pixels."""
    slice_coord, pos = view.lps_to_image(np.asarray(point))
    return pos.x(), pos.y(), slice_coord


def test_landmark_and_trajectory_placed_in_2d_show_in_the_other_planes(qtbot) -> None:  # type: ignore[no-untyped-def]
    doc = AnnotationDocument("site-a", "dr.chen")
    context = AnnotationContext(doc)
    mpr = make_mpr(qtbot, context)
    axial, coronal, sagittal = (mpr.views[p] for p in Plane)
    volume = axial.volume
    assert volume is not None and mpr.crosshair is not None
    crosshair = mpr.crosshair.copy()
    try:
        # a landmark: one click in the axial view on slice 6
        mpr.set_tool(Tool.LANDMARK)
        axial.set_slice(6)
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=widget_point(axial, 20.5, 40.5))
        (landmark,) = doc.annotations
        assert landmark.kind == "landmark" and landmark.author == "dr.chen"
        np.testing.assert_allclose(volume.lps_to_index(list(landmark.points[0])), [20, 40, 6], atol=0.05)
        # the other planes show it once paged to its slices, at the pixel of the same voxel
        coronal.set_slice(40)
        sagittal.set_slice(20)
        (on_coronal,) = coronal.annotation_overlay.projections()
        # coronal rows run head to feet: slice 6 of 24 is row 17 from the top
        assert (on_coronal.markers[0].x, on_coronal.markers[0].y) == pytest.approx((20.5, 17.5), abs=0.05)
        (on_sagittal,) = sagittal.annotation_overlay.projections()
        assert (on_sagittal.markers[0].x, on_sagittal.markers[0].y) == pytest.approx((40.5, 17.5), abs=0.05)
        coronal.set_slice(45)
        assert coronal.annotation_overlay.projections() == []  # not in that slice

        # a trajectory: a click sets the entry on axial slice 4, a click on slice 14 the target
        mpr.set_tool(Tool.TRAJECTORY)
        axial.set_slice(4)
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=widget_point(axial, 10.5, 10.5))
        assert context.pending_entry is not None and len(doc.annotations) == 1
        axial.set_slice(14)
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=widget_point(axial, 30.5, 50.5))
        assert context.pending_entry is None
        trajectory = doc.annotations[-1]
        assert trajectory.kind == "trajectory"
        entry, target = (volume.lps_to_index(list(p)) for p in trajectory.points)
        np.testing.assert_allclose(entry, [10, 10, 4], atol=0.05)
        np.testing.assert_allclose(target, [30, 50, 14], atol=0.05)
        # it crosses axial slice 9 halfway, at the middle pixel, with half its length to go
        axial.set_slice(9)
        crossing = next(p for p in axial.annotation_overlay.projections() if p.kind == "trajectory").crossing
        assert crossing is not None
        assert (crossing.x, crossing.y) == pytest.approx((20.5, 30.5), abs=0.05)
        length = float(np.linalg.norm(np.subtract(trajectory.points[1], trajectory.points[0])))
        assert crossing.remaining_mm == pytest.approx(length / 2, abs=0.05)
        # in the sagittal plane through the target, the target marker is at the target's pixel
        x, y, s = view_pixel(sagittal, trajectory.points[1])
        sagittal.set_slice(round(s))
        projection = next(p for p in sagittal.annotation_overlay.projections() if p.kind == "trajectory")
        (target_marker,) = [m for m in projection.markers if m.role == "target"]
        assert (target_marker.x, target_marker.y) == pytest.approx((x, y), abs=0.05)

        # dragged in one slice: entry at the press, target at the release
        coronal.set_slice(32)
        a, b = widget_point(coronal, 12.5, 8.5), widget_point(coronal, 50.5, 20.5)
        qtbot.mousePress(coronal, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(coronal, b)
        qtbot.mouseRelease(coronal, Qt.MouseButton.LeftButton, pos=b)
        dragged = doc.annotations[-1]
        assert dragged.kind == "trajectory"
        assert view_pixel(coronal, dragged.points[0])[:2] == pytest.approx((12.5, 8.5), abs=0.05)
        assert view_pixel(coronal, dragged.points[1])[:2] == pytest.approx((50.5, 20.5), abs=0.05)
        np.testing.assert_array_equal(mpr.crosshair, crosshair)  # the tool took the clicks, not the crosshair

        for view in mpr.views.values():
            view.repaint()  # every plane paints what it holds without error
        # undo removes our last shape from every view
        assert doc.undo()
        assert dragged.id not in {a.id for a in doc.annotations}
    finally:
        mpr.close_model()
        mpr.close_model()


def test_a_remote_operation_shows_up_and_labels_take_text(qtbot) -> None:  # type: ignore[no-untyped-def]
    here = AnnotationDocument("site-a", "dr.chen")
    there = AnnotationDocument("site-b", "dr.li")
    there.op_emitted.connect(here.apply_remote)  # the data channel, in-process
    context = AnnotationContext(here)
    mpr = make_mpr(qtbot, context)
    axial, coronal, _sagittal = (mpr.views[p] for p in Plane)
    volume = axial.volume
    assert volume is not None
    try:
        painted = axial.annotation_overlay
        point = volume.index_to_lps([32, 16, 12])
        there.add("landmark", "patient", [tuple(point.tolist())], text="L1")
        axial.set_slice(12)
        (remote,) = painted.projections()
        assert remote.text == "L1" and remote.colour == there.annotations[0].colour
        assert (remote.markers[0].x, remote.markers[0].y) == pytest.approx((32.5, 16.5), abs=0.05)
        # a plane from the other site cuts the coronal view along a horizontal line at its height
        there.add("plane", "patient", plane_points(point, (0.0, 0.0, 1.0)))
        coronal.set_slice(16)
        (plane,) = [p for p in coronal.annotation_overlay.projections() if p.kind == "plane"]
        (segment,) = plane.segments
        assert segment.y0 == pytest.approx(11.5, abs=0.05) and segment.y1 == pytest.approx(segment.y0)
        assert sorted((segment.x0, segment.x1)) == pytest.approx([0.0, 64.0])
        # their delete removes the landmark here too; the axial slice lies in the plane
        there.delete(there.annotations[0].id)
        (in_plane,) = painted.projections()
        assert in_plane.kind == "plane" and in_plane.plane_coincident
        axial.repaint()

        # a label: the click asks for its text; Cancel adds nothing, OK adds it
        mpr.set_tool(Tool.LABEL)
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=widget_point(axial, 40.5, 30.5))
        dialog = axial.annotation_overlay.label_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.setTextValue("tumour margin")
        dialog.accept()
        qtbot.waitUntil(lambda: any(a.kind == "label" for a in here.annotations))
        (label,) = [a for a in here.annotations if a.kind == "label"]
        assert label.text == "tumour margin"
        (shown,) = [p for p in axial.annotation_overlay.projections() if p.kind == "label"]
        assert (shown.markers[0].x, shown.markers[0].y) == pytest.approx((40.5, 30.5), abs=0.05)
        # Escape cancels a trajectory whose target is not placed yet
        mpr.set_tool(Tool.TRAJECTORY)
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=widget_point(axial, 10.5, 10.5))
        assert context.pending_entry is not None
        axial.setFocus()
        qtbot.keyClick(axial, Qt.Key.Key_Escape)
        assert context.pending_entry is None
        # Ctrl+Z undoes our label (only ours: the other site's plane stays), Ctrl+Shift+Z redoes it
        ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
        qtbot.keyClick(axial, Qt.Key.Key_Z, ctrl)
        assert [a.kind for a in here.annotations] == ["plane"]
        qtbot.keyClick(axial, Qt.Key.Key_Z, ctrl | shift)
        assert [a.kind for a in here.annotations] == ["plane", "label"]
        # a plane: dragged along a line in the axial view, it stands perpendicular to that slice
        mpr.set_tool(Tool.PLANE)
        a, b = widget_point(axial, 10.5, 50.5), widget_point(axial, 50.5, 50.5)
        qtbot.mousePress(axial, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(axial, b)
        qtbot.mouseRelease(axial, Qt.MouseButton.LeftButton, pos=b)
        ours = here.annotations[-1]
        assert ours.kind == "plane" and ours.author == "dr.chen"
        (cut,) = [p for p in painted.projections() if p.kind == "plane" and p.annotation_id == ours.id]
        assert (cut.segments[0].y0, cut.segments[0].y1) == pytest.approx((50.5, 50.5), abs=0.05)
        coronal.set_slice(50)  # the coronal slice through row 50 lies in it
        assert any(p.plane_coincident for p in coronal.annotation_overlay.projections())
        sagittal = mpr.views[Plane.SAGITTAL]  # and it cuts every sagittal slice along column 50
        (seen,) = [p for p in sagittal.annotation_overlay.projections() if p.annotation_id == ours.id]
        assert (seen.segments[0].x0, seen.segments[0].x1) == pytest.approx((50.5, 50.5), abs=0.05)
    finally:
        mpr.close_model()


@pytest.fixture
def ct_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ct"
    write_ct_series(folder, shape=(12, 48, 48), spacing=(0.7, 0.8, 2.5))
    return folder


def test_panel_has_the_tools_and_attaches_the_consult_document(qtbot, ct_folder: Path) -> None:  # type: ignore[no-untyped-def]
    panel = QtImagingPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    try:
        names = {tool: act.text() for tool, act in panel.tool_actions.items()}
        assert (names[Tool.LANDMARK], names[Tool.TRAJECTORY], names[Tool.LABEL]) == (
            "Landmark",
            "Trajectory",
            "Label",
        )
        shared = AnnotationDocument("site-a", "dr.chen")
        context = panel.attach_annotations(shared)
        with qtbot.waitSignal(panel.sig_loaded, timeout=30_000):
            panel.load_paths([ct_folder])
        qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
        assert context.series_uid and context.study_uid
        panel.set_tool(Tool.LANDMARK)
        view = panel.slice_view
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=widget_point(view, 24.5, 24.5))
        (landmark,) = shared.annotations
        assert landmark.series_uid == context.series_uid and landmark.study_uid == context.study_uid
        panel.set_mode(ViewMode.MPR)
        axial = panel.mpr_view.views[Plane.AXIAL]
        axial.set_slice(view.index)
        assert len(axial.annotation_overlay.projections()) == 1
    finally:
        panel.close_model()


@pytest.mark.xvfb
def test_3d_scene_has_the_annotation_actors(qtbot) -> None:  # type: ignore[no-untyped-def]
    from viewers.volume_view import QtVolumeView

    doc = AnnotationDocument("site-a", "dr.chen")
    context = AnnotationContext(doc)
    view = QtVolumeView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    qtbot.waitExposed(view)
    try:
        volume = ct_volume()
        view.set_volume(volume)
        before = view.renderer.GetViewProps().GetNumberOfItems()
        view.attach_annotations(context)
        landmark = context.add_landmark(volume.index_to_lps([20, 20, 12]), text="L1")
        needle = context.add_trajectory(volume.index_to_lps([5, 32, 20]), volume.index_to_lps([40, 32, 6]))
        plane = context.add_plane(plane_points(volume.index_to_lps([32, 32, 12]), (0, 0, 1), 20.0))
        actors = view.annotation_actors
        # solid actors in the scene; their ghosts and the captions in the overlay layer on top
        assert len(actors.solid_props_for(landmark.id)) == 1 and len(actors.props_for(landmark.id)) == 3
        assert len(actors.solid_props_for(needle.id)) == 3  # tube, entry, target
        assert len(actors.props_for(needle.id)) == 7  # and three ghosts and the caption
        assert len(actors.solid_props_for(plane.id)) == 1
        props = view.renderer.GetViewProps()
        assert props.GetNumberOfItems() == before + 5
        assert actors.overlay.GetViewProps().GetNumberOfItems() == 2 + 4 + 1
        assert actors.overlay.GetActiveCamera() is view.renderer.GetActiveCamera()
        # the props sit where the document says, in patient coordinates
        tube = actors.solid_props_for(needle.id)[0]
        bounds = np.asarray(tube.GetBounds())
        entry, target = (np.asarray(p) for p in needle.points)
        low, high = np.minimum(entry, target), np.maximum(entry, target)
        np.testing.assert_allclose(bounds[0::2], low, atol=1.0)
        np.testing.assert_allclose(bounds[1::2], high, atol=1.0)
        frame = view.grab_frame()
        assert frame.shape[2] == 3
        # the red target sphere is drawn: some strongly red pixels
        red = (frame[:, :, 0] > 180) & (frame[:, :, 1] < 120) & (frame[:, :, 2] < 120)
        assert red.sum() > 5
        # with the Landmark tool, a click on the rendering places a landmark on what it shows there
        view.set_tool(Tool.LANDMARK)
        w, h = view.render_window.GetSize()
        picked = view.place_landmark_at(w / 2, h / 2)
        assert picked is not None and picked.kind == "landmark"
        ijk = np.round(volume.lps_to_index(list(picked.points[0]))).astype(int)
        assert all(0 <= ijk[a] < volume.array.shape[2 - a] for a in range(3))  # inside the volume
        assert view.place_landmark_at(2, 2) is None  # the background: nothing
        qtbot.mouseClick(view.vtk_widget, Qt.MouseButton.LeftButton, pos=QPoint(w // 2 + 10, h // 2))
        assert len([a for a in doc.annotations if a.kind == "landmark"]) == 3
        for extra in [a for a in doc.annotations if a.kind == "landmark" and a.id != landmark.id]:
            doc.delete(extra.id)
        view.set_tool(Tool.NAVIGATE)
        # moving the target rebuilds that trajectory's props where the new points are
        new_target = volume.index_to_lps([40, 10, 6])
        doc.update(needle.id, points=[needle.points[0], tuple(new_target.tolist())])
        tube = actors.solid_props_for(needle.id)[0]
        assert np.asarray(tube.GetBounds())[2] == pytest.approx(new_target[1] - 0.8, abs=0.2)
        assert props.GetNumberOfItems() == before + 5
        # a delete removes its props
        doc.delete(landmark.id)
        assert actors.props_for(landmark.id) == []
        assert props.GetNumberOfItems() == before + 4
    finally:
        view.close_model()
        view.close_model()
    assert view.renderer.GetViewProps().GetNumberOfItems() == 0
    assert actors.overlay is None and view.render_window.GetRenderers().GetNumberOfItems() == 0
