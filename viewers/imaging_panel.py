"""The imaging panel: open a study (folder, drag and drop, PACS), browse it, read it in 2D, MPR or 3D.

Loading runs on a worker thread (viewers/imaging_worker.py): headers first, then, once the panel has
checked whose study it is (viewers/imaging_context.py: only the consult's patient's study opens), the
chosen series slice by slice into one preallocated array that the views already show, so the first
slice appears as soon as it is decoded. Files that cannot be used are listed with their reason and the
rest loads. The UI thread only paints and handles input.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QThread, Signal
from PySide6.QtGui import QAction, QActionGroup, QDragEnterEvent, QDropEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.consult.context import ConsultContext
from core.i18n import tr
from viewers.annotation_layer import AnnotationContext
from viewers.dicom.discovery import DiscoveryResult, Rejected, Series
from viewers.dicom.volume import LoadResult, Volume
from viewers.identity_views import QtIdentityNotice
from viewers.imaging_context import ImagingContext, RecordLink
from viewers.imaging_worker import (
    LoadRequest,
    LoadWorker,
    Prepare,
    choose_series,
    make_thumbnail,
    thumbnail_pixels,
)
from viewers.measure import MeasurementDocument
from viewers.mpr_view import QtMprView
from viewers.reslice import Plane, Preset
from viewers.slice_view import QtSliceView, Tool, preset_title
from viewers.study_browser import QtStudyBrowser
from viewers.study_identity import Status

log = logging.getLogger(__name__)

__all__ = ["Prepare", "QtImagingPanel", "ViewMode", "choose_series", "make_thumbnail", "thumbnail_pixels"]


class ViewMode:
    SLICE = 0
    MPR = 1
    VOLUME = 2


class _Relay(QObject):
    """Carries a background function's result back to the UI thread."""

    sig_done = Signal(object, object)  # callback, result


class QtImagingPanel(QWidget):
    sig_request = Signal(object)  # LoadRequest, to the worker thread
    sig_loaded = Signal(object)  # LoadResult
    sig_exported = Signal(object)  # DeidReport
    sig_task_progress = Signal(int, int)  # from report_progress, on any thread

    def __init__(
        self,
        *,
        show_identity: bool = True,
        pacs_endpoints: Sequence[Any] = (),
        cache_dir: Path | None = None,
        prepare: Prepare | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``prepare``: every opened path goes through it first (a trainee's de-identifying copy); with
        it, opening folders, PACS and export are not offered and the names shown are the copy's.

        Until :meth:`bind_context` the panel is a standalone viewer: whatever is opened is shown."""
        super().__init__(parent)
        self.setObjectName("imagingPanel")
        self.setAcceptDrops(True)
        self.show_identity = show_identity
        self.pacs_endpoints = list(pacs_endpoints)
        self.cache_dir = cache_dir
        self.prepare = prepare
        self.document = MeasurementDocument()
        self.discovery: DiscoveryResult | None = None
        self.series: Series | None = None
        self.volume: Volume | None = None
        self.load_result: LoadResult | None = None
        self.rejected: list[Rejected] = []
        self.source_paths: list[Path] = []
        self.first_slice_shown = False
        self.busy = False
        # until the user scrolls, the view follows the load: first decoded slice, then the middle one
        self._follow_load = False
        self._target_slice = 0
        self._cancel: threading.Event | None = None
        self._closed = False
        # sent to the worker and not yet finished, oldest first: the worker's signals are the oldest's
        self._queue: deque[LoadRequest] = deque()
        self._discovery_notes: list[str] = []
        self.context = ImagingContext(self, self)
        self._mpr_stale = True
        self._volume_stale = True

        self.slice_view = QtSliceView(Plane.AXIAL, self.document)
        self.mpr_view = QtMprView(self.document)
        self.volume_view: Any = None  # QtVolumeView, made on first use (VTK is heavy)
        # a prepared copy carries only the pseudonym: that is what the browser and overlays show
        self.browser = QtStudyBrowser(show_identity or prepare is not None)
        self.browser.sig_series_activated.connect(self._series_activated)
        self.slice_view.sig_slice_changed.connect(self._slice_moved)
        self._build_ui()
        if prepare is not None:  # a trainee opens only the consult's study, never identified data
            self.setAcceptDrops(False)
            for act in (self.act_open, self.act_pacs, self.act_export):
                act.setEnabled(False)
                act.setVisible(False)
        self.annotation_context: AnnotationContext | None = None
        self.attach_annotations(None)

        self._thread = QThread(self)
        self._thread.setObjectName("imaging-loader")
        self._worker = LoadWorker(prepare)
        self._worker.moveToThread(self._thread)
        self.sig_request.connect(self._worker.run, Qt.ConnectionType.QueuedConnection)
        w = self._worker
        w.sig_stage.connect(self._stage)
        w.sig_discovered.connect(self._discovered)
        w.sig_started.connect(self._started)
        w.sig_slice.connect(self._slice_decoded)
        w.sig_progress.connect(self._worker_progress)
        w.sig_loaded.connect(self._loaded)
        w.sig_cancelled.connect(self._cancelled)
        w.sig_failed.connect(self._failed)
        w.sig_thumbnail.connect(self._thumbnail)
        w.sig_idle.connect(self._idle)
        self._thread.start()
        self._relay = _Relay()
        self._relay.sig_done.connect(lambda callback, result: callback(result))
        self.sig_task_progress.connect(self._task_progress)
        self.retranslate()

    # ui --------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.toolbar = QToolBar(self)
        self.toolbar.setObjectName("imagingToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.act_open = QAction(self)
        self.act_open.triggered.connect(self.choose_folder)
        self.act_pacs = QAction(self)
        self.act_pacs.triggered.connect(self.open_pacs)
        self.act_pacs.setEnabled(importlib.util.find_spec("viewers.pacs_dialog") is not None)
        self.act_export = QAction(self)
        self.act_export.triggered.connect(self.choose_export_folder)
        self.act_export.setEnabled(False)
        for act in (self.act_open, self.act_pacs):
            self.toolbar.addAction(act)
        self.toolbar.addSeparator()

        self.mode_group = QActionGroup(self)
        self.act_2d, self.act_mpr, self.act_3d = (QAction(self, checkable=True) for _ in range(3))
        for mode, act in enumerate((self.act_2d, self.act_mpr, self.act_3d)):
            self.mode_group.addAction(act)
            self.toolbar.addAction(act)
            act.triggered.connect(lambda _=False, m=mode: self.set_mode(m))
        self.act_2d.setChecked(True)
        self.toolbar.addSeparator()

        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool in Tool:
            act = QAction(self, checkable=True)
            act.triggered.connect(lambda _=False, t=tool: self.set_tool(t))
            self.tool_group.addAction(act)
            self.toolbar.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions[Tool.NAVIGATE].setChecked(True)
        self.act_clear = QAction(self)
        self.act_clear.triggered.connect(self.document.clear)
        self.toolbar.addAction(self.act_clear)
        self.toolbar.addSeparator()

        self.preset_menu = QMenu(self)
        self.preset_actions: dict[Preset, QAction] = {}
        for preset in Preset:
            act = self.preset_menu.addAction("")
            act.triggered.connect(lambda _=False, p=preset: self.apply_preset(p))
            self.preset_actions[preset] = act
        self.preset_button = QToolButton(self)
        self.preset_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.preset_button.setMenu(self.preset_menu)
        self.preset_button_action = self.toolbar.addWidget(self.preset_button)

        from viewers.volume_view import Render3D

        self.render_menu = QMenu(self)
        self.render_actions: dict[Render3D, QAction] = {}
        for mode3d in Render3D:
            act = self.render_menu.addAction("")
            act.triggered.connect(lambda _=False, m=mode3d: self.set_render_mode(m))
            self.render_actions[mode3d] = act
        self.render_button = QToolButton(self)
        self.render_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.render_button.setMenu(self.render_menu)
        self.render_button_action = self.toolbar.addWidget(self.render_button)
        self.render_button_action.setVisible(False)
        self.act_cine = QAction(self, checkable=True)
        self.act_cine.toggled.connect(self._toggle_cine)
        self.act_cine.setVisible(False)
        self.toolbar.addAction(self.act_cine)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.act_export)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("imagingProgress")
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton(self)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel(self)
        self.status.setObjectName("imagingStatus")
        self.status.setWordWrap(True)
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(4, 0, 4, 0)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget(self)
        self.progress_box.setLayout(progress_row)
        self.progress_box.setVisible(False)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.slice_view)
        self.stack.addWidget(self.mpr_view)
        self.volume_holder = QWidget(self)
        QVBoxLayout(self.volume_holder).setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.volume_holder)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.browser)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 900])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.context_label = QLabel(self)
        self.context_label.setObjectName("imagingContext")
        self.context_label.setWordWrap(True)
        self.context_label.setVisible(False)
        self.notice = QtIdentityNotice(self)
        self.notice.sig_link.connect(self.context.ask_link)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.context_label)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.status)
        layout.addWidget(self.notice)
        layout.addWidget(self.splitter, 1)

    def retranslate(self) -> None:
        from viewers.volume_view import Render3D

        self.act_open.setText(tr("QtImagingPanel", "Open folder…"))
        self.act_open.setToolTip(tr("QtImagingPanel", "Open a folder of DICOM files (or drop it here)"))
        self.act_pacs.setText(tr("QtImagingPanel", "From PACS…"))
        self.act_export.setText(tr("QtImagingPanel", "Export de-identified copy…"))
        self.act_2d.setText(tr("QtImagingPanel", "2D"))
        self.act_mpr.setText(tr("QtImagingPanel", "MPR"))
        self.act_3d.setText(tr("QtImagingPanel", "3D"))
        tool_names = {
            Tool.NAVIGATE: tr("QtImagingPanel", "Navigate"),
            Tool.DISTANCE: tr("QtImagingPanel", "Distance"),
            Tool.ANGLE: tr("QtImagingPanel", "Angle"),
            Tool.ELLIPSE: tr("QtImagingPanel", "Ellipse ROI"),
            Tool.POLYGON: tr("QtImagingPanel", "Polygon ROI"),
            Tool.LANDMARK: tr("QtImagingPanel", "Landmark"),
            Tool.TRAJECTORY: tr("QtImagingPanel", "Trajectory"),
            Tool.LABEL: tr("QtImagingPanel", "Label"),
            Tool.PLANE: tr("QtImagingPanel", "Plane"),
        }
        for tool, act in self.tool_actions.items():
            act.setText(tool_names[tool])
        self.act_clear.setText(tr("QtImagingPanel", "Clear"))
        self.act_clear.setToolTip(tr("QtImagingPanel", "Remove all measurements"))
        self.preset_button.setText(tr("QtImagingPanel", "Window"))
        for preset, act in self.preset_actions.items():
            act.setText(preset_title(preset))
        render_names = {
            Render3D.CT_BONE: tr("QtImagingPanel", "CT bone"),
            Render3D.CT_SOFT_TISSUE: tr("QtImagingPanel", "CT soft tissue"),
            Render3D.MIP: tr("QtImagingPanel", "MIP"),
            Render3D.ISOSURFACE: tr("QtImagingPanel", "Isosurface"),
        }
        for mode3d, act in self.render_actions.items():
            act.setText(render_names[mode3d])
        self.render_button.setText(tr("QtImagingPanel", "Rendering"))
        self.act_cine.setText(tr("QtImagingPanel", "Play"))
        self.cancel_button.setText(tr("QtImagingPanel", "Cancel"))
        self.notice.retranslate()
        self.show_context()
        if not self.notice.isHidden():
            return
        if not self.busy and self.volume is None and self.prepare is not None:
            self.status.setText(
                tr("QtImagingPanel", "No study open. The consult's study appears here, de-identified.")
            )
        elif not self.busy and self.volume is None:
            self.status.setText(
                tr(
                    "QtImagingPanel",
                    "No study open. Open a folder, drop DICOM files here, or retrieve from PACS.",
                )
            )

    # opening ---------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        if self.prepare is not None:
            return
        folder = QFileDialog.getExistingDirectory(self, tr("QtImagingPanel", "Open a folder of DICOM files"))
        if folder:
            self.load_paths([Path(folder)])

    def open_pacs(self) -> QWidget | None:
        if self.prepare is not None:
            return None
        try:
            from viewers.pacs_dialog import QtPacsDialog
        except ImportError:
            return None
        from core.config.paths import app_paths

        cache_dir = self.cache_dir or app_paths().cache_dir / "pacs"
        dialog = QtPacsDialog(self.pacs_endpoints, cache_dir, self)
        dialog.sig_retrieved.connect(lambda folder: self.load_paths([Path(folder)]))
        dialog.open()
        return dialog

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.load_paths(paths)

    def load_paths(self, paths: Sequence[Path]) -> None:
        """Discover ``paths`` (folders or files) and load the best series; cancels a load in progress."""
        self.source_paths = [Path(p) for p in paths]
        self.notice.clear()
        self._submit(LoadRequest(self.source_paths, None, threading.Event()))

    def reload(self) -> None:
        """Open the last opened paths again (after a link was recorded)."""
        if self.source_paths:
            self.load_paths(list(self.source_paths))

    def load_series(self, series_key: str) -> None:
        """Load a series of the current discovery, by its key (or its Series Instance UID)."""
        series = self.discovery.find_series(series_key) if self.discovery else None
        if series is not None and series is not self.series:
            self._submit(LoadRequest(None, series, threading.Event()))

    def _series_activated(self, series_key: str) -> None:
        self.load_series(series_key)

    def supersede(self) -> None:
        """Every request sent before is cancelled, and what it still sends is dropped."""
        for pending in self._queue:
            pending.stale = True
            pending.cancel.set()

    def _submit(self, request: LoadRequest) -> None:
        if self._closed:
            return
        self.supersede()
        self._cancel = request.cancel
        self.busy = True
        self._queue.append(request)
        self.first_slice_shown = False
        self.progress.setRange(0, 0)
        self.progress_box.setVisible(True)
        self.sig_request.emit(request)

    def _stale(self) -> bool:
        """Whether the worker's signal now arriving is of a superseded request."""
        return not self._queue or self._queue[0].stale

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    # worker callbacks (UI thread) ------------------------------------------------------------
    def _stage(self, stage: str) -> None:
        if self._stale():
            return
        if stage == "deidentifying":
            self.status.setText(tr("QtImagingPanel", "De-identifying the study for teaching…"))
        elif stage == "discovering":
            self.status.setText(tr("QtImagingPanel", "Reading DICOM headers…"))
        else:
            self.status.setText(tr("QtImagingPanel", "Loading images…"))

    def _worker_progress(self, done: int, total: int) -> None:
        if not self._stale():
            self._progress(done, total)

    def _thumbnail(self, key: str, pixels: Any) -> None:
        if not self._stale():
            self.browser.set_thumbnail(key, pixels)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")

    def _discovered(self, found: DiscoveryResult) -> None:
        """Headers are read: open what belongs in the consult in context, refuse the rest."""
        if self._stale():
            return
        self.drop_study()
        verdict = self.context.check(found)
        self.show_context()
        if verdict.status is Status.REFUSED:
            self.context.refuse()
            return
        result = verdict.result
        self.discovery = result
        self.rejected = list(result.rejected)
        self.browser.set_result(result)
        notes = [w.message for w in result.warnings] + self.context.closed_patients_note()
        series = choose_series(result)
        if series is None:
            text = tr("QtImagingPanel", "No DICOM images found.")
            self.status.setText("\n".join([text, *notes]))
            return
        self._discovery_notes = notes
        others = [s for s in result.all_series() if s is not series]
        self._submit(LoadRequest(None, series, threading.Event(), others))

    def _started(self, volume: Volume, series: Series) -> None:
        if self._stale():
            return
        self.series = series
        self.volume = volume
        self.load_result = None
        self.act_export.setEnabled(self.prepare is None)
        modality = series.modality
        unit = "HU" if modality == "CT" else ""
        self.slice_view.value_unit = unit
        self.mpr_view.set_value_unit(unit)
        self.document.set_volume(volume)
        self.slice_view.set_volume(volume)
        self._target_slice = self.slice_view.index  # the view starts in the middle of a volume
        self._follow_load = False
        self._apply_overlay(series)
        self.browser.select_series(series.key)
        self.show_context()
        if self.annotation_context is not None:
            self.annotation_context.set_series(self._study_uid(series), series.series_instance_uid)
        is_cine = volume.kind == "cine"
        self.act_cine.setVisible(is_cine)
        self.act_mpr.setEnabled(not is_cine and volume.array.shape[0] > 1)
        self.act_3d.setEnabled(not is_cine and volume.array.shape[0] > 1)
        self._mpr_stale = self._volume_stale = True
        if is_cine and self.stack.currentIndex() != ViewMode.SLICE:
            self.set_mode(ViewMode.SLICE)
        elif self.stack.currentIndex() == ViewMode.MPR:
            self.set_mode(ViewMode.MPR)

    def _slice_moved(self, index: int) -> None:
        if self._following is False:
            self._follow_load = False

    _following = False

    def _show_loading_slice(self, index: int) -> None:
        self._following = True
        try:
            self.slice_view.set_slice(index)
        finally:
            self._following = False
        self.slice_view.refresh()

    def _slice_decoded(self, index: int) -> None:
        if self._stale():
            return
        if not self.first_slice_shown:
            self.first_slice_shown = True
            self._follow_load = True
            self._show_loading_slice(index)
        elif self._follow_load and index == self._target_slice:
            self._follow_load = False
            self._show_loading_slice(index)
        elif index == self.slice_view.index:
            self.slice_view.refresh()
        if self.stack.currentIndex() == ViewMode.MPR and index % 16 == 0:
            self.mpr_view.refresh()

    def _loaded(self, result: LoadResult, series: Series) -> None:
        if self._stale():
            return
        self.load_result = result
        self.volume = result.volume
        self.slice_view.update_volume(result.volume)
        self.document.volume = result.volume
        self.rejected = (list(self.discovery.rejected) if self.discovery else []) + [
            r for r in result.rejected if self.discovery is None or r not in self.discovery.rejected
        ]
        self.browser.set_rejected(self.rejected)
        self._mpr_stale = True
        self._volume_stale = True
        if self.stack.currentIndex() != ViewMode.SLICE:
            self.set_mode(self.stack.currentIndex())
        shape = " × ".join(str(n) for n in reversed(result.volume.array.shape[:3]))
        text = tr("QtImagingPanel", "%1: %2 images (%3)").replace(
            "%1", series.description or series.modality or tr("QtImagingPanel", "Series")
        ).replace("%2", str(len(result.volume.array))).replace("%3", shape)
        notes = [*self._discovery_notes, *(w.message for w in result.warnings)]
        notes[:0] = self.context.load_notes(series)
        if self.rejected:
            notes.append(
                tr("QtImagingPanel", "%1 file(s) could not be used; see the list.").replace(
                    "%1", str(len(self.rejected))
                )
            )
        self.status.setText("\n".join([text, *notes]))
        self.sig_loaded.emit(result)

    def _cancelled(self) -> None:
        if not self._stale():
            self.status.setText(tr("QtImagingPanel", "Loading cancelled."))

    def _failed(self, message: str) -> None:
        if not self._stale():
            self.status.setText(tr("QtImagingPanel", "Loading failed: %1").replace("%1", message))

    def _idle(self) -> None:
        if self._queue:
            self._queue.popleft()
        if not self._queue:
            self.busy = False
            self.progress_box.setVisible(False)

    def _apply_overlay(self, series: Series) -> None:
        left, right = self.context.overlay(series)
        self.slice_view.set_overlay(left, right)
        self.mpr_view.set_overlay(left, right)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            self.browser.retranslate()
            self.mpr_view.retranslate()
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # a narrow dock puts the browser above the images rather than squeezing both
        wide = event.size().width() >= 800
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            total = event.size().width() if wide else event.size().height()
            first = min(300, total // 4) if wide else min(160, total // 5)
            self.splitter.setSizes([first, max(total - first, 1)])

    # view modes and tools --------------------------------------------------------------------
    def set_mode(self, mode: int) -> None:
        actions = {ViewMode.SLICE: self.act_2d, ViewMode.MPR: self.act_mpr, ViewMode.VOLUME: self.act_3d}
        actions[mode].setChecked(True)
        loaded = self.load_result is not None
        stale = self._mpr_stale or self.mpr_view.crosshair is None
        if mode == ViewMode.MPR and self.volume is not None and stale:
            self.mpr_view.set_volume(self.volume, self.slice_view.current_window())
            self._mpr_stale = not loaded
        if mode == ViewMode.VOLUME:
            self._ensure_volume_view()
        self.stack.setCurrentIndex(mode)
        self.render_button_action.setVisible(mode == ViewMode.VOLUME)
        self.preset_button_action.setVisible(mode != ViewMode.VOLUME)
        for tool, act in self.tool_actions.items():  # 3D: navigate, or place landmarks by picking
            act.setVisible(mode != ViewMode.VOLUME or tool in (Tool.NAVIGATE, Tool.LANDMARK))
        self.act_clear.setVisible(mode != ViewMode.VOLUME)
        if mode == ViewMode.VOLUME and self.volume_view is not None and loaded and self._volume_stale:
            self.volume_view.set_volume(self.volume)
            self._volume_stale = False

    def attach_annotations(self, document: Any) -> AnnotationContext:
        """Show and place landmarks, trajectories, planes and labels of ``document`` (the consult's
        shared AnnotationDocument) in the 2D, MPR and 3D views; None: a document of this panel's own."""
        if document is None:
            from core.annotations.model import AnnotationDocument

            document = AnnotationDocument("local", "local")
        previous = self.annotation_context
        context = AnnotationContext(document)
        if previous is not None:
            context.set_series(previous.study_uid, previous.series_uid)
        self.annotation_context = context
        self.slice_view.attach_annotations(context)
        self.mpr_view.attach_annotations(context)
        if self.volume_view is not None:
            self.volume_view.attach_annotations(context)
        return context

    def study_uid_of_series(self) -> str:
        """The Study Instance UID of the series shown ("" when none is)."""
        return self._study_uid(self.series) if self.series is not None else ""

    def _study_uid(self, series: Series) -> str:
        study = self.discovery.study_of(series) if self.discovery is not None else None
        return study.study_instance_uid if study is not None else ""

    def _ensure_volume_view(self) -> None:
        if self.volume_view is None:
            from viewers.volume_view import QtVolumeView

            self.volume_view = QtVolumeView(self.volume_holder)
            layout = self.volume_holder.layout()
            assert layout is not None
            layout.addWidget(self.volume_view)
            if self.annotation_context is not None:
                self.volume_view.attach_annotations(self.annotation_context)
            self.volume_view.set_tool(self.slice_view.tool)

    def set_render_mode(self, mode: Any) -> None:
        self._ensure_volume_view()
        self.volume_view.set_mode(mode)

    def current_view(self) -> QWidget | None:
        return self.stack.currentWidget()

    def set_tool(self, tool: Tool) -> None:
        self.tool_actions[tool].setChecked(True)
        self.slice_view.set_tool(tool)
        self.mpr_view.set_tool(tool)
        if self.volume_view is not None:
            self.volume_view.set_tool(tool)

    def apply_preset(self, preset: Preset) -> None:
        self.slice_view.apply_preset(preset)
        window = self.slice_view.current_window()
        if window is not None:
            self.mpr_view.set_window(window)

    def _toggle_cine(self, on: bool) -> None:
        if on:
            self.slice_view.play_cine()
        else:
            self.slice_view.stop_cine()

    # export ----------------------------------------------------------------------------------
    def choose_export_folder(self) -> None:
        if self.prepare is not None:
            return
        folder = QFileDialog.getExistingDirectory(
            self, tr("QtImagingPanel", "Folder for the de-identified copy")
        )
        if folder:
            self.export_deidentified(Path(folder))

    def export_deidentified(self, out_dir: Path) -> None:
        """Write a de-identified copy of the open study's files to ``out_dir``; originals are untouched."""
        from viewers.dicom.deid import deidentify_files

        sources = [i.path for i in self.series.instances] if self.series else []
        if self.discovery is not None:
            sources = [i.path for s in self.discovery.all_series() for i in s.instances]
        if not sources:
            return
        self.status.setText(tr("QtImagingPanel", "Writing the de-identified copy…"))
        self.run_in_background(lambda: deidentify_files(sources, out_dir), self._exported)

    def _exported(self, report: Any) -> None:
        if isinstance(report, BaseException):
            self.status.setText(tr("QtImagingPanel", "Export failed: %1").replace("%1", str(report)))
            return
        self.status.setText(
            tr("QtImagingPanel", "De-identified copy written: %1 file(s), %2 skipped.")
            .replace("%1", str(len(report.written)))
            .replace("%2", str(len(report.rejected)))
        )
        self.sig_exported.emit(report)

    def report_progress(self, done: int, total: int) -> None:
        """Progress of a background task (e.g. a retrieve before the load); callable from any thread."""
        if not self._closed:
            self.sig_task_progress.emit(done, total)

    def _task_progress(self, done: int, total: int) -> None:
        self.progress_box.setVisible(True)
        self._progress(done, total)

    def run_in_background(self, fn: Callable[[], object], on_done: Callable[[Any], object]) -> None:
        """Run ``fn`` on a plain thread; ``on_done(result or exception)`` runs on the UI thread."""

        def work() -> None:
            try:
                result: object = fn()
            except Exception as exc:
                log.exception("background task failed")
                result = exc
            if not self._closed:
                self._relay.sig_done.emit(on_done, result)

        threading.Thread(target=work, name="imaging-task", daemon=True).start()

    # the consult context -----------------------------------------------------------------------
    def bind_context(self, context: ConsultContext, record_link: RecordLink | None = None) -> None:
        """Follow ``context``: show whose consult it is, open only its patient's studies, clear on a
        change of patient or the end of the consult. ``record_link`` records a study link with the
        backend (without it another patient's study is only refused)."""
        self.context.bind(context, record_link)

    def show_context(self) -> None:
        self.context.show()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def loading(self) -> bool:
        return bool(self._queue)

    def clear_study(self, message: str | None = None) -> None:
        """Let go of the study: loading stops, volumes, headers, views, thumbnails and corner text go,
        and no DICOM dataset is held any more; ``message`` says why in the status line."""
        self.supersede()
        self.source_paths = []
        self.drop_study()
        self.context.cleared(message)

    def drop_study(self) -> None:
        self.discovery = None
        self.series = None
        self.volume = None
        self.load_result = None
        self.rejected = []
        self._discovery_notes = []
        self.first_slice_shown = False
        self._follow_load = False
        self.browser.clear()
        self.slice_view.stop_cine()
        self.act_cine.setChecked(False)
        self.act_cine.setVisible(False)
        self.act_export.setEnabled(False)
        for view in (self.slice_view, self.mpr_view):
            view.set_overlay([], [])
            view.set_volume(None)
        self.document.clear()
        self.document.set_volume(None)
        if self.volume_view is not None:
            self.volume_view.set_volume(None)
        self._mpr_stale = self._volume_stale = True
        if self.annotation_context is not None:
            self.annotation_context.set_series("", "")

    def identity_strings(self) -> list[str]:
        """What the panel paints in its corners and the identity of every DICOM header it holds (for
        tests that look for a patient's identity anywhere in the window)."""
        return self.context.identity_strings()

    # lifecycle -------------------------------------------------------------------------------
    def close_model(self) -> None:
        """Cancel loading, stop the thread, close the views; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.context.unbind()
        self.supersede()
        self.cancel()
        self._thread.quit()
        self._thread.wait(10_000)
        self.slice_view.close_model()
        self.mpr_view.close_model()
        if self.volume_view is not None:
            self.volume_view.close_model()
