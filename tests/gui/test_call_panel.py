"""The consultation panel in a real in-process call: state banner, remote and local video, mute,
camera off, quality indicator, call timer and hang-up (widgets/call_panel.py, widgets/call_controller.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from rtc.runtime import AsyncRuntime
from rtc.session import CallSession, CallState
from rtc.signalling import InMemorySignalling, memory_pair
from tests.helpers import far_side_call
from widgets.call_controller import QtCallController
from widgets.call_panel import QtCallPanel, format_duration
from widgets.video_view import QtVideoView

pytestmark = pytest.mark.gui


@pytest.fixture
def runtime() -> Iterator[AsyncRuntime]:
    rt = AsyncRuntime("test-call").start()
    yield rt
    rt.stop()


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * h)
    return data.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3)


def _video_share(view: QtVideoView) -> float:
    """The share of the view's pixels that differ from its empty background (placeholder text is tiny)."""
    pixels = _pixels(view.grab().toImage()).astype(np.int16)
    background = np.array([16, 18, 20], dtype=np.int16)
    return float((np.abs(pixels - background).max(axis=2) > 12).mean())


def _mean(frame: object) -> float:
    return float(frame.to_ndarray(format="rgb24").mean())  # type: ignore[attr-defined]


def test_a_call_from_join_to_hang_up(qtbot, runtime: AsyncRuntime, shots: Path) -> None:  # type: ignore[no-untyped-def]
    from rtc.media import UltrasoundVideoTrack

    async def far_side() -> tuple[InMemorySignalling, CallSession]:
        ours, theirs = memory_pair()
        # The county doctor's side sends the demo's simulated ultrasound.
        session = CallSession(theirs, ice_servers=[], video_track=UltrasoundVideoTrack(320, 240, fps=15))
        await session.start()
        return ours, session

    ours, county = runtime.run(far_side(), 10)
    controller = QtCallController(runtime, size=(320, 240), fps=15, stats_interval_ms=500)
    panel = QtCallPanel(controller)
    qtbot.addWidget(panel)
    panel.resize(760, 560)
    panel.show()
    try:
        assert panel.state == "idle" and not panel.remote_view.has_video
        assert "No call" in panel.banner.text() and not panel.join_button.isVisible()
        panel.offer_call("Liu Fang - pericardial effusion")
        assert panel.join_button.isVisible() and "Liu Fang" in panel.banner.text()
        states: list[str] = []
        controller.sig_state.connect(states.append)
        panel.sig_join.connect(lambda: controller.start(signalling=ours))
        panel.join_button.click()
        assert panel.banner.text() == "Connecting..."
        qtbot.waitUntil(lambda: panel.state == "connected", timeout=30_000)
        assert states[:2] == ["connecting", "connected"] and panel.banner.text() == "Connected"
        assert not panel.join_button.isVisible() and panel.hang_up_button.isEnabled()

        # Remote video is painted (newest frame), the local preview too.
        qtbot.waitUntil(lambda: panel.remote_view.frames_shown >= 5, timeout=30_000)
        qtbot.waitUntil(lambda: panel.local_view.frames_shown >= 3, timeout=30_000)
        assert _video_share(panel.remote_view) > 0.2
        assert panel.remote_view.frame_size is not None
        assert (panel.remote_view.frame_size.width(), panel.remote_view.frame_size.height()) == (320, 240)
        # The preview floats inside the stage, in its bottom-right quarter.
        local = panel.local_view.geometry()
        assert panel.stage.rect().contains(local) and local.width() < panel.stage.width() // 3
        assert local.left() > panel.stage.width() // 2 and local.top() > panel.stage.height() // 2

        # Quality indicator from the real stats, and a running clock.
        qtbot.waitUntil(lambda: panel.quality.bars > 0 and "ms" in panel.quality.toolTip(), timeout=30_000)
        qtbot.waitUntil(lambda: "Frame rate: - fps" not in panel.quality.toolTip(), timeout=30_000)
        tip = panel.quality.toolTip()
        assert "Round-trip time" in tip and "Resolution: 320x240" in tip and "kbit/s" in tip
        qtbot.waitUntil(lambda: panel.timer_label.text() != "00:00", timeout=30_000)
        panel.grab().save(str(shots / "call-panel.png"))

        # Camera off reaches the far side as black frames; mute as silence; no renegotiation.
        assert county.latest_video_frame is not None and _mean(county.latest_video_frame) > 40
        panel.camera_button.click()
        assert panel.camera_button.text() == "Camera on"
        seen = county.frames_received
        qtbot.waitUntil(lambda: county.frames_received > seen + 8, timeout=30_000)
        qtbot.waitUntil(
            lambda: county.latest_video_frame is not None and _mean(county.latest_video_frame) < 8,
            timeout=30_000,
        )
        panel.mute_button.click()
        assert panel.mute_button.text() == "Unmute" and controller.audio is not None
        silent, heard = controller.audio.silent_frames_sent, county.audio_frames_received
        qtbot.waitUntil(
            lambda: (
                controller.audio is not None
                and controller.audio.silent_frames_sent > silent + 20
                and county.audio_frames_received > heard + 20
            ),
            timeout=30_000,
        )
        assert controller.audio.level == 0.0
        panel.camera_button.click()
        panel.mute_button.click()
        qtbot.waitUntil(
            lambda: county.latest_video_frame is not None and _mean(county.latest_video_frame) > 40,
            timeout=30_000,
        )
        assert controller.audio.level > 0.0 or controller.audio.silent_frames_sent >= silent
        assert panel.state == "connected" and county.state is CallState.CONNECTED

        # Hang up: ended for us, the far side loses its peer.
        panel.hang_up_button.click()
        qtbot.waitUntil(lambda: panel.state == "ended", timeout=30_000)
        assert panel.banner.text() == "Call ended" and not panel.hang_up_button.isEnabled()
        assert panel.join_button.text() == "Call again" and panel.timer_label.text() == "00:00"
        assert not panel.remote_view.has_video and panel.quality.bars == 0
        runtime.run(county.wait_for_state(CallState.RECONNECTING, 10), 15)
    finally:
        panel.close_panel()
        panel.close_panel()  # twice is harmless
        runtime.run(county.close(), 10)


def test_the_remote_peer_leaving_shows_reconnecting(qtbot, runtime: AsyncRuntime) -> None:  # type: ignore[no-untyped-def]
    ours, county = runtime.run(far_side_call(), 10)
    controller = QtCallController(runtime, size=(160, 120), fps=10)
    panel = QtCallPanel(controller)
    qtbot.addWidget(panel)
    panel.show()
    try:
        controller.start(signalling=ours)
        qtbot.waitUntil(lambda: panel.state == "connected", timeout=30_000)
        runtime.run(county.close(), 10)
        qtbot.waitUntil(lambda: panel.state == "reconnecting", timeout=30_000)
        assert "Reconnecting" in panel.banner.text() and panel.hang_up_button.isEnabled()
        assert panel.quality.bars == 0 and "not in a call" in panel.quality.toolTip()
        panel.hang_up_button.click()
        qtbot.waitUntil(lambda: panel.state == "ended", timeout=30_000)
    finally:
        panel.close_panel()


def test_a_refused_join_ends_with_a_message(qtbot, runtime: AsyncRuntime) -> None:  # type: ignore[no-untyped-def]
    controller = QtCallController(runtime)
    panel = QtCallPanel(controller)
    qtbot.addWidget(panel)
    try:
        # Nothing listens on port 9 of loopback: the WebSocket is refused.
        controller.start(lambda: "ws://127.0.0.1:9/api/v1/rooms/1/signal?token=x", [])
        qtbot.waitUntil(lambda: panel.state == "ended", timeout=30_000)
        assert not panel.error_label.isHidden() and panel.error_label.text()
    finally:
        panel.close_panel()


def test_duration_format() -> None:
    assert format_duration(0) == "00:00"
    assert format_duration(75.9) == "01:15"
    assert format_duration(3725) == "1:02:05"


def test_device_settings_on_a_machine_without_devices(qtbot, shots: Path) -> None:  # type: ignore[no-untyped-def]
    from rtc.media import SourceKind, list_cameras, list_microphones
    from widgets.device_settings import QtDeviceSettings, chosen_sources
    from widgets.settings_dialog import QtSettingsDialog

    dialog = QtSettingsDialog("en", 15, None, devices=("/dev/video5", ""))
    qtbot.addWidget(dialog)
    dialog.show()
    devices = dialog.devices
    assert isinstance(devices, QtDeviceSettings)
    if not list_cameras():  # this machine: no camera, no sound card
        assert devices.camera_note.isVisible() and devices.camera_note.text() == "No camera found"
    if not list_microphones():
        assert devices.microphone_note.isVisible() and devices.microphone_note.text() == "No microphone found"
    # A camera chosen earlier and unplugged now stays listed, marked, and selected.
    assert devices.camera.currentText() == "/dev/video5 (not connected)"
    assert devices.chosen() == ("/dev/video5", "")
    assert devices.microphone.currentText() == "Test tone (no microphone)"
    devices.camera.setCurrentIndex(devices.camera.findData(""))
    devices.refresh_button.click()
    assert devices.chosen() == ("", "")
    dialog.grab().save(str(shots / "settings-devices.png"))
    video, audio = chosen_sources("/dev/video5", "hw:1,0")
    assert (video.kind, video.location, video.input_format) == (SourceKind.CAMERA, "/dev/video5", "v4l2")
    assert (audio.kind, audio.location, audio.input_format) == (SourceKind.MICROPHONE, "hw:1,0", "alsa")
    assert chosen_sources("", "")[0].kind is SourceKind.SYNTHETIC
