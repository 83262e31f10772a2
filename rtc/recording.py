"""Recording a call's received media to a Matroska file through PyAV, on one clock. Qt-free.

The clock (:class:`RecordingClock`) is monotonic nanoseconds since the recording started; the side
tracks (core/teaching/tracks.py) use the same clock, and the container's time base is the millisecond
(Matroska's own), so an event at ``t_ns`` and a frame at ``pts = t_ns // 1_000_000`` were seen at the
same moment.

CallSession's ``video_frame_received`` / ``audio_frame_received`` listeners run on the rtc loop: the
recorder only stamps the frame with the clock and puts it on a bounded queue; an encoder thread
converts and encodes. When the queue is full the frame is dropped and counted (a recording must never
slow the call down). Video is H.264 (libx264, ultrafast, variable frame rate: each frame keeps its
arrival time), or VP8 where libx264 is missing; audio is Opus at 48 kHz. PyAV is imported on first
use, not with this module.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import av

log = logging.getLogger(__name__)

TIME_BASE = Fraction(1, 1000)  # Matroska stores millisecond timestamps
NS_PER_TICK = 1_000_000
AUDIO_RATE = 48_000
_STOP = object()


class RecordingClock:
    """Monotonic nanoseconds since :meth:`start` (or construction). Thread-safe: it only reads."""

    def __init__(self, start_ns: int | None = None) -> None:
        self.start_ns = time.monotonic_ns() if start_ns is None else start_ns
        self.started_at = time.time()  # wall clock at the start, for the manifest

    def now_ns(self) -> int:
        return time.monotonic_ns() - self.start_ns

    def at(self, monotonic_ns: int) -> int:
        """A moment already taken with ``time.monotonic_ns()`` on this clock."""
        return monotonic_ns - self.start_ns


def ns_to_pts(t_ns: int) -> int:
    return t_ns // NS_PER_TICK


def pick_video_codec() -> str:
    import av

    return "libx264" if "libx264" in av.codecs_available else "libvpx"


@dataclass
class MediaStats:
    video_frames: int = 0
    audio_frames: int = 0
    dropped: int = 0
    first_video_ns: int | None = None
    last_video_ns: int | None = None
    video_times_ns: list[int] = field(default_factory=list)  # arrival of each written video frame


class MediaRecorder:
    """Received video and audio to ``path`` (``.mkv``). ``video(frame)`` and ``audio(frame)`` may be
    called from any thread; ``close()`` drains the queue, flushes the encoders and is idempotent."""

    def __init__(
        self,
        path: Path,
        clock: RecordingClock,
        *,
        fps: float = 30.0,
        video_codec: str | None = None,
        audio: bool = True,
        queue_size: int = 60,  # two seconds at 30 fps
        bit_rate: int = 1_500_000,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.fps = fps
        self.video_codec = video_codec or pick_video_codec()
        self.audio_codec = "libopus" if audio else None
        self.bit_rate = bit_rate
        self.stats = MediaStats()
        self.size: tuple[int, int] | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._closed = False
        self._lock = threading.Lock()
        self._container: Any = None
        self._vstream: Any = None
        self._astream: Any = None
        self._resampler: Any = None
        self._audio_next = 0  # next audio pts in samples
        self._last_video_pts = -1
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="media-recorder", daemon=True)
        self._thread.start()

    # --- producer side (rtc loop): stamp and hand over, nothing else ------------------------------
    def video(self, frame: av.VideoFrame) -> None:
        self._put(("v", self.clock.now_ns(), frame))

    def audio(self, frame: av.AudioFrame) -> None:
        if self.audio_codec is not None:
            self._put(("a", self.clock.now_ns(), frame))

    def attach(self, session: Any) -> None:
        """Record what a :class:`rtc.session.CallSession` receives (call on the rtc loop's thread)."""
        session.video_frame_received.connect(self.video)
        session.audio_frame_received.connect(self.audio)

    def detach(self, session: Any) -> None:
        session.video_frame_received.disconnect(self.video)
        session.audio_frame_received.disconnect(self.audio)

    @property
    def backlog(self) -> int:
        """Frames waiting for the encoder (a full queue drops new ones)."""
        return self._queue.qsize()

    def _put(self, item: tuple[str, int, Any]) -> None:
        if self._closed:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.stats.dropped += 1

    @property
    def error(self) -> BaseException | None:
        return self._error

    def close(self, timeout: float = 30.0) -> None:
        """Drain, flush and close the file. It waits for the encoder thread: call it off the rtc loop
        (e.g. ``await asyncio.to_thread(recorder.close)``)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # --- encoder thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                kind, t_ns, frame = item
                if kind == "v":
                    self._encode_video(t_ns, frame)
                else:
                    self._encode_audio(t_ns, frame)
        except BaseException as exc:  # keep the call going; the manifest reports it
            log.exception("recording: encoder failed")
            self._error = exc
            self._drain()
        finally:
            self._finish()

    def _drain(self) -> None:
        while True:
            with contextlib.suppress(queue.Empty):
                if self._queue.get(timeout=0.5) is _STOP:
                    return
            if self._closed and self._queue.empty():
                return

    def _open(self, width: int, height: int) -> None:
        import av

        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), mode="w", format="matroska")
        vstream: Any = container.add_stream(self.video_codec, rate=round(self.fps))
        vstream.width, vstream.height = width, height
        vstream.pix_fmt = "yuv420p"
        vstream.bit_rate = self.bit_rate
        vstream.time_base = TIME_BASE
        vstream.codec_context.time_base = TIME_BASE
        if self.video_codec == "libx264":
            vstream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
        vstream.codec_context.gop_size = max(1, round(self.fps * 2))
        if self.audio_codec is not None:
            astream: Any = container.add_stream(self.audio_codec, rate=AUDIO_RATE)
            astream.layout = "stereo"
            astream.time_base = Fraction(1, AUDIO_RATE)
            self._astream = astream
            self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE)
        self._container, self._vstream = container, vstream
        self.size = (width, height)

    def _encode_video(self, t_ns: int, frame: av.VideoFrame) -> None:
        from av.video.frame import PictureType

        if self._container is None:
            width, height = frame.width - frame.width % 2, frame.height - frame.height % 2
            self._open(width, height)
        pts = ns_to_pts(t_ns)
        if pts <= self._last_video_pts:
            return  # two frames in one millisecond: keep the first
        assert self.size is not None
        out = frame.reformat(width=self.size[0], height=self.size[1], format="yuv420p")
        out.pts, out.time_base = pts, TIME_BASE
        out.pict_type = PictureType.NONE  # the encoder picks keyframes, not the sender's decoder
        for packet in self._vstream.encode(out):
            self._container.mux(packet)
        self._last_video_pts = pts
        stats = self.stats
        stats.video_frames += 1
        stats.video_times_ns.append(t_ns)
        if stats.first_video_ns is None:
            stats.first_video_ns = t_ns
        stats.last_video_ns = t_ns

    def _encode_audio(self, t_ns: int, frame: av.AudioFrame) -> None:
        if self._container is None or self._astream is None:
            return  # audio before the first video frame: the file starts with the picture
        arrival = t_ns * AUDIO_RATE // 1_000_000_000
        frame.pts = None
        for chunk in self._resampler.resample(frame):
            # Keep audio on the recording clock: start where it arrived, then stay continuous unless
            # it drifts by more than 100 ms (a gap in the call), where it jumps to the arrival time.
            if abs(arrival - self._audio_next) > AUDIO_RATE // 10:
                self._audio_next = arrival
            chunk.pts, chunk.time_base = self._audio_next, Fraction(1, AUDIO_RATE)
            self._audio_next += chunk.samples
            arrival += chunk.samples
            for packet in self._astream.encode(chunk):
                self._container.mux(packet)
        self.stats.audio_frames += 1

    def _finish(self) -> None:
        container = self._container
        if container is None:
            return
        try:
            for stream in (self._vstream, self._astream):
                if stream is not None:
                    for packet in stream.encode(None):
                        container.mux(packet)
        except Exception:
            log.exception("recording: flushing the encoders failed")
        finally:
            container.close()
