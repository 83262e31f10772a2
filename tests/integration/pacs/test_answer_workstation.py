"""The county doctor's workstation, end to end on the real backend and a real Orthanc: a store-and-forward
request answered in writing with a key image shows "Answered" in the worklist, and opening it shows the
answer with the key image fetched from the site archive (C-GET)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pytestqt.qtbot import QtBot

from app.wiring.answer import wire_answer_composer, wire_answers
from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient, vitals_snapshot
from core.config.roles import PanelId, Role
from tests.helpers import CONSULT_REQUEST, compose_workstation
from tests.integration.test_workstation_session import sign_in
from tests.orthanc_server import OpenOrthanc, OrthancServer
from viewers.dicom import synthetic
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.keyimage import (
    KeyImageRef,
    burn_ellipse,
    fetch_key_images,
    secondary_capture,
    store_key_images,
    window_to_rgb,
)
from viewers.measure import Kind
from widgets.worklist_panel import QtWorklistPanel

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def orthanc(own_orthanc: OrthancServer) -> OrthancServer:
    return own_orthanc  # this module uploads: an archive of its own


@pytest.fixture
def doctor(server: EmbeddedServer, orthanc: OrthancServer, qtbot: QtBot) -> Iterator[Composed]:
    made: Composed = compose_workstation(
        qtbot,
        Role.COUNTY_DOCTOR,
        {
            "backend": {"url": server.base_url},
            "pacs": [orthanc.dimse_endpoint()],
        },
    )  # type: ignore[assignment]
    made.window.show()
    yield made
    made.window.close()
    made.shutdown()


def test_answered_consult_opens_with_its_key_image(
    doctor: Composed, server: EmbeddedServer, orthanc: OrthancServer, qtbot: QtBot, tmp_path: Path
) -> None:
    series = synthetic.write_ct_series(tmp_path / "ct", (4, 64, 64), study_uid=None, seed=8)
    orthanc.upload(series.paths)
    rgb = window_to_rgb(series.hu[1], 40, 400)
    burn_ellipse(rgb, (30, 30), (8, 8), (255, 220, 0), thickness=2)
    assert server.base_url is not None
    base_url = server.base_url

    async def request_and_answer() -> int:
        li, chen = BackendClient(base_url), BackendClient(base_url)
        try:
            await li.login("dr.li", "demo")
            await chen.login("dr.chen", "demo")
            study = {"study_instance_uid": series.study_uid, "source": "regional"}
            body = {**CONSULT_REQUEST, "study": study, "vitals": vitals_snapshot({"HR": (72.0, "/min")})}
            cid = int((await li.create_consult(body))["id"])
            await chen.transition(cid, "accept")
            with DicomWebClient(
                orthanc.dicomweb_url, username=orthanc.user[0], password=orthanc.user[1]
            ) as web:
                source = pydicom.dcmread(series.paths[1], stop_before_pixels=True)
                refs = await asyncio.to_thread(store_key_images, web, [secondary_capture(rgb, source)])
            await chen.answer(cid, "Simple cyst; no follow-up needed.", [r.as_json() for r in refs])
            return cid
        finally:
            await li.aclose()
            await chen.aclose()

    consult_id = asyncio.run(request_and_answer())
    window, link = doctor.window, doctor.link
    dialog = wire_answers(link, window)  # what compose() does once the lead wires it in
    assert dialog is not None
    sign_in(doctor, qtbot, username="dr.li")
    worklist = window.docks[PanelId.WORKLIST].widget()
    assert isinstance(worklist, QtWorklistPanel)
    qtbot.waitUntil(lambda: link.worklist.get(consult_id) is not None, timeout=10000)
    row = next(r for r, item in enumerate(link.worklist.items) if item.id == consult_id)
    state_cell = worklist.table.item(row, 4)
    assert state_cell is not None and state_cell.text() == "Answered"

    link.open_consult(consult_id)
    qtbot.waitUntil(dialog.isVisible, timeout=10000)
    qtbot.waitUntil(lambda: dialog.view.thumbs.count() == 1, timeout=30000)
    assert "Simple cyst" in dialog.view.text.toPlainText()
    (uid,) = dialog.view.images
    np.testing.assert_array_equal(dialog.view.images[uid], rgb)


def test_specialist_answers_with_the_current_view_as_key_image(
    server: EmbeddedServer, open_orthanc: OpenOrthanc, qtbot: QtBot, tmp_path: Path
) -> None:
    series = synthetic.write_ct_series(
        tmp_path / "ct", (6, 64, 64), study_uid=None, seed=9,
        patient_name="Wang^Min", patient_id="P-1", patient_birth_date="19700102",
    )  # fmt: skip
    open_orthanc.upload(series.paths)
    assert server.base_url is not None
    base_url = server.base_url

    async def request() -> int:
        li = BackendClient(base_url)
        try:
            await li.login("dr.li", "demo")
            study = {"study_instance_uid": series.study_uid, "source": "regional"}
            return int((await li.create_consult({**CONSULT_REQUEST, "study": study}))["id"])
        finally:
            await li.aclose()

    consult_id = asyncio.run(request())
    made: Composed = compose_workstation(
        qtbot,
        Role.SPECIALIST,
        {
            "backend": {"url": server.base_url},
            "pacs": [{"name": "regional", "kind": "dicomweb", "url": open_orthanc.dicomweb_url}],
        },
    )  # type: ignore[assignment]
    made.window.show()
    try:
        window, link = made.window, made.link
        holder = wire_answer_composer(link, window)  # what compose() does once the lead wires it in
        assert holder is not None
        sign_in(made, qtbot, username="dr.chen")
        worklist = window.docks[PanelId.WORKLIST].widget()
        assert isinstance(worklist, QtWorklistPanel)
        qtbot.waitUntil(lambda: link.worklist.get(consult_id) is not None, timeout=10000)
        worklist.select(consult_id)
        assert not worklist.answer_button.isEnabled()  # not accepted yet
        worklist.accept_button.click()
        state = lambda: getattr(link.worklist.get(consult_id), "state", "")  # noqa: E731
        qtbot.waitUntil(lambda: state() == "accepted", timeout=10000)
        link.open_consult(consult_id)
        imaging = window.docks[PanelId.IMAGING].widget()
        panel: Any = getattr(imaging, "content", imaging)
        qtbot.waitUntil(lambda: getattr(panel, "series", None) is not None, timeout=30000)
        qtbot.waitUntil(lambda: panel.slice_view.volume is not None, timeout=30000)
        panel.slice_view.measure(Kind.DISTANCE, [(10.0, 10.0), (50.0, 40.0)])
        worklist.select(consult_id)
        assert worklist.answer_button.isEnabled()
        worklist.answer_button.click()
        composer = holder.composer
        assert composer is not None
        assert composer.add_current_view()
        composer.text.setPlainText("Normal study. The measured line is 40 mm; no lesion.")
        composer.send_button.click()
        qtbot.waitUntil(lambda: not composer.isVisible(), timeout=30000)
        qtbot.waitUntil(lambda: state() == "answered", timeout=10000)
        answered = link.worklist.get(consult_id)
        assert answered is not None and answered.answer_text is not None
        (ref,) = answered.key_images
        assert ref["study_instance_uid"] == series.study_uid
        with DicomWebClient(open_orthanc.dicomweb_url) as web:
            found = {s.series_instance_uid: s for s in web.search_series(series.study_uid)}
            assert found[ref["series_instance_uid"]].modality == "OT"
            files = fetch_key_images(web, [KeyImageRef.from_json(ref)], tmp_path / "back")
        back = pydicom.dcmread(files[ref["sop_instance_uid"]])
        assert back.BurnedInAnnotation == "YES" and back.ConversionType == "WSD"
        np.testing.assert_array_equal(back.pixel_array, composer.images[0])
    finally:
        made.window.close()
        made.shutdown()
