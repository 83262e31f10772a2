"""The workstation as a clinician uses it, on the real backend: sign in, worklist, accept, notes, lock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.context import Workstation
from app.workstation import Composed, compose
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.client.connection import LinkState
from core.client.embedded_backend import EmbeddedBackend
from core.config.paths import app_paths
from core.config.roles import PanelId, Role
from core.config.settings import SiteConfig, UserSettingsStore
from widgets.notes_panel import QtNotesPanel
from widgets.worklist_panel import QtWorklistPanel

from .test_client_backend import REQUEST


@pytest.fixture
def composed(server: EmbeddedServer, qtbot) -> Iterator[Composed]:  # type: ignore[no-untyped-def]
    paths = app_paths().ensure()
    store = UserSettingsStore(paths.user_settings_file)
    site = SiteConfig.model_validate(
        {"backend": {"url": server.base_url}, "security": {"inactivity_lock_minutes": 1}}
    )
    ws = Workstation(paths=paths, site=site, site_file=None, settings_store=store, settings=store.load(),
                     role=Role.SPECIALIST, language="en")  # fmt: skip
    made = compose(ws)
    qtbot.addWidget(made.window)
    made.window.show()
    yield made
    made.window.close()
    made.shutdown()


def open_request(base_url: str) -> int:
    async def go() -> int:
        doctor = BackendClient(base_url)
        await doctor.login("dr.li", "demo")
        created = await doctor.create_consult(REQUEST)
        await doctor.aclose()
        return int(created["id"])

    return asyncio.run(go())


def sign_in(composed: Composed, qtbot, password: str = "demo", username: str = "dr.chen") -> None:  # type: ignore[no-untyped-def]
    composed.link.start()
    qtbot.waitUntil(
        lambda: composed.session.login is not None and composed.session.login.isVisible(), timeout=10000
    )
    dialog = composed.session.login
    assert dialog is not None
    dialog.username.setText(username)
    dialog.password.setText(password)
    dialog.sign_in.click()


def test_sign_in_accept_and_write_notes(composed: Composed, server: EmbeddedServer, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert server.base_url is not None
    consult_id = open_request(server.base_url)
    window, link = composed.window, composed.link

    sign_in(composed, qtbot, password="wrong")
    qtbot.waitUntil(lambda: composed.session.login is not None and composed.session.login.error.isVisible()
                    and "Signing" not in composed.session.login.error.text(), timeout=10000)  # fmt: skip
    assert composed.session.login is not None
    assert "invalid" in composed.session.login.error.text().lower()
    composed.session.login.password.setText("demo")
    composed.session.login.sign_in.click()
    qtbot.waitUntil(lambda: link.sign_in_state.user is not None, timeout=10000)
    assert "Chen" in window.user_label.text()
    qtbot.waitUntil(lambda: window.ws.connection.status.state is LinkState.CONNECTED, timeout=10000)

    worklist = window.docks[PanelId.WORKLIST].widget()
    assert isinstance(worklist, QtWorklistPanel)
    qtbot.waitUntil(lambda: link.worklist.get(consult_id) is not None, timeout=10000)
    assert worklist.table.rowCount() >= 1
    worklist.select(consult_id)
    assert worklist.accept_button.isEnabled()
    assert "Nodule" in worklist.details.text()
    worklist.accept_button.click()

    qtbot.waitUntil(lambda: window.ws.context.patient is not None, timeout=10000)
    assert window.banner.isVisible()
    assert window.banner.name.text() == "Wang Min"
    qtbot.waitUntil(
        lambda: (c := link.worklist.get(consult_id)) is not None and c.state == "accepted", timeout=10000
    )

    notes = window.docks[PanelId.CHAT].widget()
    assert isinstance(notes, QtNotesPanel)
    notes.editor.setPlainText("Spiculated margin; recommend CT-guided biopsy.")
    notes.add_note.click()
    qtbot.waitUntil(lambda: [e.state for e in link.conversation.entries] == ["sent"], timeout=10000)
    assert "✓" in notes.entries.item(0).text()

    async def server_notes() -> list[dict[str, object]]:
        client = BackendClient(server.base_url or "")
        await client.login("dr.li", "demo")
        items = await client.items("notes", consult_id)
        await client.aclose()
        return items

    assert [n["text"] for n in asyncio.run(server_notes())] == [
        "Spiculated margin; recommend CT-guided biopsy."
    ]


def test_inactivity_lock_hides_the_patient_and_asks_for_the_password(composed: Composed, qtbot) -> None:  # type: ignore[no-untyped-def]
    sign_in(composed, qtbot)
    qtbot.waitUntil(lambda: composed.link.sign_in_state.user is not None, timeout=10000)
    session = composed.session
    # Time passes without input: the lock's clock is moved past the site's minute.
    session.lock._last -= 61
    session._check_lock()
    screen = session.lock_screen
    assert screen.isVisible()
    assert screen.geometry() == composed.window.rect()
    screen.password.setText("nope")
    screen.unlock.click()
    assert screen.isVisible() and screen.error.text() == "Wrong password."
    screen.password.setText("demo")
    screen.unlock.click()
    assert not screen.isVisible()


def test_sign_out_returns_to_the_login(composed: Composed, qtbot) -> None:  # type: ignore[no-untyped-def]
    sign_in(composed, qtbot)
    qtbot.waitUntil(lambda: composed.link.sign_in_state.user is not None, timeout=10000)
    composed.session.sign_out()
    assert composed.link.sign_in_state.user is None
    assert composed.session.login is not None and composed.session.login.isVisible()
    assert composed.window.ws.context.patient is None


def test_embedded_backend_child_process(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "embedded", seed_demo=True)
    backend.launch()
    try:
        base = asyncio.run(backend.wait_ready(60))

        async def login() -> str:
            client = BackendClient(base)
            user = await client.login("dr.chen", "demo")
            await client.aclose()
            return user.display_name

        assert "Chen" in asyncio.run(login())
    finally:
        backend.stop()
        backend.stop()
    assert backend.port_file.exists()
    assert (tmp_path / "embedded" / "backend.sqlite3").exists()


def test_worklist_ticks_and_flags_overdue(qtbot) -> None:  # type: ignore[no-untyped-def]
    from core.worklist.model import WorklistModel

    model = WorklistModel()
    panel = QtWorklistPanel(model, can_accept=True, can_close=True)
    qtbot.addWidget(panel)
    consult = {
        "id": 1, "state": "open", "patient": REQUEST["patient"], "question": "q", "urgency": "routine",
        "specialty": "radiology", "requested_by": {"display_name": "Dr. Li"}, "accepted_by": None,
        "waiting_seconds": 16 * 60.0, "target_seconds": 15 * 60.0, "outcome": None, "study": None,
    }  # fmt: skip
    model.replace([consult])
    wait_cell = panel.table.item(0, panel.WAIT_COLUMN)
    assert wait_cell is not None
    assert "OVERDUE" in wait_cell.text() and wait_cell.text().startswith("16:0")
    assert "1 past the target" in panel.summary.text()
    assert panel.table.item(0, 0) is not None
    assert panel.table.item(0, 0).data(Qt.ItemDataRole.UserRole) == 1
    panel.close_model()


def test_vitals_alarms_reach_the_backend_audit_chain(
    composed: Composed, server: EmbeddedServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    from core.vitals.simulator import Scenario
    from widgets.vitals import create_vitals_panel

    sign_in(composed, qtbot)
    qtbot.waitUntil(lambda: composed.link.sign_in_state.user is not None, timeout=10000)
    panel = create_vitals_panel(scenario=Scenario.ASYSTOLE, audit=composed.link.audit_event)
    qtbot.addWidget(panel)

    async def alarm_rows() -> list[dict[str, object]]:
        client = BackendClient(server.base_url or "")
        await client.login("it.admin", "demo")
        rows: list[dict[str, object]] = await client.request("GET", "/audit?limit=1000")
        await client.aclose()
        return [r for r in rows if str(r["action"]).startswith("vitals.alarm")]

    try:
        qtbot.waitUntil(lambda: len(asyncio.run(alarm_rows())) >= 1, timeout=30000)
    finally:
        panel.close_model()
    row = asyncio.run(alarm_rows())[0]
    assert row["actor"] == "dr.chen"
    assert isinstance(row["details"], dict) and row["details"]
