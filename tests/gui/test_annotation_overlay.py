"""Guidance overlays on live video (issue 7): drawing with mouse and pen into the shared document, two
sites showing the same shapes in the same place, the fading pointer, freeze-frame across a real call's
``control`` channel, and the ultrasound guidance numbers (widgets/annotation_overlay.py,
widgets/annotation_toolbar.py, widgets/us_guidance.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication, QWidget

from core.annotations.model import AnnotationDocument
from widgets.annotation_overlay import QtAnnotationOverlay, Tool, to_widget
from widgets.annotation_toolbar import QtAnnotationToolbar
from widgets.video_view import QtVideoView

pytestmark = pytest.mark.gui


def _frame(width: int = 640, height: int = 480, seed: int = 1) -> av.VideoFrame:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(40, 200, (height, width, 3), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


class _Source:
    """A newest-frame slot like CallSession.take_video_frame, fed by the test."""

    def __init__(self) -> None:
        self.frame: Any = None

    def push(self, frame: Any) -> None:
        self.frame = frame

    def __call__(self) -> Any:
        frame, self.frame = self.frame, None
        return frame


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * h)
    return data.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def _mouse(widget: QWidget, kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _drag(widget: QWidget, points: list[QPointF]) -> None:
    left = Qt.MouseButton.LeftButton
    _mouse(widget, QEvent.Type.MouseButtonPress, points[0], left)
    for p in points[1:]:
        _mouse(widget, QEvent.Type.MouseMove, p, left)
    _mouse(widget, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)


def _stage(
    qtbot: Any, doc: AnnotationDocument, size: tuple[int, int] = (800, 450), owned: bool = True
) -> tuple[QtVideoView, QtAnnotationOverlay, _Source]:
    view = QtVideoView(interval_ms=10)
    if owned:  # else a host widget the test builds owns it
        qtbot.addWidget(view)
    view.resize(*size)
    source = _Source()
    view.set_source(source)
    overlay = QtAnnotationOverlay(view, doc)
    view.show()
    source.push(_frame())
    qtbot.waitUntil(lambda: view.frames_shown >= 1, timeout=5000)
    return view, overlay, source


def test_a_mouse_stroke_lands_in_the_document_in_normalised_coordinates(qtbot: Any) -> None:
    doc = AnnotationDocument("site-a", "dr.chen")
    view, overlay, _source = _stage(qtbot, doc)
    try:
        # 640x480 in 800x450: the picture is 600x450, letterboxed 100 px from the left.
        rect = overlay.picture_rect()
        assert (rect.x(), rect.y(), rect.width(), rect.height()) == (100, 0, 600, 450)
        assert overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # no tool: no clicks
        overlay.set_tool(Tool.STROKE)
        assert not overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        path = [QPointF(100 + 600 * (0.2 + 0.05 * i), 450 * (0.5 + 0.02 * i)) for i in range(8)]
        _drag(overlay, path)
        (stroke,) = doc.in_space("video")
        assert stroke.kind == "stroke" and stroke.author == "dr.chen" and stroke.frame == ""
        assert len(stroke.points) == 8
        assert stroke.points[0] == pytest.approx((0.2, 0.5), abs=2e-3)
        assert stroke.points[-1] == pytest.approx((0.55, 0.64), abs=2e-3)

        # A click outside the picture (the letterbox) draws nothing; an arrow drag draws an arrow.
        _drag(overlay, [QPointF(40, 200), QPointF(60, 220)])
        overlay.set_tool(Tool.ARROW)
        _drag(overlay, [QPointF(400, 225), QPointF(520, 300), QPointF(550, 337.5)])
        arrow = doc.in_space("video")[-1]
        assert arrow.kind == "arrow"
        assert np.allclose(arrow.points, [(0.5, 0.5), (0.75, 0.75)], atol=2e-3)
        assert len(doc.in_space("video")) == 2

        # The toolbar's undo takes back my last shape.
        toolbar = QtAnnotationToolbar(overlay)
        qtbot.addWidget(toolbar)
        assert toolbar.undo_button.isEnabled()
        toolbar.undo_button.click()
        assert [a.kind for a in doc.in_space("video")] == ["stroke"]
        toolbar.clear_button.click()
        assert doc.in_space("video") == []
        toolbar.close_toolbar()
        toolbar.close_toolbar()
    finally:
        overlay.close_overlay()
        overlay.close_overlay()
        view.close_view()


def test_pen_pressure_is_kept_per_point(qtbot: Any) -> None:
    doc = AnnotationDocument("site-a", "dr.chen")
    view, overlay, _source = _stage(qtbot, doc)
    try:
        overlay.set_tool(Tool.STROKE)
        device = QPointingDevice.primaryPointingDevice()
        kinds = [QEvent.Type.TabletPress] + [QEvent.Type.TabletMove] * 4 + [QEvent.Type.TabletRelease]
        for i, kind in enumerate(kinds):
            pos = QPointF(200 + 40 * i, 100 + 20 * i)
            pressure = 0.2 + 0.15 * min(i, 4)
            release = kind == QEvent.Type.TabletRelease
            buttons = Qt.MouseButton.NoButton if release else Qt.MouseButton.LeftButton
            event = QTabletEvent(
                kind, device, pos, overlay.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, buttons,
            )
            QApplication.sendEvent(overlay, event)
        (stroke,) = doc.in_space("video")
        assert len(stroke.points) == 5
        assert stroke.pressure == pytest.approx((0.2, 0.35, 0.5, 0.65, 0.8))
    finally:
        overlay.close_overlay()
        view.close_view()


def _marks(image: QImage, colour: str) -> np.ndarray:
    """Pixels close to ``colour`` (an annotation's), as a boolean mask."""
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return np.abs(_pixels(image).astype(np.int16) - target).max(axis=2) < 40


def test_two_sites_show_the_same_shapes_at_the_same_relative_place(qtbot: Any) -> None:
    a = AnnotationDocument("site-a", "dr.chen")
    b = AnnotationDocument("site-b", "dr.li")
    a.op_emitted.connect(b.apply_remote)
    b.op_emitted.connect(a.apply_remote)
    # different window sizes and aspect ratios at the two sites
    view_a, overlay_a, _sa = _stage(qtbot, a, (800, 450))
    view_b, overlay_b, _sb = _stage(qtbot, b, (500, 600))
    try:
        black = av.VideoFrame.from_ndarray(np.zeros((480, 640, 3), np.uint8), format="rgb24")
        for source, view in ((_sa, view_a), (_sb, view_b)):
            shown = view.frames_shown
            source.push(black)
            qtbot.waitUntil(lambda v=view, s=shown: v.frames_shown > s, timeout=5000)
        a.add("ellipse", "video", [[0.3, 0.3], [0.5, 0.6]], colour="#00ff00", width=4)
        b.add("marker", "video", [[0.8, 0.2]], colour="#ff00ff", width=4)
        assert [x.id for x in a.in_space("video")] == [x.id for x in b.in_space("video")]

        for view, overlay in ((view_a, overlay_a), (view_b, overlay_b)):
            rect = overlay.picture_rect()
            image = view.grab().toImage()
            green, magenta = _marks(image, "#00ff00"), _marks(image, "#ff00ff")
            ys, xs = np.nonzero(green)
            # the ellipse's bounding box, back in normalised picture coordinates
            box = ((xs.min() - rect.x()) / rect.width(), (ys.min() - rect.y()) / rect.height(),
                   (xs.max() - rect.x()) / rect.width(), (ys.max() - rect.y()) / rect.height())
            assert box == pytest.approx((0.3, 0.3, 0.5, 0.6), abs=0.015)
            ys, xs = np.nonzero(magenta)
            centre = to_widget(rect, (0.8, 0.2))
            assert abs(xs.mean() - centre.x()) < 3 and abs(ys.mean() - centre.y()) < 3
    finally:
        for overlay, view in ((overlay_a, view_a), (overlay_b, view_b)):
            overlay.close_overlay()
            view.close_view()


def test_the_pointer_is_shown_at_both_sites_then_fades(qtbot: Any) -> None:
    now = [100.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    a = AnnotationDocument("site-a", "dr.chen")
    b = AnnotationDocument("site-b", "dr.li")
    a.op_emitted.connect(b.apply_remote)
    view_a, overlay_a, _sa = _stage(qtbot, a)
    view_b = QtVideoView()
    qtbot.addWidget(view_b)
    view_b.resize(800, 450)
    overlay_b = QtAnnotationOverlay(view_b, b, clock=clock)
    try:
        overlay_a.set_tool(Tool.POINTER)
        _mouse(overlay_a, QEvent.Type.MouseButtonPress, QPointF(400, 225), Qt.MouseButton.LeftButton)
        assert overlay_b.pointer_alpha("dr.chen") == pytest.approx(1.0)
        assert b.annotations == []  # never stored
        now[0] += 0.75
        assert overlay_b.pointer_alpha("dr.chen") == pytest.approx(0.5)
        now[0] += 1.0
        assert overlay_b.pointer_alpha("dr.chen") == 0.0
        qtbot.waitUntil(lambda: not overlay_b._fade.isActive(), timeout=2000)
    finally:
        overlay_a.close_overlay()
        overlay_b.close_overlay()
        view_a.close_view()


def test_freeze_keeps_the_frame_and_its_annotations_until_released(qtbot: Any) -> None:
    doc = AnnotationDocument("site-a", "dr.chen")
    view, overlay, source = _stage(qtbot, doc, (640, 480))
    red = np.zeros((480, 640, 3), np.uint8)
    red[:, :, 0] = 200
    blue = np.zeros((480, 640, 3), np.uint8)
    blue[:, :, 2] = 200
    try:
        shown = view.frames_shown
        source.push(av.VideoFrame.from_ndarray(red, format="rgb24"))
        qtbot.waitUntil(lambda: view.frames_shown > shown, timeout=5000)
        requests: list[object] = []
        overlay.sig_freeze_requested.connect(requests.append)
        overlay.request_freeze(True)
        frame_id = overlay.frozen_frame
        assert frame_id and requests == [frame_id]
        overlay.set_tool(Tool.MARKER)
        _mouse(overlay, QEvent.Type.MouseButtonPress, QPointF(320, 240), Qt.MouseButton.LeftButton)
        (marker,) = doc.in_space("video")
        assert marker.frame == frame_id  # drawn on the frozen frame

        # The live video moves on (blue) but the frozen red frame stays on screen.
        shown = view.frames_shown
        source.push(av.VideoFrame.from_ndarray(blue, format="rgb24"))
        qtbot.waitUntil(lambda: view.frames_shown > shown, timeout=5000)
        pixels = _pixels(view.grab().toImage())
        assert pixels[50, 50, 0] > 150 and pixels[50, 50, 2] < 50
        assert overlay.visible_annotations() == [marker]

        overlay.request_freeze(False)
        assert requests[-1] is None and overlay.frozen_frame is None
        pixels = _pixels(view.grab().toImage())
        assert pixels[50, 50, 2] > 150 and pixels[50, 50, 0] < 50  # live (blue) again
        assert overlay.visible_annotations() == []  # the frozen frame's marks went with it
    finally:
        overlay.close_overlay()
        view.close_view()


def _ultrasound_frame(width: int = 640, height: int = 480) -> av.VideoFrame:
    """A frame of the simulated echo (rtc/media.py) with a scanner-style depth ruler burned in on the
    right: a tick every centimetre, 40 px per cm at 640x480 (12 cm of depth)."""
    import asyncio

    from rtc.media import UltrasoundVideoTrack

    track = UltrasoundVideoTrack(640, 480, fps=30)
    for _ in range(9):
        frame = asyncio.run(track.recv())
    rgb = frame.to_ndarray(format="rgb24")
    x = 600
    rgb[20:461, x : x + 2] = 220
    for cm in range(12):
        y = 20 + 40 * cm
        rgb[y : y + 2, x - (12 if cm % 5 == 0 else 6) : x] = 220
    if (width, height) != (640, 480):
        return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(width, height)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def _click(overlay: QtAnnotationOverlay, point: tuple[float, float]) -> None:
    pos = to_widget(overlay.picture_rect(), point)
    _mouse(overlay, QEvent.Type.MouseButtonPress, pos, Qt.MouseButton.LeftButton)
    _mouse(overlay, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton)


def test_ultrasound_guidance_numbers_match_the_geometry_at_both_sites(qtbot: Any, shots: Path) -> None:
    from PySide6.QtWidgets import QHBoxLayout

    from widgets.us_guidance import QtUltrasoundGuidance, install_labels

    specialist = AnnotationDocument("site-a", "dr.chen")
    bedside = AnnotationDocument("site-b", "dr.li")
    specialist.op_emitted.connect(bedside.apply_remote)
    bedside.op_emitted.connect(specialist.apply_remote)
    view_a, overlay_a, source_a = _stage(qtbot, specialist, (800, 600), owned=False)
    # the bedside shows its own full-size picture; the specialist receives it scaled down to 320x240
    view_b, overlay_b, source_b = _stage(qtbot, bedside, (640, 480))
    for source, view, size in ((source_a, view_a, (320, 240)), (source_b, view_b, (640, 480))):
        shown = view.frames_shown
        source.push(_ultrasound_frame(*size))
        qtbot.waitUntil(lambda v=view, s=shown: v.frames_shown > s, timeout=5000)
    install_labels(overlay_a)
    install_labels(overlay_b)
    panel_a = QtUltrasoundGuidance(overlay_a)
    panel_b = QtUltrasoundGuidance(overlay_b)
    host = QWidget()
    qtbot.addWidget(host)
    row = QHBoxLayout(host)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(view_a, 1)
    row.addWidget(panel_a)
    host.resize(1100, 600)
    host.show()
    try:
        assert panel_a.scale_label.text() == "not calibrated" and panel_a.readout() is None
        # Calibrate on the depth ruler: the 0 and 10 cm ticks (y = 20 and 420 of 480), 100 mm apart.
        panel_a.calibrate_button.click()
        assert not overlay_a.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        _click(overlay_a, (600 / 640, 20 / 480))
        _click(overlay_a, (600 / 640, 420 / 480))
        assert "distance" in panel_a.hint.text() and panel_a.apply_button.isEnabled()
        panel_a.distance.setValue(100.0)
        panel_a.apply_button.click()
        assert panel_a.scale_label.text() == "0.500 mm per pixel"  # the specialist's 320x240 picture
        assert panel_b.scale_label.text() == "0.250 mm per pixel"  # the bedside's 640x480 one

        # Plan entry -> target: 160 px across and 180 px down at 640x480, 0.25 mm per pixel.
        panel_a.needle_button.click()
        _click(overlay_a, (0.25, 0.125))
        _click(overlay_a, (0.5, 0.5))
        panel_a.tip_button.click()
        _click(overlay_a, (0.375, 0.3125))  # half way along
        length = 0.25 * float(np.hypot(160, 180))
        for panel in (panel_a, panel_b):
            path = panel.readout()
            assert path is not None
            assert path.length_mm == pytest.approx(length, abs=0.15)
            assert path.angle_deg == pytest.approx(float(np.degrees(np.arctan2(180, 160))), abs=0.3)
            assert path.depth_mm == pytest.approx(45.0, abs=0.15)
            assert path.remaining_mm == pytest.approx(length / 2, abs=0.15)
            assert panel.angle_label.text() == "48°"
            assert panel.remaining_label.text() == f"{length / 2:.1f} mm"
        # The numbers are written beside the needle on both pictures.
        (needle,) = [a for a in bedside.in_space("video") if a.kind == "needle"]
        assert overlay_b.labeller is not None
        assert f"To target {length / 2:.1f} mm" in overlay_b.labeller(needle)
        assert overlay_a.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # picks are done
        host.grab().save(str(shots / "us-guidance.png"))
        view_b.grab().save(str(shots / "us-guidance-bedside.png"))
    finally:
        panel_a.close_guidance()
        panel_b.close_guidance()
        panel_a.close_guidance()
        for overlay, view in ((overlay_a, view_a), (overlay_b, view_b)):
            overlay.close_overlay()
            view.close_view()


def test_screenshot_of_an_annotated_live_ultrasound(qtbot: Any, shots: Path) -> None:
    from PySide6.QtWidgets import QVBoxLayout

    doc = AnnotationDocument("site-a", "dr.chen")
    remote = AnnotationDocument("site-b", "dr.li")
    remote.op_emitted.connect(doc.apply_remote)
    view = QtVideoView(interval_ms=10)
    source = _Source()
    view.set_source(source)
    overlay = QtAnnotationOverlay(view, doc)
    toolbar = QtAnnotationToolbar(overlay)
    host = QWidget()
    qtbot.addWidget(host)
    column = QVBoxLayout(host)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(toolbar)
    column.addWidget(view, 1)
    host.resize(960, 640)
    host.show()
    try:
        source.push(_ultrasound_frame())
        qtbot.waitUntil(lambda: view.frames_shown >= 1, timeout=5000)
        overlay.set_tool(Tool.ARROW)
        rect = overlay.picture_rect()
        _drag(overlay, [to_widget(rect, (0.2, 0.25)), to_widget(rect, (0.38, 0.45))])
        doc.add("ellipse", "video", [[0.42, 0.45], [0.6, 0.62]], width=3)
        doc.add("text", "video", [[0.62, 0.38]], text="Pericardial effusion?")
        remote.add("stroke", "video", [[0.3 + 0.01 * i, 0.72 + 0.03 * np.sin(i / 3)] for i in range(40)],
                   pressure=[0.2 + 0.6 * i / 39 for i in range(40)], width=3)
        remote.add("arrow", "video", [[0.82, 0.78], [0.66, 0.7]], width=3)
        remote.pointer("video", [0.5, 0.3])
        toolbar.select(Tool.STROKE)
        assert len(doc.in_space("video")) == 5
        view.repaint()
        builds = overlay.layer_builds
        for _ in range(3):  # new frames repaint without rebuilding the annotation layer
            shown = view.frames_shown
            source.push(_ultrasound_frame())
            qtbot.waitUntil(lambda s=shown: view.frames_shown > s, timeout=5000)
            view.repaint()
        assert overlay.layer_builds == builds
        host.grab().save(str(shots / "annotated-video.png"))
    finally:
        toolbar.close_toolbar()
        overlay.close_overlay()
        view.close_view()


def test_freeze_travels_over_a_real_call_both_ways(qtbot: Any, shots: Path) -> None:
    """The specialist's panel with the overlay on the remote (bedside) video; the bedside is a real
    CallSession in the same process. Freeze and release go over the call's ``control`` channel."""
    from rtc.channels import ChannelMessage
    from rtc.media import UltrasoundVideoTrack
    from rtc.runtime import AsyncRuntime
    from rtc.session import CallSession
    from rtc.signalling import InMemorySignalling, memory_pair
    from widgets.call_controller import QtCallController
    from widgets.call_panel import QtCallPanel

    runtime = AsyncRuntime("test-freeze").start()
    received: list[ChannelMessage] = []

    async def far_side() -> tuple[InMemorySignalling, CallSession]:
        ours, theirs = memory_pair()
        session = CallSession(theirs, ice_servers=[], video_track=UltrasoundVideoTrack(320, 240, fps=15))
        session.message_received.connect(received.append)
        await session.start()
        return ours, session

    ours, bedside = runtime.run(far_side(), 10)
    controller = QtCallController(runtime, size=(320, 240), fps=15)
    panel = QtCallPanel(controller)
    qtbot.addWidget(panel)
    doc = AnnotationDocument("site-a", "dr.chen")
    overlay = panel.attach_annotations(doc)
    assert panel.attach_annotations(doc) is overlay and overlay.view is panel.remote_view
    assert panel.annotation_toolbar is not None and panel.guidance is not None
    panel.resize(900, 620)
    panel.show()
    try:
        controller.start(signalling=ours)
        qtbot.waitUntil(lambda: panel.state == "connected", timeout=30_000)
        qtbot.waitUntil(lambda: panel.remote_view.frames_shown >= 3, timeout=20_000)

        def control(action: str) -> list[dict[str, Any]]:
            bodies = [m.envelope.body for m in list(received) if m.channel == "control" and m.envelope]
            return [b for b in bodies if b["action"] == action]

        panel.annotation_toolbar.freeze_button.click()
        frame_id = overlay.frozen_frame
        assert frame_id and overlay.frozen_image is not None and overlay.frozen_image.size().width() == 320
        assert panel.annotation_toolbar.freeze_button.text() == "Release"
        qtbot.waitUntil(lambda: bool(control("freeze")), timeout=10_000)
        assert control("freeze")[0]["args"]["frame"] == frame_id
        doc.add("ellipse", "video", [[0.35, 0.4], [0.6, 0.7]], frame=frame_id, width=3)
        panel.grab().save(str(shots / "call-frozen.png"))

        # The bedside releases: the specialist's picture goes live again.
        body = {"action": "release", "args": {}}
        runtime.loop.call_soon_threadsafe(lambda: bedside.send("control", "release", body))
        qtbot.waitUntil(lambda: overlay.frozen_frame is None, timeout=10_000)
        assert not panel.annotation_toolbar.freeze_button.isChecked()
        # The bedside freezes: the specialist's picture freezes on the bedside's frame id.
        body = {"action": "freeze", "args": {"frame": "bedside-1"}}
        runtime.loop.call_soon_threadsafe(lambda: bedside.send("control", "freeze", body))
        qtbot.waitUntil(lambda: overlay.frozen_frame == "bedside-1", timeout=10_000)
        assert panel.annotation_toolbar.freeze_button.isChecked()
    finally:
        panel.close_panel()
        panel.close_panel()
        runtime.run(bedside.close(), 10)
        runtime.stop()


def _texture(seed: int, size: tuple[int, int] = (900, 600)) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, (size[1], size[0]), dtype=np.uint8)
    blurred = cv2.GaussianBlur(noise, (0, 0), 3).astype(np.float32)
    stretched = (blurred - blurred.min()) * (255.0 / max(1.0, float(blurred.max() - blurred.min())))
    return stretched.astype(np.uint8)


def test_anchored_shapes_follow_the_tissue_and_say_when_tracking_is_lost(qtbot: Any, shots: Path) -> None:
    from widgets.annotation_overlay import QtAnchorFollower

    doc = AnnotationDocument("site-a", "dr.chen")
    view, overlay, source = _stage(qtbot, doc, (640, 480))
    follower = QtAnchorFollower(overlay)
    texture = _texture(5)

    def show(x0: int, tex: np.ndarray = texture, tracked: bool = True) -> None:
        grey = tex[40 : 40 + 480, x0 : x0 + 640]
        shown, done = view.frames_shown, follower.frames_tracked
        source.push(av.VideoFrame.from_ndarray(np.repeat(grey[:, :, None], 3, axis=2), format="rgb24"))
        qtbot.waitUntil(lambda: view.frames_shown > shown, timeout=5000)
        view.repaint()
        if tracked:
            qtbot.waitUntil(lambda: follower.frames_tracked > done, timeout=5000)

    try:
        show(100, tracked=False)  # nothing anchored yet: nothing to track
        toolbar = QtAnnotationToolbar(overlay)
        qtbot.addWidget(toolbar)
        toolbar.anchor_button.click()
        overlay.set_tool(Tool.MARKER)
        _click(overlay, (0.5, 0.5))
        (marker,) = doc.in_space("video")
        assert marker.anchored
        show(100)
        # The tissue slides left by 3 px a frame: the marker goes with it, drawn where the tissue is.
        for step in range(1, 16):
            show(100 + 3 * step)
        dx, dy = overlay.anchor_offsets[marker.id]
        assert abs(dx * 640 - (-45)) < 4 and abs(dy * 480) < 4
        assert overlay.tracking_lost == set()
        # A different picture altogether (the probe lifted): tracking is lost and the badge says so.
        other = _texture(99)
        for _ in range(3):
            show(100, other)
        assert overlay.tracking_lost == {marker.id}
        image = view.grab().toImage()
        assert _marks(image, "#c0392b").sum() > 200  # the red badge
        view.grab().save(str(shots / "tracking-lost.png"))
        toolbar.close_toolbar()
    finally:
        overlay.close_overlay()
        follower.close()
        view.close_view()


def test_text_in_place_and_a_polyline_path(qtbot: Any) -> None:
    from PySide6.QtWidgets import QLineEdit

    doc = AnnotationDocument("site-a", "dr.chen")
    view, overlay, _source = _stage(qtbot, doc, (640, 480))
    try:
        overlay.set_tool(Tool.TEXT)
        _click(overlay, (0.25, 0.5))
        editor = overlay.findChild(QLineEdit)
        assert editor is not None and editor.isVisible()
        qtbot.keyClicks(editor, "Needle here")
        qtbot.keyClick(editor, Qt.Key.Key_Return)
        (label,) = doc.in_space("video")
        assert label.kind == "text" and label.text == "Needle here"
        assert np.allclose(label.points, [(0.25, 0.5)], atol=2e-3)

        overlay.set_tool(Tool.POLYLINE)
        for point in ((0.1, 0.1), (0.3, 0.2), (0.5, 0.1)):
            _click(overlay, point)
        assert len(doc.in_space("video")) == 1  # not finished yet
        qtbot.keyClick(overlay, Qt.Key.Key_Return)
        path = doc.in_space("video")[-1]
        assert path.kind == "polyline" and np.allclose(path.points, [(0.1, 0.1), (0.3, 0.2), (0.5, 0.1)],
                                                      atol=2e-3)
        # Escape drops a path being drawn
        _click(overlay, (0.6, 0.6))
        qtbot.keyClick(overlay, Qt.Key.Key_Escape)
        qtbot.keyClick(overlay, Qt.Key.Key_Return)
        assert len(doc.in_space("video")) == 2
    finally:
        overlay.close_overlay()
        view.close_view()


def test_the_bedside_draws_on_its_own_video_shown_large(qtbot: Any) -> None:
    from rtc.runtime import AsyncRuntime
    from widgets.call_controller import QtCallController
    from widgets.call_panel import QtCallPanel

    runtime = AsyncRuntime("test-bedside-panel").start()
    controller = QtCallController(runtime)
    panel = QtCallPanel(controller)
    qtbot.addWidget(panel)
    panel.resize(900, 620)
    panel.show()
    try:
        overlay = panel.attach_annotations(AnnotationDocument("site-b", "dr.li"), on_local=True)
        assert overlay.view is panel.local_view and panel.stage.large is panel.local_view
        qtbot.waitUntil(lambda: panel.local_view.width() == panel.stage.width(), timeout=2000)
        # outside a call the bedside sees its own (large) view, and no floating preview
        assert panel.local_view.isVisible() and not panel.remote_view.isVisible()
        assert overlay.geometry() == panel.local_view.rect()
        assert panel.guidance is not None and not panel.guidance.isVisible()
        panel.guidance_button.click()
        assert panel.guidance.isVisible()
    finally:
        panel.close_panel()
        runtime.stop()
