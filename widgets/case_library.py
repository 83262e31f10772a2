"""QtCaseLibrary: the case library dialog (core/teaching/library.py CaseLibrary).

Search by text, specialty and tag; the list gives each case's title, date, duration, specialty and
patient (always as the site's pseudonym); *Open* plays a case in a :class:`QtReplayPlayer` window;
*Make teaching file* turns a recording into a de-identified case, on a worker thread with a busy
indicator (imaging de-identification takes a while).

Who sees what: roles that may not see identities (trainees, IT) are shown de-identified teaching
files only, never the raw recordings, and cannot open one even by asking for its folder; only
instructors (specialists) make teaching files and add pause points.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.config.roles import PERMISSIONS, Role
from core.i18n import tr
from core.teaching.library import CaseEntry, CaseLibrary
from widgets.replay_player import ReplayImagingFactory, format_time

log = logging.getLogger(__name__)

COLUMNS = 6


def sees_recordings(role: Role) -> bool:
    """Whether ``role`` may see raw (identified) recordings; the others see teaching files only."""
    return PERMISSIONS[role].see_identity


def makes_teaching_files(role: Role) -> bool:
    return role is Role.SPECIALIST


class QtCaseLibrary(QDialog):
    """The library for a user of ``role``. ``site_salt`` makes the pseudonyms (the site's own).
    ``imaging_factory``: the players' view of a recording's imaging (app/ composes it; None: not shown)."""

    sig_case_made = Signal(object)  # CaseEntry
    sig_opened = Signal(object)  # the QtReplayPlayer window
    _sig_done = Signal(object)  # from the worker thread: a CaseEntry or the exception

    def __init__(
        self,
        library: CaseLibrary,
        *,
        role: Role,
        user: str,
        site_salt: bytes,
        imaging_factory: ReplayImagingFactory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("caseLibrary")
        self.library, self.role, self.user, self.site_salt = library, role, user, site_salt
        self.imaging_factory = imaging_factory
        self.teaching_only = not sees_recordings(role)
        self.players: list[QWidget] = []
        self.entries: list[CaseEntry] = []
        self._worker: threading.Thread | None = None
        self._closed = False
        self._sig_done.connect(self._made, Qt.ConnectionType.QueuedConnection)

        self.search = QLineEdit()
        self.search.setObjectName("caseSearch")
        self.search.setClearButtonEnabled(True)
        self.specialty = QComboBox()
        self.specialty.setObjectName("caseSpecialty")
        self.tag = QComboBox()
        self.tag.setObjectName("caseTag")
        self.table = QTableWidget(0, COLUMNS)
        self.table.setObjectName("caseTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, COLUMNS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.empty = QLabel()
        self.empty.setObjectName("caseLibraryEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.open_button = QPushButton()
        self.open_button.setObjectName("openCase")
        self.open_button.clicked.connect(self.open_selected)
        self.make_button = QPushButton()
        self.make_button.setObjectName("makeTeachingFile")
        self.make_button.clicked.connect(self.make_teaching_file)
        self.make_button.setVisible(makes_teaching_files(role))
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the de-identification reports no steps
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("caseLibraryStatus")
        self.status.setWordWrap(True)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)

        filters = QHBoxLayout()
        filters.addWidget(self.search, 2)
        filters.addWidget(self.specialty, 1)
        filters.addWidget(self.tag, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.make_button)
        buttons.addWidget(self.progress)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        self.note = QLabel()
        self.note.setObjectName("teachingOnlyNote")
        self.note.setVisible(self.teaching_only)
        layout.addWidget(self.note)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(buttons)
        self.resize(860, 460)

        self.search.textChanged.connect(self.refresh)
        self.specialty.currentIndexChanged.connect(self.refresh)
        self.tag.currentIndexChanged.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("CaseLibrary", "Case library"))
        self.search.setPlaceholderText(tr("CaseLibrary", "Search titles, tags and chapters"))
        self.table.setHorizontalHeaderLabels([
            tr("CaseLibrary", "Title"), tr("CaseLibrary", "Date"), tr("CaseLibrary", "Duration"),
            tr("CaseLibrary", "Specialty"), tr("CaseLibrary", "Patient"), tr("CaseLibrary", "Kind"),
        ])
        self.open_button.setText(tr("CaseLibrary", "Open"))
        self.make_button.setText(tr("CaseLibrary", "Make teaching file"))
        self.make_button.setToolTip(tr("CaseLibrary", "A de-identified copy of the recording for trainees: "
                                                      "the patient pseudonymised in every track, imaging "
                                                      "de-identified"))
        self.close_button.setText(tr("CaseLibrary", "Close"))
        self.note.setText(tr("CaseLibrary", "Only de-identified teaching files are shown."))
        self.reload()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- the list -----------------------------------------------------------------------------------
    def _visible(self) -> list[CaseEntry]:
        return [c for c in self.library.cases() if c.manifest.deidentified or not self.teaching_only]

    def reload(self) -> None:
        """Re-read the folder: the filters' choices, then the list."""
        visible = self._visible()
        for combo, everything, values in (
            (self.specialty, tr("CaseLibrary", "All specialties"),
             sorted({c.manifest.specialty for c in visible if c.manifest.specialty})),
            (self.tag, tr("CaseLibrary", "All tags"), sorted({t for c in visible for t in c.manifest.tags})),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, "")
            for value in values:
                combo.addItem(value, value)
            combo.setCurrentIndex(max(0, combo.findData(current)) if current else 0)
            combo.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        specialty = str(self.specialty.currentData() or "") or None
        tag = str(self.tag.currentData() or "")
        self.entries = self.library.search(self.search.text(), specialty=specialty, tags=[tag] if tag else [],
                                           deidentified_only=self.teaching_only)
        self.table.setRowCount(len(self.entries))
        for row, case in enumerate(self.entries):
            for column, text in enumerate(self._row(case)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(case.folder))
                self.table.setItem(row, column, item)
        if self.entries:
            self.table.selectRow(0)
        self.empty.setVisible(not self.entries)
        self.table.setVisible(bool(self.entries))
        if not self.library.cases():
            self.empty.setText(tr("CaseLibrary", "The case library is empty. Recorded consultations and "
                                                  "teaching files appear here."))
        else:
            self.empty.setText(tr("CaseLibrary", "No case matches the search."))
        self._selection_changed()

    def _row(self, case: CaseEntry) -> list[str]:
        m = case.manifest
        patient = ""
        if m.patient is not None:
            # a teaching file already names the pseudonym; a recording is listed under it too
            patient = m.patient.name if m.deidentified else m.patient.to_patient().pseudonymised(
                self.site_salt).name
        kind = tr("CaseLibrary", "Teaching file") if m.deidentified else tr("CaseLibrary", "Recording")
        return [m.title or tr("CaseLibrary", "Untitled recording"), m.started_at[:10],
                format_time(m.duration_ns), m.specialty, patient, kind]

    def selected(self) -> CaseEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].row()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _selection_changed(self) -> None:
        case = self.selected()
        self.open_button.setEnabled(case is not None)
        self.make_button.setEnabled(case is not None and not case.manifest.deidentified
                                    and case.manifest.patient is not None and self._worker is None)

    # --- open ---------------------------------------------------------------------------------------
    def open_case(self, folder: Path) -> QWidget | None:
        """A player window for the case in ``folder`` (None, with a message, when refused or unreadable)."""
        from core.teaching.replay import Recording
        from widgets.replay_player import QtReplayPlayer

        folder = Path(folder)
        try:
            recording = Recording.open(folder)
        except (OSError, ValueError) as exc:
            log.warning("case library: %s cannot be opened: %s", folder, exc)
            reason = str(exc)[:200]
            self.status.setText(tr("CaseLibrary", "This case cannot be opened: %1").replace("%1", reason))
            return None
        if self.teaching_only and not recording.manifest.deidentified:
            log.warning("case library: %s refused a recording that is not de-identified", self.role.value)
            self.status.setText(tr("CaseLibrary", "Trainees may open de-identified teaching files only."))
            return None
        player = QtReplayPlayer(recording, user=self.user, can_author=makes_teaching_files(self.role),
                                imaging_factory=self.imaging_factory)
        player.setWindowFlag(Qt.WindowType.Window)
        player.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        player.setWindowTitle(tr("CaseLibrary", "Replay: %1").replace(
            "%1", recording.manifest.title or tr("CaseLibrary", "Untitled recording")))
        player.resize(1200, 780)
        player.show()
        self.players.append(player)
        player.destroyed.connect(lambda _obj=None, p=player: self._forget(p))
        self.sig_opened.emit(player)
        return player

    def _forget(self, player: QWidget) -> None:
        if player in self.players:
            self.players.remove(player)

    def open_selected(self) -> QWidget | None:
        case = self.selected()
        return self.open_case(case.folder) if case is not None else None

    # --- teaching files -----------------------------------------------------------------------------
    def make_teaching_file(self) -> bool:
        """Start de-identifying the selected recording on a worker thread. False when it cannot start."""
        case = self.selected()
        if not makes_teaching_files(self.role) or case is None or case.manifest.deidentified:
            return False
        if self._worker is not None:
            return False
        source, salt = case.folder, self.site_salt

        def work() -> None:
            try:
                result: Any = self.library.add_teaching_case(source, salt)
            except Exception as exc:  # reported in the dialog; the recording is only read
                log.exception("case library: teaching file from %s failed", source)
                result = exc
            if not self._closed:
                self._sig_done.emit(result)

        self._worker = threading.Thread(target=work, name="teaching-file", daemon=True)
        self.progress.show()
        self.status.setText(tr("CaseLibrary", "Making a de-identified teaching file…"))
        self._selection_changed()
        self._worker.start()
        return True

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def _made(self, result: object) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.join(1.0)
        self.progress.hide()
        if isinstance(result, BaseException):
            self.status.setText(tr("CaseLibrary", "The teaching file could not be made: %1").replace(
                "%1", str(result)[:200]))
            self._selection_changed()
            return
        assert isinstance(result, CaseEntry)
        self.status.setText(tr("CaseLibrary", "Teaching file made: %1").replace("%1", result.title))
        self.reload()
        for row, case in enumerate(self.entries):
            if case.folder == result.folder:
                self.table.selectRow(row)
        self.sig_case_made.emit(result)

    # --- life ---------------------------------------------------------------------------------------
    def close_library(self) -> None:
        """Close the players it opened and wait (briefly) for a teaching file being made. Twice is
        harmless."""
        if self._closed:
            return
        self._closed = True
        for player in list(self.players):
            player.close()
        self.players.clear()
        worker = self._worker
        if worker is not None:
            worker.join(30.0)  # a half-made case is removed by make_teaching_case itself on error

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_library()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self.close_library()
        super().done(result)
