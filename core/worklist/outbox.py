"""Notes, chat and annotation operations wait here until the backend has them. Qt-free.

The outbox is a SQLite file in the user data folder, so nothing typed is lost when the app or the
backend restarts. :class:`OutboxSender` delivers items strictly in order, one at a time, retrying
while the backend is unreachable; the backend is idempotent on ``op_id``, so a resend after a lost
reply never duplicates. An item the backend refuses for good (a 4xx) is set aside as failed with the
reason, visible, not deleted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.client.backend import BackendError
from core.observable import Event

log = logging.getLogger(__name__)

KINDS = ("notes", "chat", "annotations")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    consult_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
"""


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    op_id: str
    kind: str
    consult_id: int
    payload: dict[str, Any]
    created_at: float
    attempts: int
    state: str
    last_error: str | None


class Outbox:
    """Thread-safe: the UI thread enqueues, the runtime's sender delivers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a typed note must survive a power cut
        self._db.executescript(SCHEMA)
        # Called with the number still pending, on whichever thread changed it.
        self.changed: Event[[int]] = Event()

    def enqueue(self, kind: str, consult_id: int, payload: dict[str, Any], op_id: str | None = None) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        op_id = op_id or str(uuid.uuid4())
        body = dict(payload, op_id=op_id)
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (op_id, kind, consult_id, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (op_id, kind, consult_id, json.dumps(body, ensure_ascii=False), time.time()),
            )
        self.changed.emit(self.pending_count())
        return op_id

    def _rows(self, state: str, limit: int = -1) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, op_id, kind, consult_id, payload, created_at, attempts, state, last_error "
                "FROM outbox WHERE state = ? ORDER BY seq LIMIT ?",
                (state, limit),
            ).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8]) for r in rows]

    def next_pending(self) -> OutboxItem | None:
        rows = self._rows("pending", limit=1)
        return rows[0] if rows else None

    def pending(self) -> list[OutboxItem]:
        return self._rows("pending")

    def failed(self) -> list[OutboxItem]:
        return self._rows("failed")

    def pending_count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()
        return int(count)

    def delivered(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
        self.changed.emit(self.pending_count())

    def attempt_failed(self, seq: int, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, seq)
            )

    def set_aside(self, seq: int, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE seq = ?",
                (error, seq),
            )
        self.changed.emit(self.pending_count())

    def close(self) -> None:
        with self._lock:
            self._db.close()


Deliver = Callable[[str, int, dict[str, Any]], Awaitable[object]]


class OutboxSender:
    """Runs on the asyncio runtime; delivers the outbox in order whenever the backend is reachable."""

    def __init__(
        self,
        outbox: Outbox,
        deliver: Deliver,
        on_link: Callable[[bool, str], None] | None = None,
        min_backoff: float = 0.25,
        max_backoff: float = 5.0,
    ) -> None:
        self.outbox = outbox
        self._deliver = deliver
        self._on_link = on_link  # (reachable, detail), called on the loop thread
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._min, self._max = min_backoff, max_backoff
        self.sent = 0
        self._stopped = False

    def start(self) -> None:
        """Call on the runtime's loop."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopped = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    def wake(self) -> None:
        """Thread-safe nudge: something was enqueued, or the link may be back."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        """Stop delivering (what is pending stays in the outbox). Calling it twice is harmless."""
        self._stopped = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _link(self, reachable: bool, detail: str = "") -> None:
        if self._on_link is not None:
            self._on_link(reachable, detail)

    async def _pause(self, seconds: float) -> None:
        assert self._wake is not None
        self._wake.clear()
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _run(self) -> None:
        assert self._wake is not None
        backoff = self._min
        while not self._stopped:
            item = self.outbox.next_pending()
            if item is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self._deliver(item.kind, item.consult_id, item.payload)
            except BackendError as exc:
                if exc.retryable or exc.status == 401:
                    self.outbox.attempt_failed(item.seq, str(exc))
                    self._link(False, str(exc))
                    await self._pause(backoff)
                    backoff = min(backoff * 2, self._max)
                    continue
                log.error("outbox item %s (%s) refused by the backend: %s", item.op_id, item.kind, exc)
                self.outbox.set_aside(item.seq, str(exc))
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug must not silently stop delivery: log it and try again later.
                log.exception("outbox delivery of %s failed unexpectedly", item.op_id)
                await self._pause(self._max)
                continue
            backoff = self._min
            self.outbox.delivered(item.seq)
            self.sent += 1
            self._link(True)
