"""The specialist's workstation, end to end on the real backend and a real Orthanc: accepting a consult
with a study prefetches it, the worklist's Study column follows, and Imaging opens it when ready."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.paths import app_paths
from core.config.roles import PanelId, Role
from tests.helpers import CONSULT_REQUEST, compose_workstation
from tests.integration.test_workstation_session import sign_in
from tests.orthanc_server import OrthancServer
from viewers.dicom import synthetic
from widgets.worklist_panel import QtWorklistPanel

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def orthanc(own_orthanc: OrthancServer) -> OrthancServer:
    return own_orthanc  # this module uploads: an archive of its own


def _compose(server: EmbeddedServer, orthanc: OrthancServer, role: Role, qtbot: QtBot) -> Composed:
    made: Composed = compose_workstation(
        qtbot,
        role,
        {
            "backend": {"url": server.base_url},
            # C-GET: the test Orthanc's DICOMweb wants a password the site file has no key for
            "pacs": [orthanc.dimse_endpoint()],
        },
    )  # type: ignore[assignment]
    made.window.show()
    return made


@pytest.fixture
def specialist(server: EmbeddedServer, orthanc: OrthancServer, qtbot: QtBot) -> Iterator[Composed]:
    made = _compose(server, orthanc, Role.SPECIALIST, qtbot)
    yield made
    made.window.close()
    made.shutdown()


def test_accept_prefetches_shows_ready_and_opens_in_imaging(
    specialist: Composed,
    server: EmbeddedServer,
    orthanc: OrthancServer,
    qtbot: QtBot,
    tmp_path: Path,
    shots: Path,
) -> None:
    series = synthetic.write_ct_series(
        tmp_path / "ct", (16, 64, 64), patient_name="Wang^Min", patient_id="P-1",
        patient_birth_date="19700102",
    )  # fmt: skip
    orthanc.upload(series.paths)
    assert server.base_url is not None
    base_url = server.base_url

    async def request() -> int:
        doctor = BackendClient(base_url)
        await doctor.login("dr.li", "demo")
        study = {"study_instance_uid": series.study_uid, "source": "regional"}
        created = await doctor.create_consult({**CONSULT_REQUEST, "study": study})
        await doctor.aclose()
        return int(created["id"])

    consult_id = asyncio.run(request())
    window, link = specialist.window, specialist.link
    sign_in(specialist, qtbot, username="dr.chen")
    worklist = window.docks[PanelId.WORKLIST].widget()
    assert isinstance(worklist, QtWorklistPanel)
    assert not worklist.request_button.isVisible()  # specialists do not send requests
    qtbot.waitUntil(lambda: link.worklist.get(consult_id) is not None, timeout=10000)

    def study_cell() -> str:
        row = next(r for r, item in enumerate(link.worklist.items) if item.id == consult_id)
        return worklist.table.item(row, worklist.STUDY_COLUMN).text()

    qtbot.waitUntil(lambda: study_cell() == "Not here", timeout=5000)

    worklist.select(consult_id)
    worklist.accept_button.click()
    qtbot.waitUntil(lambda: link.worklist.studies.get(consult_id, ("",))[0] == "ready", timeout=30000)
    row = next(r for r, item in enumerate(link.worklist.items) if item.id == consult_id)
    assert worklist.table.item(row, worklist.STUDY_COLUMN).text() == "Ready"
    assert series.study_uid in worklist.table.item(row, worklist.STUDY_COLUMN).toolTip()

    cached = app_paths().cache_dir / "studies" / series.study_uid
    assert len(list(cached.iterdir())) == 16
    holder = window.docks[PanelId.IMAGING].widget()
    panel = getattr(holder, "content", holder)
    qtbot.waitUntil(lambda: getattr(panel, "source_paths", None) == [cached], timeout=10000)
    qtbot.waitUntil(lambda: getattr(panel, "series", None) is not None, timeout=30000)
    assert panel.series.series_instance_uid == series.series_uid  # type: ignore[attr-defined]
    if os.environ.get("TC_SHOTS"):
        worklist.grab().save(str(shots / "worklist_study_column.png"))
