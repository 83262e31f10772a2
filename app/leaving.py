"""Leaving safely: hanging up or quitting during an emergency consult whose monitor is alarming asks
first. Composition: it reads the open consult (the worklist's urgency) and the vitals alarm state.

Only the emergency-with-alarm case asks. Asking on every hang-up would teach clinicians to click
through the question; the case that must not happen by a slip is leaving a deteriorating patient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.i18n import tr

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from app.services import BackendLink


def leave_warning(window: MainWindow, link: BackendLink) -> str | None:
    """Why leaving now needs a second thought, or None when it does not."""
    from app.wiring.vitals import alarm_summary

    consult_id = window.ws.context.consult_id
    item = link.worklist.get(consult_id) if consult_id is not None else None
    if item is None or item.urgency != "emergency":
        return None
    summary = alarm_summary(window)
    if summary is None:
        return None
    priority, count = summary
    names = {"high": tr("Leaving", "high"), "medium": tr("Leaving", "medium"), "low": tr("Leaving", "low")}
    return (
        tr(
            "Leaving",
            "This is an emergency consult and the monitor has %1 active alarm(s), the highest "
            "of %2 priority.",
        )
        .replace("%1", str(count))
        .replace("%2", names.get(priority, priority))
    )
