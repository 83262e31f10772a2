"""The VTK 3D view renders the volume (not a black window) in every mode, and closes cleanly."""

from __future__ import annotations

import numpy as np
import pytest

from viewers.dicom.synthetic import phantom
from viewers.dicom.volume import Volume
from viewers.volume_view import QtVolumeView, Render3D, image_data, render_offscreen

pytestmark = [
    pytest.mark.gui,
    pytest.mark.xvfb,
]


def ct_volume() -> Volume:
    return Volume(phantom((24, 64, 64)), (1.0, 1.0, 2.0), (-32.0, -32.0, 0.0), np.eye(3))


def lit_fraction(frame: np.ndarray) -> float:
    """Share of pixels clearly brighter than the dark background."""
    return float((frame.astype(np.int32).sum(axis=2) > 120).mean())


def test_numpy_volume_reaches_vtk_without_a_copy() -> None:
    volume = ct_volume()
    data, keep = image_data(volume)
    assert np.shares_memory(keep, volume.array)
    assert data.GetDimensions() == (64, 64, 24)
    assert data.GetSpacing() == (1.0, 1.0, 2.0)
    volume.array[3, 10, 12] = 1234  # VTK sees numpy's memory
    assert data.GetScalarComponentAsDouble(12, 10, 3, 0) == 1234


def test_view_renders_each_mode_and_closes(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = QtVolumeView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    qtbot.waitExposed(view)
    try:
        view.set_volume(ct_volume())
        frames = {}
        for mode in Render3D:
            view.set_mode(mode)
            frames[mode] = view.grab_frame()
            assert lit_fraction(frames[mode]) > 0.05, f"{mode} rendered nothing"
        # the isosurface is opaque where volume rendering is translucent: the pictures differ
        assert not np.array_equal(frames[Render3D.ISOSURFACE], frames[Render3D.MIP])
        # and the window on screen holds the same picture (QWidget.grab() of VTK would be black)
        screen = view.screen().grabWindow(0, *view.mapToGlobal(view.rect().topLeft()).toTuple(), 400, 400)
        image = screen.toImage()
        lit = sum(
            1
            for x in range(0, image.width(), 8)
            for y in range(0, image.height(), 8)
            if sum(image.pixelColor(x, y).getRgb()[:3]) > 120
        )
        assert lit > 10
    finally:
        view.close_model()
        view.close_model()  # twice is harmless
    assert view.scene._keep is None


def test_offscreen_render_without_qt() -> None:
    times, frame = render_offscreen(ct_volume(), Render3D.CT_BONE, size=128, frames=2)
    assert len(times) == 2 and all(t > 0 for t in times)
    assert frame.shape == (128, 128, 3) and lit_fraction(frame) > 0.05
