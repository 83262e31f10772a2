"""The report editor, the signed-report viewer, the worklist's report badge and the report wiring."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from core.consult.patient import Patient
from core.report.model import Kind, Status
from core.worklist.model import ConsultItem, WorklistModel
from tests.report_samples import sample_report
from widgets.report_editor import AUTHOR, COSIGNER, READER, QtReportEditor
from widgets.report_viewer import AMBER, GREEN, RED, QtReportViewer, signature_lines
from widgets.worklist_panel import QtWorklistPanel, report_badge


def _visible(editor: QtReportEditor) -> set[str]:
    buttons = (
        editor.save_button,
        editor.sign_button,
        editor.cosign_button,
        editor.version_button,
        editor.ack_button,
        editor.view_button,
    )
    return {b.objectName() for b in buttons if not b.isHidden()}


def test_editor_shows_the_prefilled_report(qtbot) -> None:  # type: ignore[no-untyped-def]
    editor = QtReportEditor()
    qtbot.addWidget(editor)
    report = sample_report(None, measurements=3, key_images=2)
    editor.set_report(report, AUTHOR)
    assert "Zhang Wei" in editor.patient.text() and "P-2026-0042" in editor.patient.text()
    assert editor.badge.text() == "Draft · Report, version 1"
    assert "Chest pain for 3 hours" in editor.request.text()
    assert "Li Ming" in editor.request.text()
    assert editor.findings.toPlainText().startswith("Sinus tachycardia")
    assert editor.measures.rowCount() == 3
    assert editor.measures.item(0, 1).text() == "8.5 mm"
    assert editor.measures.item(2, 1).text() == "42 mm²"
    assert editor.images.count() == 2 and not editor.images.item(0).icon().isNull()
    assert "NEWS2 7" in editor.vitals.text() and "HR 112 /min" in editor.vitals.text()
    assert len(editor.section_tables) == 1 and editor.section_tables[0].item(2, 0).text() == "QTc"
    # a measurement unticked leaves the report; the written text comes back as edited
    editor.measures.item(1, 0).setCheckState(editor.measures.item(1, 0).checkState().Unchecked)
    editor.findings.setPlainText("Changed.")
    edited = editor.report()
    assert edited is not None
    assert [m.label for m in edited.measurements] == ["Nodule 1 long axis", "Nodule 3 area"]
    assert edited.findings == "Changed."


def test_sign_is_disabled_until_the_impression_is_written(qtbot) -> None:  # type: ignore[no-untyped-def]
    editor = QtReportEditor()
    qtbot.addWidget(editor)
    editor.set_report(replace(sample_report(None), impression=""), AUTHOR)
    assert not editor.sign_button.isEnabled()
    assert not editor.impression_hint.isHidden()
    editor.impression.setPlainText("NSTEMI likely.")
    assert editor.sign_button.isEnabled()
    assert editor.impression_hint.isHidden()
    with qtbot.waitSignal(editor.sig_sign) as signed:
        editor.sign_button.click()
    assert signed.args[0].impression == "NSTEMI likely."
    editor.set_busy("Signing…")  # a long step: no second click
    assert not editor.sign_button.isEnabled() and editor.impression.isReadOnly()
    editor.fail("Your certificate cannot sign: expired")
    assert editor.sign_button.isEnabled() and "expired" in editor.message.text()


def test_buttons_follow_role_and_status(qtbot) -> None:  # type: ignore[no-untyped-def]
    editor = QtReportEditor()
    qtbot.addWidget(editor)
    draft = sample_report(None)
    pending = draft.with_status(Status.PENDING)
    final = draft.with_status(Status.FINAL)
    editor.set_report(draft, AUTHOR)
    assert _visible(editor) == {"reportSave", "reportSign"}
    assert not editor.findings.isReadOnly()
    editor.set_report(pending, AUTHOR)
    assert _visible(editor) == {"reportView"} and editor.findings.isReadOnly()
    assert editor.badge.text() == "Awaiting second signature · Report, version 1"
    editor.set_report(pending, COSIGNER)
    assert _visible(editor) == {"reportCosign", "reportView"}
    editor.set_report(final, AUTHOR)
    assert _visible(editor) == {"reportNewVersion", "reportView"}
    with qtbot.waitSignal(editor.sig_new_version) as asked:
        editor.version_actions[Kind.CORRECTION].trigger()
    assert asked.args == ["correction"]
    editor.set_report(final, READER)
    assert _visible(editor) == {"reportAcknowledge", "reportView"}
    editor.set_report(final, READER, acknowledged=True)
    assert _visible(editor) == {"reportView"}
    editor.set_report(replace(final, kind=Kind.ADDENDUM, version=2), READER)
    assert editor.badge.text() == "Final · Addendum, version 2"


@dataclass
class FakeVerification:
    ok: bool
    tampered_revision: int | None
    sentences: tuple[object, ...]

    def plain_words(self, language: str) -> list[object]:
        return list(self.sentences)


def test_viewer_shows_plain_words_and_the_tampered_warning(qtbot) -> None:  # type: ignore[no-untyped-def]
    viewer = QtReportViewer()
    qtbot.addWidget(viewer)
    good = FakeVerification(True, None, ("Signed by Chen Jing on 7 Dec 2026.", "Co-signed by Wang Lei."))
    viewer.show_verification(good, "en")
    assert viewer.tampered.isHidden()
    assert [label.objectName() for label in viewer.lines] == [f"reportSignature_{GREEN}"] * 2
    assert "Co-signed by Wang Lei." in viewer.lines[1].text()
    broken = FakeVerification(False, 3, ("Signed by Chen Jing.", "The document was changed afterwards."))
    viewer.show_verification(broken, "en")
    assert not viewer.tampered.isHidden()
    assert "revision 3" in viewer.tampered.text()
    assert {label.objectName() for label in viewer.lines} == {f"reportSignature_{RED}"}
    mixed = FakeVerification(False, None, (("ok", "Signed."), "The certificate's revocation is unknown."))
    assert signature_lines(mixed, "en") == [
        (GREEN, "Signed."),
        (AMBER, "The certificate's revocation is unknown."),
    ]
    viewer.clear()
    assert viewer.lines == [] and viewer.tampered.isHidden()


def test_viewer_renders_the_pdf_pages(qtbot) -> None:  # type: ignore[no-untyped-def]
    from fpdf import FPDF

    pdf = FPDF()
    for text in ("Consult report", "Page two"):
        pdf.add_page()
        pdf.set_font("helvetica", size=16)
        pdf.cell(text=text)
    viewer = QtReportViewer()
    qtbot.addWidget(viewer)
    viewer.load_pdf(bytes(pdf.output()))
    qtbot.waitUntil(lambda: len(viewer.page_labels) == 2, timeout=20000)
    assert viewer.page_labels[0].pixmap().width() > 500


@dataclass(frozen=True)
class ReportedItem(ConsultItem):
    report_status: str | None = None
    report_acknowledged: bool = False


def _item(consult_id: int, status: str | None, acknowledged: bool = False) -> ReportedItem:
    patient = Patient("P-1", "Wang Min", "F", date(1970, 1, 2))
    return ReportedItem(
        consult_id,
        "answered",
        patient,
        "Nodule?",
        "urgent",
        "radiology",
        "Li Ming",
        "Chen Jing",
        0.0,
        900.0,
        None,
        None,
        0.0,
        report_status=status,
        report_acknowledged=acknowledged,
    )


def test_worklist_shows_the_report_status(qtbot) -> None:  # type: ignore[no-untyped-def]
    assert report_badge(_item(1, "pending"))[0] == "Report: awaiting second signature"
    assert report_badge(_item(1, "final"))[0] == "Report final — acknowledge"
    assert report_badge(_item(1, "final", True))[0] == "Report acknowledged"
    assert report_badge(_item(1, "none"))[0] == ""
    model = WorklistModel()
    panel = QtWorklistPanel(model, can_accept=False, can_close=False, can_request=True)
    qtbot.addWidget(panel)
    model.items = [_item(1, "final"), _item(2, None)]
    model.changed.emit()
    column = panel.REPORT_COLUMN
    assert panel.table.horizontalHeaderItem(column).text() == "Report"
    assert panel.table.item(0, column).text() == "Report final — acknowledge"
    assert panel.table.item(1, column).text() == ""  # absent: nothing shown
    # the backend's JSON without the report fields shows nothing either
    model.replace([{"id": 3, "state": "open", "patient": {"patient_id": "P", "name": "N"}}])
    assert panel.table.item(0, column).text() == ""
    panel.close_model()


def test_report_empties_when_the_consult_ends(qtbot, isolated_home) -> None:  # type: ignore[no-untyped-def]
    from core.config.roles import Role
    from tests.helpers import compose_workstation

    made = compose_workstation(qtbot, Role.SPECIALIST, {})
    try:
        from PySide6.QtWidgets import QMenu

        window = made.window  # type: ignore[attr-defined]
        menu = window.findChild(QMenu, "reportMenu")
        assert menu is not None
        actions = {a.objectName(): a for a in menu.actions()}
        assert not actions["reportOpen"].isEnabled()  # no consult open
        assert "reportPending" in actions
        patient = Patient("P-2026-0042", "Zhang^Wei", "M", date(1961, 3, 14))
        window.ws.context.open(patient, 42)
        assert actions["reportOpen"].isEnabled()
        editor = window.findChild(QtReportEditor)
        assert editor is not None
        editor.set_report(sample_report(None), AUTHOR)
        editor.parentWidget().show()
        window.ws.context.end("switched")
        assert editor.report() is None and editor.patient.text() == "" and editor.findings.toPlainText() == ""
        assert editor.parentWidget().isHidden()
        assert not actions["reportOpen"].isEnabled()
    finally:
        made.window.close()  # type: ignore[attr-defined]
        made.shutdown()  # type: ignore[attr-defined]
