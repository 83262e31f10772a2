"""Chat and consult notes of the open consultation. What is typed goes to the outbox first, so it
survives a lost connection or a restart; each entry shows whether the backend has it yet."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.consult.conversation import Conversation
from core.i18n import tr
from widgets.empty_state import QtEmptyState

STATE_MARK = {"queued": "◷", "sent": "✓", "failed": "✗"}


class QtNotesPanel(QWidget):
    sig_send = Signal(str, str)  # kind ("chat" | "notes"), text

    def __init__(self, conversation: Conversation, can_write: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conversation = conversation
        self.can_write = can_write
        self.title = QLabel()
        self.title.setWordWrap(True)  # a long consult question wraps; it never widens the window
        self.title.setStyleSheet("font-weight: 600;")
        self.entries = QListWidget()
        self.entries.setObjectName("notesList")
        self.entries.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("notesEditor")
        self.editor.setFixedHeight(70)
        self.send_chat = QPushButton()
        self.send_chat.clicked.connect(lambda: self._send("chat"))
        self.add_note = QPushButton()
        self.add_note.clicked.connect(lambda: self._send("notes"))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.add_note)
        buttons.addWidget(self.send_chat)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.title)
        column.addWidget(self.entries, 1)
        if can_write:
            column.addWidget(self.editor)
            column.addLayout(buttons)
        self.page = page
        self.empty = QtEmptyState(
            lambda: tr("Notes", "No consultation open"),
            lambda: tr("Notes", "Chat and notes of the open consultation appear here."),
        )
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack)
        conversation.changed.connect(self._rebuild)
        self.retranslate()

    def retranslate(self) -> None:
        self.send_chat.setText(tr("Notes", "Send chat"))
        self.add_note.setText(tr("Notes", "Add to notes"))
        self.editor.setPlaceholderText(tr("Notes", "Type a message or a consult note..."))
        self._rebuild()

    def _rebuild(self) -> None:
        conv = self.conversation
        self.stack.setCurrentWidget(self.page if conv.consult_id is not None else self.empty)
        self.title.setText(conv.title)
        self.entries.clear()
        for entry in conv.entries:
            kind = tr("Notes", "Note") if entry.kind == "notes" else tr("Notes", "Chat")
            stamp = datetime.fromtimestamp(entry.at).strftime("%H:%M")
            item = QListWidgetItem(
                f"{STATE_MARK.get(entry.state, '')} {stamp} [{kind}] {entry.author}: {entry.text}"
            )
            if entry.state == "queued":
                item.setToolTip(tr("Notes", "Waiting to be delivered to the backend"))
            elif entry.state == "failed":
                item.setToolTip(tr("Notes", "The backend refused this entry; see the log"))
            self.entries.addItem(item)
        self.entries.scrollToBottom()

    def _send(self, kind: str) -> None:
        text = self.editor.toPlainText().strip()
        if text and self.conversation.consult_id is not None:
            self.sig_send.emit(kind, text)
            self.editor.clear()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_model(self) -> None:
        self.conversation.changed.disconnect(self._rebuild)
