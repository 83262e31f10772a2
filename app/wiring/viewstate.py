"""Wiring of the mirrored view (issue 10) onto the call: view state over the ``control`` data channel.

Each new call session (``link.call_session_hooks``, on the rtc loop, before it starts) is bound to one
:class:`MirrorLink`: the view-mirror actions that arrive on ``control`` are handed to the UI thread,
where :class:`viewers.viewstate.ViewMirror` decides, and what it sends goes back onto the loop. The
imaging panel is found when a call connects (it is built after the first paint) and gets its
"Follow me" button and banner then. The consult's Study Instance UID (from the worklist) is the only
study a peer's view may show here.

:class:`MirrorLink` is Qt-free: it needs the loop and a ``post`` function onto the UI thread
(widgets/qt_async.py's ``QtAsyncBridge.post`` in the app).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.config.roles import PanelId, Role
from viewers.viewstate import ACTIONS, ViewMirror

if TYPE_CHECKING:
    from app.main_window import PanelFactory
    from app.services import BackendLink
    from rtc.channels import ChannelMessage
    from rtc.session import CallState
    from viewers.view_mirror_qt import QtViewMirror

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], object]], object]


class MirrorLink:
    """Carries one ViewMirror's messages over the current call session's ``control`` channel.

    ``attach(session)`` runs on the rtc loop; ``mirror`` is used on the UI thread only. The mirror's
    ``send`` is replaced by this link's, which hops onto the loop (the outbox is the loop's).
    ``on_connected(bool)`` is called on the UI thread when the call connects or ends.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, post: Post, mirror: ViewMirror) -> None:
        self.loop = loop
        self.post = post
        self.mirror = mirror
        self.session: Any = None
        self.on_connected: list[Callable[[bool], None]] = []
        self.received = 0
        mirror.send = self.send

    # on the rtc loop -------------------------------------------------------------------------
    def attach(self, session: Any) -> None:
        """Bind to a new call session (the previous one, if any, is forgotten)."""
        self.session = session
        session.message_received.connect(lambda message: self._on_message(session, message))
        session.state_changed.connect(lambda state: self._on_state(session, state))

    def _on_message(self, session: Any, message: ChannelMessage) -> None:
        envelope = message.envelope
        if session is not self.session or message.channel != "control" or envelope is None:
            return
        action = envelope.body.get("action")
        args = envelope.body.get("args", {})
        if action in ACTIONS and isinstance(args, dict):
            self.received += 1
            self.post(lambda: self.mirror.receive(str(action), args))

    def _on_state(self, session: Any, state: CallState) -> None:
        if session is not self.session:
            return
        value = getattr(state, "value", str(state))
        # a lost path or a peer that left ends following: a banner must never claim a peer that is gone
        if value in ("connected", "reconnecting", "ended"):
            connected = value == "connected"
            self.post(lambda: self._connected(connected))
            if value == "ended":
                self.session = None

    def _send_now(self, action: str, args: dict[str, Any]) -> None:
        session = self.session
        if session is None:
            log.debug("view mirror: no call, %s dropped", action)
            return
        session.send("control", action, {"action": action, "args": args})

    # on the UI thread --------------------------------------------------------------------------
    def send(self, action: str, args: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self._send_now, action, args)

    def _connected(self, connected: bool) -> None:
        if not connected:
            self.mirror.reset()
        for callback in list(self.on_connected):
            callback(connected)


class _ViewMirrorWiring:
    """Per main window: one mirror and link for the workstation, the Qt adapter once the panel exists."""

    def __init__(self, link: BackendLink) -> None:
        self.link = link
        self.mirror = ViewMirror(lambda action, args: None, expected_study=self.expected_study)
        self.channel: MirrorLink | None = None
        self.adapter: QtViewMirror | None = None

    def expected_study(self) -> str | None:
        consult_id = self.link.conversation.consult_id
        item = self.link.worklist.get(consult_id) if consult_id is not None else None
        return item.study_uid if item is not None and item.study_uid else None

    def attach_session(self, session: Any) -> None:  # on the rtc loop
        if self.channel is None:
            self.channel = MirrorLink(asyncio.get_running_loop(), self.link.bridge.post, self.mirror)
            self.channel.on_connected.append(self._connected)
        self.channel.attach(session)

    def _connected(self, connected: bool) -> None:  # on the UI thread
        user = self.link.sign_in_state.user
        self.mirror.name = user.username if user is not None else self.link.ws.user_name
        if self.adapter is None and connected:
            panel = self._find_panel()
            if panel is not None:
                from viewers.view_mirror_qt import QtViewMirror

                self.adapter = QtViewMirror(panel, self.mirror)
                if self.link.ws.role is Role.TRAINEE:
                    self.adapter.act_follow.setVisible(False)  # a trainee follows; it never leads
        if self.adapter is not None:
            self.adapter.set_connected(connected)

    def _find_panel(self) -> Any:
        from PySide6.QtWidgets import QApplication

        from viewers.imaging_panel import QtImagingPanel

        for top in QApplication.topLevelWidgets():
            if getattr(top, "ws", None) is self.link.ws:
                return top.findChild(QtImagingPanel)
        return None


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    """No panel of its own: it rides on the imaging panel and the call."""
    wiring = _ViewMirrorWiring(link)
    link.call_session_hooks.append(wiring.attach_session)
    return {}
