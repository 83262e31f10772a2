"""Wiring of the consultation (video call) panel (issue 5) into the main window.

`panels(link)` returns the panel factories this capability contributes; `app.panels` gathers them.
When a consult is opened or accepted (``BackendLink.sig_consult_opened``) the panel offers "Join call";
joining connects to the consult's room on the backend with the site's ICE servers. In demo mode the
specialist's acceptance starts the call, and the simulated county doctor (app/demo.py) joins it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from app.wiring.annotations import document_for
from core.config.roles import PanelId, Role
from core.consult.context import LOCKED

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.demo import DemoBedside
    from app.main_window import MainWindow, PanelFactory
    from app.services import BackendLink
    from widgets.call_panel import QtCallPanel

log = logging.getLogger(__name__)

CALL_ROLES = (Role.SPECIALIST, Role.COUNTY_DOCTOR)  # trainees follow a call (app/wiring/classroom.py)
BEDSIDE_ROLES = (Role.COUNTY_DOCTOR,)  # whose camera or probe the call is guiding


class CallWiring(QObject):
    """Connects the backend link's consult events to the call panel; owned by the panel."""

    def __init__(self, window: MainWindow, link: BackendLink, panel: QtCallPanel) -> None:
        super().__init__(panel)
        self.window, self.link, self.panel = window, link, panel
        self.consult_id: int | None = None
        self.bedside: DemoBedside | None = None
        self._closed = False
        link.sig_consult_opened.connect(self._consult_opened)
        link.sig_signed_out.connect(self._signed_out)
        window.ws.context.ended.connect(self._context_ended)
        panel.sig_join.connect(self.join)
        panel.controller.sig_state.connect(self._call_state)
        window.sig_closed.connect(self.close)
        self._context = window.ws.context

    def _call_state(self, state: str) -> None:
        """The accepting specialist's call connected: the consult is in session (trainees of the
        specialty may follow from now on). A consult already in session is left as it is."""
        consult_id, client = self.consult_id, self.link.client
        if state != "connected" or consult_id is None or client is None:
            return
        if self.window.ws.role is not Role.SPECIALIST:
            return
        item = self.link.worklist.get(consult_id)
        if item is not None and item.state != "accepted":
            return
        self.link.bridge.call(
            client.transition(consult_id, "start", None),
            lambda _consult: self.link.refresh_worklist(),
            lambda error: log.info("consult %s not marked in session: %s", consult_id, error),
        )

    def _consult_opened(self, consult_id: int) -> None:
        self.panel.set_hidden_for_lock(False)
        if self.window.ws.role not in CALL_ROLES:
            return
        if consult_id != self.consult_id and self.panel.controller.state in ("connecting", "connected"):
            self.panel.controller.hang_up()  # one call at a time: the newly opened consult's
        self.consult_id = consult_id
        title = self.link.conversation.title if self.link.conversation.consult_id == consult_id else ""
        self.panel.offer_call(title or f"#{consult_id}")
        if self.window.ws.demo and self.window.ws.role is Role.SPECIALIST:
            self._demo_bedside_joins(consult_id)
            self.join()

    def _demo_bedside_joins(self, consult_id: int) -> None:
        from app.demo import DemoBedside

        if self.link.base_url is None:
            return
        if self.bedside is None:
            self.bedside = DemoBedside(self.link.base_url)
        self.bedside.join(consult_id)

    def join(self) -> None:
        client, consult_id = self.link.client, self.consult_id
        if client is None or consult_id is None or self._closed:
            return
        controller = self.panel.controller
        if controller.state in ("connecting", "connected", "reconnecting"):
            return
        from widgets.device_settings import chosen_sources

        settings = self.window.ws.settings
        video, audio = chosen_sources(settings.camera, settings.microphone)
        if controller.video_source is None:
            controller.video_source = video
        if controller.audio_source is None:
            controller.audio_source = audio
        controller.start(lambda: client.signal_url(consult_id), self.window.ws.site.rtc_ice_servers())

    def _context_ended(self, reason: str) -> None:
        """The consult left the context. A lock keeps the call but the panel shows none of it (no
        video, no overlay) until the user is back; any other end hangs up: a call belongs to its
        consult."""
        if reason == LOCKED:
            self.panel.set_hidden_for_lock(True)
            self.panel.offer_call(None)  # the offer names the patient; it comes back on unlock
            return
        self.consult_id = None
        self.panel.controller.hang_up()
        self.panel.offer_call(None)

    def _signed_out(self) -> None:
        self.consult_id = None
        self.panel.controller.hang_up()
        self.panel.offer_call(None)

    def close(self) -> None:
        """Hang up and stop the demo's bedside. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._context.ended.disconnect(self._context_ended)
        self.panel.close_panel()
        if self.bedside is not None:
            self.bedside.close()


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    def consultation(window: MainWindow) -> QWidget:
        from widgets.call_controller import QtCallController
        from widgets.call_panel import QtCallPanel

        fps = 15.0 if window.ws.demo else 30.0  # the demo shares two cores with everything else
        controller = QtCallController(link.runtime, size=(640, 480), fps=fps)
        controller.session_hooks = link.call_session_hooks  # shared: vitals and others attach there
        panel = QtCallPanel(controller)
        controller.setParent(panel)
        if window.ws.role in (*CALL_ROLES, Role.TRAINEE):
            # issue 7: both sites draw on the bedside's video; the bedside sees it as its own, large
            # (a trainee following sees the same, view only until the instructor hands a tool over)
            panel.attach_annotations(document_for(link), on_local=window.ws.role in BEDSIDE_ROLES)
        CallWiring(window, link, panel)  # owned by the panel (Qt parent)
        from app.leaving import leave_warning

        panel.leave_warning = lambda: leave_warning(window, link)
        from app.wiring.classroom import attach_class

        attach_class(window, link, panel)  # issue 11: the live class at each site, owned by the panel
        return panel

    return {PanelId.CONSULTATION: consultation}
