"""A session recording: the call's media plus timestamped side tracks on one clock, and its manifest.

A recording is a folder::

    manifest.json        version, start time, tracks, duration, chapters, de-identification flag
    media.mkv            received video (H.264) and audio (Opus), time base 1 ms (rtc/recording.py)
    annotations.jsonl    annotation operations, local and remote (core/annotations/model.py op dicts)
    vitals.jsonl         vitals stream batches as they arrived (core/vitals/stream.py bytes, base64)
    views.jsonl          imaging view states (viewers/viewstate.py ViewState dicts)
    chat.jsonl           chat messages
    imaging/             the consult's DICOM files, when added

Every line of a track is ``{"t_ns": int, "pts": int, "origin": "local" | "remote", "data": ...}``:
``t_ns`` is monotonic nanoseconds since the recording started (:class:`rtc.recording.RecordingClock`,
the clock the media frames are stamped with) and ``pts`` the same moment in the container's time base
(milliseconds), so a track event and a video frame with equal ``pts`` were seen together.

Events can come from any thread (the annotation document on the UI thread, messages on the rtc loop);
each track writes under its own lock, one line per event, flushed, so a crash loses at most a line.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.consult.patient import Patient
from rtc.recording import TIME_BASE, MediaRecorder, RecordingClock, ns_to_pts

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA = "media.mkv"
IMAGING = "imaging"
TRACKS: tuple[str, ...] = ("annotations", "vitals", "views", "chat")
Origin = Literal["local", "remote"]


class Chapter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    t_ns: int = Field(ge=0)
    title: str = Field(max_length=200)


class TrackInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    events: int = Field(ge=0)


class MediaInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    video_frames: int = 0
    audio_frames: int = 0
    dropped_frames: int = 0
    error: str | None = None


class PatientInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: str
    name: str
    sex: str = "U"
    birth_date: str | None = None

    @classmethod
    def of(cls, patient: Patient) -> PatientInfo:
        born = patient.birth_date.isoformat() if patient.birth_date else None
        return cls(patient_id=patient.patient_id, name=patient.name, sex=patient.sex, birth_date=born)

    def to_patient(self) -> Patient:
        from datetime import date

        born = date.fromisoformat(self.birth_date) if self.birth_date else None
        return Patient(patient_id=self.patient_id, name=self.name, sex=self.sex, birth_date=born)


class Manifest(BaseModel):
    """manifest.json, validated on read (a recording folder is a file from outside)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1  # FORMAT_VERSION
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    title: str = Field(default="", max_length=300)
    specialty: str = Field(default="", max_length=64)
    tags: list[str] = Field(default_factory=list)
    started_at: str  # ISO 8601, UTC
    clock: str = "monotonic_ns since start"
    time_base: str = f"{TIME_BASE.numerator}/{TIME_BASE.denominator}"
    duration_ns: int = Field(default=0, ge=0)
    media: MediaInfo = Field(default_factory=MediaInfo)
    tracks: dict[str, TrackInfo] = Field(default_factory=dict)
    chapters: list[Chapter] = Field(default_factory=list)
    deidentified: bool = False
    patient: PatientInfo | None = None
    imaging: str | None = None  # a folder of DICOM files inside the recording, if the study travels with it

    @property
    def duration_s(self) -> float:
        return self.duration_ns / 1e9

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        return cls.model_validate_json((Path(folder) / MANIFEST).read_text(encoding="utf-8"))

    def write(self, folder: Path) -> None:
        path = Path(folder) / MANIFEST
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)


@dataclass
class _Track:
    name: str
    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    events: int = 0
    last_t_ns: int = 0
    handle: Any = None

    def write(self, t_ns: int, origin: Origin, data: Any) -> None:
        line = json.dumps(
            {"t_ns": t_ns, "pts": ns_to_pts(t_ns), "origin": origin, "data": data},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        with self.lock:
            if self.handle is None:
                return
            self.handle.write(line + "\n")
            self.handle.flush()
            self.events += 1
            self.last_t_ns = max(self.last_t_ns, t_ns)

    def close(self) -> None:
        with self.lock:
            if self.handle is not None:
                self.handle.close()
                self.handle = None


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class SessionRecorder:
    """Records one call into ``folder``. ``attach_session`` (on the rtc loop's thread) takes the received
    media and messages; ``attach_document`` the local annotation operations; the app reports its own
    chat and view states with :meth:`chat` and :meth:`view_state`. ``close()`` writes the manifest."""

    def __init__(
        self,
        folder: Path,
        *,
        title: str = "",
        specialty: str = "",
        tags: Iterable[str] = (),
        patient: Patient | None = None,
        media: bool = True,
        fps: float = 30.0,
        clock: RecordingClock | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clock = clock or RecordingClock()
        self.manifest = Manifest(
            title=title,
            specialty=specialty,
            tags=list(tags),
            started_at=datetime.fromtimestamp(self.clock.started_at, UTC).isoformat(),
            patient=PatientInfo.of(patient) if patient is not None else None,
        )
        self.media = MediaRecorder(self.folder / MEDIA, self.clock, fps=fps) if media else None
        self._tracks = {name: _Track(name, self.folder / f"{name}.jsonl") for name in TRACKS}
        for track in self._tracks.values():
            track.handle = track.path.open("w", encoding="utf-8")
        self._sessions: list[Any] = []
        self._documents: list[Any] = []
        self._closed = False
        self._lock = threading.Lock()
        self._imaging_copy: threading.Thread | None = None
        self.imaging_error: str | None = None

    # --- sources ---------------------------------------------------------------------------------
    def attach_session(self, session: Any) -> None:
        """A :class:`rtc.session.CallSession`: received video/audio and every channel message."""
        if self.media is not None:
            self.media.attach(session)
        session.message_received.connect(self._on_message)
        self._sessions.append(session)

    def attach_document(self, doc: Any) -> None:
        """An :class:`core.annotations.model.AnnotationDocument`: its local operations."""
        doc.op_emitted.connect(self._on_local_op)
        self._documents.append(doc)

    def _on_local_op(self, op: dict[str, Any]) -> None:
        self.annotation_op(op, "local")

    def _on_message(self, message: Any) -> None:
        t_ns = self.clock.now_ns()
        channel = getattr(message, "channel", None)
        envelope = getattr(message, "envelope", None)
        if channel == "vitals" and getattr(message, "data", None) is not None:
            self.vitals_batch(message.data, "remote", t_ns=t_ns)
        elif envelope is None:
            return
        elif channel == "annotations" and envelope.body.get("op") != "snapshot_request":
            self.annotation_op(dict(envelope.body), "remote", t_ns=t_ns)
        elif channel == "chat":
            body = envelope.body
            self.chat(str(body.get("text", "")), str(body.get("author", "")), "remote", t_ns=t_ns)
        elif channel == "control" and envelope.body.get("action") == "view_state":
            self.view_state(envelope.body.get("args", {}), "remote", t_ns=t_ns)

    # --- events ------------------------------------------------------------------------------------
    def _write(self, track: str, origin: Origin, data: Any, t_ns: int | None) -> int:
        t = self.clock.now_ns() if t_ns is None else t_ns
        if not self._closed:
            self._tracks[track].write(t, origin, data)
        return t

    def annotation_op(self, op: dict[str, Any], origin: Origin = "local", *, t_ns: int | None = None) -> int:
        return self._write("annotations", origin, op, t_ns)

    def vitals_batch(self, data: bytes, origin: Origin = "remote", *, t_ns: int | None = None) -> int:
        return self._write("vitals", origin, encode_bytes(data), t_ns)

    def view_state(self, state: Any, origin: Origin = "local", *, t_ns: int | None = None) -> int:
        """A ViewState (pydantic) or its dict."""
        data = state.model_dump(mode="json") if hasattr(state, "model_dump") else dict(state)
        return self._write("views", origin, data, t_ns)

    def chat(self, text: str, author: str = "", origin: Origin = "local", *, t_ns: int | None = None) -> int:
        return self._write("chat", origin, {"text": text, "author": author}, t_ns)

    def add_imaging(self, files: Iterable[Path]) -> int:
        """Copy the consult's DICOM files into the recording's ``imaging`` folder (the study travels with
        the recording; a teaching file de-identifies it). Returns how many were copied."""
        target = self.folder / IMAGING
        target.mkdir(exist_ok=True)
        copied = 0
        for index, path in enumerate(files):
            shutil.copyfile(path, target / f"{index:05d}.dcm")  # original names may carry identifiers
            copied += 1
        self.manifest.imaging = IMAGING
        return copied

    def add_imaging_in_background(self, files: Iterable[Path]) -> None:
        """:meth:`add_imaging` on a thread of its own (a CT is tens of megabytes); ``close()`` waits for it.
        A failed copy is logged, kept in :attr:`imaging_error` and leaves no half study behind."""
        paths = list(files)

        def copy() -> None:
            try:
                self.add_imaging(paths)
            except OSError as exc:
                self.imaging_error = f"{type(exc).__name__}: {exc}"
                self.manifest.imaging = None
                shutil.rmtree(self.folder / IMAGING, ignore_errors=True)
                log.warning("recording %s: the study was not copied: %s", self.folder, self.imaging_error)

        self._imaging_copy = threading.Thread(target=copy, name="recording-imaging", daemon=True)
        self._imaging_copy.start()

    def add_chapter(self, title: str, t_ns: int | None = None) -> Chapter:
        chapter = Chapter(t_ns=self.clock.now_ns() if t_ns is None else t_ns, title=title)
        with self._lock:
            self.manifest.chapters.append(chapter)
            self.manifest.chapters.sort(key=lambda c: c.t_ns)
        return chapter

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> Manifest:
        """Stop, flush the encoders and write manifest.json. Idempotent: returns the same manifest. It
        waits for the media encoder to drain, so call it off the rtc loop (``asyncio.to_thread``)."""
        with self._lock:
            if self._closed:
                return self.manifest
            self._closed = True
        end_ns = self.clock.now_ns()
        for session in self._sessions:
            session.message_received.disconnect(self._on_message)
            if self.media is not None:
                self.media.detach(session)
        for doc in self._documents:
            doc.op_emitted.disconnect(self._on_local_op)
        for track in self._tracks.values():
            track.close()
        if self._imaging_copy is not None:
            self._imaging_copy.join()
        info = MediaInfo()
        if self.media is not None:
            self.media.close()
            stats = self.media.stats
            written = self.media.size is not None
            info = MediaInfo(
                file=MEDIA if written else None,
                video_codec=self.media.video_codec if written else None,
                audio_codec=self.media.audio_codec if written else None,
                width=self.media.size[0] if self.media.size else None,
                height=self.media.size[1] if self.media.size else None,
                video_frames=stats.video_frames,
                audio_frames=stats.audio_frames,
                dropped_frames=stats.dropped,
                error=repr(self.media.error) if self.media.error else None,
            )
        self.manifest.media = info
        self.manifest.tracks = {
            name: TrackInfo(file=track.path.name, events=track.events) for name, track in self._tracks.items()
        }
        last = max([end_ns, *(t.last_t_ns for t in self._tracks.values())])
        self.manifest.duration_ns = last
        self.manifest.write(self.folder)
        log.info(
            "recording %s closed: %.1f s, %s",
            self.folder,
            last / 1e9,
            {n: t.events for n, t in self._tracks.items()},
        )
        return self.manifest


__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "MEDIA",
    "TRACKS",
    "Chapter",
    "Manifest",
    "SessionRecorder",
    "decode_bytes",
    "encode_bytes",
]
