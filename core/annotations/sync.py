"""An annotation document on a call: local operations go out on the ``annotations`` channel, the peer's
come in, and a peer that joins late asks for a snapshot and merges it. Qt-free, aiortc-free.

Two threads meet here: the document lives on its own thread (the UI's in the app) and the session on
the rtc loop. ``to_doc`` runs a callable on the document's thread and ``to_loop`` on the session's;
both default to calling at once (everything on one thread, as in tests and benchmarks).

Every local operation except the ephemeral pointer also goes to ``post`` (the app's backend outbox).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from core.annotations.model import AnnotationDocument

log = logging.getLogger(__name__)

CHANNEL = "annotations"
OP_KIND = "op"
SNAPSHOT_KIND = "snapshot"
REQUEST_KIND = "snapshot_request"
SNAPSHOT_CHUNK_BYTES = 40 * 1024  # each part well under a channel message (64 KiB)

Runner = Callable[[Callable[[], None]], object]


class SessionLike(Protocol):
    """What the sync needs of :class:`rtc.session.CallSession` (structural: no rtc import here)."""

    message_received: Any
    state_changed: Any

    def send(self, channel: Any, kind: str, body: dict[str, Any]) -> Any: ...


def _now(fn: Callable[[], None]) -> None:
    fn()


def snapshot_parts(snapshot: dict[str, Any], limit: int = SNAPSHOT_CHUNK_BYTES) -> list[dict[str, Any]]:
    """Split a document snapshot into snapshots each under ``limit`` bytes of JSON (merging them all
    gives the whole). Always at least one part, so an empty document still answers a request."""
    head = {"v": snapshot["v"], "clock": snapshot["clock"]}
    parts: list[dict[str, Any]] = []
    current: dict[str, Any] = dict(head, records=[], clears=[])
    size = 0
    for key in ("records", "clears"):
        for entry in snapshot[key]:
            entry_size = len(json.dumps(entry, separators=(",", ":")))
            if size and size + entry_size > limit:
                parts.append(current)
                current, size = dict(head, records=[], clears=[]), 0
            current[key].append(entry)
            size += entry_size
    parts.append(current)
    return parts


class AnnotationSync:
    """Binds one document to one call session. ``close()`` unbinds; twice is harmless."""

    def __init__(
        self,
        doc: AnnotationDocument,
        session: SessionLike,
        post: Callable[[dict[str, Any]], None] | None = None,
        *,
        to_doc: Runner = _now,
        to_loop: Runner = _now,
        request_on_connect: bool = True,
        consult_id: int | None = None,
    ) -> None:
        self.doc = doc
        # Stamped on what goes out; what comes in for another consult is dropped (patient context).
        self.consult_id = consult_id
        self.session = session
        self.post = post
        self.to_doc = to_doc
        self.to_loop = to_loop
        self.request_on_connect = request_on_connect
        self.ops_sent = 0
        self.ops_received = 0
        self.ops_rejected = 0
        self.foreign_dropped = 0
        self.snapshots_received = 0
        self._closed = False
        doc.op_emitted.connect(self._on_local_op)
        session.message_received.connect(self._on_message)
        session.state_changed.connect(self._on_state)

    # --- outgoing (document thread) ---

    def _on_local_op(self, op: dict[str, Any]) -> None:
        if self._closed:
            return
        if self.post is not None and op["op"] != "pointer":
            try:
                self.post(op)
            except Exception:  # the outbox failing must not stop the live call
                log.exception("annotation op not queued for the backend")
        body = self._stamped(dict(op))
        self.to_loop(lambda: self._send(OP_KIND, body))

    def _stamped(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.consult_id is not None:
            body["consult"] = self.consult_id
        return body

    def request_snapshot(self) -> None:
        """Ask the peer for its whole document (callable from any thread)."""
        body = self._stamped(
            {
                "op": REQUEST_KIND,
                "id": REQUEST_KIND,
                "author": self.doc.author,
                "site": self.doc.site,
                "lamport": 0,
                "space": "all",
                "data": {},
            }
        )
        self.to_loop(lambda: self._send(REQUEST_KIND, body))

    def _answer_request(self) -> None:
        snapshot = self.doc.snapshot()
        bodies = [
            self._stamped(
                {
                    "op": SNAPSHOT_KIND,
                    "id": SNAPSHOT_KIND,
                    "author": self.doc.author,
                    "site": self.doc.site,
                    "lamport": min(snapshot["clock"], 2**31 - 1),
                    "space": "all",
                    "data": part,
                }
            )
            for part in snapshot_parts(snapshot)
        ]

        def send_all() -> None:
            for body in bodies:
                self._send(SNAPSHOT_KIND, body)

        self.to_loop(send_all)

    def _send(self, kind: str, body: dict[str, Any]) -> None:
        if self._closed:
            return
        try:
            self.session.send(CHANNEL, kind, body)
            self.ops_sent += kind == OP_KIND
        except Exception:  # a body the channel refuses is a bug worth a log line, never a dead call
            log.exception("annotation %s not sent", kind)

    def _send_error(self, body: dict[str, Any]) -> None:
        """Tell the peer (DESIGN.md, Messages and bad input); an error is never answered, so no loop."""
        if not self._closed:
            try:
                self.session.send("control", "error", body)
            except Exception:
                log.exception("annotation error reply not sent")

    # --- incoming (session loop) ---

    def _on_state(self, state: Any) -> None:
        value = getattr(state, "value", state)
        if self.request_on_connect and value == "connected":
            self.request_snapshot()
        elif value == "ended":  # the call is over; the document stays, a new call binds a new sync
            self.to_doc(self.close)

    def _on_message(self, message: Any) -> None:
        if self._closed or getattr(message, "channel", None) != CHANNEL:
            return
        envelope = getattr(message, "envelope", None)
        if envelope is None:
            return
        body = dict(envelope.body)
        self.to_doc(lambda: self._handle(body))

    def _handle(self, body: dict[str, Any]) -> None:
        """On the document's thread."""
        if self._closed:
            return
        foreign = body.get("consult")
        if foreign is not None and self.consult_id is not None and foreign != self.consult_id:
            self.foreign_dropped += 1
            log.warning(
                "annotation %s for consult %s dropped: consult %s is open here",
                body.get("id"),
                foreign,
                self.consult_id,
            )
            return
        op = body.get("op")
        if op == REQUEST_KIND:
            self._answer_request()
        elif op == SNAPSHOT_KIND:
            self.snapshots_received += 1
            self.doc.load_snapshot(body.get("data"))
        else:
            self.ops_received += 1
            keys = ("op", "id", "author", "site", "lamport", "space", "data")
            reasons: list[str] = []
            self.doc.rejected.connect(reasons.append)
            try:
                author = body.get("author")
                if author == self.doc.author and body.get("site") != self.doc.site:
                    # The peer only ever sends its own user's operations: this one impersonates ours.
                    self.doc.rejected.emit(f"{author} is the local user: a peer may not act as one")
                    accepted = False
                else:
                    accepted = self.doc.apply_remote({k: body[k] for k in keys if k in body})
            finally:
                self.doc.rejected.disconnect(reasons.append)
            if not accepted:
                self.ops_rejected += 1
                reason = (reasons[0] if reasons else "rejected")[:200]
                log.warning("annotation op %s rejected: %s", body.get("id"), reason)
                error = {
                    "action": "error",
                    "args": {"channel": CHANNEL, "id": str(body.get("id"))[:128], "reason": reason},
                }
                self.to_loop(lambda: self._send_error(error))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.doc.op_emitted.disconnect(self._on_local_op)
        self.session.message_received.disconnect(self._on_message)
        self.session.state_changed.disconnect(self._on_state)
