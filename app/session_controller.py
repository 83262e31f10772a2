"""Sign-in, sign-out and the inactivity lock around the main window."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from app.services import DEMO_PASSWORD, DEMO_USERS, BackendLink
from core.client.backend import UserInfo
from core.client.session import InactivityLock
from core.config.roles import Role
from core.i18n import tr
from widgets.lock_screen import QtLockScreen
from widgets.login_dialog import QtLoginDialog

log = logging.getLogger(__name__)

_INPUT_EVENTS = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.KeyPress,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
    QEvent.Type.TabletPress,
}


class SessionController(QObject):
    def __init__(self, window: MainWindow, link: BackendLink, check_interval_ms: int = 5000) -> None:
        super().__init__(window)
        self.window = window
        self.link = link
        ws = window.ws
        self.lock = InactivityLock(ws.site.security.inactivity_lock_minutes)
        self.lock_screen = QtLockScreen(window)
        self.lock_screen.sig_unlock.connect(self._unlock)
        self.lock_screen.sig_sign_out.connect(self.sign_out)
        self.login: QtLoginDialog | None = None
        self._check = QTimer(self)
        self._check.setInterval(check_interval_ms)
        self._check.timeout.connect(self._check_lock)
        # While locked, the lock screen shows whether an alarm is active (it keeps sounding).
        self._alarm_poll = QTimer(self)
        self._alarm_poll.setInterval(500)
        self._alarm_poll.timeout.connect(self._show_alarm_state)
        link.sig_ready.connect(self._backend_ready)
        link.sig_failed.connect(self._backend_failed)
        link.sig_signed_in.connect(self._signed_in)
        link.sig_sign_in_failed.connect(self._sign_in_failed)
        link.sig_action_failed.connect(lambda message: window.statusBar().showMessage(message, 15000))
        self.act_lock = QAction(window, shortcut=QKeySequence("Ctrl+L"))
        self.act_lock.triggered.connect(self.lock_now)
        self.act_sign_out = QAction(window)
        self.act_sign_out.triggered.connect(self.sign_out)
        self.act_sign_in = QAction(window)
        self.act_sign_in.triggered.connect(lambda: self.show_login())
        window.menu_file.insertActions(window.act_quit, [self.act_sign_in, self.act_lock, self.act_sign_out])
        link.sign_in_state.changed.connect(self._signed_in_changed)
        self._signed_in_changed(None)
        window.menu_file.insertSeparator(window.act_quit)
        self._retranslate()
        QApplication.instance().installEventFilter(self)  # type: ignore[union-attr]

    def _retranslate(self) -> None:
        self.act_lock.setText(tr("Session", "&Lock workstation"))
        self.act_sign_out.setText(tr("Session", "Sign &out"))
        self.act_sign_in.setText(tr("Session", "Sign &in..."))

    def _signed_in_changed(self, user: UserInfo | None) -> None:
        self.act_sign_in.setVisible(user is None)
        self.act_sign_out.setVisible(user is not None)
        self.act_lock.setEnabled(user is not None)

    # backend ---------------------------------------------------------------------------------
    def _backend_ready(self, base_url: str) -> None:
        ws = self.window.ws
        if ws.demo:
            username = DEMO_USERS[ws.role.value]
            ws.settings.last_username = username
            self.link.sign_in(username, DEMO_PASSWORD)
        elif not self.link.resume():
            self.show_login()

    def _backend_failed(self, message: str) -> None:
        self.window.statusBar().showMessage(tr("Session", "Backend unavailable: %1").replace("%1", message))

    def show_login(self, error: str = "") -> QtLoginDialog | None:
        if self.link.client is None:
            self.window.statusBar().showMessage(tr("Session", "The backend is not reachable yet."), 10000)
            return None
        if self.login is None:
            self.login = QtLoginDialog(
                self.link.base_url or "", self.window.ws.settings.last_username, self.window
            )
            self.login.sig_submit.connect(self.link.sign_in)
            self.login.rejected.connect(self._login_cancelled)
        if error:
            self.login.fail(error)
        self.login.open()
        return self.login

    def _login_cancelled(self) -> None:
        self.login = None
        self.window.statusBar().showMessage(tr("Session", "Not signed in. Use File > Sign in to continue."))

    def _sign_in_failed(self, message: str) -> None:
        if self.window.ws.demo and self.login is None:
            log.error("demo sign-in failed: %s", message)
        self.show_login(message)

    def _signed_in(self, payload: tuple[UserInfo, str | None]) -> None:
        user, password = payload
        if self.login is not None:
            self.login.accept()
            self.login = None
        if password is not None:
            self.lock.remember(password)
        elif self.window.ws.demo:
            self.lock.remember(DEMO_PASSWORD)
        self.lock.touch()
        self._check.start()
        self.window.retranslate()
        if user.role != self.window.ws.role.value:
            self.window.statusBar().showMessage(
                tr("Session", "Signed in as %1, whose role differs from this window's.").replace(
                    "%1", user.username
                )
            )
        if self.window.ws.demo and self.link.base_url:
            from app.demo import county_doctor_sends_request, demo_final_report

            # one consult of the demo has a final, co-signed report (the worklist shows its status)
            self.link.bridge.call(
                demo_final_report(self.link.base_url), lambda _id: self.link.refresh_worklist()
            )
            if self.window.ws.role is Role.SPECIALIST:
                self.link.bridge.call(
                    county_doctor_sends_request(self.link.base_url), lambda _id: self.link.refresh_worklist()
                )

    # lock ------------------------------------------------------------------------------------
    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT_EVENTS:
            self.lock.touch()
        return False

    def _check_lock(self) -> None:
        if self.lock.check() and not self.lock_screen.isVisible():
            self._show_lock(manual=False)

    def lock_now(self) -> None:
        if self.link.sign_in_state.user is None:
            return
        self.lock.lock_now()
        self._show_lock(manual=True)

    def _show_lock(self, manual: bool) -> None:
        # Panels let go of the patient first: the lock screen covers nothing with identity.
        self.link.lock_context()
        who = self.window.ws.user_name or ""
        self.lock_screen.show_locked(who, self.window.ws.site.security.inactivity_lock_minutes, manual)
        self._show_alarm_state()
        self._alarm_poll.start()

    def _show_alarm_state(self) -> None:
        from app.wiring.vitals import alarm_summary

        summary = alarm_summary(self.window)
        if summary is None:
            self.lock_screen.show_alarm(None)
        else:
            self.lock_screen.show_alarm(*summary)

    def _unlock(self, password: str) -> None:
        if self.lock.unlock(password):
            self._alarm_poll.stop()
            self.lock_screen.hide()
            self.link.unlock_context()
        else:
            self.lock_screen.wrong_password()

    def sign_out(self) -> None:
        self._alarm_poll.stop()
        self.lock_screen.hide()
        self._check.stop()
        self.link.sign_out()
        self.window.retranslate()
        self.show_login()

    def close(self) -> None:
        self._check.stop()
        self._alarm_poll.stop()
        self.link.sign_in_state.changed.disconnect(self._signed_in_changed)
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
