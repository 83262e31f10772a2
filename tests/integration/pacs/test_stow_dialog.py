"""The county doctor's request dialog: choose a study, send it to a real Orthanc off the UI thread,
cancel and resume, and the request body records the Study Instance UID."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.orthanc_server import OrthancServer
from viewers.attach_dialog import QtConsultRequestDialog
from viewers.dicom import synthetic
from viewers.dicom.dicomweb import DicomWebClient
from viewers.dicom.pacs import PacsSettings

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def orthanc(own_orthanc: OrthancServer) -> OrthancServer:
    return own_orthanc  # this module uploads: an archive of its own


def _archive(orthanc: OrthancServer) -> PacsSettings:
    return PacsSettings(
        name="regional",
        kind="dicomweb",
        url=orthanc.dicomweb_url,
        username=orthanc.user[0],
        password=orthanc.user[1],
    )


def test_request_dialog_sends_the_study_and_records_its_uid(
    qtbot: QtBot, orthanc: OrthancServer, tmp_path: Path, shots: Path
) -> None:
    series = synthetic.write_ct_series(
        tmp_path / "ct", (40, 96, 96), patient_name="Wang^Min", patient_id="P-9"
    )
    dimse = PacsSettings(name="dimse", kind="dimse", host="127.0.0.1", port=104, called_ae="X")
    dialog = QtConsultRequestDialog([dimse, _archive(orthanc)], loaded=[tmp_path / "ct"])
    qtbot.addWidget(dialog)
    dialog.show()
    attach = dialog.attach
    assert attach.archive_combo.count() == 1  # STOW-RS goes to DICOMweb archives only
    assert not dialog.send_button.isEnabled()
    dialog.patient_id.setText("P-9")
    dialog.patient_name.setText("Wang Min")
    dialog.birth_date.setText("1970-01-01")
    dialog.sex.setCurrentIndex(dialog.sex.findData("F"))
    dialog.question.setPlainText("Nodule?")
    assert dialog.send_button.isEnabled()
    assert dialog.request_body()["study"] is None

    attach.loaded_combo.setCurrentIndex(1)  # the study already loaded in Imaging
    qtbot.waitUntil(lambda: attach.study is not None, timeout=20_000)
    assert len(attach.study.instances) == 40  # type: ignore[union-attr]
    assert "40 instance(s)" in attach.summary.text()

    # cancel as soon as the first batch is in, then send again: it resumes
    attach.upload_button.click()
    assert attach.busy and attach.cancel_button.isEnabled() and not dialog.send_button.isEnabled()
    qtbot.waitUntil(lambda: attach.progress_bar.value() > 0, timeout=20_000)
    attach.cancel()
    qtbot.waitUntil(lambda: not attach.busy, timeout=20_000)
    if attach.attached is None:
        assert "Cancelled" in attach.status.text()
        with DicomWebClient(orthanc.dicomweb_url, username="reader", password="s3cret-pacs") as client:
            partial = len(client.instance_uids(series.study_uid))
        assert 0 < partial < 40
        attach.upload_button.click()
        with qtbot.waitSignal(attach.sig_attached, timeout=30_000) as attached:
            pass
        assert attached.args == [series.study_uid, "regional"]
        assert attach.result is not None and attach.result.skipped == partial
    assert attach.result is not None and attach.result.verified
    assert "Verified" in attach.status.text()
    assert dialog.send_button.isEnabled() and not attach.upload_button.isEnabled()
    body = dialog.request_body()
    assert body["study"] == {"study_instance_uid": series.study_uid, "source": "regional"}
    assert body["patient"]["name"] == "Wang Min" and body["urgency"] == "routine"

    if os.environ.get("TC_SHOTS"):
        dialog.grab().save(str(shots / "attach_dialog.png"))
    dialog.done(0)
    dialog.attach.close_model()  # twice is harmless
