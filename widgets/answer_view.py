"""A written store-and-forward answer: the question, the specialist's text and the annotated key images.

Thin: it shows a ``ConsultItem`` (core.worklist.model) and the key images handed to it as RGB arrays. Fetching
them (viewers.dicom.keyimage.fetch_key_images from the site PACS) blocks, so :meth:`QtAnswerView.load`
runs the caller's fetch function on a worker thread and the results come back as a queued signal.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from core.worklist.model import ConsultItem

log = logging.getLogger(__name__)

# ref (study/series/SOP UIDs) -> (H, W, 3) uint8; raises on failure
KeyImageFetch = Callable[[list[dict[str, str]]], dict[str, np.ndarray]]
THUMB = 112


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A copy (the QImage owns its bytes, so the array may go away)."""
    data = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = data.shape[:2]
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A QImage as an (H, W, 3) uint8 array (a copy), for keyimage.secondary_capture."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buffer[:, : 3 * w].reshape(h, w, 3).copy()


def grab_view_rgb(view: QWidget) -> np.ndarray:
    """The current 2D view as the user sees it, annotations and overlay text included. For QPainter
    views (viewers.slice_view.QtSliceView); a VTK view grabs black and needs vtkWindowToImageFilter."""
    return qimage_to_rgb(view.grab().toImage())


class _Relay(QObject):
    sig_loaded = Signal(int, object)  # generation, {sop uid: rgb}
    sig_failed = Signal(int, str)


class QtAnswerView(QWidget):
    sig_images_ready = Signal(int)  # how many key images are shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item: ConsultItem | None = None
        self.images: dict[str, np.ndarray] = {}
        self._generation = 0
        self._closed = False
        self._relay = _Relay()
        self._relay.sig_loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._relay.sig_failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self.title = QLabel()
        self.title.setObjectName("answerTitle")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold; padding: 2px;")
        self.text = QTextBrowser()
        self.text.setObjectName("answerText")
        self.text.setOpenLinks(False)
        self.text.setMinimumHeight(120)
        self.status = QLabel()
        self.status.setObjectName("answerStatus")
        self.status.setStyleSheet("color: #8b949e; padding: 2px;")
        self.thumbs = QListWidget()
        self.thumbs.setObjectName("answerKeyImages")
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QPixmap(THUMB, THUMB).size())
        self.thumbs.setFlow(QListView.Flow.TopToBottom)
        self.thumbs.setWrapping(False)
        self.thumbs.setFixedWidth(THUMB + 28)
        self.thumbs.currentItemChanged.connect(lambda _new, _old: self._show_selected())
        self.preview = QLabel()
        self.preview.setObjectName("answerPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(240, 200)
        self.preview.setStyleSheet("background: #0d1117;")
        images = QWidget()
        row = QHBoxLayout(images)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.thumbs)
        row.addWidget(self.preview, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.text)
        split.addWidget(images)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        split.setSizes([170, 340])  # the answer is read first: room for a paragraph without scrolling
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.retranslate()

    # content -------------------------------------------------------------------------------
    def show_consult(self, item: ConsultItem) -> None:
        self.item = item
        self.images = {}
        self.thumbs.clear()
        self.preview.clear()
        self.retranslate()

    def retranslate(self) -> None:
        item = self.item
        if item is None:
            self.title.setText(tr("Answer", "No answer selected"))
            self.text.setHtml("")
            self.status.setText("")
            return
        self.title.setText(
            tr("Answer", "Written answer for %1 (%2)")
            .replace("%1", item.patient.name)
            .replace("%2", item.patient.patient_id)
        )
        parts = [
            f"<p><b>{html.escape(tr('Answer', 'Question'))}</b><br>{html.escape(item.question)}</p>",
        ]
        if item.answer_text:
            who = item.accepted_by or ""
            head = tr("Answer", "Answer from %1").replace("%1", who) if who else tr("Answer", "Answer")
            body = html.escape(item.answer_text).replace("\n", "<br>")
            parts.append(f"<p><b>{html.escape(head)}</b><br>{body}</p>")
        else:
            parts.append(f"<p><i>{html.escape(tr('Answer', 'Not answered yet.'))}</i></p>")
        self.text.setHtml("".join(parts))
        self._update_status()

    def _update_status(self, error: str = "") -> None:
        item = self.item
        wanted = len(item.key_images) if item else 0
        if error:
            self.status.setText(tr("Answer", "Key images could not be loaded: %1").replace("%1", error))
        elif wanted == 0:
            self.status.setText(tr("Answer", "No key images"))
        elif len(self.images) < wanted:
            self.status.setText(tr("Answer", "Loading %1 key image(s)…").replace("%1", str(wanted)))
        else:
            self.status.setText(tr("Answer", "%1 key image(s)").replace("%1", str(wanted)))

    def set_images(self, images: dict[str, np.ndarray]) -> None:
        """Show the key images (SOP Instance UID -> RGB), in the order the answer lists them."""
        self.images = dict(images)
        self.thumbs.clear()
        order = [ref.get("sop_instance_uid", "") for ref in (self.item.key_images if self.item else ())]
        for index, uid in enumerate(u for u in order if u in self.images):
            pixmap = QPixmap.fromImage(rgb_to_qimage(self.images[uid]))
            icon = pixmap.scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            entry = QListWidgetItem(icon, tr("Answer", "Key image %1").replace("%1", str(index + 1)))
            entry.setData(Qt.ItemDataRole.UserRole, uid)
            entry.setToolTip(uid)
            self.thumbs.addItem(entry)
        if self.thumbs.count():
            self.thumbs.setCurrentRow(0)
        self._update_status()
        self.sig_images_ready.emit(self.thumbs.count())

    def _show_selected(self) -> None:
        entry = self.thumbs.currentItem()
        if entry is None:
            self.preview.clear()
            return
        rgb = self.images.get(str(entry.data(Qt.ItemDataRole.UserRole)))
        if rgb is None:
            return
        pixmap = QPixmap.fromImage(rgb_to_qimage(rgb))
        self.preview.setPixmap(
            pixmap.scaled(
                self.preview.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._show_selected()

    # loading -------------------------------------------------------------------------------
    def load(self, fetch: KeyImageFetch) -> None:
        """Fetch the shown answer's key images on a worker thread; a newer load supersedes this one."""
        if self.item is None or not self.item.key_images:
            self._update_status()
            return
        self._generation += 1
        generation, refs = self._generation, [dict(r) for r in self.item.key_images]
        self._update_status()

        def work() -> None:
            try:
                images = fetch(refs)
            except Exception as exc:  # reported in the view; the worker must not die silently
                log.warning("key images failed: %s", exc)
                self._relay.sig_failed.emit(generation, str(exc) or type(exc).__name__)
                return
            self._relay.sig_loaded.emit(generation, images)

        threading.Thread(target=work, name="key-images", daemon=True).start()

    def _on_loaded(self, generation: int, images: object) -> None:
        if self._closed or generation != self._generation or not isinstance(images, dict):
            return
        self.set_images(images)

    def _on_failed(self, generation: int, error: str) -> None:
        if not self._closed and generation == self._generation:
            self._update_status(error)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_view(self) -> None:
        """Stop listening for loads in flight (their results are dropped); harmless twice."""
        if self._closed:
            return
        self._closed = True
        self._generation += 1


class QtAnswerComposer(QDialog):
    """The specialist writes the answer and adds the current view (annotations burned in) as key images.

    ``capture`` returns the current 2D view as RGB, or None when no image is shown. Sending emits
    ``sig_send(text, [rgb, ...])``; the caller stores the key images and posts the answer, then calls
    :meth:`finish` (closes) or :meth:`fail` (shows why, keeps everything for another try)."""

    sig_send = Signal(str, object)

    def __init__(self, capture: Callable[[], np.ndarray | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerComposer")
        self.capture = capture
        self.images: list[np.ndarray] = []
        self.text = QPlainTextEdit()
        self.text.setObjectName("answerComposerText")
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QPixmap(THUMB, THUMB).size())
        self.thumbs.setFixedHeight(THUMB + 40)
        self.add_button = QPushButton()
        self.add_button.clicked.connect(self.add_current_view)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(self._remove_selected)
        self.send_button = QPushButton()
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self._send)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.reject)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.prompt = QLabel()
        row = QHBoxLayout()
        for button in (self.add_button, self.remove_button):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.cancel_button, self.send_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.thumbs)
        layout.addWidget(self.status)
        layout.addLayout(row)
        self.text.textChanged.connect(self._update)
        self.resize(640, 520)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("Answer", "Answer in writing"))
        self.prompt.setText(tr("Answer", "Your answer to the requesting doctor:"))
        self.add_button.setText(tr("Answer", "Add current view as key image"))
        self.remove_button.setText(tr("Answer", "Remove key image"))
        self.send_button.setText(tr("Answer", "Send answer"))
        self.cancel_button.setText(tr("Answer", "Cancel"))
        self._update()

    def _update(self) -> None:
        self.send_button.setEnabled(bool(self.text.toPlainText().strip()))
        self.remove_button.setEnabled(bool(self.images))

    def add_current_view(self) -> bool:
        rgb = self.capture()
        if rgb is None:
            self.status.setText(tr("Answer", "No image is shown: open the study in Imaging first."))
            return False
        self.images.append(rgb)
        pixmap = QPixmap.fromImage(rgb_to_qimage(rgb)).scaled(
            THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.thumbs.addItem(
            QListWidgetItem(pixmap, tr("Answer", "Key image %1").replace("%1", str(len(self.images))))
        )
        self.status.setText("")
        self._update()
        return True

    def _remove_selected(self) -> None:
        row = self.thumbs.currentRow()
        if row < 0 and self.images:
            row = len(self.images) - 1
        if 0 <= row < len(self.images):
            del self.images[row]
            self.thumbs.takeItem(row)
        self._update()

    def _send(self) -> None:
        text = self.text.toPlainText().strip()
        if not text:
            return
        self.send_button.setEnabled(False)
        self.status.setText(tr("Answer", "Sending…"))
        self.sig_send.emit(text, list(self.images))

    def finish(self) -> None:
        self.status.setText(tr("Answer", "Answer sent."))
        self.accept()

    def fail(self, error: str) -> None:
        self.status.setText(tr("Answer", "The answer was not sent: %1").replace("%1", error))
        self._update()
