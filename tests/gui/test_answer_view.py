"""The county doctor opens an answered consult: the written answer and its key images, retrieved from a
real Orthanc; the worklist marks it Answered."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pytestqt.qtbot import QtBot

from core.worklist.model import ConsultItem, WorklistModel
from tests.orthanc_server import OrthancServer, available
from viewers.dicom import synthetic
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.keyimage import (
    burn_ellipse,
    burn_line,
    load_key_images,
    secondary_capture,
    store_key_images,
    window_to_rgb,
)
from widgets.answer_view import QtAnswerComposer, QtAnswerView
from widgets.worklist_panel import QtWorklistPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[DicomWebClient, synthetic.SyntheticSeries]]:
    reason = available()
    if reason:
        pytest.fail(f"{reason}: apt install orthanc orthanc-dicomweb (scripts/system-deps.sh)", pytrace=False)
    server = OrthancServer().start()
    client = DicomWebClient(server.dicomweb_url, username=server.user[0], password=server.user[1])
    try:
        series = synthetic.write_ct_series(tmp_path / "ct", (6, 192, 192), anatomy="chest", seed=5)
        server.upload(series.paths)
        yield client, series
    finally:
        client.close()
        server.stop()


def _answer_json(series: synthetic.SyntheticSeries, refs: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": 7,
        "state": "answered",
        "patient": {"patient_id": "PID-12345", "name": "Doe^Jane", "sex": "F", "birth_date": None},
        "question": "Weak network, no call possible. Nodule in the right upper lobe?",
        "urgency": "urgent",
        "specialty": "radiology",
        "study": {"study_instance_uid": series.study_uid, "source": "regional-pacs"},
        "requested_by": {"username": "dr.li", "display_name": "Dr Li"},
        "accepted_by": {"username": "dr.chen", "display_name": "Dr Chen"},
        "waiting_seconds": 300.0,
        "target_seconds": 900.0,
        "outcome": None,
        "answer": {
            "text": "A 9 mm solid nodule in the right upper lobe (circled on key image 1).\n"
            "Follow-up CT in 3 months; no call needed.",
            "key_images": refs,
        },
    }


def test_answer_view_shows_text_and_key_images(
    qtbot: QtBot, web: tuple[DicomWebClient, synthetic.SyntheticSeries], tmp_path: Path, shots: Path
) -> None:
    client, series = web
    made = []
    for index, (center, radii) in enumerate((((70, 80), (14, 12)), ((120, 100), (20, 16)))):
        rgb = window_to_rgb(series.hu[index + 2], center=-600, width=1500)
        burn_ellipse(rgb, center, radii, (255, 220, 0), thickness=2)
        burn_line(rgb, (center[0] + radii[0] + 4, center[1]), (center[0] + radii[0] + 30, center[1] - 20))
        made.append(secondary_capture(rgb, pydicom.dcmread(series.paths[index + 2], stop_before_pixels=True)))
    refs = [r.as_json() for r in store_key_images(client, made)]
    data = _answer_json(series, refs)

    model = WorklistModel()
    panel = QtWorklistPanel(model, can_accept=False, can_close=False, can_request=True)
    qtbot.addWidget(panel)
    model.replace([data])
    state_cell = panel.table.item(0, 4)
    assert state_cell is not None and state_cell.text() == "Answered"
    panel.select(7)
    assert "9 mm solid nodule" in panel.details.text()

    view = QtAnswerView()
    qtbot.addWidget(view)
    view.resize(760, 560)
    item = ConsultItem.from_json(data, 0.0)
    view.show_consult(item)
    assert "Loading 2 key image(s)" in view.status.text()
    with qtbot.waitSignal(view.sig_images_ready, timeout=30_000) as ready:
        view.load(lambda wanted: load_key_images(client, wanted, tmp_path / "fetched"))
    assert ready.args == [2]
    assert view.thumbs.count() == 2 and view.status.text() == "2 key image(s)"
    assert "Follow-up CT in 3 months" in view.text.toPlainText()
    assert "Dr Chen" in view.text.toPlainText()
    # What came back from the archive is exactly what was burned in, annotation included.
    np.testing.assert_array_equal(view.images[refs[0]["sop_instance_uid"]], made[0].pixel_array)
    view.show()
    qtbot.waitExposed(view)
    view._show_selected()
    assert view.preview.pixmap() is not None and not view.preview.pixmap().isNull()
    view.grab().save(str(shots / "answer-view.png"))
    view.close_view()
    view.close_view()


def test_answer_view_reports_a_failed_fetch(qtbot: QtBot) -> None:
    ref = {"study_instance_uid": "1.2.3", "series_instance_uid": "1.2.3.4", "sop_instance_uid": "1.2.3.4.5"}
    data = {
        "id": 1,
        "state": "answered",
        "patient": {"patient_id": "P", "name": "X", "sex": "U"},
        "answer": {"text": "See image.", "key_images": [ref]},
    }
    view = QtAnswerView()
    qtbot.addWidget(view)
    view.show_consult(ConsultItem.from_json(data, 0.0))

    def unreachable(_refs: list[dict[str, str]]) -> dict[str, np.ndarray]:
        raise ConnectionError("archive unreachable")

    view.load(unreachable)
    qtbot.waitUntil(lambda: "could not be loaded" in view.status.text(), timeout=5000)
    assert "archive unreachable" in view.status.text() and view.thumbs.count() == 0


def test_current_view_with_annotation_becomes_a_secondary_capture(
    qtbot: QtBot, tmp_path: Path, shots: Path
) -> None:
    """The specialist's side: the slice view as shown (a measurement drawn on it) -> RGB -> Secondary
    Capture whose pixels are exactly what the view showed."""
    from viewers.dicom.keyimage import part10
    from viewers.dicom.volume import Volume
    from viewers.measure import Kind
    from viewers.slice_view import QtSliceView
    from widgets.answer_view import grab_view_rgb

    series = synthetic.write_ct_series(tmp_path / "ct", (3, 100, 100), seed=2)
    view = QtSliceView()
    qtbot.addWidget(view)
    view.resize(320, 320)
    view.set_volume(Volume(series.hu.astype(np.int16), (0.8, 0.7, 2.5), (0.0, 0.0, 0.0), np.eye(3)))
    view.show()
    qtbot.waitExposed(view)
    view.set_slice(1)
    plain = grab_view_rgb(view)
    assert view.measure(Kind.DISTANCE, [(20.0, 20.0), (80.0, 70.0)]) is not None
    view.repaint()
    annotated = grab_view_rgb(view)
    assert annotated.shape == (320, 320, 3) and annotated.dtype == np.uint8
    assert (np.abs(annotated.astype(int) - plain.astype(int)).sum(axis=2) > 60).sum() > 50  # the line
    source = pydicom.dcmread(series.paths[1], stop_before_pixels=True)
    sc = secondary_capture(annotated, source)
    back = pydicom.dcmread(io.BytesIO(part10(sc)))
    np.testing.assert_array_equal(back.pixel_array, annotated)
    assert back.BurnedInAnnotation == "YES" and back.StudyInstanceUID == series.study_uid

    # The composer takes the same capture; sending hands over the text and the images as shown.
    composer = QtAnswerComposer(lambda: grab_view_rgb(view))
    qtbot.addWidget(composer)
    assert not composer.send_button.isEnabled()  # no text yet
    assert composer.add_current_view() and composer.add_current_view()
    composer.remove_button.click()
    composer.text.setPlainText("No fracture. The measured distance is within normal limits.")
    composer.show()
    qtbot.waitExposed(composer)
    composer.grab().save(str(shots / "answer-composer.png"))
    with qtbot.waitSignal(composer.sig_send) as sent:
        composer.send_button.click()
    text, images = sent.args
    assert text.startswith("No fracture") and len(images) == 1
    np.testing.assert_array_equal(images[0], annotated)
    composer.fail("archive unreachable")
    assert "archive unreachable" in composer.status.text() and composer.send_button.isEnabled()
    empty = QtAnswerComposer(lambda: None)
    qtbot.addWidget(empty)
    assert empty.add_current_view() is False and "open the study" in empty.status.text()
    view.close_model()
