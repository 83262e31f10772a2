"""Render a window to PNG and quit: how anyone checks the UI without a display."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)


def grab(window: QWidget) -> QPixmap:
    """The window as shown. On a real (X) screen grab the screen, so OpenGL/VTK views are included."""
    if QGuiApplication.platformName() == "offscreen":
        return window.grab()
    screen = window.screen()
    frame = window.frameGeometry()
    return screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())


def schedule_screenshot(window: QWidget, path: Path, delay_s: float) -> None:
    def shoot() -> None:
        QApplication.processEvents()
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = grab(window).save(str(path), "PNG")
        if ok:
            log.info("screenshot written to %s", path)
            print(f"screenshot written to {path}")
        else:
            print(f"could not write the screenshot to {path}", file=sys.stderr)
        window.close()
        QApplication.exit(0 if ok else 3)

    QTimer.singleShot(int(delay_s * 1000), shoot)
