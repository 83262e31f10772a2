"""QtReplayImaging: a recording's imaging, shown as the instructor's view was at the playhead.

A recording made in a class carries the consult's study (``imaging/``, de-identified in a teaching file)
and the instructor's view states (the ``views`` track: viewers/viewstate.py ViewState dicts, the same
ones the mirrored view sends). The replay player (widgets/replay_player.py; app/ hands it this pane as
its ``imaging_factory``, since widgets never import viewers) hands the pane each view state as the
playhead reaches it, and after a seek the newest one before the new position; the pane applies it the
way a follower's workstation does (viewers/view_mirror_qt.py ``apply_view_state``): series, mode,
window, slice, zoom, pan, MPR crosshair, 3D camera. A state naming a series that is still loading is
applied once the series is there. The pane opens nothing else: no folders, PACS or export.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.i18n import tr
from viewers.imaging_panel import QtImagingPanel
from viewers.view_mirror_qt import apply_view_state
from viewers.viewstate import ViewState

log = logging.getLogger(__name__)


class QtReplayImaging(QWidget):
    """``folder``: the recording's DICOM files. ``show_identity``: as the imaging panel's."""

    def __init__(self, folder: Path, *, show_identity: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayImaging")
        self.title = QLabel()
        self.title.setObjectName("replayImagingTitle")
        self.panel = QtImagingPanel(show_identity=show_identity)
        for action in (self.panel.act_open, self.panel.act_pacs, self.panel.act_export):
            action.setVisible(False)  # only what the recording carries
        self.state: ViewState | None = None  # the newest state handed in
        self.states_applied = 0
        self.bad_states = 0
        self._pending: ViewState | None = None  # waits for its series to load
        self._closed = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.panel, 1)
        self.panel.sig_loaded.connect(self._series_loaded)
        self.retranslate()
        self.panel.load_paths([folder])

    def retranslate(self) -> None:
        self.title.setText(tr("ReplayImaging", "Imaging as the instructor saw it"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_state(self, data: Any) -> None:
        """Show a recorded view state (a ViewState dict); a malformed one is counted and skipped."""
        if self._closed:
            return
        try:
            state = ViewState.model_validate(data)
        except ValidationError as exc:
            self.bad_states += 1
            log.warning("replay: a recorded view state is not valid and is skipped: %s", exc.errors()[:1])
            return
        self.state = state
        self._apply(state)

    def attach_annotations(self, document: Any) -> None:
        """Draw the patient-space annotations of ``document`` (the replay's own AnnotationDocument)."""
        self.panel.attach_annotations(document)

    def pick_point(self, callback: Callable[[Any], object] | None) -> None:
        """Hand the next click on the slice, as an LPS point in mm, to ``callback`` (None: stop): a
        question asked on the imaging is answered this way."""
        self.panel.slice_view.pick_point(callback)

    def _apply(self, state: ViewState) -> None:
        if apply_view_state(self.panel, state):
            self._pending = None
            self.states_applied += 1
        else:
            self._pending = state

    def _series_loaded(self, _result: Any) -> None:
        if self._pending is not None and not self._closed:
            self._apply(self._pending)

    def close_pane(self) -> None:
        """Stop loading and close the views; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.panel.close_model()


__all__ = ["QtReplayImaging"]
