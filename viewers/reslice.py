"""Axial, coronal and sagittal slices of a :class:`Volume`, window/level to uint8, orientation labels.

Qt-free. Slices are numpy views of the volume (no copy); the grey mapping goes through a lookup table
into a preallocated uint8 buffer, so scrolling allocates nothing per frame. Screens follow the
radiological convention: patient left on screen right; axial seen from the feet, coronal from the
front, sagittal from the patient's left (anterior on screen left).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from viewers.dicom.volume import Volume, VolumeLoader


class Plane(StrEnum):
    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"


# (slice normal, screen right, screen down) in LPS for each plane
_TARGETS: dict[Plane, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]] = {
    Plane.AXIAL: ((0, 0, 1), (1, 0, 0), (0, 1, 0)),
    Plane.CORONAL: ((0, 1, 0), (1, 0, 0), (0, 0, -1)),
    Plane.SAGITTAL: ((1, 0, 0), (0, 1, 0), (0, 0, -1)),
}

_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))


def orientation_letters(vector: Sequence[float] | np.ndarray, threshold: float = 0.25) -> str:
    """Patient direction of an LPS vector as letters, strongest first (e.g. "L", "LA" for an oblique)."""
    v = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(v))
    if norm < 1e-9:
        return ""
    v = v / norm
    order = np.argsort(-np.abs(v))
    return "".join(
        _LETTERS[axis][0 if v[axis] > 0 else 1] for axis in order if abs(float(v[axis])) >= threshold
    )


@dataclass(frozen=True)
class WindowLevel:
    center: float
    width: float

    @property
    def low(self) -> float:
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        return self.center + self.width / 2.0


class Preset(StrEnum):
    CT_LUNG = "ct_lung"
    CT_SOFT_TISSUE = "ct_soft_tissue"
    CT_BONE = "ct_bone"
    CT_BRAIN = "ct_brain"
    AUTO = "auto"


PRESETS: dict[Preset, WindowLevel] = {
    Preset.CT_LUNG: WindowLevel(-600.0, 1500.0),
    Preset.CT_SOFT_TISSUE: WindowLevel(40.0, 400.0),
    Preset.CT_BONE: WindowLevel(400.0, 1800.0),
    Preset.CT_BRAIN: WindowLevel(40.0, 80.0),
}


def auto_window(array: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0) -> WindowLevel:
    """Window from percentiles of (a subsample of) the data: the MR default, where values have no unit."""
    flat = array.reshape(-1) if array.flags.c_contiguous else np.ravel(array)
    step = max(1, flat.size // 400_000)
    sample = flat[::step]
    if sample.ndim != 1 or sample.size == 0:
        return WindowLevel(0.0, 1.0)
    lo, hi = (float(v) for v in np.percentile(sample, [low_pct, high_pct]))
    if hi <= lo:
        hi = lo + 1.0
    return WindowLevel((lo + hi) / 2.0, hi - lo)


def window_for(preset: Preset, array: np.ndarray) -> WindowLevel:
    return auto_window(array) if preset is Preset.AUTO else PRESETS[preset]


def build_lut(window: WindowLevel, dtype: np.dtype) -> np.ndarray | None:
    """uint8 table indexed by the raw bit pattern of int16/uint16/uint8 data; None for other types."""
    dt = np.dtype(dtype)
    if dt == np.int16:
        # index is the uint16 bit pattern of the int16 value
        values = np.arange(65536, dtype=np.float32)
        values[32768:] -= 65536
    elif dt in (np.dtype(np.uint16), np.dtype(np.uint8)):
        values = np.arange(1 << (8 * dt.itemsize), dtype=np.float32)
    else:
        return None
    scaled = (values - np.float32(window.low)) * np.float32(255.0 / max(window.width, 1e-6))
    return np.clip(scaled, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class PlaneMapping:
    """How one plane of a volume lies on screen.

    Axes are numpy axes of ``volume.array`` (0 = k/z, 1 = j/y, 2 = i/x). The screen image is
    ``array`` indexed at ``slice_axis``, with ``row_axis`` running down and ``col_axis`` running right,
    each flipped when the flag says so.
    """

    plane: Plane
    slice_axis: int
    row_axis: int
    col_axis: int
    flip_rows: bool
    flip_cols: bool
    shape: tuple[int, int]  # screen rows, columns
    count: int  # number of slices
    pixel_spacing: tuple[float, float]  # mm per screen column (x), per screen row (y)
    slice_spacing: float
    right: tuple[float, float, float]  # LPS unit vector of screen right
    down: tuple[float, float, float]
    normal: tuple[float, float, float]  # LPS direction of increasing slice index

    def labels(self) -> dict[str, str]:
        """Letters for the left, right, top and bottom edges of the screen."""
        r, d = np.asarray(self.right), np.asarray(self.down)
        return {
            "right": orientation_letters(r),
            "left": orientation_letters(-r),
            "bottom": orientation_letters(d),
            "top": orientation_letters(-d),
        }


def _axis_vector(volume: Volume, axis: int) -> np.ndarray:
    return np.asarray(volume.direction, dtype=np.float64)[:, 2 - axis]


def _axis_spacing(volume: Volume, axis: int) -> float:
    return float(volume.spacing[2 - axis])


def plane_mapping(volume: Volume, plane: Plane) -> PlaneMapping:
    normal_t, right_t, down_t = (np.asarray(v, dtype=np.float64) for v in _TARGETS[plane])
    if volume.kind == "cine" or volume.array.ndim == 4:
        # frames of a loop: no patient geometry, shown as stored
        rows, cols = volume.array.shape[1], volume.array.shape[2]
        return PlaneMapping(
            plane,
            0,
            1,
            2,
            False,
            False,
            (rows, cols),
            volume.array.shape[0],
            (float(volume.spacing[0]), float(volume.spacing[1])),
            float(volume.spacing[2]),
            (0.0, 0.0, 0.0),
            (0.0, 0.0, 0.0),
            (0.0, 0.0, 0.0),
        )
    axes = (0, 1, 2)
    vectors = {a: _axis_vector(volume, a) for a in axes}
    slice_axis = max(axes, key=lambda a: abs(float(vectors[a] @ normal_t)))
    rest = [a for a in axes if a != slice_axis]
    col_axis = max(rest, key=lambda a: abs(float(vectors[a] @ right_t)))
    row_axis = next(a for a in rest if a != col_axis)
    flip_cols = float(vectors[col_axis] @ right_t) < 0
    flip_rows = float(vectors[row_axis] @ down_t) < 0
    right = vectors[col_axis] * (-1 if flip_cols else 1)
    down = vectors[row_axis] * (-1 if flip_rows else 1)
    shape = volume.array.shape
    return PlaneMapping(
        plane=plane,
        slice_axis=slice_axis,
        row_axis=row_axis,
        col_axis=col_axis,
        flip_rows=flip_rows,
        flip_cols=flip_cols,
        shape=(shape[row_axis], shape[col_axis]),
        count=shape[slice_axis],
        pixel_spacing=(_axis_spacing(volume, col_axis), _axis_spacing(volume, row_axis)),
        slice_spacing=_axis_spacing(volume, slice_axis),
        right=(float(right[0]), float(right[1]), float(right[2])),
        down=(float(down[0]), float(down[1]), float(down[2])),
        normal=tuple(float(v) for v in vectors[slice_axis]),  # type: ignore[arg-type]
    )


def extract(array: np.ndarray, mapping: PlaneMapping, index: int) -> np.ndarray:
    """The screen image of slice ``index`` as a view of ``array`` (rows, cols[, 3]); no copy."""
    index = int(np.clip(index, 0, mapping.count - 1))
    if mapping.slice_axis == 0:
        plane = array[index]
    elif mapping.slice_axis == 1:
        plane = array[:, index]
    else:
        plane = array[:, :, index]
    remaining = [a for a in (0, 1, 2) if a != mapping.slice_axis]
    if remaining.index(mapping.row_axis) == 1:
        plane = np.swapaxes(plane, 0, 1)
    if mapping.flip_rows:
        plane = plane[::-1]
    if mapping.flip_cols:
        plane = plane[:, ::-1]
    return plane


# screen <-> volume index ------------------------------------------------------------------------
def screen_to_index(mapping: PlaneMapping, slice_index: float, x: float, y: float) -> np.ndarray:
    """Voxel index (i, j, k) of screen image point (x, y) in pixel units (pixel centres at +0.5)."""
    rows, cols = mapping.shape
    col = (cols - x - 0.5) if mapping.flip_cols else (x - 0.5)
    row = (rows - y - 0.5) if mapping.flip_rows else (y - 0.5)
    numpy_index = [0.0, 0.0, 0.0]
    numpy_index[mapping.slice_axis] = float(slice_index)
    numpy_index[mapping.row_axis] = row
    numpy_index[mapping.col_axis] = col
    return np.array([numpy_index[2], numpy_index[1], numpy_index[0]])


def index_to_screen(mapping: PlaneMapping, ijk: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """(slice index, x, y) on screen of voxel index (i, j, k); the inverse of :func:`screen_to_index`."""
    numpy_index = (float(ijk[2]), float(ijk[1]), float(ijk[0]))
    rows, cols = mapping.shape
    col, row = numpy_index[mapping.col_axis], numpy_index[mapping.row_axis]
    x = (cols - col - 0.5) if mapping.flip_cols else (col + 0.5)
    y = (rows - row - 0.5) if mapping.flip_rows else (row + 0.5)
    return numpy_index[mapping.slice_axis], x, y


class SliceRenderer:
    """Renders screen slices of one plane to a reused uint8 buffer (grey (h, w) or RGB (h, w, 3))."""

    def __init__(self, volume: Volume, plane: Plane = Plane.AXIAL, window: WindowLevel | None = None) -> None:
        self.volume = volume
        self.mapping = plane_mapping(volume, plane)
        self.rgb = volume.array.ndim == 4
        rows, cols = self.mapping.shape
        self.buffer = np.zeros((rows, cols, 3) if self.rgb else (rows, cols), dtype=np.uint8)
        self._float: np.ndarray | None = None
        self._lut: np.ndarray | None = None
        self._lut_index_dtype: np.dtype | None = None
        self.window = window or WindowLevel(40.0, 400.0)
        self.set_window(self.window)

    def set_window(self, window: WindowLevel) -> None:
        self.window = WindowLevel(float(window.center), max(float(window.width), 1e-3))
        dtype = self.volume.array.dtype
        self._lut = None if self.rgb else build_lut(self.window, dtype)
        if self._lut is not None and dtype == np.int16:
            self._lut_index_dtype = np.dtype(np.uint16)
        else:
            self._lut_index_dtype = dtype

    def render(self, index: int) -> np.ndarray:
        """Slice ``index`` mapped to grey levels in :attr:`buffer` (returned; overwritten next call)."""
        src = extract(self.volume.array, self.mapping, index)
        out = self.buffer
        if self.rgb:
            # 16- and 32-bit colour (RLE, uncompressed) keeps its width in the volume: the screen
            # takes its top 8 bits, not the bottom 8 an unsafe cast would keep.
            shift = src.dtype.itemsize * 8 - 8
            np.copyto(out, src >> shift if shift > 0 else src, casting="unsafe")
        elif self._lut is not None:
            assert self._lut_index_dtype is not None
            np.take(self._lut, src.view(self._lut_index_dtype), out=out)
        else:
            if self._float is None:
                self._float = np.empty(out.shape, dtype=np.float32)
            f = self._float
            np.subtract(src, np.float32(self.window.low), out=f, casting="unsafe")
            f *= np.float32(255.0 / self.window.width)
            np.clip(f, 0, 255, out=f)
            np.copyto(out, f, casting="unsafe")
        return out


def provisional_volume(loader: VolumeLoader) -> Volume:
    """The geometry a loader's result will have, known from headers before any pixel is decoded.

    The array is the loader's own buffer, filled in as slices decode, so a view can show the first
    slice while the rest arrive.
    """
    from viewers.dicom.geometry import direction_matrix
    from viewers.dicom.volume import Volume

    refs = loader.sorted.slices
    row_spacing, col_spacing = refs[0].pixel_spacing
    if loader.sorted.has_geometry and loader.sorted.orientation is not None and refs[0].position is not None:
        pos = refs[0].position
        return Volume(
            loader.array,
            (col_spacing, row_spacing, loader.sorted.slice_spacing or 1.0),
            (float(pos[0]), float(pos[1]), float(pos[2])),
            direction_matrix(loader.sorted.orientation),
            "volume",
        )
    return Volume(
        loader.array,
        (col_spacing, row_spacing, 1.0),
        (0.0, 0.0, 0.0),
        np.eye(3),
        "cine" if len(refs) > 1 else "volume",
    )
