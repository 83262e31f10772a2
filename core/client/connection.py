"""The workstation's link to its backend, as the status bar shows it. Qt-free."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from core.observable import Event


class LinkState(StrEnum):
    OFFLINE = "offline"  # nothing started yet
    CONNECTING = "connecting"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState = LinkState.OFFLINE
    url: str = ""
    queued: int = 0  # operations waiting in the outbox
    detail: str = ""


class ConnectionStatus:
    def __init__(self) -> None:
        self.changed: Event[[LinkStatus]] = Event()
        self._status = LinkStatus()

    @property
    def status(self) -> LinkStatus:
        return self._status

    def update(self, **changes: object) -> None:
        new = replace(self._status, **changes)  # type: ignore[arg-type]
        if new != self._status:
            self._status = new
            self.changed.emit(new)
