"""QtCallPanel: the consultation video call. Remote video large, the local preview small in a corner
(picture-in-picture), a state banner, the call timer, a quality indicator and the media controls.

The panel only observes a QtCallController (widgets/call_controller.py) and calls its methods; it never
touches the session or the loop itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from widgets.call_controller import CONNECTED, CONNECTING, ENDED, IDLE, RECONNECTING, QtCallController
from widgets.video_view import QtVideoView

if TYPE_CHECKING:
    from core.annotations.model import AnnotationDocument
    from rtc.media import MediaSource
    from rtc.stats import CallQuality
    from widgets.annotation_overlay import QtAnnotationOverlay
    from widgets.annotation_toolbar import QtAnnotationToolbar
    from widgets.us_guidance import QtUltrasoundGuidance

_BANNER_COLOURS = {
    IDLE: ("#3a3f45", "#e6e6e6"),
    CONNECTING: ("#7a5a00", "#fff6d8"),
    CONNECTED: ("#1f6b3a", "#e8ffef"),
    RECONNECTING: ("#8a4b00", "#fff0dc"),
    ENDED: ("#4a4f55", "#e6e6e6"),
}
_VERDICT_COLOURS = {"good": "#2e9d4f", "fair": "#d39a00", "poor": "#c0392b", "unknown": "#6b7078"}


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def quality_text(quality: CallQuality) -> str:
    """The tooltip of the quality indicator: every figure, '-' where there is none yet."""

    def figure(value: float | None, fmt: str) -> str:
        return fmt.format(value) if value is not None else "-"

    resolution = f"{quality.resolution[0]}x{quality.resolution[1]}" if quality.resolution else "-"
    verdicts = {
        "good": tr("CallPanel", "Good"),
        "fair": tr("CallPanel", "Fair"),
        "poor": tr("CallPanel", "Poor"),
        "unknown": tr("CallPanel", "Measuring..."),
    }
    lines = [
        tr("CallPanel", "Connection quality: %1").replace("%1", verdicts[quality.verdict.value]),
        tr("CallPanel", "Round-trip time: %1 ms").replace("%1", figure(quality.rtt_ms, "{:.0f}")),
        tr("CallPanel", "Packet loss: %1 % received, %2 % sent")
        .replace("%1", figure(quality.loss_in_pct, "{:.1f}"))
        .replace("%2", figure(quality.loss_out_pct, "{:.1f}")),
        tr("CallPanel", "Frame rate: %1 fps").replace("%1", figure(quality.fps_in, "{:.0f}")),
        tr("CallPanel", "Bitrate: %1 kbit/s in, %2 kbit/s out")
        .replace("%1", figure(quality.bitrate_in_kbps, "{:.0f}"))
        .replace("%2", figure(quality.bitrate_out_kbps, "{:.0f}")),
        tr("CallPanel", "Resolution: %1").replace("%1", resolution),
    ]
    return "\n".join(lines)


class QtQualityBars(QWidget):
    """Three signal bars coloured by the verdict; the tooltip carries the figures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars = 0
        self.verdict = "unknown"
        self.setFixedSize(QSize(26, 20))
        self.setToolTip(tr("CallPanel", "Connection quality: not in a call"))

    def set_quality(self, quality: CallQuality | None) -> None:
        if quality is None:
            self.bars, self.verdict = 0, "unknown"
            self.setToolTip(tr("CallPanel", "Connection quality: not in a call"))
        else:
            self.bars, self.verdict = quality.verdict.bars, quality.verdict.value
            self.setToolTip(quality_text(quality))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        on, off = QColor(_VERDICT_COLOURS[self.verdict]), QColor("#50555c")
        w = (self.width() - 4) // 3
        for i in range(3):
            h = int(self.height() * (i + 1) / 3)
            painter.fillRect(QRect(i * (w + 2), self.height() - h, w, h), on if i < self.bars else off)
        painter.end()


class _Stage(QWidget):
    """The remote view filling the stage and the local preview floating in its bottom-right corner
    (swapped at the bedside when the guidance is drawn on the bedside's own video)."""

    def __init__(self, remote: QtVideoView, local: QtVideoView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.remote, self.local = remote, local
        self.large, self.small = remote, local
        remote.setParent(self)
        local.setParent(self)
        local.raise_()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_local_large(self, local_large: bool) -> None:
        self.large, self.small = (self.local, self.remote) if local_large else (self.remote, self.local)
        self.local.framed, self.remote.framed = not local_large, local_large
        self.small.raise_()
        self._place()

    def _place(self) -> None:
        self.large.setGeometry(self.rect())
        w = max(96, self.width() // 4)
        h = w * 3 // 4
        margin = 10
        self.small.setGeometry(self.width() - w - margin, self.height() - h - margin, w, h)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._place()
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(640, 420)


class QtCallPanel(QWidget):
    sig_join = Signal()  # the user asked to join the offered call

    def __init__(self, controller: QtCallController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._offer: str | None = None
        self._connected_at: float | None = None
        self._state = controller.state
        self.overlay: QtAnnotationOverlay | None = None
        self.annotation_toolbar: QtAnnotationToolbar | None = None
        self.guidance: QtUltrasoundGuidance | None = None
        self.receive_only = False  # a trainee following: no camera, microphone or own preview

        self.banner = QLabel()
        self.banner.setObjectName("callBanner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)
        self.remote_view = QtVideoView()
        self.local_view = QtVideoView(interval_ms=66)
        self.local_view.framed = True
        self.stage = _Stage(self.remote_view, self.local_view)

        self.join_button = QPushButton()
        self.join_button.setObjectName("callJoin")
        self.join_button.clicked.connect(self._join_clicked)
        self.join_button.setStyleSheet(
            "#callJoin { background: #1f7a45; color: white; border-radius: 4px; padding: 4px 14px; }"
        )
        self.timer_label = QLabel(format_duration(0))
        self.timer_label.setObjectName("callTimer")
        self.quality = QtQualityBars()
        self.mute_button = QToolButton()
        self.mute_button.setCheckable(True)
        self.mute_button.toggled.connect(self._mute_toggled)
        self.camera_button = QToolButton()
        self.camera_button.setCheckable(True)
        self.camera_button.toggled.connect(self._camera_toggled)
        self.source_button = QToolButton()
        self.source_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.source_menu = QMenu(self.source_button)
        self.source_menu.aboutToShow.connect(self._fill_source_menu)
        self.source_button.setMenu(self.source_menu)
        self.hang_up_button = QPushButton()
        self.hang_up_button.setObjectName("callHangUp")
        self.hang_up_button.clicked.connect(self._hang_up_clicked)
        self._lock_hidden = False  # the screen is locked: the call goes on, the panel shows none of it
        # Set by the composition: why hanging up now needs a second thought (None: it does not).
        self.leave_warning: Callable[[], str | None] | None = None
        self.hang_up_button.setStyleSheet(
            "#callHangUp { background: #c0392b; color: white; border-radius: 4px; padding: 4px 14px; }"
            "#callHangUp:disabled { background: #6b4b48; color: #bbb; }"
        )
        self.error_label = QLabel()
        self.error_label.setObjectName("callError")
        self.error_label.setStyleSheet("#callError { color: #e67e22; }")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        controls = QHBoxLayout()
        controls.setContentsMargins(8, 4, 8, 4)
        controls.setSpacing(8)
        controls.addWidget(self.timer_label)
        controls.addWidget(self.quality)
        self._status_row = QHBoxLayout()  # indicators beside the timer (teaching: recording)
        self._status_row.setContentsMargins(0, 0, 0, 0)
        controls.addLayout(self._status_row)
        controls.addStretch(1)
        for button in (self.join_button, self.mute_button, self.camera_button, self.source_button):
            controls.addWidget(button)
        controls.addWidget(self.hang_up_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        self._strips = QVBoxLayout()  # rows other capabilities add under the banner (teaching)
        self._strips.setContentsMargins(0, 0, 0, 0)
        self._strips.setSpacing(0)
        layout.addLayout(self._strips)
        self._tools_row = QHBoxLayout()
        self._tools_row.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._tools_row)
        self._stage_row = QHBoxLayout()
        self._stage_row.setContentsMargins(0, 0, 0, 0)
        self._stage_row.setSpacing(0)
        self._stage_row.addWidget(self.stage, 1)
        layout.addLayout(self._stage_row, 1)
        layout.addWidget(self.error_label)
        layout.addLayout(controls)

        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        controller.sig_state.connect(self._on_state)
        controller.sig_quality.connect(self._on_quality)
        controller.sig_error.connect(self._on_error)
        self.retranslate()
        self._on_state(controller.state)

    # guidance overlays (issue 7) --------------------------------------------------------------
    def attach_annotations(
        self, document: AnnotationDocument, *, on_local: bool = False
    ) -> QtAnnotationOverlay:
        """Draw ``document``'s video annotations over the guided video: the remote one (the specialist
        watches the bedside), or ``on_local`` the local one, then shown large (the bedside's own probe).
        Adds the drawing tools, the ultrasound guidance controls, and freeze-frame over ``control``."""
        from widgets.annotation_overlay import QtAnchorFollower, QtAnnotationOverlay, QtFreezeLink
        from widgets.annotation_toolbar import QtAnnotationToolbar
        from widgets.us_guidance import QtUltrasoundGuidance, install_labels

        if self.overlay is not None:
            return self.overlay
        view = self.local_view if on_local else self.remote_view
        self.stage.show_local_large(on_local)
        self.overlay = QtAnnotationOverlay(view, document)
        install_labels(self.overlay)
        QtAnchorFollower(self.overlay)
        freeze = QtFreezeLink(self.overlay, lambda kind, body: self.controller.send("control", kind, body))
        self.controller.sig_message.connect(freeze.on_message)
        self.annotation_toolbar = QtAnnotationToolbar(self.overlay)
        self.guidance = QtUltrasoundGuidance(self.overlay)
        self.guidance.setVisible(False)
        self.guidance_button = QToolButton()
        self.guidance_button.setCheckable(True)
        self.guidance_button.toggled.connect(self.guidance.setVisible)
        # The tools scroll sideways in a narrow dock rather than widen the window past the screen.
        tools = QScrollArea()
        tools.setObjectName("annotationToolsScroll")
        tools.setWidget(self.annotation_toolbar)
        tools.setWidgetResizable(True)
        tools.setFrameShape(QFrame.Shape.NoFrame)
        tools.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        tools.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        tools.setMinimumWidth(120)
        tools.setFixedHeight(
            self.annotation_toolbar.sizeHint().height() + tools.horizontalScrollBar().sizeHint().height()
        )
        self._tools_row.addWidget(tools, 1)
        self._tools_row.addWidget(self.guidance_button)
        self._stage_row.addWidget(self.guidance)
        self._render_state()
        return self.overlay

    def set_receive_only(self, receive_only: bool) -> None:
        """Hide what only a sending participant needs: mute, camera, source and the own preview."""
        self.receive_only = receive_only
        for button in (self.mute_button, self.camera_button, self.source_button):
            button.setVisible(not receive_only)
        self._render_state()

    def add_strip(self, widget: QWidget) -> None:
        """A full-width row under the banner (the class strip, the trainee's sessions and banner)."""
        self._strips.addWidget(widget)

    def add_status(self, widget: QWidget) -> None:
        """A small indicator beside the call timer (the recording indicator)."""
        self._status_row.addWidget(widget)

    # model -----------------------------------------------------------------------------------
    def offer_call(self, description: str | None) -> None:
        """Offer "Join call" for a consult (None: nothing to join)."""
        self._offer = description
        self._render_state()

    @property
    def state(self) -> str:
        return self._state

    def set_hidden_for_lock(self, hidden: bool) -> None:
        """While the workstation is locked the call goes on, but no frame of it is shown or kept here."""
        if hidden == self._lock_hidden:
            return
        self._lock_hidden = hidden
        self._on_state(self._state)

    def _on_state(self, state: str) -> None:
        previous, self._state = self._state, state
        if state == CONNECTED and self._connected_at is None:
            self._connected_at = time.monotonic()
        if self._lock_hidden:
            self.remote_view.set_source(None)
            self.local_view.set_source(None)
        if state in (CONNECTING, CONNECTED, RECONNECTING) and not self._lock_hidden:
            self.remote_view.set_source(self.controller.take_remote_frame)
            self.local_view.set_source(self.controller.take_local_frame)
            self._clock.start()
            if previous in (IDLE, ENDED):
                self.error_label.hide()
            if state == RECONNECTING:
                self.quality.set_quality(None)  # the old connection's figures no longer apply
        else:
            self.remote_view.set_source(None)
            self.local_view.set_source(None)
            self._clock.stop()
            self.quality.set_quality(None)
            if state == ENDED:
                self._connected_at = None
        self._render_state()

    def _on_quality(self, quality: CallQuality) -> None:
        self.quality.set_quality(quality)

    def _on_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._connected_at if self._connected_at is not None else 0.0
        self.timer_label.setText(format_duration(elapsed))

    # controls --------------------------------------------------------------------------------
    def _hang_up_clicked(self) -> None:
        warning = self.leave_warning() if self.leave_warning is not None else None
        if warning is None:
            self.controller.hang_up()
            return
        from widgets.confirm import confirm_then

        confirm_then(self, warning, tr("CallPanel", "Hang up anyway?"), self.controller.hang_up)

    def _join_clicked(self) -> None:
        self.sig_join.emit()

    def _mute_toggled(self, muted: bool) -> None:
        self.controller.set_muted(muted)
        self._render_buttons()

    def _camera_toggled(self, off: bool) -> None:
        self.controller.set_camera_enabled(not off)
        self._render_buttons()

    def _fill_source_menu(self) -> None:
        from rtc.media import SYNTHETIC_VIDEO, ULTRASOUND_VIDEO, list_cameras

        self.source_menu.clear()
        current = self.controller.video_source or SYNTHETIC_VIDEO
        cameras = list_cameras()
        for source in [*cameras, ULTRASOUND_VIDEO, SYNTHETIC_VIDEO]:
            self._add_source_action(source, source == current)
        if not cameras:
            none = self.source_menu.addAction(tr("CallPanel", "No camera found"))
            none.setEnabled(False)
        self.source_menu.addSeparator()
        pick = self.source_menu.addAction(tr("CallPanel", "Video file or capture device..."))
        pick.triggered.connect(self._pick_file)

    def _add_source_action(self, source: MediaSource, current: bool) -> QAction:
        labels = {
            "synthetic": tr("CallPanel", "Test pattern"),
            "ultrasound": tr("CallPanel", "Simulated ultrasound"),
        }
        action = self.source_menu.addAction(labels.get(source.kind.value, source.label))
        action.setCheckable(True)
        action.setChecked(current)
        action.triggered.connect(lambda _checked=False, s=source: self.controller.switch_source(s))
        return action

    def _pick_file(self) -> None:
        from rtc.media import file_source

        path, _filter = QFileDialog.getOpenFileName(
            self,
            tr("CallPanel", "Send video from"),
            "",
            tr("CallPanel", "Video (*.mp4 *.mkv *.avi *.webm *.mov);;All files (*)"),
        )
        if path:
            self.controller.switch_source(file_source(path))

    # rendering -------------------------------------------------------------------------------
    def _render_state(self) -> None:
        state = self._state
        texts = {
            IDLE: tr("CallPanel", "No call. Open a consult to join its call."),
            CONNECTING: tr("CallPanel", "Connecting..."),
            CONNECTED: tr("CallPanel", "Connected"),
            RECONNECTING: tr("CallPanel", "Connection lost. Reconnecting..."),
            ENDED: tr("CallPanel", "Call ended"),
        }
        text = texts.get(state, state)
        if state == IDLE and self._offer:
            text = tr("CallPanel", "Ready to call: %1").replace("%1", self._offer)
        background, foreground = _BANNER_COLOURS.get(state, _BANNER_COLOURS[IDLE])
        self.banner.setText(text)
        self.banner.setStyleSheet(
            f"#callBanner {{ background: {background}; color: {foreground}; padding: 6px;"
            " font-weight: 600; }"
        )
        in_call = state in (CONNECTING, CONNECTED, RECONNECTING)
        self.join_button.setVisible(not in_call and self._offer is not None)
        self.join_button.setText(
            tr("CallPanel", "Join call") if state != ENDED else tr("CallPanel", "Call again")
        )
        self.hang_up_button.setEnabled(in_call)
        self.remote_view.set_placeholder(
            {
                CONNECTING: tr("CallPanel", "Waiting for the other side's video..."),
                CONNECTED: tr("CallPanel", "Waiting for the other side's video..."),
                RECONNECTING: tr("CallPanel", "Video paused while the connection recovers"),
            }.get(state, tr("CallPanel", "No video"))
        )
        if self._lock_hidden:
            self.remote_view.set_placeholder(tr("CallPanel", "The workstation is locked"))
        if self.overlay is not None:
            # The guidance belongs on a live picture: it leaves the video when the call ends.
            self.overlay.setVisible(in_call and not self._lock_hidden)
        self.stage.large.setVisible(True)
        self.stage.small.setVisible(in_call and not self.receive_only)
        if not in_call:
            self.timer_label.setText(format_duration(0))
        self._render_buttons()

    def _render_buttons(self) -> None:
        # Mute, camera and source stay usable outside a call: they set how the next call starts.
        muted, camera_off = self.mute_button.isChecked(), self.camera_button.isChecked()
        self.mute_button.setText(tr("CallPanel", "Unmute") if muted else tr("CallPanel", "Mute"))
        self.mute_button.setToolTip(
            tr("CallPanel", "Microphone off: the other side hears silence")
            if muted
            else tr("CallPanel", "Turn the microphone off")
        )
        self.camera_button.setText(
            tr("CallPanel", "Camera on") if camera_off else tr("CallPanel", "Camera off")
        )
        self.camera_button.setToolTip(tr("CallPanel", "Stop or resume sending video"))
        self.source_button.setText(tr("CallPanel", "Source"))
        self.source_button.setToolTip(
            tr("CallPanel", "Send video from another camera, a capture device or a file")
        )
        self.hang_up_button.setText(tr("CallPanel", "Hang up"))
        if self.guidance is not None:
            self.guidance_button.setText(tr("CallPanel", "Ultrasound guidance"))
            self.guidance_button.setToolTip(
                tr("CallPanel", "Calibrate the depth and plan a needle path on the video")
            )
        self.local_view.set_placeholder(
            tr("CallPanel", "Camera off") if camera_off else tr("CallPanel", "You")
        )

    def retranslate(self) -> None:
        self._render_state()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_panel(self) -> None:
        """Stop the views and the clock and hang up (waiting briefly). Calling it twice is harmless."""
        self._clock.stop()
        if self.overlay is not None:
            self.overlay.close_overlay()
        if self.annotation_toolbar is not None:
            self.annotation_toolbar.close_toolbar()
        if self.guidance is not None:
            self.guidance.close_guidance()
        self.remote_view.close_view()
        self.local_view.close_view()
        self.controller.close()

    def sizeHint(self) -> QSize:
        return QSize(720, 520)
