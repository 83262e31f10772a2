"""One patient context on the real backend: whatever the workstation shows or holds belongs to the open
consult's patient; switching consults leaves nothing of the old one; sign-out and the lock leave no
identity anywhere in the widget tree; the lock still says an alarm is active."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.roles import PanelId, Role
from core.consult.patient import Patient
from tests.helpers import CONSULT_REQUEST, compose_workstation
from tests.identity_walk import Found, find_identifiers

WANG = Patient("P-1", "Wang Min", "F", date(1970, 1, 2))
ZHOU = Patient("P-2", "Zhou Jian", "M", date(1961, 5, 6))


@pytest.fixture
def composed(server: EmbeddedServer, qtbot) -> Iterator[Composed]:  # type: ignore[no-untyped-def]
    made: Composed = compose_workstation(qtbot, Role.SPECIALIST, {"backend": {"url": server.base_url}})  # type: ignore[assignment]
    made.window.show()
    yield made
    made.window.close()
    made.shutdown()


def requests_for(base_url: str, patients: list[Patient]) -> list[int]:
    async def go() -> list[int]:
        doctor = BackendClient(base_url)
        await doctor.login("dr.li", "demo")
        ids = []
        for p in patients:
            body: dict[str, Any] = dict(CONSULT_REQUEST)
            body["patient"] = {"patient_id": p.patient_id, "name": p.name, "sex": p.sex,
                               "birth_date": p.birth_date.isoformat() if p.birth_date else None}  # fmt: skip
            ids.append(int((await doctor.create_consult(body))["id"]))
        await doctor.aclose()
        return ids

    return asyncio.run(go())


def sign_in(composed: Composed, qtbot) -> None:  # type: ignore[no-untyped-def]
    composed.link.start()
    qtbot.waitUntil(
        lambda: composed.session.login is not None and composed.session.login.isVisible(), timeout=15000
    )
    dialog = composed.session.login
    assert dialog is not None
    dialog.username.setText("dr.chen")
    dialog.password.setText("demo")
    dialog.sign_in.click()
    qtbot.waitUntil(lambda: composed.link.sign_in_state.user is not None, timeout=15000)


def outside_worklist(composed: Composed, patient: Patient) -> list[Found]:
    """The worklist is the list of consults to choose from, not a panel of the open consult: it may
    name the user's other consults (to their participants). Every other place is bound to the context."""
    worklist = composed.window.docks[PanelId.WORKLIST]
    return find_identifiers([patient], [composed.window], exclude=[worklist])


def accept(composed: Composed, qtbot, consult_id: int, patient: Patient) -> float:  # type: ignore[no-untyped-def]
    link = composed.link
    qtbot.waitUntil(lambda: link.worklist.get(consult_id) is not None, timeout=15000)
    started = time.perf_counter()
    link.transition(consult_id, "accept")
    qtbot.waitUntil(lambda: composed.window.ws.context.consult_id == consult_id, timeout=15000)
    elapsed = time.perf_counter() - started
    assert composed.window.ws.context.patient is not None
    assert composed.window.ws.context.patient.patient_id == patient.patient_id
    return elapsed


def test_switching_consults_leaves_no_panel_on_the_old_patient(
    composed: Composed, server: EmbeddedServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    assert server.base_url is not None
    wang_id, zhou_id = requests_for(server.base_url, [WANG, ZHOU])
    sign_in(composed, qtbot)
    window = composed.window

    accept(composed, qtbot, wang_id, WANG)
    qtbot.waitUntil(lambda: window.banner.name.text() == "Wang Min", timeout=10000)
    assert composed.link.send("notes", "Wang Min: spiculated margin.") is not None  # a note naming her
    assert outside_worklist(composed, ZHOU) == []

    accept(composed, qtbot, zhou_id, ZHOU)
    qtbot.waitUntil(lambda: window.banner.name.text() == "Zhou Jian", timeout=10000)
    # One operation: by the time the context names Zhou, nothing names Wang outside the worklist.
    assert outside_worklist(composed, WANG) == []


def test_sign_out_and_the_lock_leave_no_identity_in_the_widget_tree(
    composed: Composed, server: EmbeddedServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    assert server.base_url is not None
    (wang_id,) = requests_for(server.base_url, [WANG])
    sign_in(composed, qtbot)
    window, session = composed.window, composed.session
    accept(composed, qtbot, wang_id, WANG)
    qtbot.waitUntil(lambda: window.banner.name.text() == "Wang Min", timeout=10000)
    assert find_identifiers([WANG], [window]) != []  # the walk does see her while she is in context

    session.lock_now()
    assert session.lock_screen.isVisible()
    assert "locked the workstation" in session.lock_screen.who.text()
    assert find_identifiers([WANG], [window]) == []
    session.lock_screen.password.setText("demo")
    session.lock_screen.unlock.click()
    qtbot.waitUntil(lambda: window.ws.context.consult_id == wang_id, timeout=15000)
    qtbot.waitUntil(lambda: window.banner.name.text() == "Wang Min", timeout=10000)

    assert window.ws.context.user == "dr.chen"
    session.sign_out()
    assert window.ws.context.patient is None and window.ws.context.user is None
    assert find_identifiers([WANG], [window]) == []


def test_the_lock_says_why_and_shows_an_active_alarm_without_identity(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    from widgets.lock_screen import QtLockScreen

    parent = QWidget()
    qtbot.addWidget(parent)
    screen = QtLockScreen(parent)
    screen.show_locked("Dr. Chen", 10, manual=False)
    assert "10 minutes without activity" in screen.who.text()
    screen.show_alarm("high", 2)
    assert not screen.alarm.isHidden()
    assert "HIGH priority" in screen.alarm.text() and "2" in screen.alarm.text()
    screen.show_alarm(None)
    assert screen.alarm.isHidden()
