"""The lock screen: over the whole window until the password is given.

It covers a window whose panels have already let go of the patient (the consult context ends with
reason ``locked``), so nothing with identity is behind it. It says why it locked (by hand or after
inactivity) and whether an alarm is active, with its priority and without identity: a lock never
silences an alarm, and whoever walks up must know to unlock and look.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from core.i18n import tr


class QtLockScreen(QWidget):
    sig_unlock = Signal(str)
    sig_sign_out = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#lockScreen { background: #0d1117; } #lockScreen QLabel { color: #e6e8eb; }")
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-size: 20px; font-weight: 600;")
        self.who = QLabel()
        self.who.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setFixedWidth(260)
        self.password.returnPressed.connect(self._submit)
        self.unlock = QPushButton()
        self.unlock.clicked.connect(self._submit)
        self.sign_out = QPushButton()
        self.sign_out.clicked.connect(self.sig_sign_out.emit)
        self.alarm = QLabel()
        self.alarm.setObjectName("lockAlarm")
        self.alarm.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.alarm.setMinimumWidth(520)
        self.alarm.hide()
        self.error = QLabel()
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setStyleSheet("color: #ff7b72;")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.password)
        row.addWidget(self.unlock)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(self.title)
        layout.addWidget(self.who)
        layout.addWidget(self.alarm, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(row)
        layout.addWidget(self.error)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.sign_out)
        bottom.addStretch(1)
        layout.addLayout(bottom)
        layout.addStretch(3)
        parent.installEventFilter(self)
        self.hide()
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(tr("LockScreen", "Workstation locked"))
        self.unlock.setText(tr("LockScreen", "Unlock"))
        self.sign_out.setText(tr("LockScreen", "Sign out"))
        self.password.setPlaceholderText(tr("LockScreen", "Password"))

    def show_locked(self, who: str, minutes: int, manual: bool = False) -> None:
        if manual:
            text = tr("LockScreen", "%1 locked the workstation. Enter your password to continue.")
        else:
            text = tr(
                "LockScreen",
                "%1 - locked after %2 minutes without activity. Enter your password to continue.",
            )
        self.who.setText(text.replace("%1", who).replace("%2", str(minutes)))
        self.error.clear()
        self.password.clear()
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()
        self.password.setFocus()

    def show_alarm(self, priority: str | None, count: int = 0) -> None:
        """Whether an alarm is active at this workstation, and its priority; never whose it is."""
        if priority is None:
            self.alarm.hide()
            return
        names = {
            "high": tr("LockScreen", "HIGH priority"),
            "medium": tr("LockScreen", "medium priority"),
            "low": tr("LockScreen", "low priority"),
        }
        colours = {"high": "#ff5252", "medium": "#ffd54f", "low": "#4fc3f7"}
        self.alarm.setText(
            tr("LockScreen", "Alarm active (%1, %2 in all): unlock to see it.")
            .replace("%1", names.get(priority, priority))
            .replace("%2", str(count))
        )
        background = colours.get(priority, "#ff5252")
        self.alarm.setStyleSheet(
            f"font-size: 18px; font-weight: 700; color: #0d1117; background: {background};"
            " padding: 8px 24px; border-radius: 4px;"
        )
        self.alarm.show()

    def wrong_password(self) -> None:
        self.error.setText(tr("LockScreen", "Wrong password."))
        self.password.clear()

    def _submit(self) -> None:
        if self.password.text():
            self.sig_unlock.emit(self.password.text())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        parent = self.parentWidget()
        if (
            parent is not None
            and watched is parent
            and event.type() == QEvent.Type.Resize
            and self.isVisible()
        ):
            self.setGeometry(parent.rect())
        return False

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
