"""Replay of a session recording (core/teaching/tracks.py), Qt-free.

:class:`Recording` opens a recording folder: the manifest, every side track and the media file.
:class:`ReplayCursor` is what the player widget drives: position, play/pause, seek, speed, chapter
markers. The widget calls :meth:`ReplayCursor.poll` on its display timer and gets everything whose
moment has come since the previous poll, video frames and track events together, in time order, so an
overlay appears at the moment it was drawn and the vitals as they were. Time comes from an injectable
clock (monotonic nanoseconds), so tests and the widget drive the same code.

Video and audio are decoded ahead on a thread of their own (:class:`_DecodeAhead`; PyAV lets go of the
GIL while it decodes). A seek reopens the file and decodes from the last keyframe, 0.1-0.2 s at 720p:
with ``media_wait_s=0`` (the player) ``poll`` never waits for that and hands the frame out on the poll
after it is ready; with the default (``None``) it waits, which is what a caller stepping a fake clock
wants.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.teaching.tracks import TRACKS, Chapter, Manifest, decode_bytes
from rtc.recording import NS_PER_TICK

log = logging.getLogger(__name__)

MEDIA_TRACKS = ("video", "audio")
MIN_SPEED, MAX_SPEED = 0.1, 16.0


@dataclass(frozen=True, order=True)
class ReplayEvent:
    t_ns: int
    order: int  # ties: the order of recording within a track; video before side tracks
    track: str = field(compare=False)
    origin: str = field(compare=False, default="remote")
    data: Any = field(compare=False, default=None)  # dict, bytes (vitals), av.VideoFrame/AudioFrame


def _read_track(path: Path, track: str) -> tuple[list[ReplayEvent], int]:
    """A JSON Lines track; lines that are not valid events are skipped and counted."""
    events: list[ReplayEvent] = []
    skipped = 0
    if not path.is_file():
        return events, 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            try:
                raw = json.loads(line)
                t_ns = raw["t_ns"]
                if not isinstance(t_ns, int) or isinstance(t_ns, bool) or t_ns < 0:
                    raise ValueError("t_ns must be a non-negative integer")
                data = raw.get("data")
                if track == "vitals":
                    data = decode_bytes(data)
                events.append(ReplayEvent(t_ns, number, track, str(raw.get("origin", "remote")), data))
            except (ValueError, KeyError, TypeError) as exc:
                skipped += 1
                log.warning("replay: %s line %d skipped: %s", path.name, number + 1, exc)
    events.sort()
    return events, skipped


class Recording:
    """An opened recording folder. Track events are loaded at once (they are small); media is decoded
    on demand."""

    def __init__(
        self, folder: Path, manifest: Manifest, tracks: dict[str, list[ReplayEvent]], skipped: int = 0
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.tracks = tracks
        self.skipped = skipped

    @classmethod
    def open(cls, folder: Path) -> Recording:
        folder = Path(folder)
        manifest = Manifest.read(folder)
        tracks: dict[str, list[ReplayEvent]] = {}
        skipped = 0
        for name in TRACKS:
            info = manifest.tracks.get(name)
            file = info.file if info is not None else f"{name}.jsonl"
            if Path(file).name != file:
                raise ValueError(f"manifest track {name!r} points outside the recording: {file!r}")
            tracks[name], bad = _read_track(folder / file, name)
            skipped += bad
        return cls(folder, manifest, tracks, skipped)

    @property
    def duration_ns(self) -> int:
        return self.manifest.duration_ns

    @property
    def media_path(self) -> Path | None:
        file = self.manifest.media.file
        if not file or Path(file).name != file or not (self.folder / file).is_file():
            return None
        return self.folder / file

    @property
    def imaging_path(self) -> Path | None:
        """The folder of the study that travels with the recording, if any."""
        name = self.manifest.imaging
        if not name or Path(name).name != name or not (self.folder / name).is_dir():
            return None
        return self.folder / name

    def events(
        self, track: str | None = None, start_ns: int = 0, end_ns: int | None = None
    ) -> list[ReplayEvent]:
        """Side-track events with ``start_ns <= t <= end_ns`` in time order (one track or all)."""
        names = [track] if track is not None else list(self.tracks)
        merged = heapq.merge(*(self.tracks.get(n, []) for n in names))
        stop = self.duration_ns if end_ns is None else end_ns
        return [e for e in merged if start_ns <= e.t_ns <= stop]

    def media_frames(self, kind: str = "video", start_ns: int = 0) -> Iterator[ReplayEvent]:
        """Decoded frames from ``start_ns`` on, each stamped with its recording time. The frame showing
        at ``start_ns`` (the last one at or before it) comes first."""
        path = self.media_path
        if path is None:
            return
        import av

        with av.open(str(path)) as container:
            streams = container.streams.video if kind == "video" else container.streams.audio
            if not streams:
                return
            stream = streams[0]
            if start_ns > 0:
                container.seek(start_ns // NS_PER_TICK, stream=stream, backward=True, any_frame=False)
            held: ReplayEvent | None = None
            order = 0
            frame: Any
            for frame in container.decode(stream):
                if frame.pts is None or frame.time_base is None:
                    continue
                t_ns = round(float(frame.pts * frame.time_base) * 1e9)
                event = ReplayEvent(t_ns, order, kind, "remote", frame)
                order += 1
                if t_ns < start_ns:
                    held = event
                    continue
                if held is not None:
                    if t_ns > start_ns:
                        yield held
                    held = None
                yield event
            if held is not None:
                yield held

    # --- chapters ---------------------------------------------------------------------------------
    @property
    def chapters(self) -> list[Chapter]:
        return list(self.manifest.chapters)

    def add_chapter(self, title: str, t_ns: int) -> Chapter:
        """A chapter marker, kept in the manifest at once."""
        chapter = Chapter(t_ns=max(0, min(t_ns, self.duration_ns)), title=title)
        self.manifest.chapters.append(chapter)
        self.manifest.chapters.sort(key=lambda c: c.t_ns)
        self.manifest.write(self.folder)
        return chapter

    def remove_chapter(self, chapter: Chapter) -> None:
        self.manifest.chapters = [c for c in self.manifest.chapters if c != chapter]
        self.manifest.write(self.folder)


class _DecodeAhead:
    """A media stream decoded ahead by a thread of its own, at most ``depth`` events; the caller peeks
    at and takes what is ready, waiting no longer than it asks to. All PyAV work (open, seek, decode,
    close) happens on the thread; ``close`` only asks it to stop."""

    _END = object()

    def __init__(self, source: Callable[[], Iterator[ReplayEvent]], depth: int = 12) -> None:
        self._source = source
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._next: ReplayEvent | None = None
        self._done = False
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="replay-decode", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        events = self._source()
        try:
            for event in events:
                if not self._put(event):
                    break
        except Exception as exc:  # a damaged media file: what was decoded stays, the stream ends here
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("replay: media decoding stopped: %s", self.error)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            self._put(self._END)

    def peek(self, wait_s: float | None = None) -> ReplayEvent | None:
        """The next event, or None at the end of the stream, or when nothing is ready within ``wait_s``
        (None: as long as it takes)."""
        if self._next is None and not self._done:
            try:
                item = self._queue.get(block=wait_s is None or wait_s > 0, timeout=wait_s)
            except queue.Empty:
                return None
            if item is self._END:
                self._done = True
            else:
                self._next = item
        return self._next

    def take(self) -> ReplayEvent:
        event = self._next
        assert event is not None
        self._next = None
        return event

    @property
    def done(self) -> bool:
        return self._done

    def close(self, wait_s: float = 0.0) -> None:
        self._stop.set()
        if wait_s > 0:
            self._thread.join(wait_s)


class ReplayCursor:
    """Play/pause/seek/speed over a :class:`Recording`. ``poll()`` returns what is due."""

    def __init__(
        self,
        recording: Recording,
        *,
        clock: Callable[[], int] = time.monotonic_ns,
        video: bool = True,
        audio: bool = False,
        media_wait_s: float | None = None,
    ) -> None:
        self.recording = recording
        self._clock = clock
        self._media_kinds = [k for k, on in (("video", video), ("audio", audio)) if on]
        self._speed = 1.0
        self._playing = False
        self._anchor_pos = 0  # position at the last play/seek/speed change
        self._anchor_wall = clock()
        self._delivered = -1  # everything with t <= this has been handed out
        self._events: list[ReplayEvent] = recording.events()
        self._event_times = [e.t_ns for e in self._events]
        self._next_event = 0
        self._media: dict[str, _DecodeAhead] = {}
        self._media_wait_s = media_wait_s
        self._closed = False
        self.polled_at_ns = 0  # the position the last poll delivered up to
        # A moment playback stops at by itself (a pause point); ignored once the position is past it.
        self.stop_ns: int | None = None
        self._seek_media(0)

    # --- state -----------------------------------------------------------------------------------
    @property
    def duration_ns(self) -> int:
        return self.recording.duration_ns

    @property
    def position_ns(self) -> int:
        if not self._playing:
            return self._anchor_pos
        elapsed = (self._clock() - self._anchor_wall) * self._speed
        return min(self._limit_ns(), self._anchor_pos + int(elapsed))

    def _limit_ns(self) -> int:
        stop = self.stop_ns
        if stop is None or stop < self._anchor_pos:
            return self.duration_ns
        return min(stop, self.duration_ns)

    @property
    def at_stop(self) -> bool:
        """Paused exactly at :attr:`stop_ns` (a pause point was reached)."""
        return not self._playing and self.stop_ns is not None and self._anchor_pos == self.stop_ns

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def finished(self) -> bool:
        return self._delivered >= self.duration_ns

    @property
    def media_pending(self) -> bool:
        """A media stream has nothing decoded at its front yet (just after a seek): poll again soon."""
        return any(s.peek(0) is None and not s.done for s in self._media.values())

    def _re_anchor(self) -> None:
        self._anchor_pos, self._anchor_wall = self.position_ns, self._clock()

    # --- transport -------------------------------------------------------------------------------
    def play(self) -> None:
        if self.position_ns >= self.duration_ns:
            self.seek(0)
        self._anchor_wall = self._clock()
        self._playing = True

    def pause(self) -> None:
        self._re_anchor()
        self._playing = False

    def toggle(self) -> None:
        self.pause() if self._playing else self.play()

    def set_speed(self, speed: float) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}")
        self._re_anchor()
        self._speed = speed

    def seek(self, t_ns: int) -> None:
        """Jump to ``t_ns`` (clamped). The next poll gives the video frame showing there and the events
        from there on; :meth:`state_events` gives what came before (to rebuild an overlay)."""
        t = max(0, min(int(t_ns), self.duration_ns))
        self._anchor_pos, self._anchor_wall = t, self._clock()
        self._delivered = t - 1
        self._next_event = bisect.bisect_left(self._event_times, t)
        self._seek_media(t)

    def _seek_media(self, t_ns: int) -> None:
        for stream in self._media.values():
            stream.close()
        frames = self.recording.media_frames
        self._media = {k: _DecodeAhead(functools.partial(frames, k, t_ns)) for k in self._media_kinds}

    # --- chapters ---------------------------------------------------------------------------------
    def add_chapter(self, title: str, t_ns: int | None = None) -> Chapter:
        return self.recording.add_chapter(title, self.position_ns if t_ns is None else t_ns)

    @property
    def chapters(self) -> list[Chapter]:
        return self.recording.chapters

    def next_chapter(self) -> Chapter | None:
        """Seek to the first chapter after the position (None at the last one)."""
        position = self.position_ns
        chapter = next((c for c in self.chapters if c.t_ns > position), None)
        if chapter is not None:
            self.seek(chapter.t_ns)
        return chapter

    def previous_chapter(self, grace_ns: int = 2_000_000_000) -> Chapter | None:
        """Seek to the chapter before the position (a player's "back" within ``grace_ns`` of a chapter
        start goes to the one before it)."""
        position = self.position_ns
        earlier = [c for c in self.chapters if c.t_ns < position - grace_ns]
        chapter = earlier[-1] if earlier else None
        self.seek(chapter.t_ns if chapter is not None else 0)
        return chapter

    # --- delivery ---------------------------------------------------------------------------------
    def state_events(self, track: str) -> list[ReplayEvent]:
        """A track's events before the position, e.g. annotation ops to rebuild the document after a
        seek."""
        return self.recording.events(track, 0, max(-1, self._delivered))

    def poll(self) -> list[ReplayEvent]:
        """Everything due since the last poll: events and frames with ``t <= position``, in time
        order. Playback pauses by itself at the end."""
        if self._closed:
            return []
        position = self.position_ns
        due: list[ReplayEvent] = []
        while self._next_event < len(self._events) and self._events[self._next_event].t_ns <= position:
            due.append(self._events[self._next_event])
            self._next_event += 1
        for stream in self._media.values():
            while (event := stream.peek(self._media_wait_s)) is not None and event.t_ns <= position:
                due.append(stream.take())
        due.sort(key=lambda e: (e.t_ns, e.track not in MEDIA_TRACKS, e.order))
        self._delivered = max(self._delivered, position)
        self.polled_at_ns = position
        if self._playing and position >= self._limit_ns():
            self._re_anchor()
            self._playing = False
        return due

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for stream in self._media.values():
            stream.close(wait_s=1.0)  # let go of the media file
        self._media = {}
