"""The demo's two consults, opened in turn at each site (specialist, county doctor, trainee): every text
a widget shows, every tooltip, the imaging panel's painted corner strings and the DICOM headers it holds
name the open consult's patient only (the trainee: nobody at all)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from pytestqt.qtbot import QtBot

from app.demo import county_doctor_sends_request
from app.workstation import Composed
from backend.demo import DEMO_PATIENT_ID
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.roles import PanelId, Role
from core.consult.patient import Patient
from tests.gui.test_trainee_identity import imaging_panel, wait_loaded
from tests.helpers import compose_workstation
from tests.identity_walk import find_identifiers

pytestmark = pytest.mark.gui

LIU = Patient("US-2026-0107", "Liu Fang", "F", date(1958, 9, 2))
ZHANG = Patient(DEMO_PATIENT_ID, "Zhang Wei", "M", date(1961, 3, 14))


def both_consults_in_session(base_url: str) -> dict[str, int]:
    """Liu Fang's emergency (sent as the demo's county doctor sends it) and Zhang Wei's seeded CT
    consult, both accepted by dr.chen and started by dr.li: every role may open both."""

    async def go() -> dict[str, int]:
        await county_doctor_sends_request(base_url, delay_s=0)
        chen, li = BackendClient(base_url), BackendClient(base_url)
        try:
            await chen.login("dr.chen", "demo")
            await li.login("dr.li", "demo")
            ids = {str(c["patient"]["patient_id"]): int(c["id"]) for c in await li.consults()}
            for consult_id in ids.values():
                await chen.transition(consult_id, "accept")
                await li.transition(consult_id, "start")
            return ids
        finally:
            await chen.aclose()
            await li.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("role", [Role.SPECIALIST, Role.COUNTY_DOCTOR, Role.TRAINEE])
def test_each_demo_consult_shows_only_its_own_patient(
    role: Role, server: EmbeddedServer, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.wiring.imaging as wiring

    monkeypatch.setattr(wiring, "DEMO_CT_SHAPE", (12, 96, 96))  # the demo's anatomy, smaller
    assert server.base_url is not None
    ids = both_consults_in_session(server.base_url)
    assert set(ids) == {LIU.patient_id, ZHANG.patient_id}
    made: Composed = compose_workstation(qtbot, role, {"backend": {"url": server.base_url}},
                                         demo=True)  # type: ignore[assignment]  # fmt: skip
    try:
        made.window.show()
        made.link.start()  # the demo signs in by itself
        qtbot.waitUntil(lambda: made.link.sign_in_state.user is not None, timeout=20_000)
        listed = lambda: all(made.link.worklist.get(i) is not None for i in ids.values())  # noqa: E731
        qtbot.waitUntil(listed, timeout=20_000)
        worklist = [made.window.docks[PanelId.WORKLIST]] if PanelId.WORKLIST in made.window.docks else []
        imaging = imaging_panel(made) if PanelId.IMAGING in made.window.docks else None
        for patient, other in ((ZHANG, LIU), (LIU, ZHANG)):
            consult_id = ids[patient.patient_id]
            made.link.open_consult(consult_id)
            qtbot.waitUntil(lambda cid=consult_id: made.window.ws.context.consult_id == cid, timeout=20_000)
            if patient is ZHANG and imaging is not None:
                wait_loaded(qtbot, imaging)  # his CT belongs to his consult
            if role is Role.TRAINEE:
                # A trainee never meets an identity: not in the panels, not in the list of sessions.
                assert find_identifiers([LIU, ZHANG], [made.window]) == []
                pseudonym = made.window.ws.context.patient
                assert pseudonym is not None and pseudonym.patient_id.startswith("ANON-")
                assert find_identifiers([pseudonym], [made.window]) != []  # the walk sees who is open
            else:
                assert find_identifiers([other], [made.window], exclude=worklist) == []
                assert find_identifiers([patient], [made.window]) != []  # the walk sees who is open
            if patient is LIU and imaging is not None:
                assert imaging.series is None  # her consult has no CT: Zhang Wei's is not shown
    finally:
        made.window.close()
        made.shutdown()
