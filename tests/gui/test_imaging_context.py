"""The imaging panel bound to the consult context: the consult's patient's study opens and the panel
says whose it is; another patient's is refused with both identities (and opens only through a link with
a typed reason, audited by the real backend); a folder with no consult open opens and says so; the end
of the context (sign-out included) clears the panel: no identity anywhere in its widget tree and no
DICOM dataset held."""

from __future__ import annotations

import asyncio
import gc
import os
import weakref
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QLabel, QLineEdit, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.roles import PanelId, Role
from core.consult.context import ConsultContext
from core.consult.patient import Patient
from tests.helpers import compose_workstation
from tests.integration.test_workstation_session import sign_in
from viewers.dicom.synthetic import write_ct_series
from viewers.identity_views import QtLinkStudyDialog
from viewers.imaging_panel import QtImagingPanel

pytestmark = pytest.mark.gui

ZHANG = Patient("CT-2026-0042", "Zhang Wei", "M", date(1961, 3, 14))
LIU = Patient("US-2026-0107", "Liu Fang", "F", date(1958, 9, 2))
REASON = "Emergency registration under the ambulance number; same wristband, confirmed by phone"


def identifiers(patient: Patient) -> list[str]:
    family, given = patient.name.split()
    assert patient.birth_date is not None
    return [patient.name, f"{family}^{given}", family, patient.patient_id,
            patient.birth_date.isoformat(), patient.birth_date.strftime("%Y%m%d")]  # fmt: skip


def write_study(folder: Path, patient: Patient, slices: int = 6) -> Path:
    assert patient.birth_date is not None
    family, given = patient.name.split()
    born = patient.birth_date.strftime("%Y%m%d")
    write_ct_series(folder, (slices, 48, 48), patient_name=f"{family}^{given}", patient_id=patient.patient_id,
                    patient_birth_date=born, patient_sex=patient.sex)  # fmt: skip
    return folder


def panel_texts(panel: QtImagingPanel) -> list[str]:
    """Everything the panel's widget tree shows, plus what it paints and the headers it holds."""
    texts: list[str] = list(panel.identity_strings())
    for widget in [panel, *panel.findChildren(QWidget)]:
        texts += [widget.toolTip(), widget.windowTitle(), widget.statusTip()]
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        if isinstance(widget, QLineEdit):
            texts.append(widget.text())
        if isinstance(widget, QPlainTextEdit):
            texts.append(widget.toPlainText())
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            stack = [model.index(r, 0) for r in range(model.rowCount())]
            while stack:
                index = stack.pop()
                for column in range(model.columnCount(index.parent())):
                    cell = index.siblingAtColumn(column)
                    texts += [str(model.data(cell) or ""), str(model.data(cell, 3) or "")]
                stack += [model.index(r, 0, index) for r in range(model.rowCount(index))]
    return [t for t in texts if t]


def leaks(panel: QtImagingPanel, patient: Patient) -> list[str]:
    needles = [n.casefold() for n in identifiers(patient)]
    return [t for t in panel_texts(panel) if any(n in t.casefold() for n in needles)]


def make_panel(qtbot: QtBot, context: ConsultContext, **kwargs: Any) -> QtImagingPanel:
    panel = QtImagingPanel(**kwargs)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    panel.bind_context(context)
    return panel


def wait_loaded(qtbot: QtBot, panel: QtImagingPanel) -> None:
    try:
        qtbot.waitUntil(lambda: panel.load_result is not None and not panel.busy, timeout=30_000)
    except Exception as exc:
        raise AssertionError(f"not loaded; the panel says {panel.status.text()!r}") from exc


@pytest.fixture
def studies(tmp_path: Path) -> dict[str, Path]:
    return {"zhang": write_study(tmp_path / "zhang", ZHANG), "liu": write_study(tmp_path / "liu", LIU, 4)}


def test_the_consult_patients_study_opens_and_the_panel_says_whose_it_is(
    qtbot: QtBot, studies: dict[str, Path]
) -> None:
    context = ConsultContext()
    context.open(ZHANG, consult_id=1)
    panel = make_panel(qtbot, context)
    try:
        assert "Zhang Wei" in panel.context_label.text() and panel.context_label.isVisible()
        panel.load_paths([studies["zhang"]])
        wait_loaded(qtbot, panel)
        assert panel.series is not None and panel.series.instance_count == 6
        assert "this patient's" in panel.context_label.text()
        left = panel.slice_view.overlay_left
        assert left[:2] == ["Zhang Wei", "CT-2026-0042"]  # painted from the study's own headers
        assert not panel.notice.isVisible()
    finally:
        panel.close_model()


def test_another_patients_study_is_refused_with_both_identities_and_nothing_kept(
    qtbot: QtBot, studies: dict[str, Path]
) -> None:
    context = ConsultContext()
    context.open(ZHANG, consult_id=1)
    panel = make_panel(qtbot, context)
    try:
        panel.load_paths([studies["liu"]])
        qtbot.waitUntil(lambda: panel.notice.isVisible() and not panel.busy, timeout=30_000)
        assert panel.series is None and panel.discovery is None and panel.load_result is None
        assert panel.slice_view.volume is None and panel.identity_strings() == []
        assert panel.browser.tree.topLevelItemCount() == 0
        assert "not opened" in panel.status.text()
        shown = [label.text() for label in panel.notice.compare.labels.values()]
        for text in ("CT-2026-0042", "Zhang Wei", "1961-03-14", "US-2026-0107", "Liu Fang", "1958-09-02"):
            assert text in shown, text
        assert "US-2026-0107" in panel.notice.reason.text()
        assert not panel.notice.link_button.isVisibleTo(panel)  # no backend to audit a link: refused only
        assert panel.context.ask_link() is None
        # the consult's own study still opens afterwards, and the notice goes
        panel.load_paths([studies["zhang"]])
        wait_loaded(qtbot, panel)
        assert not panel.notice.isVisible() and panel.series is not None
    finally:
        panel.close_model()


def test_a_folder_of_two_patients_opens_only_the_consults(qtbot: QtBot, tmp_path: Path) -> None:
    from pydicom.uid import generate_uid

    study_uid, series_uid = generate_uid(), generate_uid()
    for patient, sub in ((ZHANG, "a"), (LIU, "b")):  # one Study and Series UID for both (a merge gone wrong)
        assert patient.birth_date is not None
        family, given = patient.name.split()
        write_ct_series(tmp_path / "mixed" / sub, (5, 32, 32), study_uid=study_uid, series_uid=series_uid,
                        patient_name=f"{family}^{given}", patient_id=patient.patient_id,
                        patient_birth_date=patient.birth_date.strftime("%Y%m%d"))  # fmt: skip
    context = ConsultContext()
    context.open(ZHANG, consult_id=1)
    panel = make_panel(qtbot, context)
    try:
        panel.load_paths([tmp_path / "mixed"])
        wait_loaded(qtbot, panel)
        assert panel.series is not None
        assert {str(i.dataset.PatientID) for i in panel.series.instances} == {"CT-2026-0042"}
        assert panel.load_result is not None and panel.load_result.volume.array.shape[0] == 5
        status = panel.status.text()
        assert "2 different patients" in status and "1 other patient(s)" in status
        assert not leaks(panel, LIU)
    finally:
        panel.close_model()


def test_with_no_consult_open_a_folder_opens_and_the_panel_says_so(
    qtbot: QtBot, studies: dict[str, Path]
) -> None:
    panel = make_panel(qtbot, ConsultContext())
    try:
        assert "No consult is open" in panel.context_label.text()
        panel.load_paths([studies["liu"]])
        wait_loaded(qtbot, panel)
        assert "No consult is open" in panel.status.text()
        assert panel.slice_view.overlay_left[:2] == ["Liu Fang", "US-2026-0107"]
    finally:
        panel.close_model()


def test_no_identity_is_painted_where_the_panel_shows_none(qtbot: QtBot, studies: dict[str, Path]) -> None:
    context = ConsultContext()
    context.open(ZHANG, consult_id=1)
    panel = make_panel(qtbot, context, show_identity=False)
    try:
        panel.load_paths([studies["zhang"]])
        wait_loaded(qtbot, panel)
        assert panel.context_label.text().startswith("A consult is open.")
        painted = panel.slice_view.overlay_left + panel.slice_view.overlay_right
        assert not [t for t in painted if any(n in t for n in identifiers(ZHANG))]
        assert panel.browser.tree.topLevelItem(0).text(0) == "Patient 1"  # type: ignore[union-attr]
    finally:
        panel.close_model()


@pytest.mark.parametrize("end", ["sign_out", "close", "switch"])
def test_the_end_of_the_context_clears_the_panel(qtbot: QtBot, studies: dict[str, Path], end: str) -> None:
    context = ConsultContext()
    context.open(ZHANG, consult_id=1)
    panel = make_panel(qtbot, context)
    try:
        panel.load_paths([studies["zhang"]])
        wait_loaded(qtbot, panel)
        assert panel.series is not None and leaks(panel, ZHANG)  # the check below is not vacuous
        held = [weakref.ref(i.dataset) for i in panel.series.instances]
        panel.set_mode(1)  # MPR: its three views hold the volume too
        assert panel.mpr_view.views[next(iter(panel.mpr_view.views))].volume is not None

        if end == "sign_out":
            context.sign_out()
            assert "Signed out" in panel.status.text()
        elif end == "close":
            context.close()
            assert "consult ended" in panel.status.text()
        else:
            context.open(LIU, consult_id=2)
            assert "Another consult" in panel.status.text()
            assert "Liu Fang" in panel.context_label.text()

        assert panel.series is None and panel.volume is None and panel.discovery is None
        assert panel.load_result is None and panel.slice_view.volume is None
        assert all(view.volume is None for view in panel.mpr_view.views.values())
        assert panel.slice_view.overlay_left == [] and panel.source_paths == []
        assert not leaks(panel, ZHANG), leaks(panel, ZHANG)
        qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
        gc.collect()
        assert all(ref() is None for ref in held), "a DICOM dataset is still held"
    finally:
        panel.close_model()


def test_a_load_in_flight_when_the_context_ends_never_arrives(qtbot: QtBot, tmp_path: Path) -> None:
    folder = write_study(tmp_path / "big", ZHANG, slices=60)
    context = ConsultContext()
    context.open(ZHANG, consult_id=1)
    panel = make_panel(qtbot, context)
    try:
        panel.load_paths([folder])
        qtbot.waitUntil(lambda: panel.series is not None, timeout=30_000)  # loading has started
        context.sign_out()
        qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
        assert panel.series is None and panel.load_result is None and panel.slice_view.volume is None
        assert not leaks(panel, ZHANG)
    finally:
        panel.close_model()


# --- the link, audited by the real backend ---------------------------------------------------------
@pytest.fixture
def specialist(server: EmbeddedServer, qtbot: QtBot) -> Iterator[Composed]:
    made: Composed = compose_workstation(qtbot, Role.SPECIALIST, {"backend": {"url": server.base_url}})  # type: ignore[assignment]
    made.window.resize(1400, 900)
    made.window.show()
    yield made
    made.window.close()
    made.shutdown()


def zhang_consult(base_url: str) -> int:
    async def go() -> int:
        doctor, chen = BackendClient(base_url), BackendClient(base_url)
        try:
            await doctor.login("dr.li", "demo")
            await chen.login("dr.chen", "demo")
            patient = {"patient_id": ZHANG.patient_id, "name": ZHANG.name, "sex": "M",
                       "birth_date": "1961-03-14"}  # fmt: skip
            body = {"patient": patient, "question": "Nodule?", "urgency": "urgent", "specialty": "radiology",
                    "study": None}  # fmt: skip
            consult_id = int((await doctor.create_consult(body))["id"])
            await chen.transition(consult_id, "accept")
            return consult_id
        finally:
            await doctor.aclose()
            await chen.aclose()

    return asyncio.run(go())


def audit_links(base_url: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30) as admin:
        token = admin.post("/auth/login", json={"username": "it.admin", "password": "demo"}).json()
        admin.headers["Authorization"] = f"Bearer {token['access_token']}"
        records = admin.get("/audit", params={"limit": 1000}).json()
    return [r for r in records if r["action"] == "study.link"]


def test_linking_another_patients_study_needs_a_reason_and_is_audited(
    specialist: Composed, server: EmbeddedServer, studies: dict[str, Path], qtbot: QtBot, shots: Path
) -> None:
    assert server.base_url is not None
    consult_id = zhang_consult(server.base_url)
    window, link = specialist.window, specialist.link
    sign_in(specialist, qtbot)
    qtbot.waitUntil(lambda: link.sign_in_state.user is not None, timeout=15_000)
    holder = window.docks[PanelId.IMAGING].widget()
    holder.build()  # type: ignore[attr-defined]
    panel = getattr(holder, "content", holder)
    assert isinstance(panel, QtImagingPanel)
    assert panel.context.bound and "No consult is open" in panel.context_label.text()
    link.open_consult(consult_id)
    qtbot.waitUntil(lambda: window.ws.context.patient is not None, timeout=15_000)
    assert "Zhang Wei" in panel.context_label.text()

    panel.load_paths([studies["liu"]])
    qtbot.waitUntil(lambda: panel.notice.isVisible() and not panel.busy, timeout=30_000)
    assert panel.series is None
    button = panel.notice.link_button
    assert button.isVisible() and button.text() == "Link this study to this patient…"
    if os.environ.get("TC_SHOTS"):
        panel.grab().save(str(shots / "imaging-refusal.png"))

    button.click()
    dialog = panel.context.dialog
    assert isinstance(dialog, QtLinkStudyDialog) and dialog.isVisible()
    cells = {key: label.text() for key, label in dialog.compare.labels.items()}
    assert cells[("patient_id", 1)] == "CT-2026-0042" and cells[("patient_id", 2)] == "US-2026-0107"
    assert cells[("name", 1)] == "Zhang Wei" and cells[("name", 2)] == "Liu Fang"
    assert not dialog.link_button.isEnabled()  # no reason, no link
    dialog.reason.setPlainText("same")
    assert not dialog.link_button.isEnabled()
    dialog.reason.setPlainText(REASON)
    assert dialog.link_button.isEnabled()
    if os.environ.get("TC_SHOTS"):
        dialog.grab().save(str(shots / "imaging-link-dialog.png"))
    assert audit_links(server.base_url) == []
    dialog.link_button.click()

    wait_loaded(qtbot, panel)
    assert panel.series is not None and {str(i.dataset.PatientID) for i in panel.series.instances} == {
        "US-2026-0107"
    }
    # the corners do not paint another patient's identity as if it were the consult's
    assert panel.slice_view.overlay_left == ["Linked study: identity differs from the consult's patient"]
    assert "linked with a reason" in panel.context_label.text()
    assert "Linked to the consult's patient" in panel.status.text()
    (record,) = audit_links(server.base_url)
    assert record["actor"] == "dr.chen" and record["consult_id"] == consult_id
    details = record["details"]
    assert details["reason"] == REASON
    assert details["study_patient"]["patient_id"] == "US-2026-0107"
    assert details["study_patient"]["name"] == "Liu Fang"
    assert details["study_patient"]["birth_date"] == "1958-09-02"
    assert details["consult_patient"]["patient_id"] == "CT-2026-0042"
    assert details["consult_patient"]["birth_date"] == "1961-03-14"

    held = [weakref.ref(i.dataset) for i in panel.series.instances]
    link.sign_out()  # the sign-out ends the context: the panel lets go of everything
    assert "Signed out" in panel.status.text()
    assert not leaks(panel, LIU) and not leaks(panel, ZHANG)
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    gc.collect()
    assert all(ref() is None for ref in held)


def test_a_consult_opening_closes_a_study_opened_outside_it(qtbot: QtBot, studies: dict[str, Path]) -> None:
    context = ConsultContext()
    panel = make_panel(qtbot, context)
    try:
        panel.load_paths([studies["liu"]])
        wait_loaded(qtbot, panel)
        context.open(ZHANG, consult_id=1)
        assert "A consult is open now" in panel.status.text()
        assert panel.series is None and not leaks(panel, LIU)
        assert "Zhang Wei" in panel.context_label.text()
    finally:
        panel.close_model()


@pytest.mark.xvfb
def test_the_3d_view_lets_go_of_the_volume_too(qtbot: QtBot, studies: dict[str, Path]) -> None:
    from viewers.imaging_panel import ViewMode

    context = ConsultContext()
    context.open(ZHANG, consult_id=1)
    panel = make_panel(qtbot, context)
    try:
        panel.load_paths([studies["zhang"]])
        wait_loaded(qtbot, panel)
        panel.set_mode(ViewMode.VOLUME)
        scene = panel.volume_view.scene
        assert scene._keep is not None  # the voxels VTK reads
        context.sign_out()
        assert scene._keep is None and scene._data is None
    finally:
        panel.close_model()
