"""Patient identity is never shown to trainees (issue 11), proven on the composed workstation: the real
backend gives the trainee a pseudonym, the consult's study comes from a real Orthanc (or this machine's
prefetch cache) and is de-identified before the imaging panel reads it. Every text of the main window
and every DICOM file in the trainee's cache is searched for the patient's name, identifier and birth
date; the UIDs stay as they were; a specialist opening the same study sees the real name."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

import viewers.slice_view as slice_view_module
from app.wiring.imaging import TRAINEE_CACHE
from app.workstation import Composed
from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from core.config.paths import app_paths
from core.config.roles import PanelId, Role
from core.worklist.study_cache import StudyCache
from tests.helpers import compose_workstation
from tests.integration.test_workstation_session import sign_in
from tests.orthanc_server import OrthancServer, available
from viewers.dicom.synthetic import SyntheticSeries, write_ct_series
from viewers.imaging_panel import QtImagingPanel

pytestmark = pytest.mark.gui

NAME, ID = "Zhang^Wei", "CT-2026-0042"
# the name's parts, the identifier, the birth dates of the file (1970-01-01) and of the consult
FORBIDDEN = ("Zhang", "Wei", ID, "19700101", "1970-01-01", "19610314", "1961-03-14")
PATIENT = {"patient_id": ID, "name": "Zhang Wei", "sex": "M", "birth_date": "1961-03-14"}


@pytest.fixture(scope="module")
def orthanc() -> Iterator[OrthancServer]:
    reason = available()
    if reason:
        pytest.fail(f"{reason}: apt install orthanc orthanc-dicomweb (scripts/system-deps.sh)", pytrace=False)
    archive = OrthancServer().start()
    yield archive
    archive.stop()


@pytest.fixture
def study(tmp_path: Path) -> SyntheticSeries:
    """A CT of Zhang Wei in a folder named after him, with his name also in nested free text."""
    folder = tmp_path / "Zhang Wei CT-2026-0042"
    series = write_ct_series(folder, (10, 128, 128), anatomy="chest", patient_name=NAME, patient_id=ID)
    for path in series.paths[:2]:
        ds = pydicom.dcmread(path)
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator = "CTCHEST", "99LOCAL"
        item.CodeMeaning = "CT chest, Wei Zhang (CT-2026-0042)"
        ds.ProcedureCodeSequence = [item]
        ds.save_as(path, enforce_file_format=True)
    return series


def consult_in_session(base_url: str, study_uid: str, source: str) -> int:
    """dr.li asks, dr.chen accepts, the call starts: trainees of the specialty may now follow it."""

    async def go() -> int:
        doctor, specialist = BackendClient(base_url), BackendClient(base_url)
        try:
            await doctor.login("dr.li", "demo")
            await specialist.login("dr.chen", "demo")
            body = {"patient": PATIENT, "question": "Nodule?", "urgency": "urgent", "specialty": "radiology",
                    "study": {"study_instance_uid": study_uid, "source": source}}  # fmt: skip
            consult_id = int((await doctor.create_consult(body))["id"])
            await specialist.transition(consult_id, "accept")
            await doctor.transition(consult_id, "start")
            return consult_id
        finally:
            await doctor.aclose()
            await specialist.aclose()

    return asyncio.run(go())


# --- what a person can read -------------------------------------------------------------------------
def _model_texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    texts: list[str] = []
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.StatusTipRole)

    def columns(parent: QModelIndex) -> int:
        try:
            return int(model.columnCount(parent))
        except TypeError:  # a list model keeps columnCount private: one column
            return 1

    def walk(parent: QModelIndex) -> None:
        for row in range(model.rowCount(parent)):
            for column in range(columns(parent)):
                index = model.index(row, column, parent)
                texts.extend(str(v) for v in (model.data(index, r) for r in roles) if v)
            walk(model.index(row, 0, parent))

    walk(QModelIndex())
    for orientation in (Qt.Orientation.Horizontal, Qt.Orientation.Vertical):
        root = QModelIndex()
        count = columns(root) if orientation == Qt.Orientation.Horizontal else model.rowCount(root)
        headers = (model.headerData(k, orientation) for k in range(count))
        texts.extend(str(h) for h in headers if h)
    return texts


def visible_texts(window: QMainWindow, painted: list[str]) -> list[str]:
    """Every text a widget of ``window`` holds: text(), titles, tooltips, item texts, painted strings."""
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        texts += [widget.windowTitle(), widget.toolTip(), widget.statusTip(), widget.accessibleName()]
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        if isinstance(widget, QLineEdit):
            texts.append(widget.placeholderText())
        if isinstance(widget, QTextEdit | QPlainTextEdit):
            texts.append(widget.toPlainText())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(k) for k in range(widget.count())]
        if isinstance(widget, QAbstractItemView):
            texts += _model_texts(widget)
    for action in window.findChildren(QAction):
        texts += [action.text(), action.toolTip(), action.statusTip()]
    return [t for t in texts + painted if t]


def painted_strings(panel: QtImagingPanel, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The corner texts the slice view really paints (its text helper, watched while it paints)."""
    seen: list[str] = []
    original = slice_view_module._shadow_text

    def watch(painter: Any, rect: Any, flags: int, text: str) -> None:
        seen.append(text)
        original(painter, rect, flags, text)

    monkeypatch.setattr(slice_view_module, "_shadow_text", watch)
    panel.slice_view.grab()
    monkeypatch.setattr(slice_view_module, "_shadow_text", original)
    for view in panel.mpr_view.views.values():  # the MPR planes hold theirs until they are shown
        seen += [*view.overlay_left, *view.overlay_right]
    return seen


def all_strings(ds: Dataset) -> list[str]:
    found = [str(e.value) for e in getattr(ds, "file_meta", [])]
    for elem in ds.iterall():
        if elem.VR in ("SQ", "OB", "OW", "OF", "OD", "UN") or elem.value is None:
            continue
        found.extend(str(v) for v in (elem.value if elem.VM > 1 else [elem.value]))
    return found


def leaks(texts: list[str]) -> list[str]:
    return [t for t in texts if any(word.casefold() in t.casefold() for word in FORBIDDEN)]


def imaging_panel(made: Composed) -> QtImagingPanel:
    holder = made.window.docks[PanelId.IMAGING].widget()
    holder.build()  # type: ignore[attr-defined]
    panel = getattr(holder, "content", holder)
    assert isinstance(panel, QtImagingPanel)
    return panel


def wait_loaded(qtbot: QtBot, panel: QtImagingPanel, timeout: int = 60_000) -> None:
    try:
        qtbot.waitUntil(lambda: panel.load_result is not None and not panel.busy, timeout=timeout)
    except Exception as exc:
        raise AssertionError(f"not loaded; the panel says: {panel.status.text()!r}") from exc


@pytest.fixture
def trainee_and_specialist(
    server: EmbeddedServer, orthanc: OrthancServer, qtbot: QtBot
) -> Iterator[tuple[Composed, Composed]]:
    site: dict[str, object] = {"backend": {"url": server.base_url}, "pacs": [orthanc.dimse_endpoint()]}
    trainee: Composed = compose_workstation(qtbot, Role.TRAINEE, site)  # type: ignore[assignment]
    specialist: Composed = compose_workstation(qtbot, Role.SPECIALIST, site)  # type: ignore[assignment]
    for made in (trainee, specialist):
        made.window.resize(1500, 900)
        made.window.show()
    yield trainee, specialist
    for made in (trainee, specialist):
        made.window.close()
        made.shutdown()


def test_trainee_sees_only_the_pseudonym_while_the_specialist_sees_the_patient(
    shots: Path,
    trainee_and_specialist: tuple[Composed, Composed],
    server: EmbeddedServer,
    orthanc: OrthancServer,
    study: SyntheticSeries,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trainee, specialist = trainee_and_specialist
    orthanc.upload(study.paths)
    assert server.base_url is not None
    consult_id = consult_in_session(server.base_url, study.study_uid, "regional")

    sign_in(trainee, qtbot, username="student.zhao")
    link = trainee.link
    qtbot.waitUntil(lambda: link.worklist.get(consult_id) is not None, timeout=15_000)
    pseudonym = link.worklist.get(consult_id).patient  # type: ignore[union-attr]
    assert pseudonym.name.startswith("Patient ") and pseudonym.patient_id.startswith("ANON-")
    panel = imaging_panel(trainee)
    # nothing identified can be opened by hand
    for act in (panel.act_open, panel.act_pacs, panel.act_export):
        assert not act.isVisible() and not act.isEnabled()
    assert not panel.acceptDrops()

    link.open_consult(consult_id)  # the trainee joins the consult: Imaging retrieves and de-identifies
    wait_loaded(qtbot, panel)
    qtbot.wait(200)

    cache = app_paths().cache_dir / TRAINEE_CACHE
    assert panel.source_paths and all(cache in p.parents for p in panel.source_paths)
    series = panel.series
    assert series is not None
    assert all(cache in instance.path.parents for instance in series.instances)
    # UIDs retained: the instructor's mirrored view state names these
    assert series.series_instance_uid == study.series_uid
    assert panel.annotation_context is not None and panel.annotation_context.study_uid == study.study_uid
    originals = {str(pydicom.dcmread(p).SOPInstanceUID) for p in study.paths}
    assert {i.sop_instance_uid for i in series.instances} == originals
    staging = cache.with_name(cache.name + ".staging")
    assert staging.is_dir() and not (staging / study.study_uid).exists()  # the identified retrieve is gone

    # every DICOM file the trainee's machine holds for it
    files = sorted(cache.rglob("*.dcm"))
    assert len(files) == len(study.paths)
    for path in files:
        ds = pydicom.dcmread(path)
        assert str(ds.PatientName) == pseudonym.name and ds.PatientID == pseudonym.patient_id
        assert str(ds.StudyInstanceUID) == study.study_uid
        assert not leaks(all_strings(ds)), path
    assert not [p for p in cache.rglob("*") if leaks([p.name])]

    # every text of the trainee's window, and the corners the slice view paints
    painted = painted_strings(panel, monkeypatch)
    assert pseudonym.name in painted and pseudonym.patient_id in painted
    texts = visible_texts(trainee.window, painted)
    assert any(pseudonym.name in t for t in texts)
    assert not leaks(texts), leaks(texts)
    # one pseudonym everywhere: the banner shows the backend's, not a second hash of it
    assert trainee.window.banner.name.text() == pseudonym.name
    assert pseudonym.patient_id in trainee.window.banner.patient_id.text()
    trainee.window.grab().save(str(shots / "trainee-imaging.png"))

    # the specialist opening the same study sees who it is: the check above is not vacuous
    other = imaging_panel(specialist)
    assert other.act_open.isVisible()
    with qtbot.waitSignal(other.sig_loaded, timeout=60_000):
        other.load_paths([study.paths[0].parent])
    wait_loaded(qtbot, other)
    real = visible_texts(specialist.window, painted_strings(other, monkeypatch))
    assert any("Zhang Wei" in t for t in real) and any(ID in t for t in real)
    assert other.series is not None and other.series.series_instance_uid == study.series_uid


def test_a_prefetched_study_is_shown_de_identified_too(
    server: EmbeddedServer, study: SyntheticSeries, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No PACS: the study is in this machine's prefetch cache (identified); Imaging still reads only
    the trainee's copy."""
    StudyCache(app_paths().cache_dir / "studies").add_folder(study.study_uid, study.paths[0].parent)
    assert server.base_url is not None
    consult_id = consult_in_session(server.base_url, study.study_uid, "regional")
    trainee: Composed = compose_workstation(qtbot, Role.TRAINEE, {"backend": {"url": server.base_url}})  # type: ignore[assignment]
    try:
        trainee.window.show()
        sign_in(trainee, qtbot, username="student.zhao")
        qtbot.waitUntil(lambda: trainee.link.sign_in_state.user is not None, timeout=15_000)
        panel = imaging_panel(trainee)
        trainee.link.open_consult(consult_id)
        wait_loaded(qtbot, panel)
        cache = app_paths().cache_dir / TRAINEE_CACHE
        assert panel.series is not None and panel.series.series_instance_uid == study.series_uid
        assert all(cache in i.path.parents for i in panel.series.instances)
        patient = trainee.window.ws.context.patient
        assert patient is not None and patient.patient_id.startswith("ANON-")
        assert {pydicom.dcmread(i.path).PatientID for i in panel.series.instances} == {patient.patient_id}
        painted = painted_strings(panel, monkeypatch)
        assert patient.name in painted
        assert not leaks(visible_texts(trainee.window, painted))
        # the identified copy in the prefetch cache is untouched
        cached = app_paths().cache_dir / "studies" / study.study_uid
        assert str(pydicom.dcmread(next(cached.iterdir())).PatientName) == NAME
    finally:
        trainee.window.close()
        trainee.shutdown()
