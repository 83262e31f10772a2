"""Chat and notes of the open consultation, with each entry's delivery state. Qt-free."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from core.observable import Event


@dataclass(frozen=True)
class Entry:
    op_id: str
    kind: str  # "chat" or "notes"
    author: str
    text: str
    at: float
    state: str  # "queued", "sent", "failed"


class Conversation:
    def __init__(self) -> None:
        self.changed: Event[[]] = Event()
        self.consult_id: int | None = None
        self.title = ""
        self.entries: list[Entry] = []

    def open(self, consult_id: int, title: str) -> None:
        self.consult_id, self.title, self.entries = consult_id, title, []
        self.changed.emit()

    def close(self) -> None:
        self.consult_id, self.title, self.entries = None, "", []
        self.changed.emit()

    def add_local(self, op_id: str, kind: str, author: str, text: str) -> None:
        self.entries.append(Entry(op_id, kind, author, text, time.time(), "queued"))
        self.changed.emit()

    def mark(self, op_id: str, state: str) -> None:
        self.entries = [replace(e, state=state) if e.op_id == op_id else e for e in self.entries]
        self.changed.emit()

    def merge_server(self, kind: str, items: list[dict[str, Any]]) -> None:
        """Entries the backend already has (e.g. from the other site) join the list, once each."""
        known = {e.op_id for e in self.entries}
        for item in items:
            op_id = str(item.get("op_id"))
            if op_id in known:
                self.mark(op_id, "sent")
                continue
            who = item.get("author") or {}
            author = (
                str(who.get("display_name") or who.get("username") or "")
                if isinstance(who, dict)
                else str(who)
            )
            self.entries.append(Entry(op_id, kind, author, str(item.get("text", "")), time.time(), "sent"))
        self.changed.emit()
