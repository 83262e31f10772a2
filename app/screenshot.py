"""Render a window to PNG and quit: how anyone checks the UI without a display."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)
_POLL_MS = 100


def grab(window: QWidget) -> QPixmap:
    """The window as shown. On a real (X) screen grab the screen, so OpenGL/VTK views are included."""
    if QGuiApplication.platformName() == "offscreen":
        return window.grab()
    screen = window.screen()
    frame = window.frameGeometry()
    return screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())


def schedule_screenshot(
    window: QWidget,
    path: Path,
    delay_s: float,
    ready: Callable[[], bool] | None = None,
    timeout_s: float = 40.0,
) -> None:
    """Grab ``window`` to ``path`` and quit, once ``ready()`` says the window shows what it should (the
    demo signed in, its worklist filled) and ``delay_s`` more has let it paint. A fixed delay alone was
    not enough: on a first start (cold caches, a new data folder) the demo was still signing in, and the
    picture was an empty window. Never waits more than ``timeout_s`` for ``ready``: then it says so on
    stderr and grabs what there is."""
    started = time.monotonic()

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

    def wait() -> None:
        if ready is None or ready():
            log.info("screenshot: the window was ready after %.1f s", time.monotonic() - started)
        elif time.monotonic() - started < timeout_s:
            QTimer.singleShot(_POLL_MS, wait)
            return
        else:
            print(
                f"the window was not ready after {timeout_s:.0f} s; the screenshot shows it as it is",
                file=sys.stderr,
            )
        QTimer.singleShot(int(delay_s * 1000), shoot)

    QTimer.singleShot(0, wait)
