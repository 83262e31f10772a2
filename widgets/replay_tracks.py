"""The replay player's tracks: how each recorded track is shown, and rebuilt after a seek.

Held apart from widgets/replay_player.py so that what a recorded event does on screen reads in one
place: a video frame waits for the view to pull it, an annotation operation goes into the replay's
own AnnotationDocument, a vitals batch goes through a StreamReceiver into the vitals store (whose
clock is the recording's, so sample ages read as they did live), a chat line joins the list, the
sound goes through the tempo to the sound card, and a view state goes to the imaging view. After a
seek, :meth:`ReplayTracks._restore_tracks` rebuilds them all from what came before the new position.

The imaging view is the composer's: widgets never import viewers (the floors in pyproject.toml), so
:class:`ReplayImagingView` says what the player calls on it and :class:`ReplayImagingFactory` how the
player makes one, only when a recording carries imaging (app/ passes viewers.replay_imaging's
QtReplayImaging, so VTK and the DICOM loaders load only then). :class:`ReplayTracks` is a mixin of
:class:`widgets.replay_player.QtReplayPlayer`, which makes the widgets and the cursor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.i18n import tr
from core.teaching.replay import Recording, ReplayEvent
from core.vitals.buffer import NumericTrend, RingBuffer, VitalsStore
from core.vitals.stream import ProtocolError, StreamReceiver, WaveBatch, decode
from widgets.replay_transport import format_time

if TYPE_CHECKING:
    from PySide6.QtWidgets import QListWidget, QVBoxLayout

    from core.annotations.model import AnnotationDocument
    from core.teaching.replay import ReplayCursor
    from rtc.playback import AudioPlayback, Tempo
    from widgets.vitals.panel import QtVitalsPanel

VITALS_HISTORY_NS = 60_000_000_000  # what the vitals store holds: rebuilt from this much before a seek


class ReplayImagingView(Protocol):
    """What the player calls on the view of a recording's imaging (a QWidget, shown beside the video)."""

    def show_state(self, data: Any) -> None:
        """Show a recorded view state (a ViewState dict); a malformed one is skipped."""

    def attach_annotations(self, document: AnnotationDocument) -> None:
        """Draw the patient-space annotations of the replay's ``document`` on the imaging."""

    def pick_point(self, callback: Callable[[Any], object] | None) -> None:
        """Hand the next click on the imaging, as an LPS point in mm, to ``callback`` (None: stop)."""

    def close_pane(self) -> None:
        """Stop loading and close the views; twice is harmless."""


class ReplayImagingFactory(Protocol):
    """Makes the imaging view of a recording: ``folder`` holds its DICOM files; ``show_identity`` as
    the imaging panel's (the player passes ``can_author``)."""

    def __call__(self, folder: Path, *, show_identity: bool) -> ReplayImagingView: ...


def vitals_offset_s(recording: Recording) -> float | None:
    """Sender wall-clock seconds minus recording seconds, from the first waveform batch: the vitals
    store's clock runs on the replay position shifted by this, so sample ages read as they did live."""
    for event in recording.tracks.get("vitals", []):
        try:
            batch = decode(event.data)
        except (ProtocolError, TypeError, ValueError):
            continue
        if isinstance(batch, WaveBatch):
            from core.vitals.signals import WAVES

            fs = WAVES[batch.wave].fs
            return batch.t_first + batch.values.shape[1] / fs - event.t_ns / 1e9
    return None


class ReplayTracks:
    """The player's tracks (a mixin of QtReplayPlayer, which sets what is declared below)."""

    if TYPE_CHECKING:  # what this part uses of the player
        recording: Recording
        replay: ReplayCursor
        document: AnnotationDocument
        chat: QListWidget
        imaging: ReplayImagingView | None
        sound: AudioPlayback | None
        vitals_panel: QtVitalsPanel | None
        receiver: StreamReceiver | None
        _tempo: Tempo
        _frame: Any
        _vitals_offset: float | None
        _vitals_fed_ns: int
        _vitals_layout: QVBoxLayout

    def _take_frame(self) -> Any:
        frame, self._frame = self._frame, None
        return frame

    def _annotation(self, event: ReplayEvent) -> None:
        if isinstance(event.data, dict) and event.data.get("op") != "pointer":
            self.document.apply_remote(event.data)

    def _chat(self, event: ReplayEvent) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        author = str(data.get("author", "")) or tr("ReplayPlayer", "unknown")
        self.chat.addItem(f"[{format_time(event.t_ns)}] {author}: {data.get('text', '')}")
        self.chat.scrollToBottom()

    def _restore_tracks(self, position: int) -> None:
        """After a seek: the annotations, chat, imaging view and vitals as they were at ``position``."""
        self.document.reset()
        for event in self.replay.state_events("annotations"):
            self._annotation(event)
        self.chat.clear()
        for event in self.replay.state_events("chat"):
            self._chat(event)
        views = self.replay.state_events("views")
        if views and self.imaging is not None:
            self.imaging.show_state(views[-1].data)
        if position <= self._vitals_fed_ns or position - self._vitals_fed_ns > VITALS_HISTORY_NS:
            self._clear_vitals()
        since = max(self._vitals_fed_ns + 1, position - VITALS_HISTORY_NS)
        for event in self.recording.events("vitals", since, position - 1):
            self._vitals(event)

    # --- sound --------------------------------------------------------------------------------------
    def _sound_toggled(self, on: bool) -> None:
        if not on:
            self._silence()

    def _silence(self) -> None:
        self._tempo.reset()
        if self.sound is not None:
            self.sound.flush()

    # --- vitals -------------------------------------------------------------------------------------
    def _vitals(self, event: ReplayEvent) -> None:
        if self.receiver is not None and isinstance(event.data, bytes):
            self.receiver.feed(event.data)
        self._vitals_fed_ns = max(self._vitals_fed_ns, event.t_ns)

    def _vitals_clock(self) -> float:
        offset = self._vitals_offset if self._vitals_offset is not None else time.time()
        return offset + self.replay.position_ns / 1e9

    def _clear_vitals(self) -> None:
        """Empty the store in place (fresh rings and trends) for a rebuild from before the seek: much
        cheaper than a new panel. The engine and the strips look the rings up in the store each time;
        the strips rebuild their traces when their layout is invalidated (set_sweep there and back)."""
        panel = self.vitals_panel
        if panel is None:
            return
        store = panel.store
        for wave, ring in list(store.rings.items()):
            store.rings[wave] = RingBuffer(ring.fs, ring.channels, ring.capacity)
        for numeric in list(store.trends):
            store.trends[numeric] = NumericTrend()
        for strips in (panel.strips, panel.twelve):
            sweep = strips.sweep
            strips.set_sweep(not sweep)
            strips.set_sweep(sweep)
        self.receiver = StreamReceiver(store)
        self._vitals_fed_ns = -1

    def _new_vitals_panel(self) -> None:
        from widgets.vitals import create_remote_vitals_panel

        old = self.vitals_panel
        if old is not None:
            old.close_model()
            self._vitals_layout.removeWidget(old)
            old.deleteLater()
        store = VitalsStore(seconds=60.0, clock=self._vitals_clock)
        self.receiver = StreamReceiver(store)
        self.vitals_panel = create_remote_vitals_panel(store=store)
        self._vitals_layout.addWidget(self.vitals_panel)
        self._vitals_fed_ns = -1


__all__ = [
    "VITALS_HISTORY_NS",
    "ReplayImagingFactory",
    "ReplayImagingView",
    "ReplayTracks",
    "vitals_offset_s",
]
