"""The demo's CT (Zhang Wei, CT-2026-0042) follows the consult context on the real backend: nothing
loads before sign-in or without his consult; a trainee following his consult gets it de-identified,
with the backend's pseudonym and no trace of his identity."""

from __future__ import annotations

import asyncio

import pydicom
import pytest
from pytestqt.qtbot import QtBot

from app.wiring.imaging import DEMO_STUDY_UID
from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.paths import app_paths
from core.config.roles import Role
from tests.gui.test_trainee_identity import (
    TRAINEE_CACHE,
    all_strings,
    imaging_panel,
    leaks,
    painted_strings,
    visible_texts,
    wait_loaded,
)
from tests.helpers import compose_workstation

pytestmark = pytest.mark.gui


def demo_consult_in_session(base_url: str) -> int:
    """dr.chen accepts the demo's CT consult (seeded by the backend) and dr.li starts the call."""

    async def go() -> int:
        chen, li = BackendClient(base_url), BackendClient(base_url)
        try:
            await chen.login("dr.chen", "demo")
            await li.login("dr.li", "demo")
            (consult,) = [c for c in await li.consults() if (c.get("study") or {}).get("study_instance_uid")
                          == DEMO_STUDY_UID]  # fmt: skip
            consult_id = int(consult["id"])
            await chen.transition(consult_id, "accept")
            await li.transition(consult_id, "start")
            return consult_id
        finally:
            await chen.aclose()
            await li.aclose()

    return asyncio.run(go())


def test_the_demo_ct_reaches_a_trainee_only_with_its_consult_de_identified(
    server: EmbeddedServer, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.wiring.imaging as wiring

    monkeypatch.setattr(wiring, "DEMO_CT_SHAPE", (12, 96, 96))  # the demo's anatomy, smaller
    assert server.base_url is not None
    consult_id = demo_consult_in_session(server.base_url)
    trainee: Composed = compose_workstation(qtbot, Role.TRAINEE, {"backend": {"url": server.base_url}},
                                            demo=True)  # type: ignore[assignment]  # fmt: skip
    try:
        trainee.window.show()
        panel = imaging_panel(trainee)
        assert not panel.busy and panel.source_paths == []  # before sign-in: nothing
        trainee.link.start()  # the demo signs the trainee in by itself
        qtbot.waitUntil(lambda: trainee.link.sign_in_state.user is not None, timeout=15_000)
        qtbot.waitUntil(lambda: trainee.link.worklist.get(consult_id) is not None, timeout=15_000)
        assert not panel.busy and panel.source_paths == []  # signed in, no consult open: still nothing

        trainee.link.open_consult(consult_id)
        wait_loaded(qtbot, panel)
        patient = trainee.window.ws.context.patient
        assert patient is not None and patient.patient_id.startswith("ANON-")
        assert panel.series is not None and panel.series.instance_count == 12
        painted = painted_strings(panel, monkeypatch)
        assert patient.name in painted and patient.patient_id in painted  # the backend's pseudonym
        assert not leaks(visible_texts(trainee.window, painted))
        cache = app_paths().cache_dir / TRAINEE_CACHE
        assert all(cache in i.path.parents for i in panel.series.instances)
        for path in cache.rglob("*.dcm"):
            assert not leaks(all_strings(pydicom.dcmread(path))), path

        trainee.link.sign_out()
        assert panel.series is None and panel.slice_view.overlay_left == []
        assert not [t for t in panel.identity_strings() if patient.patient_id in t]
    finally:
        trainee.window.close()
        trainee.shutdown()
