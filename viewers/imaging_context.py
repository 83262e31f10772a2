"""The imaging panel bound to the consult context (core.consult.context.ConsultContext).

The panel shows whose study it is: the patient in context (the banner's, a pseudonym for trainees),
and whether the study shown is that patient's. When the patient in context changes or the context ends
(consult closed or switched, sign-out, lock) the panel clears itself: volumes, headers, views, corner
text, thumbnails, and the DICOM datasets it held are dropped, not covered.

What may open is decided here from the headers, before any pixel is decoded
(viewers/study_identity.py): the consult's patient's studies open; another patient's study is refused
with both identities shown, and opens only through "Link this study to this patient", with a reason
the clinician types, once the backend has written the link to the audit chain (``record_link``, given
by the wiring). With no consult open a study opens as it is, and the panel says no consult is open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtWidgets import QLabel, QWidget

from core.consult.context import LOCKED, SIGNED_OUT, SWITCHED, ConsultContext
from core.consult.patient import Patient
from core.i18n import tr
from viewers.dicom.discovery import DiscoveryResult, Series
from viewers.identity_views import QtIdentityNotice, QtLinkStudyDialog
from viewers.study_identity import IdentityKey, Refusal, Status, StudyLink, Verdict, check_study, study_key

log = logging.getLogger(__name__)


class Panel(Protocol):
    """What of the imaging panel (viewers/imaging_panel.py) this module uses."""

    show_identity: bool
    prepare: Any
    discovery: DiscoveryResult | None
    series: Series | None
    volume: Any
    source_paths: list[Path]
    slice_view: Any
    mpr_view: Any
    status: QLabel
    context_label: QLabel
    notice: QtIdentityNotice

    @property
    def closed(self) -> bool: ...
    @property
    def loading(self) -> bool: ...
    def clear_study(self, message: str | None = None) -> None: ...
    def reload(self) -> None: ...

# (link, done): record the link with the backend; done(result or exception) runs on the UI thread.
RecordLink = Callable[[StudyLink, Callable[[object], None]], None]


def _cleared_message(reason: str | None, first: bool = False) -> str:
    """Why the panel went blank; ``first``: a consult opened where none was (no end before it)."""
    if first:
        return tr("ImagingContext", "A consult is open now: the study opened outside it was closed.")
    if reason == SIGNED_OUT:
        return tr("ImagingContext", "Signed out: the study was closed and nothing of it is kept.")
    if reason == LOCKED:
        return tr("ImagingContext", "The workstation locked: the study was closed.")
    if reason == SWITCHED:
        return tr("ImagingContext", "Another consult is open: the previous study was closed.")
    if reason is not None:
        return tr("ImagingContext", "The consult ended: its study was closed.")
    return tr("ImagingContext", "Another patient is in context: the study was closed.")


class ImagingContext:
    """The panel's side of the consult context: the check of each discovery, the link, the clearing."""

    def __init__(self, panel: Panel, parent: QWidget) -> None:
        """``parent``: the panel as a widget (the link dialog's parent)."""
        self.panel = panel
        self.widget = parent
        self.context: ConsultContext | None = None
        self.record_link: RecordLink | None = None
        self.verdict: Verdict | None = None  # of the last discovery (what is open, or what was refused)
        self.linked: set[IdentityKey] = set()  # links recorded in this consult
        self.refusal: Refusal | None = None
        self.dialog: QtLinkStudyDialog | None = None
        self.epoch = 0  # changes with the patient in context; a link answered after that is dropped
        self._ending: str | None = None
        self._had_patient = False

    # binding ---------------------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        return self.context is not None

    def bind(self, context: ConsultContext, record_link: RecordLink | None = None) -> None:
        self.unbind()
        self.context = context
        self.record_link = record_link
        context.changed.connect(self._changed)
        context.ended.connect(self._ended)
        self._had_patient = context.patient is not None
        self.show()

    def unbind(self) -> None:
        if self.context is not None:
            self.context.changed.disconnect(self._changed)
            self.context.ended.disconnect(self._ended)
            self.context = None
        self._close_dialog()

    @property
    def patient(self) -> Patient | None:
        return self.context.patient if self.context is not None else None

    @property
    def can_link(self) -> bool:
        panel = self.panel
        return (
            self.record_link is not None
            and self.patient is not None
            and panel.prepare is None
            and panel.show_identity
        )

    # the context changes ---------------------------------------------------------------------
    def _ended(self, reason: str) -> None:
        self._ending = reason
        self._reset(reason)

    def _changed(self, patient: Patient | None) -> None:
        reason, self._ending = self._ending, None
        if reason is None:  # a new patient without an end before it
            self._reset(None, first=not self._had_patient)
        self._had_patient = patient is not None
        self.show()

    def _reset(self, reason: str | None, first: bool = False) -> None:
        self.epoch += 1
        self.linked.clear()
        self._close_dialog()
        self.panel.clear_study(_cleared_message(reason, first) if self.holds_study() else None)

    def _close_dialog(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.reject()  # finished: deleted later
            dialog.setParent(None)  # out of the panel's widget tree at once

    # what may open ---------------------------------------------------------------------------
    def check(self, result: DiscoveryResult) -> Verdict:
        verdict = check_study(result, self.patient, bound=self.bound, linked=self.linked)
        self.verdict = verdict
        self.refusal = verdict.refused[0] if verdict.status is Status.REFUSED and verdict.refused else None
        return verdict

    def paint_identity(self, series: Series) -> bool:
        """Whether the corners may show the study's identity: never another patient's (linked or not),
        and never a real identity where the panel shows none (a trainee sees the copy's pseudonym)."""
        panel = self.panel
        if not (panel.show_identity or panel.prepare is not None):
            return False
        verdict = self.verdict
        if verdict is None or verdict.status in (Status.UNBOUND, Status.NO_CONSULT):
            return True
        patient = panel.discovery.patient_of(series) if panel.discovery is not None else None
        return patient is not None and study_key(patient) not in verdict.linked

    def overlay(self, series: Series) -> tuple[list[str], list[str]]:
        """The corner texts for ``series``, from its own headers: identity (left) only as
        :meth:`paint_identity` allows, the study (right)."""
        ds = series.instances[0].dataset if series.instances else None
        if ds is None:
            return [], []
        left: list[str] = []
        if self.is_linked(series):
            left = [tr("ImagingContext", "Linked study: identity differs from the consult's patient")]
        elif self.paint_identity(series):
            name = str(ds.get("PatientName", "") or "").replace("^", " ").strip()
            left = [name, str(ds.get("PatientID", "") or "")]
            sex, birth = str(ds.get("PatientSex", "") or ""), str(ds.get("PatientBirthDate", "") or "")
            if sex or birth:
                left.append(" ".join(p for p in (sex, birth) if p))
        date = str(ds.get("StudyDate", "") or "")
        right = [
            str(ds.get("StudyDescription", "") or ""),
            f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 else date,
            " ".join(p for p in (series.modality, series.description) if p),
            str(ds.get("InstitutionName", "") or "") if self.panel.show_identity else "",
        ]
        return [t for t in left if t], [t for t in right if t]

    def is_linked(self, series: Series) -> bool:
        verdict, discovery = self.verdict, self.panel.discovery
        patient = discovery.patient_of(series) if discovery is not None else None
        return verdict is not None and patient is not None and study_key(patient) in verdict.linked

    # the link --------------------------------------------------------------------------------
    def ask_link(self) -> QtLinkStudyDialog | None:
        """The dialog that links the refused study to the consult's patient, open (non-modal)."""
        refusal, verdict = self.refusal, self.verdict
        if refusal is None or verdict is None or verdict.consult is None or not self.can_link:
            return None
        self._close_dialog()
        dialog = QtLinkStudyDialog(verdict.consult, refusal.study, self.widget)
        self.dialog = dialog
        epoch = self.epoch
        consult = verdict.consult

        def accepted() -> None:
            link = StudyLink(consult, refusal.study, refusal.study_uids, dialog.reason_text(), refusal.key)
            self._record(link, epoch)

        def finished(_result: int) -> None:  # the identities it shows go with it
            if self.dialog is dialog:
                self.dialog = None
            dialog.deleteLater()

        dialog.accepted.connect(accepted)
        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def _record(self, link: StudyLink, epoch: int) -> None:
        record = self.record_link
        if record is None or epoch != self.epoch:
            return
        panel = self.panel
        panel.status.setText(tr("ImagingContext", "Recording the link in the audit log…"))
        log.info(
            "study link asked: study %s of patient %s to the consult's patient %s; reason: %s",
            link.study_uids, link.study.patient_id, link.consult.patient_id, link.reason,
        )  # fmt: skip

        def done(result: object) -> None:
            if epoch != self.epoch or panel.closed:
                return  # the patient in context changed meanwhile: this link is not for it
            if isinstance(result, BaseException):
                log.warning("study link not recorded: %s", result)
                panel.status.setText(
                    tr("ImagingContext", "The link was not recorded (%1); the study stays closed.").replace(
                        "%1", str(result)
                    )
                )
                return
            self.linked.add(link.key)
            panel.reload()

        record(link, done)

    # what the panel says and holds -----------------------------------------------------------
    def context_text(self) -> str:
        """One line: whose consult is in context, and whether the study shown is that patient's."""
        if self.context is None:
            return ""
        patient = self.patient
        if patient is None:
            return tr(
                "ImagingContext", "No consult is open: a study opened here is not checked against a patient."
            )
        panel = self.panel
        if panel.show_identity or panel.prepare is not None:
            who = tr("ImagingContext", "Consult patient: %1 (ID %2)").replace("%1", patient.name)
            who = who.replace("%2", patient.patient_id)
        else:
            who = tr("ImagingContext", "A consult is open.")
        series = panel.series
        if series is not None and self.is_linked(series):
            shown = tr("ImagingContext", "The study shown is another identity, linked with a reason.")
            return f"{who} {shown}"
        if series is not None and self.verdict is not None and self.verdict.status is not Status.REFUSED:
            shown = tr("ImagingContext", "The study shown is this patient's.")
            return f"{who} {shown}"
        return who

    def show(self) -> None:
        text = self.context_text()
        self.panel.context_label.setText(text)
        self.panel.context_label.setVisible(bool(text))

    def load_notes(self, series: Series) -> list[str]:
        """What the status line says first about a loaded series' patient."""
        if self.is_linked(series):
            return [tr("ImagingContext", "Linked to the consult's patient: the identities differ.")]
        if self.bound and self.patient is None:
            return [tr("ImagingContext", "No consult is open: this study is not linked to a patient.")]
        return []

    def closed_patients_note(self) -> list[str]:
        verdict = self.verdict
        if verdict is None or not verdict.refused:
            return []
        text = tr("ImagingContext", "Images of %1 other patient(s) in these files were not opened.")
        return [text.replace("%1", str(len(verdict.refused)))]

    def refuse(self) -> None:
        """Nothing of the study is kept; the notice says why, with both identities."""
        verdict, refusal = self.verdict, self.refusal
        self.panel.status.setText(tr("ImagingContext", "The study was not opened."))
        if verdict is None or refusal is None or verdict.consult is None:
            return
        self.panel.notice.show_refusal(verdict.consult, refusal.study, refusal.reason, self.can_link)

    def cleared(self, message: str | None) -> None:
        """The panel let go of its study: so does this (the verdict holds its headers)."""
        self.verdict = None
        self.refusal = None
        self.panel.notice.clear()
        self.show()
        if message is not None:
            self.panel.status.setText(message)

    def holds_study(self) -> bool:
        panel = self.panel
        return bool(
            panel.discovery is not None
            or panel.series is not None
            or panel.volume is not None
            or panel.source_paths
            or panel.loading
            or not panel.notice.isHidden()
        )

    def identity_strings(self) -> list[str]:
        panel = self.panel
        texts = [*panel.slice_view.overlay_left, *panel.slice_view.overlay_right]
        for view in panel.mpr_view.views.values():
            texts += [*view.overlay_left, *view.overlay_right]
        held = panel.discovery.all_series() if panel.discovery is not None else []
        for series in [*held, *([panel.series] if panel.series is not None else [])]:
            for instance in series.instances:
                ds = instance.dataset
                texts += [str(ds.get(k, "") or "") for k in ("PatientName", "PatientID", "PatientBirthDate")]
        return [t for t in texts if t]
