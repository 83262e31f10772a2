"""View figures for benchmarks/imaging.py: 2D scrolling and MPR frame rates, 3D frame time.

``measure_views(volume, quick)`` returns {"scroll_fps", "mpr_fps", "render3d_ms"}:
- scroll_fps: the QtSliceView (512x512, offscreen) paging through the volume, each frame rendered
  through the LUT and painted (repaint() is synchronous), overlays and labels included;
- mpr_fps: the crosshair moving through the volume in QtMprView, each step reslicing and painting
  all three planes (one frame = three planes);
- render3d_ms: median frame time of the CT bone volume rendering at 512x512 in a plain offscreen
  VTK window (EGL without a display), the camera turning between frames; the first frame (pipeline
  build, upload) is left out.

Run alone (``python benchmarks/_imaging_views.py [--quick]``) it measures a synthetic phantom
volume made in memory (256x256x120 quick, 512x512x300 full).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import median, parse, report


def _app() -> Any:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def scroll_fps(volume: Any, quick: bool) -> float:
    from viewers.reslice import Plane
    from viewers.slice_view import QtSliceView

    app = _app()
    view = QtSliceView(Plane.AXIAL)
    view.resize(512, 512)
    view.set_volume(volume)
    view.set_overlay(["Doe Jane", "PID-12345"], ["Synthetic study", "2026-01-01"])
    view.show()
    app.processEvents()
    count = view.slice_count
    frames = min(count, 120) if quick else 2 * count
    view.set_slice(0)
    view.repaint()
    start = time.perf_counter()
    for step in range(frames):
        view.set_slice(step % count)
        view.repaint()
    elapsed = time.perf_counter() - start
    view.close_model()
    view.close()
    view.deleteLater()
    app.processEvents()
    return frames / elapsed


def mpr_fps(volume: Any, quick: bool) -> float:
    import numpy as np

    from viewers.mpr_view import QtMprView
    from viewers.reslice import Plane

    app = _app()
    mpr = QtMprView()
    mpr.resize(1024, 1024)
    mpr.set_volume(volume)
    mpr.show()
    app.processEvents()
    nz, ny, nx = volume.array.shape
    steps = 60 if quick else 200
    views = [mpr.views[p] for p in Plane]
    start = time.perf_counter()
    for step in range(steps):
        t = (step % 100) / 99.0
        ijk = np.array([t * (nx - 1), t * (ny - 1), t * (nz - 1)])
        mpr.set_crosshair(volume.index_to_lps(ijk.tolist()))
        for view in views:
            view.repaint()
    elapsed = time.perf_counter() - start
    mpr.close_model()
    mpr.close()
    mpr.deleteLater()
    app.processEvents()
    return steps / elapsed


def render3d_ms(volume: Any, quick: bool) -> float:
    from viewers.volume_view import Render3D, render_offscreen

    times, _frame = render_offscreen(volume, Render3D.CT_BONE, size=512, frames=6 if quick else 21)
    return median(times[1:])


def measure_views(volume: Any, quick: bool) -> dict[str, float]:
    figures = {"scroll_fps": scroll_fps(volume, quick), "mpr_fps": mpr_fps(volume, quick)}
    try:
        figures["render3d_ms"] = render3d_ms(volume, quick)
    except Exception as exc:  # no OpenGL at all here: report the 2D figures anyway
        print(f"3D not measured: {type(exc).__name__}: {exc}")
        figures["render3d_ms"] = float("nan")
    return figures


def main() -> None:
    import numpy as np

    from viewers.dicom.synthetic import phantom
    from viewers.dicom.volume import Volume

    args = parse(__doc__ or "")
    shape = (120, 256, 256) if args.quick else (300, 512, 512)
    volume = Volume(phantom(shape), (0.7, 0.7, 1.0), (-180.0, -180.0, 0.0), np.eye(3))
    figures = measure_views(volume, args.quick)
    print(
        f"{shape[2]}x{shape[1]}x{shape[0]}: scroll {figures['scroll_fps']:.1f} fps, "
        f"MPR {figures['mpr_fps']:.1f} fps, 3D {figures['render3d_ms']:.1f} ms/frame"
    )
    report({"peer": "none: absolute frame rates and 3D frame time", **figures, "slices": shape[0]})


if __name__ == "__main__":
    main()
