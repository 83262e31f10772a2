"""The signed report as it went out: its signatures' state in plain words above the PDF's pages.

Each sentence of the verification (``core.report.signing.Verification.plain_words(language)``) is a
line with a green (valid), amber (valid but with a reservation) or red (broken) mark; a PDF changed
after it was signed says so in red, naming the revision, before anything else. The pages are rendered
with poppler's ``pdftoppm`` on a worker thread (PySide6-Essentials ships no QtPdf), so the UI never
waits for them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from core.i18n import tr

GREEN, AMBER, RED = "ok", "warning", "broken"
STATE_COLOURS = {GREEN: "#3fb950", AMBER: "#f0b429", RED: "#ff7b72"}
STATE_MARKS = {GREEN: "✔", AMBER: "●", RED: "✖"}
DPI = 96


def render_pages(pdf: bytes, dpi: int = DPI, timeout: float = 60.0) -> list[bytes]:
    """The PDF's pages as PNGs, through poppler's ``pdftoppm``; blocking (run it on a worker)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RuntimeError(
            tr("Report", "The pages cannot be shown here: poppler's pdftoppm is not installed.")
        )
    with tempfile.TemporaryDirectory(prefix="report-pages-") as folder:
        source = Path(folder) / "report.pdf"
        source.write_bytes(pdf)
        done = subprocess.run(
            [tool, "-png", "-r", str(dpi), str(source), str(Path(folder) / "page")],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip()
            raise RuntimeError(tr("Report", "The PDF could not be read: %1").replace("%1", detail))
        pages = sorted(Path(folder).glob("page*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
        return [p.read_bytes() for p in pages]


def signature_lines(verification: Any, language: str) -> list[tuple[str, str]]:
    """(state, sentence) for each sentence of the verification. A sentence given as (state, text) keeps
    its state; plain sentences take the verification's: red when tampered, green when valid, else amber."""
    overall = (
        RED
        if getattr(verification, "tampered_revision", None) is not None
        else GREEN
        if getattr(verification, "ok", False)
        else AMBER
    )
    out: list[tuple[str, str]] = []
    for item in verification.plain_words(language):
        if isinstance(item, tuple) and len(item) == 2:
            state, text = str(item[0]), str(item[1])
            out.append((state if state in STATE_COLOURS else overall, text))
        else:
            out.append((overall, str(item)))
    return out


class QtReportViewer(QWidget):
    sig_acknowledge = Signal()
    _sig_pages = Signal(int, object)  # generation, list[bytes] or the error's text

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportViewer")
        self._generation = 0
        self._verification: Any = None
        self._language = "en"
        self.title = QLabel()
        self.title.setObjectName("reportViewerTitle")
        self.tampered = QLabel()
        self.tampered.setObjectName("reportTampered")
        self.tampered.setWordWrap(True)
        self.tampered.setStyleSheet(
            "background: #5a1d1d; color: #ffdcd7; border: 1px solid #ff7b72; padding: 6px; font-weight: bold;"
        )
        self.signatures = QFrame()
        self.signatures.setObjectName("reportSignatures")
        self.signatures.setFrameShape(QFrame.Shape.StyledPanel)
        self.lines_layout = QVBoxLayout(self.signatures)
        self.lines: list[QLabel] = []
        self.pages = QWidget()
        self.pages_layout = QVBoxLayout(self.pages)
        self.pages_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.page_labels: list[QLabel] = []
        self.status = QLabel()
        self.status.setObjectName("reportViewerStatus")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages_layout.addWidget(self.status)
        self.page_scroll = QScrollArea()
        self.page_scroll.setWidgetResizable(True)
        self.page_scroll.setWidget(self.pages)
        self.ack_button = QPushButton()
        self.ack_button.setObjectName("reportViewerAcknowledge")
        self.ack_button.clicked.connect(self.sig_acknowledge.emit)
        self.ack_button.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.ack_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tampered)
        layout.addWidget(self.signatures)
        layout.addWidget(self.page_scroll, 1)
        self._sig_pages.connect(self._pages_ready)
        self.retranslate()
        self.clear()

    # what it shows ---------------------------------------------------------------------------------
    def show_verification(self, verification: Any, language: str = "en") -> None:
        self._verification, self._language = verification, language
        self._render_signatures()

    def set_checking(self) -> None:
        """The signatures are being checked."""
        self._verification = None
        self._set_lines([(AMBER, tr("Report", "Checking the signatures…"))])
        self.tampered.setVisible(False)

    def load_pdf(self, pdf: bytes) -> None:
        """Render the pages on a worker; an older document's pages never land over a newer one's."""
        self._generation += 1
        generation = self._generation
        self._clear_pages()
        self.status.setText(tr("Report", "Rendering the pages…"))
        self.status.setVisible(True)

        def work() -> None:
            try:
                result: object = render_pages(pdf)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                result = str(exc)
            self._sig_pages.emit(generation, result)

        threading.Thread(target=work, name="report-pages", daemon=True).start()

    def show_pages(self, pages: Sequence[bytes]) -> None:
        self._clear_pages()
        self.status.setVisible(not pages)
        self.status.setText(tr("Report", "The PDF has no pages."))
        for png in pages:
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            label = QLabel()
            label.setPixmap(pixmap)
            label.setStyleSheet("border: 1px solid #444;")
            self.pages_layout.addWidget(label)
            self.page_labels.append(label)

    def fail(self, text: str) -> None:
        self._clear_pages()
        self.status.setText(text)
        self.status.setStyleSheet("color: #ff7b72;")
        self.status.setVisible(True)

    def set_can_acknowledge(self, can: bool) -> None:
        self.ack_button.setVisible(can)

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def clear(self) -> None:
        """Nothing of the report stays (the consult ended); a rendering under way is dropped."""
        self._generation += 1
        self._verification = None
        self.title.clear()
        self._set_lines([])
        self.signatures.setVisible(False)
        self.tampered.setVisible(False)
        self.ack_button.setVisible(False)
        self._clear_pages()
        self.status.clear()
        self.status.setVisible(False)

    # inside ----------------------------------------------------------------------------------------
    def _pages_ready(self, generation: int, result: object) -> None:
        if generation != self._generation:
            return
        if isinstance(result, str):
            self.fail(result)
        else:
            assert isinstance(result, list)
            self.status.setStyleSheet("")
            self.show_pages(result)

    def _render_signatures(self) -> None:
        v = self._verification
        if v is None:
            return
        revision = getattr(v, "tampered_revision", None)
        self.tampered.setVisible(revision is not None)
        if revision is not None:
            self.tampered.setText(
                tr(
                    "Report",
                    "Warning: this PDF was changed after it was signed (revision %1). Do not rely on it; "
                    "ask the specialist for the report again.",
                ).replace("%1", str(revision))
            )
        self._set_lines(signature_lines(v, self._language))

    def _set_lines(self, lines: list[tuple[str, str]]) -> None:
        for label in self.lines:
            self.lines_layout.removeWidget(label)
            label.deleteLater()
        self.lines = []
        for state, text in lines:
            label = QLabel(f"{STATE_MARKS.get(state, '●')}  {text}")
            label.setObjectName(f"reportSignature_{state}")
            label.setWordWrap(True)
            label.setStyleSheet(f"color: {STATE_COLOURS.get(state, STATE_COLOURS[AMBER])};")
            self.lines_layout.addWidget(label)
            self.lines.append(label)
        self.signatures.setVisible(bool(lines))

    def _clear_pages(self) -> None:
        for label in self.page_labels:
            self.pages_layout.removeWidget(label)
            label.deleteLater()
        self.page_labels = []

    def retranslate(self) -> None:
        self.ack_button.setText(tr("Report", "Acknowledge receipt"))
        self._render_signatures()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
