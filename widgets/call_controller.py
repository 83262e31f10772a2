"""QtCallController: the Qt side of one call. It owns the CallSession on the rtc runtime and turns its
listeners into Qt signals through the one asyncio/Qt crossing (widgets/qt_async.py).

The panel observes it: ``sig_state`` (a CallState value), ``sig_quality`` (rtc.stats.CallQuality once a
second), ``sig_message`` (rtc.channels.ChannelMessage), ``sig_error`` (text). Media controls act on the
switchable tracks (rtc/media.py), so mute, camera off and a source switch need no renegotiation.
aiortc and PyAV are imported when a call starts, not when the panel is built.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from core.i18n import tr
from rtc.runtime import AsyncRuntime
from widgets.qt_async import QtAsyncBridge

if TYPE_CHECKING:
    from rtc.media import MediaSource, SwitchableAudioTrack, SwitchableVideoTrack
    from rtc.playback import AudioPlayback
    from rtc.session import CallSession
    from rtc.signalling import Signalling
    from rtc.stats import CallQuality, QualityMeter

log = logging.getLogger(__name__)

IDLE, CONNECTING, CONNECTED, RECONNECTING, ENDED = "idle", "connecting", "connected", "reconnecting", "ended"


class QtCallController(QObject):
    sig_state = Signal(str)
    sig_quality = Signal(object)
    sig_message = Signal(object)
    sig_error = Signal(str)
    sig_source_changed = Signal(object)  # the MediaSource now sending video

    def __init__(
        self,
        runtime: AsyncRuntime,
        parent: QObject | None = None,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        video_source: MediaSource | None = None,
        audio_source: MediaSource | None = None,
        stats_interval_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.bridge = QtAsyncBridge(runtime, self)
        self.size, self.fps = size, fps
        self.video_source = video_source
        self.audio_source = audio_source
        self.session: CallSession | None = None
        self.playback: AudioPlayback | None = None
        # called on the rtc loop with each new session before it starts (vitals, annotations attach)
        self.session_hooks: list[Callable[[CallSession], object]] = []
        # Instead of a CallSession: a session made from the signalling and ICE servers (a trainee's
        # rtc.class_viewer.ViewerSession). Such a session only receives: no camera or microphone is opened.
        self.session_factory: Callable[[Signalling, list[dict[str, Any]]], Any] | None = None
        self.video: SwitchableVideoTrack | None = None
        self.audio: SwitchableAudioTrack | None = None
        self._meter: QualityMeter | None = None
        self.state = IDLE
        self.muted = False
        self.camera_enabled = True
        self.remote_size: tuple[int, int] | None = None
        self._sampling = False
        self._stats = QTimer(self)
        self._stats.setInterval(stats_interval_ms)
        self._stats.timeout.connect(self._sample)
        self._closed = False

    # call ------------------------------------------------------------------------------------
    def start(
        self,
        signal_url_factory: Callable[[], str] | None = None,
        ice_servers: list[dict[str, Any]] | None = None,
        *,
        signalling: Signalling | None = None,
    ) -> None:
        """Join the room (a URL factory gives each reconnection a fresh token) or a given Signalling."""
        if self.state in (CONNECTING, CONNECTED, RECONNECTING) or self._closed:
            return
        if signalling is None and signal_url_factory is None:
            raise ValueError("start() needs a signal URL factory or a Signalling")
        self._set_state(CONNECTING)
        self.remote_size = None
        self.bridge.call(
            self._start(signal_url_factory, ice_servers or [], signalling),
            on_error=self._start_failed,
        )

    async def _start(
        self,
        url_factory: Callable[[], str] | None,
        ice_servers: list[dict[str, Any]],
        signalling: Signalling | None,
    ) -> None:
        from rtc.media import (
            SYNTHETIC_AUDIO,
            SYNTHETIC_VIDEO,
            SwitchableAudioTrack,
            SwitchableVideoTrack,
            open_source,
        )
        from rtc.session import CallSession
        from rtc.signalling import WebSocketSignalling
        from rtc.stats import QualityMeter

        if signalling is None:
            assert url_factory is not None
            signalling = WebSocketSignalling(url_factory)
        video: SwitchableVideoTrack | None = None
        audio: SwitchableAudioTrack | None = None
        session: Any
        if self.session_factory is not None:
            session = self.session_factory(signalling, ice_servers)
        else:
            video_source = self.video_source or SYNTHETIC_VIDEO
            audio_source = self.audio_source or SYNTHETIC_AUDIO
            video = SwitchableVideoTrack(size=self.size, fps=self.fps)
            audio = SwitchableAudioTrack()
            video.set_enabled(self.camera_enabled)
            audio.set_muted(self.muted)
            for track, source in ((video, video_source), (audio, audio_source)):
                try:
                    opened = await asyncio.to_thread(open_source, source, size=self.size, fps=self.fps)
                    track.set_source(opened)
                except Exception as exc:  # no device: the call goes on with black / silence
                    log.warning("call: %s cannot be opened: %s", source.label, exc)
                    self.bridge.post(functools.partial(self._source_failed, source, exc))
            session = CallSession(signalling, ice_servers=ice_servers, video_track=video, audio_track=audio)
        session.state_changed.connect(
            lambda state: self.bridge.post(lambda: self._on_state(session, state.value))
        )
        session.message_received.connect(
            lambda message: self.bridge.post(lambda: self.sig_message.emit(message))
        )
        self.video, self.audio = video, audio
        if self._closed or self.state == ENDED:  # hung up while the sources were opening
            await session.close()
            return
        self.session = session
        self._start_playback(session)
        self._meter = QualityMeter()
        for hook in self.session_hooks:
            try:
                hook(session)
            except Exception:  # a capability failing to attach must not stop the call
                log.exception("call: a session hook failed")
        await session.start()

    def _start_playback(self, session: CallSession) -> None:
        """The far side's voice to the sound card (rtc/playback.py); a machine without one says so."""
        from rtc.playback import AudioPlayback

        if self.playback is not None:
            self.playback.close()
        playback = AudioPlayback()
        self.playback = playback
        session.audio_frame_received.connect(playback.feed)
        if not playback.available:
            reason = playback.unavailable_reason
            self.bridge.post(
                lambda: self.sig_error.emit(
                    tr("CallPanel", "You cannot hear the other side here: %1").replace("%1", reason)
                )
            )

    def _start_failed(self, error: BaseException) -> None:
        log.warning("call: could not join: %s", error)
        self.sig_error.emit(str(error) or type(error).__name__)
        self.session = None
        self._set_state(ENDED)

    def _source_failed(self, source: MediaSource, error: BaseException) -> None:
        self.sig_error.emit(f"{source.label}: {error}")

    def _on_state(self, session: CallSession, state: str) -> None:
        if session is not self.session:
            return  # a late event from a call already hung up
        if state == CONNECTED:
            self._stats.start()
        elif state == ENDED:
            self._stats.stop()
            self.session = None
        self._set_state(state)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.sig_state.emit(state)

    def hang_up(self) -> None:
        session, self.session = self.session, None
        self._stats.stop()
        if self.playback is not None:
            self.playback.close()
            self.playback = None
        if session is None:
            if self.state != IDLE:
                self._set_state(ENDED)
            return
        ended = functools.partial(self._set_state, ENDED)
        self.bridge.call(session.close(), lambda _r: ended(), lambda _e: ended())

    # media -----------------------------------------------------------------------------------
    def _on_loop(self, fn: Callable[[], object]) -> None:
        if self.runtime.running:
            self.runtime.loop.call_soon_threadsafe(fn)

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        audio = self.audio
        if audio is not None:
            self._on_loop(lambda: audio.set_muted(muted))

    def set_camera_enabled(self, enabled: bool) -> None:
        self.camera_enabled = enabled
        video = self.video
        if video is not None:
            self._on_loop(lambda: video.set_enabled(enabled))

    def switch_source(self, source: MediaSource) -> None:
        """Send video (or audio, for a microphone) from ``source``; opening a device runs off the loop."""
        if source.is_video:
            self.video_source = source
        else:
            self.audio_source = source
        track = self.video if source.is_video else self.audio
        if track is None:
            self.sig_source_changed.emit(source)
            return

        async def swap() -> None:
            from rtc.media import open_source

            opened = await asyncio.to_thread(open_source, source, size=self.size, fps=self.fps)
            if track.readyState == "live":
                track.set_source(opened)
            else:
                opened.stop()

        self.bridge.call(
            swap(), lambda _r: self.sig_source_changed.emit(source), lambda e: self._source_failed(source, e)
        )

    def send(self, channel: str, kind: str, body: dict[str, Any]) -> bool:
        session = self.session
        if session is None:
            return False
        self._on_loop(lambda: session.send(channel, kind, body))  # type: ignore[arg-type]
        return True

    # frames (newest-frame slots, read by the views' display timers) -----------------------------
    def take_remote_frame(self) -> Any:
        session = self.session
        frame = session.take_video_frame() if session is not None else None
        if frame is not None:
            self.remote_size = (frame.width, frame.height)
        return frame

    def take_local_frame(self) -> Any:
        video = self.video
        return video.take_frame() if video is not None and self.session is not None else None

    # statistics ------------------------------------------------------------------------------
    def _sample(self) -> None:
        session, meter = self.session, self._meter
        if session is None or meter is None or self._sampling:
            return
        self._sampling = True
        size = self.remote_size

        async def sample() -> CallQuality | None:
            import time

            report = await session.stats()
            if report is None:
                meter.reset()
                return None
            return meter.update(
                report, frames_received=session.frames_received, frame_size=size, now=time.monotonic()
            )

        def done(quality: CallQuality | None) -> None:
            self._sampling = False
            if quality is not None and session is self.session:
                self.sig_quality.emit(quality)

        def failed(error: BaseException) -> None:
            self._sampling = False
            log.debug("call: stats failed: %s", error)

        self.bridge.call(sample(), done, failed)

    # lifetime --------------------------------------------------------------------------------
    def close(self, timeout: float = 3.0) -> None:
        """Hang up and wait (briefly) for it: for application exit. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._stats.stop()
        if self.playback is not None:
            self.playback.close()
        session, self.session = self.session, None
        self.bridge.close()
        if session is not None and self.runtime.running:
            try:
                self.runtime.run(session.close(), timeout=timeout)
            except Exception as exc:  # exiting: log and carry on
                log.warning("call: hang-up on exit: %s", exc)
        self.state = ENDED
