"""A daemon thread that calls one function every ``period`` seconds until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, period: float, tick: Callable[[], object]) -> None:
        self.name, self.period, self._tick = name, period, tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self._tick()
            except Exception:  # one failing tick must not silence the monitor for good
                log.exception("%s: periodic work failed", self.name)

    def stop(self) -> None:
        """Stop and join; calling it twice is harmless."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2.0)
