"""The line above the monitor that says whose vitals these are and whether they are live.

"Vitals of Liu Fang (ID US-2026-0107)" while a patient is attached to the bed (a pseudonym where the
role sees none), why nothing is shown when none is, and the feed's state: live, waiting, no data for
N s, or "Call ended at 14:02 — last values, not live". Old data must never look live, so a feed that is
not live is said in words, not only in colour.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QWidget

from core.consult.patient import Patient
from core.i18n import tr
from core.vitals.bed import Bed, Feed

STALE_GREY = "#7a7a7a"  # numerics and labels of data that is not live


def age_text(seconds: float) -> str:
    """How long ago, for a numeric that is not live: "12 s ago", "3 min ago", "2 h ago"."""
    if seconds < 90:
        return tr("QtVitalsPanel", "%1 s ago").replace("%1", f"{seconds:.0f}")
    if seconds < 5400:
        return tr("QtVitalsPanel", "%1 min ago").replace("%1", f"{seconds / 60:.0f}")
    return tr("QtVitalsPanel", "%1 h ago").replace("%1", f"{seconds / 3600:.0f}")


def clock_text(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


class QtVitalsContextBar(QFrame):
    """Whose vitals (``who``) and the feed's state (``state``); :meth:`show_state` on each refresh."""

    def __init__(
        self, bedside: bool = True, pseudonym_salt: bytes | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("vitalsContext")
        self.bedside, self.salt = bedside, pseudonym_salt
        self.who = QLabel()
        self.who.setObjectName("vitalsPatient")
        self.state = QLabel()
        self.state.setObjectName("feedState")
        for label in (self.who, self.state):  # a narrow dock wraps them: never cut "not live" off
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
            label.setWordWrap(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 2)
        row.addWidget(self.who, 1)
        row.addWidget(self.state, 1)
        self.feed: Feed | None = None
        self._sheet = ""

    def shown_patient(self, patient: Patient | None) -> Patient | None:
        if patient is None or self.salt is None:
            return patient
        return patient.pseudonymised(self.salt)

    def who_text(self, bed: Bed) -> str:
        patient = self.shown_patient(bed.patient)
        if patient is not None:
            if bed.locked:
                return tr("QtVitalsPanel", "Locked: monitoring goes on")
            return (
                tr("QtVitalsPanel", "Vitals of %1 (ID %2)")
                .replace("%1", patient.name)
                .replace("%2", patient.patient_id)
            )
        reasons = {
            "closed": tr("QtVitalsPanel", "Consult closed: its vitals were cleared."),
            "switched": tr("QtVitalsPanel", "Another consult opened: the previous vitals were cleared."),
            "signed_out": tr("QtVitalsPanel", "Signed out: no patient data without a signed-in user."),
        }
        if bed.ended_reason in reasons:
            return reasons[bed.ended_reason]
        if self.bedside:
            return tr("QtVitalsPanel", "No patient at this bed: open the patient's consult to monitor.")
        return tr("QtVitalsPanel", "No consult open: no vitals shown.")

    def state_text(self, feed: Feed, age: float | None, ended_at: float | None) -> str:
        if feed is Feed.ENDED and ended_at is not None:
            return tr("QtVitalsPanel", "Call ended at %1 — last values, not live").replace(
                "%1", clock_text(ended_at)
            )
        if feed is Feed.STALE and age is not None:
            return tr("QtVitalsPanel", "No data from the bedside for %1 s — values not live").replace(
                "%1", f"{age:.0f}"
            )
        if feed is Feed.WAITING:
            return tr("QtVitalsPanel", "Waiting for data")
        if feed is Feed.LIVE:
            return tr("QtVitalsPanel", "Live")
        return ""

    def show_state(self, bed: Bed | None, feed: Feed, age: float | None) -> None:
        self.feed = feed
        self.who.setVisible(bed is not None)
        if bed is not None:
            self.who.setText(self.who_text(bed))
        self.state.setText(self.state_text(feed, age, None if bed is None else bed.call_ended_at))
        colours = {
            Feed.LIVE: ("#000000", "#00e060"),
            Feed.WAITING: ("#000000", "#d0d0d0"),
            Feed.NO_PATIENT: ("#000000", "#d0d0d0"),
            Feed.STALE: ("#3a3000", "#ffd000"),
            Feed.ENDED: ("#303030", "#ffffff"),
        }
        bg, fg = colours[feed]
        sheet = (
            f"#vitalsContext {{ background: {bg}; }} #vitalsPatient {{ color: #f0f0f0; font-weight: 600; }}"
            f" #feedState {{ color: {fg}; font-weight: 600; }}"
        )
        if sheet != self._sheet:
            self._sheet = sheet
            self.setStyleSheet(sheet)


__all__ = ["STALE_GREY", "QtVitalsContextBar", "age_text", "clock_text"]
