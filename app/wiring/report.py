"""Wiring of the consult report (issue 21): the editor, the signed-PDF viewer and the report desk.

``wire_reports(link, window)`` is called by the composition (app.workstation.compose). It adds a
*Report* menu: *Report…* for the consult in context (the specialist writes, signs or co-signs it; the
county doctor reads it, its signatures' state and acknowledges receipt) and, for a specialist, *Reports
to co-sign…*. The editor is prefilled from what the workstation knows (core/report/prefill.py): the
consult, the imaging panel's calibrated measurements on the consult's study, the monitor's latest
numerics with NEWS2, the plugins' report sections. Every desk call runs on the runtime; its result
comes back on the UI thread and is dropped if the consult ended meanwhile.

Both dialogs follow the consult context: emptied and hidden when it ends (closed, switched, sign-out,
lock). Closing a consult without a final report asks why there is no report, and sends the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from core.i18n import tr

log = logging.getLogger(__name__)


def plain(error: BaseException) -> str:
    """An error as the clinician reads it: the desk's ReportError and the backend's detail as they are."""
    detail = getattr(error, "detail", None)
    return str(detail) if detail else str(error) or type(error).__name__


def _imaging_panel(window: Any) -> Any | None:
    from viewers.imaging_panel import QtImagingPanel

    return window.findChild(QtImagingPanel)


def _nearest_instance(panel: Any, point: Any) -> Any | None:
    """The ImageRef of the series' image whose plane is nearest ``point`` (LPS, mm)."""
    import numpy as np

    from core.report.model import ImageRef

    series, volume = getattr(panel, "series", None), getattr(panel.document, "volume", None)
    if series is None or volume is None or not series.instances:
        return None
    normal = np.asarray(volume.direction)[:, 2]
    target = float(np.asarray(point, float) @ normal)
    best, best_d = None, float("inf")
    for inst in series.instances:
        pos = inst.dataset.get("ImagePositionPatient")
        if pos is None:
            continue
        d = abs(float(np.asarray([float(v) for v in pos]) @ normal) - target)
        if d < best_d:
            best, best_d = inst, d
    if best is None:
        best = series.instances[0]
    study = str(best.dataset.get("StudyInstanceUID", "") or panel.study_uid_of_series())
    return ImageRef(study, series.series_instance_uid, best.sop_instance_uid, best.sop_class_uid)


def imaging_measurements(window: Any, study_uid: str | None) -> list[Any]:
    """The imaging panel's measurements as report figures: only on the consult's study (another study
    may be another patient's), calibrated units only (pixels and refused readings are left out)."""
    from core.report.prefill import ImagingReading, imaging_label, measurements_from_readings

    panel = _imaging_panel(window)
    if panel is None or panel.series is None or not study_uid or panel.study_uid_of_series() != study_uid:
        return []
    readings = []
    counts: dict[str, int] = {}
    for m in panel.document:
        reading = panel.document.reading(m)
        ref = _nearest_instance(panel, m.points[0]) if m.points else None
        counts[m.kind.value] = counts.get(m.kind.value, 0) + 1
        readings.append(
            ImagingReading(
                label=imaging_label(m.kind.value, counts[m.kind.value]),
                value=reading.value,
                unit=reading.unit,
                kind=m.kind.value,
                refused=reading.refused,
                images=(ref,) if ref is not None else (),
                id=m.id,
            )
        )
    return measurements_from_readings(readings)


def latest_vitals(window: Any, max_age_s: float = 300.0) -> Any | None:
    """The monitor's latest numerics (none older than ``max_age_s``) as a snapshot with NEWS2."""
    from app.wiring.plugins import find_vitals_store
    from core.report.prefill import vitals_snapshot
    from core.vitals.signals import Numeric

    store = find_vitals_store(window)
    if store is None:
        return None
    numerics = {n.value: store.numeric(n, max_age=max_age_s) for n in Numeric if n is not Numeric.NEWS2}
    return vitals_snapshot(numerics, datetime.now(UTC))


def plugin_sections(window: Any) -> list[Any]:
    """Each active plugin's report sections for the consult in context (plugins.api 1.2)."""
    from app.plugin_host import PluginHost
    from core.report.prefill import section_from_plugin

    host = window.findChild(PluginHost)
    if host is None:
        return []
    info = host.consult_info()
    if not info.is_open:
        return []
    out = []
    for record in host.manager.active():
        if record.context is None:
            continue
        for provider in getattr(record.contributions, "report_sections", ()):
            section = host.manager.call(record.plugin_id, "report section", provider, info)
            if section is not None:
                try:
                    out.append(section_from_plugin(section))
                except (AttributeError, TypeError, ValueError) as exc:
                    log.warning("report section of %s refused: %s", record.plugin_id, exc)
    return out


class ReportWiring:
    """The report's dialogs and the desk calls behind them (one per main window)."""

    def __init__(self, link: Any, window: Any) -> None:
        from PySide6.QtWidgets import QDialog, QListWidget, QVBoxLayout

        from widgets.report_editor import QtReportEditor
        from widgets.report_viewer import QtReportViewer

        self.link, self.window, self.ws = link, window, window.ws
        self.generation = 0  # bumped when the consult ends: late results are dropped
        self.version: Any = None  # the ReportVersion shown, or None (a new draft)
        self.report_id: int | None = None
        self._desk: Any = None
        self.editor_dialog = QDialog(window)
        self.editor_dialog.setObjectName("reportEditorDialog")
        self.editor = QtReportEditor(self.editor_dialog)
        QVBoxLayout(self.editor_dialog).addWidget(self.editor)
        self.editor_dialog.resize(900, 760)
        self.viewer_dialog = QDialog(window)
        self.viewer_dialog.setObjectName("reportViewerDialog")
        self.viewer = QtReportViewer(self.viewer_dialog)
        QVBoxLayout(self.viewer_dialog).addWidget(self.viewer)
        self.viewer_dialog.resize(820, 900)
        self.pending_dialog = QDialog(window)
        self.pending_dialog.setObjectName("reportPendingDialog")
        self.pending_list = QListWidget(self.pending_dialog)
        self.pending_list.setObjectName("reportPendingList")
        QVBoxLayout(self.pending_dialog).addWidget(self.pending_list)
        self.pending_dialog.resize(560, 360)
        self.pending: list[Any] = []
        self.editor.sig_save.connect(self.save)
        self.editor.sig_sign.connect(self.sign)
        self.editor.sig_cosign.connect(self.cosign)
        self.editor.sig_new_version.connect(self.new_version)
        self.editor.sig_acknowledge.connect(self.acknowledge)
        self.viewer.sig_acknowledge.connect(self.acknowledge)
        self.editor.sig_view.connect(self.view)
        self.editor.sig_add_key_image.connect(self.add_key_image)
        self.pending_list.itemDoubleClicked.connect(lambda _item: self._open_pending())
        self.retranslate()

    # who I am --------------------------------------------------------------------------------------
    def me(self) -> Any | None:
        from core.report.model import Clinician

        user = self.link.sign_in_state.user
        if user is None:
            return None
        specialty = user.specialties[0] if user.specialties else ""
        return Clinician(user.username, user.display_name, user.role, specialty)

    def desk(self) -> Any | None:
        from core.report.desk import ReportDesk

        me, client = self.me(), self.link.client
        if me is None or client is None:
            return None
        if self._desk is None or self._desk.client is not client or self._desk.me != me:
            self._desk = ReportDesk(client, me=me, pacs=list(self.ws.site.pacs))
        return self._desk

    @property
    def specialist(self) -> bool:
        return bool(self.ws.permissions.accept_consult)

    # running desk calls ----------------------------------------------------------------------------
    def _call(
        self,
        work: Callable[[Any], Coroutine[Any, Any, Any]],
        done: Callable[[Any], None],
        busy: str = "",
    ) -> None:
        desk = self.desk()
        if desk is None:
            self.editor.fail(tr("Report", "Not signed in, or the backend is not ready yet."))
            return
        if busy:
            self.editor.set_busy(busy)
        generation = self.generation

        def ok(result: Any) -> None:
            if generation == self.generation:
                done(result)

        def failed(error: BaseException) -> None:
            if generation == self.generation:
                log.warning("report: %s", error)
                self.editor.fail(plain(error))
                if self.viewer_dialog.isVisible():
                    self.viewer.fail(plain(error))

        self.link.bridge.call(work(desk), ok, failed)

    # opening ---------------------------------------------------------------------------------------
    def open_report(self) -> None:
        """The report of the consult in context: its latest version, or a new prefilled draft."""
        consult_id = self.ws.context.consult_id
        if consult_id is None or self.link.client is None:
            return
        self.editor.clear()
        self.editor_dialog.show()
        self.editor_dialog.raise_()
        client = self.link.client

        async def fetch(desk: Any) -> tuple[list[Any], dict[str, Any]]:
            import asyncio

            versions, consult = await asyncio.gather(desk.versions(consult_id), client.consult(consult_id))
            return versions, consult

        self._call(
            fetch, lambda result: self._opened(consult_id, *result), tr("Report", "Opening the report…")
        )

    def _opened(self, consult_id: int, versions: list[Any], consult: dict[str, Any]) -> None:
        from core.report.model import Status
        from widgets.report_editor import AUTHOR

        if self.ws.context.consult_id != consult_id:
            return
        me = self.me()
        if me is None:
            return
        if not self.specialist:
            versions = [v for v in versions if v.status is not Status.DRAFT]  # a draft is the author's
        latest = max(versions, key=lambda v: v.version) if versions else None
        self.editor.done()
        if latest is None:
            if not self.specialist:
                self.editor.fail(tr("Report", "The specialist has not signed a report for this consult yet."))
                return
            self.version, self.report_id = None, None
            self.editor.set_report(self.prefill(consult), AUTHOR)
            return
        self.show_version(latest)

    def show_version(self, version: Any) -> None:
        from core.report.model import Status
        from widgets.report_editor import AUTHOR, COSIGNER, READER

        me = self.me()
        self.version, self.report_id = version, version.id
        mine = me is not None and version.report.author.username == me.username
        if self.specialist and mine:
            role = AUTHOR
        elif self.specialist and version.status is Status.PENDING:
            role = COSIGNER
        else:
            role = READER
        self.editor.set_report(version.report, role, acknowledged=version.acknowledged_at is not None)

    def prefill(self, consult: dict[str, Any]) -> Any:
        from core.report.prefill import build_report

        me = self.me()
        assert me is not None
        study = (consult.get("study") or {}).get("study_instance_uid")
        return build_report(
            consult,
            me,
            measurements=imaging_measurements(self.window, study),
            key_images=(),
            vitals=latest_vitals(self.window),
            sections=plugin_sections(self.window),
            language=self.ws.language if self.ws.language in ("en", "zh_CN") else "en",
        )

    # the steps -------------------------------------------------------------------------------------
    def save(self, report: Any) -> None:
        report_id = self.report_id

        async def work(desk: Any) -> Any:
            return await desk.save_draft(report, report_id)

        def saved(version: Any) -> None:
            self.show_version(version)
            self.editor.done(tr("Report", "Draft saved."))

        self._call(work, saved, tr("Report", "Saving the draft…"))

    def sign(self, report: Any) -> None:
        report_id = self.report_id

        async def work(desk: Any) -> Any:
            rid = report_id
            if rid is None:
                rid = (await desk.save_draft(report, None)).id
            return await desk.sign(rid, report)

        def signed(version: Any) -> None:
            self.show_version(version)
            self.editor.done(tr("Report", "Signed. It now awaits a second specialist's signature."))
            self.link.refresh_worklist()

        self._call(work, signed, tr("Report", "Signing the report… (this takes a few seconds)"))

    def cosign(self) -> None:
        report_id = self.report_id
        if report_id is None:
            return

        async def work(desk: Any) -> Any:
            return await desk.cosign(report_id)

        def cosigned(result: Any) -> None:
            version, publication = result if isinstance(result, tuple) else (result, None)
            self.show_version(version)
            failures = list(getattr(publication, "failures", None) or [])
            if failures:
                self.editor.fail(
                    tr("Report", "Co-signed: the report is final. Not yet sent: %1").replace(
                        "%1", "; ".join(failures)
                    )
                )
            else:
                self.editor.done(tr("Report", "Co-signed: the report is final and has been sent."))
            self.link.refresh_worklist()

        self._call(work, cosigned, tr("Report", "Co-signing and sending the report…"))

    def new_version(self, kind: str) -> None:
        from core.report.model import Kind
        from widgets.report_editor import AUTHOR

        report_id = self.report_id
        if report_id is None:
            return

        async def work(desk: Any) -> Any:
            return await desk.new_version(report_id, Kind(kind))

        def made(report: Any) -> None:
            self.version, self.report_id = None, None
            self.editor.set_report(report, AUTHOR)

        self._call(work, made, tr("Report", "Starting a new version…"))

    def acknowledge(self) -> None:
        report_id = self.report_id
        if report_id is None:
            return

        async def work(desk: Any) -> Any:
            return await desk.acknowledge(report_id)

        def acknowledged(version: Any) -> None:
            self.show_version(version)
            self.viewer.set_can_acknowledge(False)
            self.editor.done(tr("Report", "Receipt acknowledged."))
            self.link.refresh_worklist()

        self._call(work, acknowledged, tr("Report", "Acknowledging receipt…"))

    def view(self) -> None:
        """The signed PDF with its signatures' state in plain words."""
        from core.report.model import Status
        from widgets.report_editor import READER, badge_text

        version, report_id = self.version, self.report_id
        if version is None or report_id is None:
            return
        self.viewer.clear()
        self.viewer.set_title(badge_text(version.report))
        self.viewer.set_checking()
        self.viewer.set_can_acknowledge(
            self.editor.role == READER and version.status is Status.FINAL and version.acknowledged_at is None
        )
        self.viewer_dialog.show()
        self.viewer_dialog.raise_()
        language = self.ws.language

        async def work(desk: Any) -> tuple[bytes, Any]:
            import asyncio

            pdf, verification = await asyncio.gather(desk.pdf(report_id), desk.verification(report_id))
            return pdf, verification

        def shown(result: tuple[bytes, Any]) -> None:
            pdf, verification = result
            self.viewer.show_verification(verification, language)
            self.viewer.load_pdf(pdf)

        self._call(work, shown)

    def add_key_image(self) -> None:
        """The image the imaging panel shows (annotations burnt in) as a key image, when it is of the
        consult's study."""
        from dataclasses import replace

        from PySide6.QtCore import QBuffer, QIODevice

        from core.report.model import KeyImage

        report = self.editor.report()
        panel = _imaging_panel(self.window)
        view = getattr(panel, "slice_view", None)
        if report is None or panel is None or view is None or getattr(view, "volume", None) is None:
            self.editor.fail(tr("Report", "No image is shown in the imaging panel."))
            return
        if panel.study_uid_of_series() != report.study_uid:
            self.editor.fail(tr("Report", "The image shown is not from this consult's study."))
            return
        volume = view.volume
        point = volume.origin + volume.direction[:, 2] * volume.spacing[2] * view.index
        ref = _nearest_instance(panel, point)
        if ref is None:
            self.editor.fail(tr("Report", "No image is shown in the imaging panel."))
            return
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        view.grab().toImage().save(buffer, "PNG")
        caption = tr("Report", "Key image %1").replace("%1", str(len(report.key_images) + 1))
        key = KeyImage(ref, caption, (), bytes(buffer.data().data()))
        self.editor.set_report(replace(report, key_images=(*report.key_images, key)), self.editor.role)

    # co-signing other specialists' reports -----------------------------------------------------------
    def open_pending(self) -> None:
        from PySide6.QtWidgets import QListWidgetItem

        from widgets.report_editor import person_name

        self.pending_list.clear()
        self.pending_dialog.show()
        self.pending_dialog.raise_()

        async def work(desk: Any) -> list[Any]:
            return list(await desk.pending())

        def listed(versions: list[Any]) -> None:
            self.pending = versions
            self.pending_list.clear()
            if not versions:
                self.pending_list.addItem(tr("Report", "No report awaits your signature."))
            for v in versions:
                r = v.report
                text = (
                    tr("Report", "%1 (%2) — by %3, version %4")
                    .replace("%1", person_name(r.patient.name))
                    .replace("%2", r.patient.patient_id)
                    .replace("%3", v.author)
                    .replace("%4", str(v.version))
                )
                item = QListWidgetItem(text)
                item.setToolTip(r.impression)
                self.pending_list.addItem(item)

        self._call(work, listed)

    def _open_pending(self) -> None:
        row = self.pending_list.currentRow()
        if 0 <= row < len(self.pending):
            self.show_version(self.pending[row])
            self.editor_dialog.show()
            self.editor_dialog.raise_()

    # the consult ends ------------------------------------------------------------------------------
    def ended(self, _reason: str) -> None:
        """Nothing of the report stays on screen or in the widgets; late results are dropped."""
        self.generation += 1
        self.version, self.report_id, self.pending = None, None, []
        self.editor.clear()
        self.viewer.clear()
        self.pending_list.clear()
        for dialog in (self.editor_dialog, self.viewer_dialog, self.pending_dialog):
            dialog.hide()

    # closing a consult -----------------------------------------------------------------------------
    def close_check(self, consult_id: int, outcome: str) -> bool:
        """Before a consult closes: with a final report it closes as it is; without one the reason
        there is no report is asked for and sent with the close (``no_report_reason``)."""
        item = self.link.worklist.get(consult_id)
        if getattr(item, "report_status", None) == "final":
            return True
        self.ask_no_report(consult_id, outcome)
        return False

    def ask_no_report(self, consult_id: int, outcome: str, why_not: str = "") -> Any:
        from PySide6.QtWidgets import QInputDialog

        dialog = QInputDialog(self.window)
        dialog.setObjectName("noReportDialog")
        dialog.setWindowTitle(tr("Report", "Close without a report"))
        label = tr(
            "Report",
            "This consult has no final report. Why does it close without one? (for example: advice "
            "given by phone, patient transferred before reporting)",
        )
        dialog.setLabelText(f"{why_not}\n\n{label}" if why_not else label)

        def done() -> None:
            reason = dialog.textValue().strip()
            if not reason:
                self.ask_no_report(consult_id, outcome, tr("Report", "The reason is needed to close."))
                return
            self.close_without_report(consult_id, outcome, reason)

        dialog.accepted.connect(done)
        dialog.open()
        self.no_report_dialog = dialog
        return dialog

    def close_without_report(self, consult_id: int, outcome: str, reason: str) -> None:
        link = self.link
        client = link.client
        if client is None:
            link.sig_action_failed.emit(tr("Report", "The backend is not ready yet."))
            return

        def closed(_consult: Any) -> None:
            link.refresh_worklist()
            if link.conversation.consult_id == consult_id:
                self.ws.context.close()
                link.conversation.close()

        def failed(error: BaseException) -> None:
            link.sig_action_failed.emit(plain(error))
            link.refresh_worklist()

        body = {"outcome": outcome, "no_report_reason": reason}
        link.bridge.call(client.transition(consult_id, "close", body), closed, failed)

    def retranslate(self) -> None:
        self.editor_dialog.setWindowTitle(tr("Report", "Consult report"))
        self.viewer_dialog.setWindowTitle(tr("Report", "Signed report"))
        self.pending_dialog.setWindowTitle(tr("Report", "Reports to co-sign"))


def wire_reports(link: Any, window: Any) -> ReportWiring | None:
    """The Report menu and dialogs for a specialist or a county doctor; None for other roles."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMenu

    from core.config.roles import PanelId

    ws = window.ws
    if not (ws.permissions.accept_consult or ws.permissions.request_consult):
        return None
    wiring = ReportWiring(link, window)
    menu = QMenu(tr("Report", "&Report"), window)
    menu.setObjectName("reportMenu")
    help_menu = getattr(window, "menu_help", None)
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu.menuAction(), menu)
    else:
        window.menuBar().addMenu(menu)
    open_action = QAction(tr("Report", "Report…"), window)
    open_action.setObjectName("reportOpen")
    open_action.triggered.connect(wiring.open_report)
    open_action.setEnabled(ws.context.consult is not None)
    menu.addAction(open_action)
    wiring.open_action = open_action  # type: ignore[attr-defined]
    if wiring.specialist:
        pending_action = QAction(tr("Report", "Reports to co-sign…"), window)
        pending_action.setObjectName("reportPending")
        pending_action.triggered.connect(wiring.open_pending)
        menu.addAction(pending_action)

    def opened(_consult: Any) -> None:
        open_action.setEnabled(True)

    def ended(reason: str) -> None:
        open_action.setEnabled(False)
        wiring.ended(reason)

    ws.context.opened.connect(opened)
    ws.context.ended.connect(ended)

    def unbind() -> None:
        ws.context.opened.disconnect(opened)
        ws.context.ended.disconnect(ended)

    window.sig_closed.connect(unbind)
    dock = window.docks.get(PanelId.WORKLIST)
    panel = dock.widget() if dock is not None else None
    if panel is not None and hasattr(panel, "close_check") and ws.permissions.accept_consult:
        panel.close_check = wiring.close_check
    if ws.permissions.accept_consult:
        _warm_fonts_later()
    return wiring


def _warm_fonts_later(delay_s: float = 20.0) -> None:
    """The PDF's CJK font is cut to size once per machine (seconds, the first time): do it in the
    background after start-up, so the specialist's first *Sign* does not wait for it."""
    import threading

    def warm() -> None:
        from core.report.pdf import warm_up

        try:
            warm_up()
        except Exception as exc:  # a missing font is reported when a report is signed, in plain words
            log.warning("report font not prepared: %s", exc)

    timer = threading.Timer(delay_s, warm)
    timer.daemon = True
    timer.start()
