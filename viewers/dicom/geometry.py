"""Patient-space geometry (LPS, millimetres) of image slices: normals, projection, spacing checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Positions closer than this along the normal (mm) are the same slice.
DUPLICATE_TOLERANCE_MM = 1e-3
# Relative spread of slice steps tolerated before spacing is called uneven (Slicer uses ~1 %).
UNEVEN_TOLERANCE = 0.01
# Stack direction further than this from the slice normal is a tilted gantry (degrees).
TILT_TOLERANCE_DEG = 0.05
# Orientation vectors that differ by more than this (cosine units) are different orientations.
ORIENTATION_TOLERANCE = 1e-4


def orientation_vectors(iop: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row direction, column direction and slice normal (row x col), each unit length."""
    values = np.asarray([float(v) for v in iop], dtype=np.float64)
    if values.shape != (6,):
        raise ValueError(f"ImageOrientationPatient needs 6 values, got {values.size}")
    row, col = values[:3], values[3:]
    row_norm, col_norm = np.linalg.norm(row), np.linalg.norm(col)
    if row_norm < 1e-6 or col_norm < 1e-6:
        raise ValueError("ImageOrientationPatient has a zero vector")
    row, col = row / row_norm, col / col_norm
    normal = np.cross(row, col)
    n = np.linalg.norm(normal)
    if n < 1e-6:
        raise ValueError("ImageOrientationPatient rows and columns are parallel")
    return row, col, normal / n


def slice_normal(iop: Sequence[float]) -> np.ndarray:
    return orientation_vectors(iop)[2]


def direction_matrix(iop: Sequence[float]) -> np.ndarray:
    """3x3 matrix whose columns are the x (row), y (column) and z (normal) axes in LPS."""
    row, col, normal = orientation_vectors(iop)
    return np.column_stack([row, col, normal])


def same_orientation(a: Sequence[float], b: Sequence[float]) -> bool:
    # np.allclose's rule in plain Python: called once per slice, where numpy's overhead dominated
    if len(a) != len(b):
        return False
    tolerance = ORIENTATION_TOLERANCE
    return all(abs(float(x) - float(y)) <= tolerance + 1e-5 * abs(float(y))
               for x, y in zip(a, b, strict=True))


def project(positions: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Distance of each ImagePositionPatient along the normal (mm)."""
    return np.asarray(positions, dtype=np.float64) @ np.asarray(normal, dtype=np.float64)


def tilt_angle_deg(positions: np.ndarray, normal: np.ndarray) -> float:
    """Angle between the stack direction (first to last slice) and the slice normal, in degrees."""
    pts = np.asarray(positions, dtype=np.float64)
    if len(pts) < 2:
        return 0.0
    step = pts[-1] - pts[0]
    length = np.linalg.norm(step)
    if length < DUPLICATE_TOLERANCE_MM:
        return 0.0
    cos = abs(float(step @ normal)) / float(length)
    return float(np.degrees(np.arccos(min(1.0, cos))))


def spacing_profile(distances: np.ndarray) -> tuple[float, np.ndarray]:
    """Nominal slice spacing (the median step) and the steps between sorted distances."""
    steps = np.diff(np.sort(np.asarray(distances, dtype=np.float64)))
    steps = steps[steps > DUPLICATE_TOLERANCE_MM]
    if steps.size == 0:
        return 0.0, steps
    return float(np.median(steps)), steps
