"""A log that a client cannot flood: lines about bad input, at most `burst` per `period`, the rest counted."""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    """At most `burst` lines per `period` seconds; the rest are counted and summed up in the next line,
    or by `summarise` (at most once per period) when the caller knows a burst is over."""

    def __init__(self, logger: logging.Logger, burst: int = 10, period: float = 60.0) -> None:
        self.logger, self.burst, self.period = logger, burst, period
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._count = self._dropped = 0
        self._summarised: float | None = None

    def warning(self, msg: str, *args: object) -> None:
        self._log(logging.WARNING, msg, *args)

    def info(self, msg: str, *args: object) -> None:
        self._log(logging.INFO, msg, *args)

    def _log(self, level: int, msg: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._start >= self.period:
                self._start, self._count = now, 0
            if self._count >= self.burst:
                self._dropped += 1
                return
            self._count += 1
            dropped, self._dropped = self._dropped, 0
        if dropped:
            msg += f" ({dropped} similar lines suppressed)"
        self.logger.log(level, msg, *args)

    def summarise(self, what: str, level: int = logging.INFO) -> None:
        """Log how many lines were suppressed so far (if any), without waiting for the next line."""
        with self._lock:
            now = time.monotonic()
            if not self._dropped or (self._summarised is not None and now - self._summarised < self.period):
                return
            self._summarised = now
            dropped, self._dropped = self._dropped, 0
        self.logger.log(level, "%s: %d similar lines suppressed", what, dropped)
