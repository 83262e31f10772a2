"""Composition: the main window for a role, wired to the backend link and the session controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from app.context import Workstation
from app.main_window import MainWindow, PanelFactory
from app.panels import capability_panels
from app.roles import PanelId
from app.services import BackendLink
from app.session_controller import SessionController
from rtc.runtime import AsyncRuntime


@dataclass
class Composed:
    window: MainWindow
    link: BackendLink
    session: SessionController
    runtime: AsyncRuntime

    def shutdown(self) -> None:
        """Close everything in order; calling it twice is harmless."""
        self.session.close()
        self.link.shutdown()
        self.runtime.stop()


def _worklist_factory(link: BackendLink) -> PanelFactory:
    def make(window: MainWindow) -> QWidget:
        from widgets.worklist_panel import QtWorklistPanel

        perms = window.ws.permissions
        panel = QtWorklistPanel(
            link.worklist, can_accept=perms.accept_consult, can_close=perms.accept_consult
        )
        panel.sig_accept.connect(lambda cid: link.transition(cid, "accept"))
        panel.sig_start.connect(lambda cid: link.transition(cid, "start"))
        panel.sig_close.connect(lambda cid, outcome: link.transition(cid, "close", outcome))
        panel.sig_open.connect(link.open_consult)
        panel.sig_refresh.connect(link.refresh_worklist)
        return panel

    return make


def _notes_factory(link: BackendLink) -> PanelFactory:
    def make(window: MainWindow) -> QWidget:
        from widgets.notes_panel import QtNotesPanel

        panel = QtNotesPanel(link.conversation, can_write=window.ws.permissions.write_notes)
        panel.sig_send.connect(link.send)
        return panel

    return make


def compose(
    ws: Workstation, extra_panels: Callable[[BackendLink], dict[PanelId, PanelFactory]] | None = None
) -> Composed:
    runtime = AsyncRuntime().start()
    link = BackendLink(ws, runtime)
    factories: dict[PanelId, PanelFactory] = {
        PanelId.WORKLIST: _worklist_factory(link),
        PanelId.CHAT: _notes_factory(link),
        **capability_panels(link),
        **(extra_panels(link) if extra_panels else {}),
    }
    window = MainWindow(ws, factories)
    session = SessionController(window, link)
    composed = Composed(window, link, session, runtime)
    window.sig_closed.connect(composed.shutdown)
    return composed
