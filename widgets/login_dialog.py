"""Sign-in: username and password against the site's backend."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr


class QtLoginDialog(QDialog):
    sig_submit = Signal(str, str)

    def __init__(self, server: str, username: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("LoginDialog", "Sign in to Teleconsult"))
        self.setModal(True)
        self.username = QLineEdit(username)
        self.username.setObjectName("loginUsername")
        self.password = QLineEdit()
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setObjectName("loginError")
        self.error.setStyleSheet("color: #ff7b72;")
        self.error.setWordWrap(True)
        self.error.hide()
        server_label = QLabel(server)
        server_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_in = self.buttons.addButton(
            tr("LoginDialog", "Sign in"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_in.setDefault(True)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(tr("LoginDialog", "Server:"), server_label)
        form.addRow(tr("LoginDialog", "Username:"), self.username)
        form.addRow(tr("LoginDialog", "Password:"), self.password)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        (self.password if username else self.username).setFocus()
        self.resize(380, 0)

    def _submit(self) -> None:
        user, password = self.username.text().strip(), self.password.text()
        if not user or not password:
            self.fail(tr("LoginDialog", "Enter your username and password."))
            return
        self.set_busy(True)
        self.sig_submit.emit(user, password)

    def set_busy(self, busy: bool) -> None:
        self.sign_in.setEnabled(not busy)
        self.username.setEnabled(not busy)
        self.password.setEnabled(not busy)
        if busy:
            self.error.setText(tr("LoginDialog", "Signing in..."))
            self.error.show()

    def fail(self, message: str) -> None:
        self.set_busy(False)
        self.error.setText(message)
        self.error.show()
        self.password.selectAll()
        self.password.setFocus()
