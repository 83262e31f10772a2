"""The IT administrator's accounts panel against the real backend: disable, enable, reset, unlock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.wiring.accounts import ClientAccounts
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from rtc.runtime import AsyncRuntime
from widgets.qt_async import QtAsyncBridge
from widgets.user_admin import QtUserAdmin

NEW_PASSWORD = "violet-harbour-42"


@pytest.fixture
def admin_panel(qtbot: Any, server: EmbeddedServer) -> Iterator[tuple[QtUserAdmin, str]]:
    assert server.base_url is not None
    runtime = AsyncRuntime().start()
    bridge = QtAsyncBridge(runtime)
    client = BackendClient(server.base_url)
    runtime.submit(client.login("it.admin", "demo")).result(30)
    widget = QtUserAdmin(ClientAccounts(bridge, client), ask_password=lambda _parent, _user: NEW_PASSWORD)
    qtbot.addWidget(widget)
    widget.resize(760, 420)
    widget.show()
    qtbot.waitUntil(lambda: widget.table.rowCount() >= 5, timeout=10000)
    yield widget, server.base_url
    bridge.close()
    runtime.submit(client.aclose()).result(10)
    runtime.stop()


def _login(base_url: str, username: str, password: str) -> int:
    response = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    return response.status_code


def _state(widget: QtUserAdmin, username: str) -> str:
    for row in range(widget.table.rowCount()):
        name = widget.table.item(row, 0)
        state = widget.table.item(row, 3)
        if name is not None and state is not None and name.text() == username:
            return state.text()
    raise AssertionError(username)


def test_disable_enable_and_reset_from_the_panel(
    qtbot: Any, admin_panel: tuple[QtUserAdmin, str], shots: Path
) -> None:
    widget, base_url = admin_panel
    assert not widget.toggle_button.isEnabled()  # nothing selected
    widget.select_username("dr.wang")
    assert widget.toggle_button.text() == "Disable" and not widget.unlock_button.isEnabled()
    widget.toggle_button.click()
    qtbot.waitUntil(lambda: _state(widget, "dr.wang") == "disabled", timeout=10000)
    assert "dr.wang disabled." in widget.message.text()
    assert widget.toggle_button.text() == "Enable"
    assert _login(base_url, "dr.wang", "demo") == 401
    widget.grab().save(str(shots / "user-admin.png"))
    widget.toggle_button.click()
    qtbot.waitUntil(lambda: _state(widget, "dr.wang") == "active", timeout=10000)
    assert _login(base_url, "dr.wang", "demo") == 200
    widget.reset_button.click()
    qtbot.waitUntil(lambda: "Password of dr.wang reset" in widget.message.text(), timeout=10000)
    assert _login(base_url, "dr.wang", "demo") == 401
    assert _login(base_url, "dr.wang", NEW_PASSWORD) == 200


def test_a_refused_action_is_shown(qtbot: Any, admin_panel: tuple[QtUserAdmin, str]) -> None:
    widget, _ = admin_panel
    widget.select_username("it.admin")
    widget.toggle_button.click()  # IT cannot disable its own account
    qtbot.waitUntil(lambda: widget.message.text().startswith("Failed:"), timeout=10000)
    assert "your own account" in widget.message.text()
