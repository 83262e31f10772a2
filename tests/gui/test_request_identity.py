"""The county doctor's New request: the birth date is asked for, the sex has no default, and a study of
another patient is refused with both identities (not sent, not attached, the request not sendable)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from viewers.attach_dialog import QtConsultRequestDialog, parse_birth_date
from viewers.dicom.pacs import PacsSettings
from viewers.dicom.synthetic import write_ct_series

pytestmark = pytest.mark.gui

# a DICOMweb archive nobody answers: nothing here is sent, the button's state is what is checked
ARCHIVE = PacsSettings(name="regional", kind="dicomweb", url="http://127.0.0.1:9/dicom-web")


@pytest.fixture
def studies(tmp_path: Path) -> dict[str, Path]:
    write_ct_series(tmp_path / "wang", (3, 16, 16), patient_name="WANG^MIN", patient_id="P-9",
                    patient_birth_date="19700102", patient_sex="F")  # fmt: skip
    write_ct_series(tmp_path / "liu", (3, 16, 16), patient_name="Liu^Fang", patient_id="US-2026-0107",
                    patient_birth_date="19580902", patient_sex="F")  # fmt: skip
    return {"wang": tmp_path / "wang", "liu": tmp_path / "liu"}


def fill(dialog: QtConsultRequestDialog) -> None:
    dialog.patient_id.setText("P-9")
    dialog.patient_name.setText("Wang Min")
    dialog.birth_date.setText("1970-01-02")
    dialog.question.setPlainText("Nodule?")


def test_birth_date_is_asked_and_sex_must_be_chosen(qtbot: QtBot) -> None:
    dialog = QtConsultRequestDialog([ARCHIVE])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.sex.currentData() is None and dialog.sex.currentText() == "(choose)"
    fill(dialog)
    assert not dialog.send_button.isEnabled()  # the sex is not chosen yet
    dialog.sex.setCurrentIndex(dialog.sex.findData("F"))
    assert dialog.send_button.isEnabled()
    for bad in ("", "1970-13-02", "tomorrow", (date.today().replace(year=date.today().year + 1)).isoformat()):
        dialog.birth_date.setText(bad)
        assert not dialog.send_button.isEnabled(), bad
    dialog.birth_date.setText("19700102")
    assert dialog.send_button.isEnabled()
    body = dialog.request_body()
    patient = {"patient_id": "P-9", "name": "Wang Min", "sex": "F", "birth_date": "1970-01-02"}
    assert body["patient"] == patient
    assert parse_birth_date("1970-01-02") == date(1970, 1, 2) and parse_birth_date("1850-01-01") is None


def test_a_study_of_another_patient_is_refused_with_both_identities(
    qtbot: QtBot, studies: dict[str, Path], shots: Path
) -> None:
    dialog = QtConsultRequestDialog([ARCHIVE], loaded=[studies["liu"]])
    qtbot.addWidget(dialog)
    dialog.resize(700, 720)
    dialog.show()
    fill(dialog)
    dialog.sex.setCurrentIndex(dialog.sex.findData("F"))
    attach = dialog.attach

    attach.loaded_combo.setCurrentIndex(1)  # Liu Fang's study, loaded in Imaging
    qtbot.waitUntil(lambda: attach.study is not None and not attach.busy, timeout=20_000)
    assert attach.refused.isVisible() and attach.compare.isVisible()
    assert "not of the request's patient" in attach.refused.text() and "US-2026-0107" in attach.refused.text()
    shown = {key: label.text() for key, label in attach.compare.labels.items()}
    assert shown[("patient_id", 1)] == "P-9" and shown[("patient_id", 2)] == "US-2026-0107"
    assert shown[("name", 1)] == "Wang Min" and shown[("name", 2)] == "Liu Fang"
    assert shown[("birth_date", 1)] == "1970-01-02" and shown[("birth_date", 2)] == "1958-09-02"
    assert not attach.upload_button.isEnabled() and not dialog.send_button.isEnabled()
    attach.start_upload()  # refused even when asked directly
    assert not attach.busy and attach.attached is None
    assert dialog.request_body()["study"] is None
    if os.environ.get("TC_SHOTS"):
        dialog.grab().save(str(shots / "request-refused-study.png"))

    # the patient's own study (the name in another case and order) is accepted
    attach.choose([studies["wang"]])
    qtbot.waitUntil(lambda: attach.study is not None and not attach.busy, timeout=20_000)
    assert not attach.refused.isVisible() and attach.matches_patient
    assert attach.upload_button.isEnabled() and dialog.send_button.isEnabled()
    # a patient typed afterwards that the study contradicts refuses it again
    dialog.birth_date.setText("1971-01-02")
    assert attach.refused.isVisible() and not attach.upload_button.isEnabled()
    assert not dialog.send_button.isEnabled()
