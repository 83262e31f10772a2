"""Wiring of the IT administrator's accounts panel (disable, enable, reset password, unlock).

`panels(link)` returns the USERS panel factory; the widget gets an `AccountService` whose calls run
on the backend client over the rtc loop and finish on the Qt thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QWidget

from core.client.backend import BackendClient, BackendError
from core.config.roles import PanelId
from widgets.user_admin import Done, Failed, QtUserAdmin

if TYPE_CHECKING:
    from app.main_window import MainWindow, PanelFactory
    from app.services import BackendLink
    from widgets.qt_async import QtAsyncBridge


def _message(error: BaseException) -> str:
    return error.detail if isinstance(error, BackendError) else str(error) or type(error).__name__


class ClientAccounts:
    """AccountService over a BackendClient (looked up at each call: the link signs in and out)."""

    def __init__(self, bridge: QtAsyncBridge, client: Any) -> None:
        self._bridge = bridge
        self._client = client  # a BackendClient, or a callable returning the current one

    def _current(self) -> BackendClient | None:
        client = self._client() if callable(self._client) else self._client
        return client if isinstance(client, BackendClient) and client.access_token else None

    def list_users(self, done: Done, failed: Failed) -> None:
        client = self._current()
        if client is None:
            return
        self._bridge.call(client.users(), done, lambda e: failed(_message(e)))

    def act(self, user_id: int, action: str, body: dict[str, Any] | None, done: Done, failed: Failed) -> None:
        client = self._current()
        if client is None:
            return
        self._bridge.call(client.user_action(user_id, action, body), done, lambda e: failed(_message(e)))


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    def users(window: MainWindow) -> QWidget:
        widget = QtUserAdmin(ClientAccounts(link.bridge, lambda: link.client))
        link.sig_signed_in.connect(lambda _user: widget.refresh())
        return widget

    return {PanelId.USERS: users}
