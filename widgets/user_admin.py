"""The IT administrator's accounts table: disable or enable, reset a password, lift a sign-in lock.

The widget knows no backend: the wiring hands it an `AccountService` whose calls finish on the Qt
thread (done or failed with a message)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr

Done = Callable[[Any], None]
Failed = Callable[[str], None]


class AccountService(Protocol):
    def list_users(self, done: Done, failed: Failed) -> None: ...

    def act(
        self, user_id: int, action: str, body: dict[str, Any] | None, done: Done, failed: Failed
    ) -> None: ...


class QtUserAdmin(QWidget):
    def __init__(
        self,
        service: AccountService,
        ask_password: Callable[[QWidget, str], str | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._ask_password = ask_password or _ask_password
        self._users: list[dict[str, Any]] = []
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("userTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.toggle_button = QPushButton()
        self.toggle_button.setObjectName("toggleDisabled")
        self.reset_button = QPushButton()
        self.reset_button.setObjectName("resetPassword")
        self.unlock_button = QPushButton()
        self.unlock_button.setObjectName("unlock")
        self.refresh_button = QPushButton()
        self.toggle_button.clicked.connect(self._toggle)
        self.reset_button.clicked.connect(self._reset)
        self.unlock_button.clicked.connect(lambda: self._act("unlock", None))
        self.refresh_button.clicked.connect(self.refresh)
        self.message = QLabel()
        self.message.setObjectName("userAdminMessage")
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.toggle_button, self.reset_button, self.unlock_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.retranslate()
        self._update_buttons()
        self.refresh()

    # data --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._service.list_users(self._show_users, self._failed)

    def _show_users(self, users: list[dict[str, Any]]) -> None:
        selected = self.selected_user()
        self._users = list(users)
        self.table.setRowCount(len(self._users))
        for row, user in enumerate(self._users):
            cells = (user["username"], user["display_name"], user["role"], self._state_text(user))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                item.setData(Qt.ItemDataRole.UserRole, user["id"])
                self.table.setItem(row, column, item)
            if selected is not None and user["id"] == selected["id"]:
                self.table.selectRow(row)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    @staticmethod
    def _state_text(user: dict[str, Any]) -> str:
        states = []
        if user.get("disabled"):
            states.append(tr("UserAdmin", "disabled"))
        if user.get("locked"):
            states.append(tr("UserAdmin", "locked"))
        return ", ".join(states) or tr("UserAdmin", "active")

    def selected_user(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self._users):
            return None
        return self._users[rows[0].row()]

    def select_username(self, username: str) -> None:
        for row, user in enumerate(self._users):
            if user["username"] == username:
                self.table.selectRow(row)

    # actions -----------------------------------------------------------------------------------
    def _toggle(self) -> None:
        user = self.selected_user()
        if user is not None:
            self._act("enable" if user.get("disabled") else "disable", None)

    def _reset(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        password = self._ask_password(self, str(user["username"]))
        if password:
            self._act("password", {"new_password": password})

    def _act(self, action: str, body: dict[str, Any] | None) -> None:
        user = self.selected_user()
        if user is None:
            return
        done_texts = {
            "disable": tr("UserAdmin", "{user} disabled."),
            "enable": tr("UserAdmin", "{user} enabled."),
            "password": tr("UserAdmin", "Password of {user} reset; their sessions were ended."),
            "unlock": tr("UserAdmin", "{user} unlocked."),
        }
        username = str(user["username"])

        def done(_result: Any) -> None:
            self.message.setText(done_texts[action].format(user=username))
            self.refresh()

        self._service.act(int(user["id"]), action, body, done, self._failed)

    def _failed(self, message: str) -> None:
        self.message.setText(tr("UserAdmin", "Failed: {message}").format(message=message))

    def _update_buttons(self) -> None:
        user = self.selected_user()
        for button in (self.toggle_button, self.reset_button, self.unlock_button):
            button.setEnabled(user is not None)
        disabled = bool(user and user.get("disabled"))
        self.toggle_button.setText(tr("UserAdmin", "Enable") if disabled else tr("UserAdmin", "Disable"))
        self.unlock_button.setEnabled(bool(user and user.get("locked")))

    def retranslate(self) -> None:
        self.table.setHorizontalHeaderLabels(
            [
                tr("UserAdmin", "User name"),
                tr("UserAdmin", "Name"),
                tr("UserAdmin", "Role"),
                tr("UserAdmin", "State"),
            ]
        )
        self.reset_button.setText(tr("UserAdmin", "Reset password…"))
        self.unlock_button.setText(tr("UserAdmin", "Unlock"))
        self.refresh_button.setText(tr("UserAdmin", "Refresh"))
        self._update_buttons()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


def _ask_password(parent: QWidget, username: str) -> str | None:
    text, ok = QInputDialog.getText(
        parent,
        tr("UserAdmin", "Reset password"),
        tr("UserAdmin", "New password for {user} (at least 10 characters):").format(user=username),
        QLineEdit.EchoMode.Password,
    )
    return text if ok and text else None
