"""Wiring of the vitals panel (issue 6) into the main window and onto the call.

The bedside (county doctor) runs the monitor: simulator in the demo, the monitors' HL7 feed otherwise;
whatever its store holds streams over every call's ``vitals`` channel. The specialist (and a trainee
following) sees the remote monitor, filled from the channel, with alarms evaluated on what arrives.
The panel itself is built after the first paint (start-up never waits for pyqtgraph); the store exists
from the start, so a call that connects first loses nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.config.roles import PanelId, Role

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.main_window import MainWindow, PanelFactory
    from app.services import BackendLink

BEDSIDE_ROLES = (Role.COUNTY_DOCTOR,)


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    def vitals(window: MainWindow) -> QWidget:
        from app.main_window import empty_state_texts
        from core.vitals.buffer import VitalsStore
        from core.vitals.link import VitalsDownlink, VitalsUplink
        from widgets.deferred_panel import QtDeferredPanel
        from widgets.empty_state import QtEmptyState

        ws = window.ws
        store = VitalsStore(seconds=60.0)
        bedside = ws.role in BEDSIDE_ROLES

        def attach(session: Any) -> None:  # on the rtc loop, for each new call session
            if bedside:
                VitalsUplink(session, store).start()
            else:
                VitalsDownlink(session, store)

        link.call_session_hooks.append(attach)
        hl7 = ws.site.vitals

        def build() -> QWidget:
            from core.vitals.simulator import Scenario
            from core.vitals.sources import SourceKind
            from widgets.vitals import create_remote_vitals_panel, create_vitals_panel

            if not bedside:
                panel = create_remote_vitals_panel(audit=link.audit_event, store=store)
                if ws.role is Role.TRAINEE:
                    panel.limits_button.setVisible(False)  # the patient's limits are not a trainee's to set
                return panel
            return create_vitals_panel(
                audit=link.audit_event,
                hl7_bind=hl7.hl7_bind,
                hl7_port=hl7.hl7_port,
                store=store,
                scenario=Scenario.HYPOTENSION if ws.demo else Scenario.NORMAL,
                start=SourceKind.SIMULATOR if ws.demo else SourceKind.HL7,
            )

        return QtDeferredPanel(build, QtEmptyState(*empty_state_texts(PanelId.VITALS)))

    return {PanelId.VITALS: vitals}
