"""Reslicing: plane shapes, pixel aspect, orientation labels, the grey mapping, screen <-> voxel."""

from __future__ import annotations

import numpy as np
import pytest

from viewers.dicom.volume import Volume
from viewers.reslice import (
    PRESETS,
    Plane,
    Preset,
    SliceRenderer,
    WindowLevel,
    auto_window,
    build_lut,
    extract,
    index_to_screen,
    orientation_letters,
    plane_mapping,
    screen_to_index,
)


def make_volume(shape: tuple[int, int, int] = (6, 5, 4), direction: np.ndarray | None = None) -> Volume:
    nz, ny, nx = shape
    array = np.arange(nz * ny * nx, dtype=np.int16).reshape(shape)
    return Volume(array, (0.5, 0.8, 2.5), (-10.0, -20.0, 30.0), np.eye(3) if direction is None else direction)


def test_axis_aligned_planes_have_the_right_shapes_spacing_and_labels() -> None:
    vol = make_volume()
    axial = plane_mapping(vol, Plane.AXIAL)
    assert (axial.shape, axial.count) == ((5, 4), 6)
    assert axial.pixel_spacing == (0.5, 0.8) and axial.slice_spacing == 2.5
    assert axial.labels() == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    coronal = plane_mapping(vol, Plane.CORONAL)
    assert (coronal.shape, coronal.count) == ((6, 4), 5)
    assert coronal.pixel_spacing == (0.5, 2.5)  # anisotropic: rows are 2.5 mm apart
    assert coronal.flip_rows  # superior (higher z) at the top
    assert coronal.labels() == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
    sagittal = plane_mapping(vol, Plane.SAGITTAL)
    assert (sagittal.shape, sagittal.count) == ((6, 5), 4)
    assert sagittal.labels() == {"left": "A", "right": "P", "top": "S", "bottom": "I"}


def test_extract_is_a_view_with_the_expected_pixels() -> None:
    vol = make_volume()
    coronal = plane_mapping(vol, Plane.CORONAL)
    img = extract(vol.array, coronal, 2)
    assert np.shares_memory(img, vol.array)
    # top row of the coronal image is the last (most superior) axial slice
    np.testing.assert_array_equal(img[0], vol.array[-1, 2, :])
    sagittal = extract(vol.array, plane_mapping(vol, Plane.SAGITTAL), 3)
    np.testing.assert_array_equal(sagittal[-1], vol.array[0, :, 3])


def test_feet_first_flipped_stack_still_shows_superior_at_the_top() -> None:
    # slices stored from head to feet: the volume's z axis points inferior
    vol = make_volume(direction=np.diag([1.0, 1.0, -1.0]))
    coronal = plane_mapping(vol, Plane.CORONAL)
    assert not coronal.flip_rows
    assert coronal.labels()["top"] == "S"


def test_oblique_labels_name_the_two_strongest_directions() -> None:
    assert orientation_letters((0.9, -0.4, 0.0)) == "LA"
    assert orientation_letters((0.0, 0.0, -1.0)) == "I"
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    axial = plane_mapping(make_volume(direction=rot), Plane.AXIAL)
    assert axial.labels()["right"] == "LP"


def test_screen_and_index_round_trip_in_every_plane() -> None:
    vol = make_volume()
    for plane in Plane:
        mapping = plane_mapping(vol, plane)
        ijk = np.array([1.0, 3.0, 4.0])
        slice_index, x, y = index_to_screen(mapping, ijk)
        np.testing.assert_allclose(screen_to_index(mapping, slice_index, x, y), ijk)


def test_lut_renders_window_edges_to_black_and_white() -> None:
    vol = Volume(
        np.array([[[-1000, 40, 240, -160, 3000]]], dtype=np.int16), (1.0, 1.0, 1.0), (0, 0, 0), np.eye(3)
    )
    renderer = SliceRenderer(vol, Plane.AXIAL, PRESETS[Preset.CT_SOFT_TISSUE])
    out = renderer.render(0)
    assert out.dtype == np.uint8
    assert out[0].tolist() == [0, 127, 255, 0, 255]
    assert renderer.render(0) is renderer.buffer  # the buffer is reused: no allocation per frame


def test_float_volumes_take_the_arithmetic_path_with_the_same_result() -> None:
    data = np.array([[[-1000.0, 40.0, 240.0, -160.0]]], dtype=np.float32)
    vol = Volume(data, (1.0, 1.0, 1.0), (0, 0, 0), np.eye(3))
    assert build_lut(WindowLevel(40, 400), data.dtype) is None
    out = SliceRenderer(vol, Plane.AXIAL, WindowLevel(40, 400)).render(0)
    assert out[0].tolist() == [0, 127, 255, 0]


def test_auto_window_spans_the_central_percentiles() -> None:
    data = np.linspace(0, 1000, 10001).astype(np.float32)
    wl = auto_window(data)
    assert wl.low == pytest.approx(10, abs=1) and wl.high == pytest.approx(990, abs=1)


def test_cine_loop_is_shown_frame_by_frame_without_labels() -> None:
    frames = np.zeros((5, 8, 10, 3), np.uint8)
    frames[2] = 200
    vol = Volume(frames, (0.3, 0.3, 1.0), (0, 0, 0), np.eye(3), kind="cine", frame_time_ms=33.0)
    renderer = SliceRenderer(vol)
    assert renderer.mapping.count == 5
    assert renderer.render(2).shape == (8, 10, 3) and int(renderer.buffer.max()) == 200
    assert renderer.mapping.labels() == {"left": "", "right": "", "top": "", "bottom": ""}


def test_wide_colour_shows_its_top_eight_bits() -> None:
    """16-bit RGB (pydicom's SC_rgb_rle_16bit) on screen: 0xFFFF is white, 0x8000 mid-grey, never the
    low byte an unsafe cast would keep (which turns 0xFF00 black)."""
    import numpy as np

    from viewers.dicom.volume import Volume
    from viewers.reslice import Plane, SliceRenderer, WindowLevel

    array = np.zeros((1, 2, 2, 3), dtype=np.uint16)
    array[0, 0, 0] = 0xFFFF
    array[0, 0, 1] = 0xFF00
    array[0, 1, 0] = 0x8000
    volume = Volume(array, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3), "cine")
    out = SliceRenderer(volume, Plane.AXIAL, WindowLevel(127.0, 255.0)).render(0)
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 0].tolist() == [128, 128, 128]
