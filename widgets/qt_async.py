"""The one crossing between the asyncio runtime and Qt: results come back on the UI thread."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from rtc.runtime import AsyncRuntime

log = logging.getLogger(__name__)
T = TypeVar("T")


class QtAsyncBridge(QObject):
    """``call(coro, on_result, on_error)`` runs ``coro`` on the runtime and calls back on the Qt thread."""

    _sig_done = Signal(object)
    _sig_post = Signal(object)

    def __init__(self, runtime: AsyncRuntime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self._closed = False
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._sig_done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._sig_post.connect(self._run_posted, Qt.ConnectionType.QueuedConnection)

    def post(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the Qt thread soon; callable from any thread."""
        if not self._closed:
            self._sig_post.emit(fn)

    def _run_posted(self, fn: Callable[[], object]) -> None:
        if not self._closed:
            fn()

    def call(
        self,
        coro: Coroutine[Any, Any, T],
        on_result: Callable[[T], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
    ) -> concurrent.futures.Future[T]:
        future = self.runtime.submit(coro)
        self._pending.add(future)

        def done(fut: concurrent.futures.Future[T]) -> None:
            # Runs on the loop's thread: hand over to Qt via a queued signal.
            if not self._closed:
                self._sig_done.emit((fut, on_result, on_error))

        future.add_done_callback(done)
        return future

    def _deliver(self, item: tuple[concurrent.futures.Future[Any], Any, Any]) -> None:
        future, on_result, on_error = item
        self._pending.discard(future)
        if future.cancelled() or self._closed:
            return
        error = future.exception()
        if error is None:
            if on_result is not None:
                on_result(future.result())
        elif on_error is not None:
            on_error(error)
        else:
            log.error("background call failed", exc_info=error)

    def close(self) -> None:
        self._closed = True
        for future in list(self._pending):
            future.cancel()
        self._pending.clear()
