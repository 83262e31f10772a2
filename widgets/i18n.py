"""Translation helper. ``tr("Context", "text")`` calls are what scripts/update_translations.py extracts.

Both arguments must be string literals so the extractor can see them.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def tr(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    return QCoreApplication.translate(context, text, disambiguation, n)
