"""Wiring of the vitals panel (issue 6) into the main window and onto the call.

The bedside (county doctor) runs the monitor: simulator in the demo, the monitors' HL7 feed otherwise;
whatever its store holds streams over every call's ``vitals`` channel. The specialist (and a trainee
following) sees the remote monitor, filled from the channel, with alarms evaluated on what arrives.
The panel itself is built after the first paint (start-up never waits for pyqtgraph); the store exists
from the start, so a call that connects first loses nothing.

One patient context: the store belongs to a :class:`~core.vitals.bed.Bed` that follows the consult in
context (``ws.context``). At the bedside the feed is stored only while a patient is attached, and only
that patient's (HL7 PID); the stream carries the consult's id and the remote side drops another
consult's. Another patient, a closed consult or a sign-out clears everything; a lock does not (the
monitor and its alarms run on behind the lock screen, whose line comes from :func:`alarm_summary`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.config.roles import PanelId, Role
from core.vitals.hl7 import monitor_zone

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.main_window import MainWindow, PanelFactory
    from app.services import BackendLink

BEDSIDE_ROLES = (Role.COUNTY_DOCTOR,)


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    def vitals(window: MainWindow) -> QWidget:
        from app.main_window import empty_state_texts
        from core.vitals.bed import SIGNED_OUT, Bed
        from core.vitals.buffer import VitalsStore
        from core.vitals.link import VitalsDownlink, VitalsUplink
        from widgets.deferred_panel import QtDeferredPanel
        from widgets.empty_state import QtEmptyState

        ws = window.ws
        store = VitalsStore(seconds=60.0)
        bedside = ws.role in BEDSIDE_ROLES
        bed = Bed("bedside" if bedside else "remote")
        # nothing of a patient who left stays in the store, whether or not the panel is built yet
        bed.changed.connect(lambda _patient: store.clear())
        stop_following = bed.follow(ws.context, consult_id=lambda: link.conversation.consult_id)
        # a sign-out from behind the lock screen ends no context (the lock did): the bed is told here
        link.sig_signed_out.connect(lambda: bed.detach(SIGNED_OUT))
        window.sig_closed.connect(stop_following)
        calls: dict[str, Any] = {"session": None}

        def call_state(session: Any, state: Any) -> None:  # on the rtc loop
            if session is not calls["session"]:
                return  # an older call's end says nothing about the one feeding us now
            value = getattr(state, "value", state)
            if value == "connected":
                bed.call_started()
            elif value == "ended":
                bed.call_ended()

        def patient_attached() -> bool:
            return bed.patient is not None

        def attach(session: Any) -> None:  # on the rtc loop, for each new call session
            if bedside:
                VitalsUplink(session, store, consult_id=lambda: bed.consult_id, gate=patient_attached).start()
                return
            VitalsDownlink(session, store, accept=bed.accepts_consult)
            calls["session"] = session
            bed.call_started()
            changed = getattr(session, "state_changed", None)
            if changed is not None:
                changed.connect(lambda state: call_state(session, state))

        link.call_session_hooks.append(attach)
        site = ws.site.vitals

        def build() -> QWidget:
            from core.vitals.simulator import Scenario
            from core.vitals.sources import SourceKind
            from widgets.vitals import create_remote_vitals_panel, create_vitals_panel

            if not bedside:
                panel = create_remote_vitals_panel(
                    audit=link.audit_event,
                    store=store,
                    bed=bed,
                    stale_s=site.stale_after_seconds,
                    pseudonym_salt=ws.pseudonym_salt,
                )
                if ws.role is Role.TRAINEE:
                    panel.limits_button.setVisible(False)  # the patient's limits are not a trainee's to set
                return panel
            return create_vitals_panel(
                audit=link.audit_event,
                hl7_bind=site.hl7_bind,
                hl7_port=site.hl7_port,
                store=store,
                scenario=Scenario.HYPOTENSION if ws.demo else Scenario.NORMAL,
                start=SourceKind.SIMULATOR if ws.demo else SourceKind.HL7,
                bed=bed,
                stale_s=site.stale_after_seconds,
                hl7_time_zone=monitor_zone(site.monitor_time_zone),
                hl7_idle_timeout_s=site.hl7_idle_timeout_seconds,
            )

        return QtDeferredPanel(build, QtEmptyState(*empty_state_texts(PanelId.VITALS)))

    return {PanelId.VITALS: vitals}


def alarm_summary(window: Any) -> tuple[str, int] | None:
    """For the lock screen: the highest active vitals alarm priority ("high", "medium", "low") and how
    many alarms are active at this workstation, or None when none is (or the monitor is not built).

    It names no alarm and no patient, so it may be shown over a locked window. Reading it silences
    nothing: the alarms, and their sound, go on behind the lock screen. Call it on the UI thread."""
    from core.vitals.alarms import AlarmManager

    docks = getattr(window, "docks", None) or {}
    dock = docks.get(PanelId.VITALS)
    widget = dock.widget() if dock is not None else None
    panel = getattr(widget, "content", widget)  # a QtDeferredPanel holds the monitor once built
    engine = getattr(panel, "engine", None)
    alarms = getattr(engine, "alarms", None)
    if not isinstance(alarms, AlarmManager):
        return None
    summary = alarms.summary()
    if summary is None:
        return None
    priority, count = summary
    return priority.name.lower(), count
