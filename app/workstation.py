"""Composition: the main window for a role, wired to the backend link and the session controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from app.context import Workstation
from app.main_window import MainWindow, PanelFactory
from app.panels import capability_panels
from app.services import BackendLink
from app.session_controller import SessionController
from core.config.roles import PanelId
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
            link.worklist,
            can_accept=perms.accept_consult,
            can_close=perms.accept_consult,
            can_request=perms.request_consult,
        )
        panel.sig_new_request.connect(lambda: _new_request(link, window, panel))
        panel.sig_accept.connect(lambda cid: link.transition(cid, "accept"))
        panel.sig_start.connect(lambda cid: link.transition(cid, "start"))
        panel.sig_close.connect(lambda cid, outcome: link.transition(cid, "close", outcome))
        panel.sig_open.connect(link.open_consult)
        panel.sig_refresh.connect(link.refresh_worklist)
        return panel

    return make


def _new_request(link: BackendLink, window: MainWindow, parent: QWidget) -> None:
    """The county doctor's request form, with the study sent to the site archive (issue 10)."""
    from core.config.roles import PanelId
    from viewers.attach_dialog import request_consult

    dock = window.docks.get(PanelId.IMAGING)
    holder = dock.widget() if dock is not None else None
    loaded = list(getattr(getattr(holder, "content", holder), "source_paths", None) or [])

    def submit(body: dict[str, object]) -> None:
        if link.client is None:
            link.sig_action_failed.emit("The backend is not ready yet.")
            return
        link.bridge.call(
            link.client.create_consult(body),
            lambda _consult: link.refresh_worklist(),
            lambda error: link.sig_action_failed.emit(str(error)),
        )

    request_consult(parent, window.ws.site.pacs, loaded, submit)


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
    from app.leaving import leave_warning

    window.leave_warning = lambda: leave_warning(window, link)
    session = SessionController(window, link)
    from core.worklist.prefetch import wire_prefetch

    wire_prefetch(link, window)  # the specialist's studies travel ahead of the call (issue 10)
    from app.wiring.answer import wire_answer_composer, wire_answers

    wire_answers(link, window)  # store-and-forward: the county doctor reads the written answer
    wire_answer_composer(link, window)  # the specialist answers in writing with key images
    from app.wiring.report import wire_reports

    wire_reports(link, window)  # the consult report: write, sign, co-sign, read, acknowledge (issue 21)
    from app.wiring.library import wire_case_library

    wire_case_library(window, link)  # teaching: recordings and teaching files, replay (issue 11)
    composed = Composed(window, link, session, runtime)
    window.sig_closed.connect(composed.shutdown)
    return composed
