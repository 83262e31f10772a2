"""Overlay cost on live video for benchmarks/annotations.py (issue 7).

``measure_overlay_fps(quick)`` returns the frame rate a QtVideoView shows with a QtAnnotationOverlay
carrying 200 live video annotations divided by the frame rate with the overlay and no annotations
(target >= 0.95). The view (1280x720, offscreen) pulls a synthetic 720p stream that delivers a new
frame every 1/30 s; one annotation of the 200 changes every second (a remote site drawing), so the
layer rebuild is part of what is measured, and a pointer moves every frame. ``measure(quick)`` gives
the figures behind the ratio, including the synchronous paint time of one frame with and without.

Run alone: ``python benchmarks/_overlay_fps.py [--quick]``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import median, parse, report

WIDTH, HEIGHT, FPS = 1280, 720, 30.0
ANNOTATIONS = 200


def _app() -> Any:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _frames(count: int = 6) -> list[Any]:
    import av
    import numpy as np

    rng = np.random.default_rng(3)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = ((xs + ys) % 256).astype(np.uint8)
    frames = []
    for _ in range(count):
        grey = np.clip(base.astype(np.int16) + rng.integers(-30, 30, (HEIGHT, WIDTH)), 0, 255)
        rgb = np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)
        frames.append(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    return frames


def populate(doc: Any, count: int = ANNOTATIONS, seed: int = 11) -> list[str]:
    """``count`` shapes of every video kind over the picture; returns the ids of the strokes."""
    import random

    rnd = random.Random(seed)
    kinds = ["stroke", "arrow", "ellipse", "polyline", "marker", "text", "ruler", "needle"]
    strokes = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        x, y = rnd.uniform(0.1, 0.8), rnd.uniform(0.1, 0.8)
        if kind == "stroke":
            pts = [[x + 0.1 * j / 60, y + 0.03 * math.sin(j / 5)] for j in range(60)]
            a = doc.add("stroke", "video", pts, pressure=[0.3 + 0.5 * j / 59 for j in range(60)])
            strokes.append(a.id)
        elif kind == "polyline":
            doc.add("polyline", "video", [[x + 0.03 * j, y + 0.02 * (j % 2)] for j in range(6)])
        elif kind in ("marker", "text"):
            doc.add(kind, "video", [[x, y]], text=f"label {i}" if kind == "text" else "")
        else:
            doc.add(kind, "video", [[x, y], [x + 0.1, y + 0.08]])
    return strokes


def _run(with_annotations: bool, seconds: float) -> dict[str, float]:
    from PySide6.QtCore import QEventLoop, QTimer

    from core.annotations.model import AnnotationDocument
    from widgets.annotation_overlay import QtAnnotationOverlay
    from widgets.us_guidance import install_labels
    from widgets.video_view import QtVideoView

    app = _app()
    frames = _frames()
    doc = AnnotationDocument("bench-site", "bench")
    remote = AnnotationDocument("bench-remote", "remote")
    remote.op_emitted.connect(doc.apply_remote)
    strokes = populate(remote) if with_annotations else []
    slot: list[Any] = [None]
    sent = [0]

    def pull() -> Any:
        frame, slot[0] = slot[0], None
        return frame

    view = QtVideoView(interval_ms=5)
    view.resize(WIDTH, HEIGHT)
    overlay = QtAnnotationOverlay(view, doc)
    install_labels(overlay)
    view.set_source(pull)
    view.show()
    app.processEvents()

    def produce() -> None:
        slot[0] = frames[sent[0] % len(frames)]
        sent[0] += 1
        t = sent[0] / FPS
        doc.apply_remote(
            {
                "op": "pointer",
                "id": "pointer",
                "author": "remote",
                "site": "bench-remote",
                "lamport": 0,
                "space": "video",
                "data": {"point": [0.5 + 0.3 * math.cos(t), 0.5 + 0.3 * math.sin(t)]},
            }
        )
        if strokes and sent[0] % int(FPS) == 0:  # a remote edit each second
            stroke = strokes[sent[0] // int(FPS) % len(strokes)]
            shift = 0.01 * math.sin(t)
            points = [[0.2 + 0.1 * j / 60 + shift, 0.5 + 0.03 * math.sin(j / 5)] for j in range(60)]
            remote.update(stroke, points=points)

    # warm up (first paints, caches), then measure
    producer = QTimer()
    producer.setInterval(round(1000 / FPS))
    producer.timeout.connect(produce)
    producer.start()
    loop = QEventLoop()
    QTimer.singleShot(500, loop.quit)
    loop.exec()
    shown0, start = view.frames_shown, time.perf_counter()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()
    elapsed = time.perf_counter() - start
    fps = (view.frames_shown - shown0) / elapsed
    producer.stop()
    # the synchronous paint of one new frame (video conversion, scaling and the overlay)
    paints = []
    for i in range(20):
        slot[0] = frames[i % len(frames)]
        view._tick()
        t0 = time.perf_counter()
        view.repaint()
        paints.append((time.perf_counter() - t0) * 1000)
    overlay.close_overlay()
    view.close_view()
    view.close()
    view.deleteLater()
    app.processEvents()
    return {"fps": fps, "paint_ms": median(paints), "layer_builds": float(overlay.layer_builds)}


def measure(quick: bool) -> dict[str, float]:
    seconds = 4.0 if quick else 15.0
    none = _run(False, seconds)
    full = _run(True, seconds)
    return {
        "fps_ratio_200_annotations": full["fps"] / none["fps"] if none["fps"] else 0.0,
        "fps_no_annotations": none["fps"],
        "fps_200_annotations": full["fps"],
        "paint_ms_no_annotations": none["paint_ms"],
        "paint_ms_200_annotations": full["paint_ms"],
    }


def measure_overlay_fps(quick: bool) -> float:
    """The displayed frame rate with 200 live annotations over the rate with none (target >= 0.95)."""
    return measure(quick)["fps_ratio_200_annotations"]


def main() -> None:
    args = parse("Video frame rate with 200 live annotations against none (720p, 30 fps)")
    figures = measure(args.quick)
    for name, value in figures.items():
        print(f"{name}: {value:.3f}")
    report(figures)


if __name__ == "__main__":
    main()
