"""The county doctor's request flow in the composed workstation: New request…, attach a study (sent to
a real Orthanc by STOW-RS), send; the backend's consult records the Study Instance UID."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.roles import PanelId, Role
from tests.helpers import compose_workstation
from tests.orthanc_server import OpenOrthanc
from viewers.attach_dialog import QtConsultRequestDialog
from viewers.dicom import synthetic
from widgets.worklist_panel import QtWorklistPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def county(server: EmbeddedServer, open_orthanc: OpenOrthanc, qtbot: QtBot) -> Iterator[Composed]:
    made: Composed = compose_workstation(
        qtbot,
        Role.COUNTY_DOCTOR,
        {
            "backend": {"url": server.base_url},
            "pacs": [{"name": "regional", "kind": "dicomweb", "url": open_orthanc.dicomweb_url}],
        },
    )  # type: ignore[assignment]
    made.window.show()
    yield made
    made.window.close()
    made.shutdown()


def test_new_request_with_an_attached_study(
    county: Composed,
    server: EmbeddedServer,
    open_orthanc: OpenOrthanc,
    qtbot: QtBot,
    tmp_path: Path,
    shots: Path,
) -> None:
    series = synthetic.write_ct_series(
        tmp_path / "ct", (12, 64, 64), patient_name="Li^Hua", patient_id="P-42"
    )
    window, link = county.window, county.link
    link.start()
    qtbot.waitUntil(lambda: county.session.login is not None and county.session.login.isVisible(),
                    timeout=10000)  # fmt: skip
    login = county.session.login
    assert login is not None
    login.username.setText("dr.li")
    login.password.setText("demo")
    login.sign_in.click()
    qtbot.waitUntil(lambda: link.sign_in_state.user is not None, timeout=10000)
    worklist = window.docks[PanelId.WORKLIST].widget()
    assert isinstance(worklist, QtWorklistPanel)
    assert worklist.request_button.isVisible() and worklist.request_button.text() == "New request…"

    worklist.request_button.click()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QtConsultRequestDialog)]
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    dialog = dialogs[0]
    dialog.patient_id.setText("P-42")
    dialog.patient_name.setText("Li Hua")
    dialog.birth_date.setText("1970-01-01")
    dialog.sex.setCurrentIndex(dialog.sex.findData("F"))
    dialog.question.setPlainText("Fracture of the left radius?")
    dialog.urgency.setCurrentIndex(1)
    dialog.attach.choose([tmp_path / "ct"])
    qtbot.waitUntil(lambda: dialog.attach.upload_button.isEnabled(), timeout=20000)
    with qtbot.waitSignal(dialog.attach.sig_attached, timeout=30000):
        dialog.attach.upload_button.click()
    dialog.send_button.click()

    def mine() -> list[dict[str, object]]:
        async def go() -> list[dict[str, object]]:
            client = BackendClient(server.base_url or "")
            await client.login("dr.li", "demo")
            consults = await client.consults()
            await client.aclose()
            return consults

        return [c for c in asyncio.run(go()) if c["question"] == "Fracture of the left radius?"]

    qtbot.waitUntil(lambda: len(mine()) == 1, timeout=10000)
    (consult,) = mine()
    assert consult["study"] == {"study_instance_uid": series.study_uid, "source": "regional"}
    assert consult["urgency"] == "urgent"
    # verified at the other end: the archive lists every instance of the study
    answer = httpx.get(f"{open_orthanc.dicomweb_url}/studies/{series.study_uid}/instances", timeout=10).json()
    assert len(answer) == 12
    qtbot.waitUntil(lambda: any(i.study_uid == series.study_uid for i in link.worklist.items), timeout=10000)
    row = next(r for r, i in enumerate(link.worklist.items) if i.study_uid == series.study_uid)
    assert worklist.table.item(row, worklist.STUDY_COLUMN).text() == "Attached"
    if os.environ.get("TC_SHOTS"):
        worklist.grab().save(str(shots / "worklist_county_doctor.png"))
