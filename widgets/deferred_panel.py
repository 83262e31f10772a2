"""A panel whose heavy content is built after the window's first paint, so start-up never waits for it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QVBoxLayout, QWidget


class QtDeferredPanel(QWidget):
    def __init__(
        self, build: Callable[[], QWidget], placeholder: QWidget, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._build = build
        self.content: QWidget = placeholder
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(placeholder)
        self.built = False

    def build(self) -> None:
        """Replace the placeholder by the real panel; calling it twice is harmless."""
        if self.built:
            return
        self.built = True
        real = self._build()
        self._layout.replaceWidget(self.content, real)
        self.content.deleteLater()
        self.content = real

    def close_model(self) -> None:
        closer = getattr(self.content, "close_model", None)
        if callable(closer):
            closer()
