"""The honest empty state of a panel: what is missing and how to get it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class QtEmptyState(QWidget):
    """A centred title and hint. Text comes from callables so it follows a language switch."""

    def __init__(
        self, title: Callable[[], str], hint: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._title_text, self._hint_text = title, hint
        self.title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.title.setObjectName("emptyStateTitle")
        self.title.setWordWrap(True)
        self.hint = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.hint.setObjectName("emptyStateHint")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addStretch(1)
        self.setStyleSheet(
            "#emptyStateTitle { font-size: 15px; font-weight: 600; color: palette(text); }"
            "#emptyStateHint { color: palette(mid); }"
        )
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self._title_text())
        self.hint.setText(self._hint_text())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
