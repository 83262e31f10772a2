"""Search a PACS and retrieve a study or series into the local cache (thin: the work is in
``viewers.dicom.pacs``, run on a worker thread; results come back through a queued signal)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from viewers.dicom.pacs import (
    PacsClient,
    PacsError,
    PacsSettings,
    RetrieveCancelledError,
    RetrieveResult,
    SearchQuery,
    SeriesMatch,
    StudyMatch,
)

if TYPE_CHECKING:
    from core.config.settings import PacsEndpoint

MODALITIES = ("", "CT", "MR", "US", "CR", "DX", "XA", "PT", "NM", "MG", "OT")
_ROLE = Qt.ItemDataRole.UserRole
_SAFE = re.compile(r"[^0-9A-Za-z.\-]")


def _pretty_name(name: str) -> str:
    return name.replace("^", ", ", 1).replace("^", " ").strip(", ")


def _pretty_date(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 and date.isdigit() else date


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


class QtPacsDialog(QDialog):
    """Pick an endpoint, search, expand a study to its series, retrieve with progress and cancel."""

    sig_retrieved = Signal(str)  # folder holding the retrieved study or series
    _sig_post = Signal(object)  # a callable to run on the UI thread

    def __init__(
        self,
        endpoints: list[PacsEndpoint],
        cache_dir: Path,
        parent: QWidget | None = None,
        *,
        credentials: Mapping[str, tuple[str, str]] | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("PacsDialog", "Search PACS"))
        self.setObjectName("pacsDialog")
        self.resize(880, 520)
        self.endpoints = list(endpoints)
        self.cache_dir = cache_dir
        self._credentials = dict(credentials or {})
        self._timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pacs")
        self._cancel: threading.Event | None = None
        self._busy_search = False
        self._closed = False
        self._sig_post.connect(self._run_posted, Qt.ConnectionType.QueuedConnection)

        self.endpoint_box = QComboBox()
        for endpoint in self.endpoints:
            kind = "DICOMweb" if endpoint.kind == "dicomweb" else "DIMSE"
            self.endpoint_box.addItem(f"{endpoint.name} ({kind})")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(tr("PacsDialog", "Family name, or a pattern with *"))
        self.id_edit = QLineEdit()
        self.date_from = QLineEdit()
        self.date_to = QLineEdit()
        for edit in (self.date_from, self.date_to):
            edit.setPlaceholderText(tr("PacsDialog", "YYYYMMDD"))
            edit.setMaxLength(8)
            edit.setMaximumWidth(140)
        self.modality_box = QComboBox()
        for modality in MODALITIES:
            self.modality_box.addItem(modality or tr("PacsDialog", "Any"), modality)
        self.search_button = QPushButton(tr("PacsDialog", "Search"))
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        for edit in (self.name_edit, self.id_edit, self.date_from, self.date_to):
            edit.returnPressed.connect(self.search)

        form = QFormLayout()
        form.addRow(tr("PacsDialog", "PACS"), self.endpoint_box)
        form.addRow(tr("PacsDialog", "Patient name"), self.name_edit)
        form.addRow(tr("PacsDialog", "Patient ID"), self.id_edit)
        dates = QHBoxLayout()
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel(tr("PacsDialog", "to")))
        dates.addWidget(self.date_to)
        dates.addStretch(1)
        form.addRow(tr("PacsDialog", "Study date"), dates)
        row = QHBoxLayout()
        row.addWidget(self.modality_box)
        row.addStretch(1)
        row.addWidget(self.search_button)
        form.addRow(tr("PacsDialog", "Modality"), row)

        self.results = QTreeWidget()
        self.results.setObjectName("pacsResults")
        self.results.setHeaderLabels(
            [
                tr("PacsDialog", "Patient"),
                tr("PacsDialog", "ID"),
                tr("PacsDialog", "Date"),
                tr("PacsDialog", "Modality"),
                tr("PacsDialog", "Description"),
                tr("PacsDialog", "Series"),
                tr("PacsDialog", "Images"),
            ]
        )
        self.results.setAlternatingRowColors(True)
        self.results.setUniformRowHeights(True)
        header = self.results.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        for column in (0, 1, 2, 3, 5, 6):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.results.itemExpanded.connect(self._on_expanded)
        self.results.itemSelectionChanged.connect(self._update_buttons)
        self.results.itemDoubleClicked.connect(lambda _item, _column: self.retrieve())

        self.status = QLabel(tr("PacsDialog", "Enter search terms and press Search."))
        self.status.setObjectName("pacsStatus")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.retrieve_button = QPushButton(tr("PacsDialog", "Retrieve"))
        self.retrieve_button.clicked.connect(self.retrieve)
        self.cancel_button = QPushButton(tr("PacsDialog", "Cancel retrieve"))
        self.cancel_button.clicked.connect(self.cancel_retrieve)
        self.close_button = QPushButton(tr("PacsDialog", "Close"))
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 3)
        buttons.addStretch(1)
        buttons.addWidget(self.retrieve_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        if not self.endpoints:
            self._show_error(tr("PacsDialog", "No PACS is configured. Ask IT to add one to the site file."))
        self._update_buttons()

    # --- plumbing --------------------------------------------------------------------------------

    def _run_posted(self, fn: Callable[[], object]) -> None:
        if not self._closed:
            fn()

    def _post(self, fn: Callable[[], object]) -> None:
        """Callable from any thread: run ``fn`` on the UI thread unless the dialog has closed."""
        if not self._closed:
            self._sig_post.emit(fn)

    def _submit(
        self, work: Callable[[], Any], on_result: Callable[[Any], None], on_error: Callable[[Exception], None]
    ) -> Future[Any]:
        def done(future: Future[Any]) -> None:
            if future.cancelled():
                return
            error = future.exception()
            if error is None:
                result = future.result()
                self._post(lambda: on_result(result))
            elif isinstance(error, Exception):
                self._post(lambda: on_error(error))

        future = self._pool.submit(work)
        future.add_done_callback(done)
        return future

    def _client(self) -> PacsClient:
        endpoint = self.endpoints[self.endpoint_box.currentIndex()]
        username, password = self._credentials.get(endpoint.name, (None, None))
        settings = PacsSettings.from_endpoint(
            endpoint, username=username, password=password, timeout_s=self._timeout_s
        )
        return PacsClient(settings)

    def _show_error(self, text: str) -> None:
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText(text)

    def _show_info(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)

    def _retrieving(self) -> bool:
        return self._cancel is not None

    def _update_buttons(self) -> None:
        has_endpoint = bool(self.endpoints)
        self.search_button.setEnabled(has_endpoint and not self._busy_search)
        self.retrieve_button.setEnabled(
            has_endpoint and not self._retrieving() and bool(self.results.selectedItems())
        )
        self.cancel_button.setEnabled(self._retrieving())

    # --- search ----------------------------------------------------------------------------------

    def query(self) -> SearchQuery:
        return SearchQuery(
            patient_name=self.name_edit.text().strip(),
            patient_id=self.id_edit.text().strip(),
            date_from=self.date_from.text().strip(),
            date_to=self.date_to.text().strip(),
            modality=str(self.modality_box.currentData() or ""),
        )

    def search(self) -> None:
        if not self.endpoints or self._busy_search:
            return
        try:
            query = self.query()
        except ValueError:
            self._show_error(tr("PacsDialog", "Dates must be written YYYYMMDD, e.g. 20260131."))
            return
        self._busy_search = True
        self._update_buttons()
        self._show_info(tr("PacsDialog", "Searching…"))

        def work() -> list[StudyMatch]:
            with self._client() as client:
                return client.search_studies(query)

        self._submit(work, self._show_studies, self._search_failed)

    def _search_failed(self, error: Exception) -> None:
        self._busy_search = False
        self._update_buttons()
        self._show_error(tr("PacsDialog", "Search failed: %1").replace("%1", str(error)))

    def _show_studies(self, studies: list[StudyMatch]) -> None:
        self._busy_search = False
        self.results.clear()
        for study in studies:
            item = QTreeWidgetItem(
                [
                    _pretty_name(study.patient_name),
                    study.patient_id,
                    _pretty_date(study.study_date),
                    "/".join(study.modalities),
                    study.description,
                    _count(study.series_count),
                    _count(study.instance_count),
                ]
            )
            item.setData(0, _ROLE, study)
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self.results.addTopLevelItem(item)
        first = self.results.topLevelItem(0)
        if first is not None:
            self.results.setCurrentItem(first)
            self._show_info(tr("PacsDialog", "%1 studies found.").replace("%1", str(len(studies))))
        else:
            self._show_info(tr("PacsDialog", "No study matches."))
        self._update_buttons()

    def _on_expanded(self, item: QTreeWidgetItem) -> None:
        study = item.data(0, _ROLE)
        if not isinstance(study, StudyMatch) or item.childCount() or item.data(1, _ROLE):
            return
        item.setData(1, _ROLE, "loading")
        uid = study.study_instance_uid

        def work() -> list[SeriesMatch]:
            with self._client() as client:
                return client.search_series(uid)

        def failed(error: Exception) -> None:
            item.setData(1, _ROLE, None)
            self._show_error(tr("PacsDialog", "Series search failed: %1").replace("%1", str(error)))

        self._submit(work, lambda series: self._show_series(item, series), failed)

    def _show_series(self, parent: QTreeWidgetItem, series_list: list[SeriesMatch]) -> None:
        for series in sorted(series_list, key=lambda s: (s.series_number is None, s.series_number or 0)):
            label = series.description or tr("PacsDialog", "Series %1").replace(
                "%1", str(series.series_number or "?")
            )
            child = QTreeWidgetItem(["", "", "", series.modality, label, "", _count(series.instance_count)])
            child.setData(0, _ROLE, series)
            parent.addChild(child)
        if not series_list:
            parent.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicator)

    # --- retrieve --------------------------------------------------------------------------------

    def retrieve(self) -> None:
        items = self.results.selectedItems()
        if not items or self._retrieving() or not self.endpoints:
            return
        chosen = items[0].data(0, _ROLE)
        if isinstance(chosen, SeriesMatch):
            study_uid, series_uid, expected = (
                chosen.study_instance_uid,
                chosen.series_instance_uid,
                chosen.instance_count or 0,
            )
        elif isinstance(chosen, StudyMatch):
            study_uid, series_uid, expected = chosen.study_instance_uid, None, chosen.instance_count or 0
        else:
            return
        folder = self.cache_dir / _SAFE.sub("_", study_uid) / _SAFE.sub("_", series_uid or "study")
        cancel = self._cancel = threading.Event()
        self.progress.setRange(0, max(expected, 0))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self._show_info(tr("PacsDialog", "Retrieving…"))
        self._update_buttons()

        def progress(done: int, total: int) -> None:
            self._post(lambda: self._show_progress(done, total))

        def work() -> RetrieveResult:
            with self._client() as client:
                return client.retrieve(
                    folder, study_uid, series_uid, expected=expected, progress=progress, cancel=cancel
                )

        self._submit(work, self._retrieved, self._retrieve_failed)

    def _show_progress(self, done: int, total: int) -> None:
        if total and self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(done)
        self._show_info(
            tr("PacsDialog", "Retrieving… %1 of %2 images")
            .replace("%1", str(done))
            .replace("%2", str(total or "?"))
        )

    def cancel_retrieve(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._show_info(tr("PacsDialog", "Cancelling…"))

    def _finish_retrieve(self) -> None:
        self._cancel = None
        self.progress.setVisible(False)
        self._update_buttons()

    def _retrieved(self, result: RetrieveResult) -> None:
        self._finish_retrieve()
        self._show_info(
            tr("PacsDialog", "Retrieved %1 images into %2.")
            .replace("%1", str(result.count))
            .replace("%2", str(result.folder))
        )
        self.sig_retrieved.emit(str(result.folder))

    def _retrieve_failed(self, error: Exception) -> None:
        self._finish_retrieve()
        if isinstance(error, RetrieveCancelledError):
            self._show_info(tr("PacsDialog", "Retrieve cancelled."))
        elif isinstance(error, PacsError):
            self._show_error(tr("PacsDialog", "Retrieve failed: %1").replace("%1", str(error)))
        else:
            self._show_error(
                tr("PacsDialog", "Retrieve failed: %1").replace("%1", f"{type(error).__name__}: {error}")
            )

    # --- closing ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop background work; harmless twice. A retrieve in flight is cancelled."""
        if self._closed:
            return
        self._closed = True
        if self._cancel is not None:
            self._cancel.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)
