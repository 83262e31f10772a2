"""The plugin manager: installed plugins with version, origin, state and the reason a plugin is off.

Thin: it observes :class:`plugins.manager.PluginManager` and forwards the user's enable/disable ticks.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from plugins.api import API_VERSION
from plugins.manager import PluginManager, PluginRecord, PluginState
from plugins.registry import ErrorKind, PluginError

STATE_COLOURS = {PluginState.ACTIVE: "#2e7d32", PluginState.FAILED: "#c62828", PluginState.DENIED: "#8a6d00"}
COL_ON, COL_NAME, COL_VERSION, COL_SOURCE, COL_STATE, COL_REASON = range(6)


def state_text(state: PluginState) -> str:
    return {
        PluginState.ACTIVE: tr("PluginManager", "Active"),
        PluginState.DISABLED: tr("PluginManager", "Disabled"),
        PluginState.DENIED: tr("PluginManager", "Denied by site"),
        PluginState.FAILED: tr("PluginManager", "Failed"),
        PluginState.OTHER_ROLE: tr("PluginManager", "Not for this role"),
    }[state]


def error_text(error: PluginError) -> str:
    """The reason in the user's language; the technical detail stays as the plugin reported it."""
    template = {
        ErrorKind.IMPORT: tr("PluginManager", "could not be imported: %1"),
        ErrorKind.MANIFEST: tr("PluginManager", "has an invalid manifest: %1"),
        ErrorKind.API: tr("PluginManager", "needs another plugin API version: %1"),
        ErrorKind.HOOK: tr("PluginManager", "failed: %1"),
        ErrorKind.ANALYSER_BUDGET: tr("PluginManager", "was too slow: %1"),
        ErrorKind.ANALYSER_ERROR: tr("PluginManager", "analyser failed: %1"),
        ErrorKind.DUPLICATE: tr("PluginManager", "is installed twice: %1"),
    }[error.kind]
    return template.replace("%1", error.detail)


def notice_text(name: str, error: PluginError) -> str:
    return (
        tr("PluginManager", "Plugin '%1' was disabled: %2")
        .replace("%1", name)
        .replace("%2", error_text(error))
    )


class QtPluginManager(QWidget):
    sig_notice = Signal(str)  # a plugin was disabled because of an error: the message to show

    def __init__(self, manager: PluginManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pluginManager")
        self.manager = manager
        self._closed = False
        self._filling = False

        self.notice = QLabel()
        self.notice.setObjectName("pluginNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(
            "QLabel { background:#fdecea; color:#8e1b1b; border:1px solid #f5c2c0; padding:6px; }"
        )
        self.notice.hide()
        self.dismiss = QPushButton(tr("PluginManager", "Dismiss"))
        self.dismiss.hide()
        self.dismiss.clicked.connect(self.clear_notice)
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.dismiss)

        self.table = QTableWidget(0, 6)
        self.table.setObjectName("pluginTable")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for col in (COL_ON, COL_VERSION, COL_SOURCE, COL_STATE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_REASON, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._item_changed)

        self.footer = QLabel()
        self.footer.setWordWrap(True)
        self.footer.setStyleSheet("color:#666;")

        layout = QVBoxLayout(self)
        layout.addLayout(notice_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.footer)
        manager.add_listener(self._record_changed)
        self.retranslate()
        for error in manager.failures():
            record = manager.records.get(error.plugin_id)
            self.show_notice(notice_text(record.name if record else error.plugin_id, error))

    def retranslate(self) -> None:
        self.table.setHorizontalHeaderLabels(
            [
                tr("PluginManager", "On"),
                tr("PluginManager", "Plugin"),
                tr("PluginManager", "Version"),
                tr("PluginManager", "Source"),
                tr("PluginManager", "State"),
                tr("PluginManager", "Reason"),
            ]
        )
        self.footer.setText(
            tr("PluginManager", "Plugin API %1. IT allows or denies plugins in the site configuration.")
            .replace("%1", API_VERSION)
        )
        self.dismiss.setText(tr("PluginManager", "Dismiss"))
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def rows(self) -> list[PluginRecord]:
        return sorted(self.manager.records.values(), key=lambda r: (r.candidate.builtin, r.name.lower()))

    def refresh(self) -> None:
        self._filling = True
        records = self.rows()
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            on = QTableWidgetItem()
            flags = Qt.ItemFlag.ItemIsSelectable
            if record.user_may_toggle:
                flags |= Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
            on.setFlags(flags)
            enabled = record.plugin_id not in self.manager.disabled and record.state is not PluginState.DENIED
            on.setCheckState(Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
            on.setData(Qt.ItemDataRole.UserRole, record.plugin_id)
            self.table.setItem(row, COL_ON, on)
            label = record.name if record.name == record.plugin_id else f"{record.name}\n{record.plugin_id}"
            name = QTableWidgetItem(label)
            if record.manifest is not None:
                m = record.manifest
                name.setToolTip(
                    tr("PluginManager", "Specialties: %1\nRoles: %2\nNeeds: %3\nAPI: %4")
                    .replace("%1", ", ".join(m.specialties) or "-")
                    .replace("%2", ", ".join(m.roles) or "-")
                    .replace("%3", ", ".join(n.value for n in m.needs) or "-")
                    .replace("%4", m.api)
                )
            self.table.setItem(row, COL_NAME, name)
            self.table.setItem(row, COL_VERSION, QTableWidgetItem(record.version or "-"))
            source = (
                tr("PluginManager", "Built-in")
                if record.candidate.builtin
                else record.candidate.distribution or tr("PluginManager", "Third-party")
            )
            self.table.setItem(row, COL_SOURCE, QTableWidgetItem(source))
            state = QTableWidgetItem(state_text(record.state))
            if record.state in STATE_COLOURS:
                state.setForeground(QColor(STATE_COLOURS[record.state]))
            self.table.setItem(row, COL_STATE, state)
            reason = ""
            if record.error is not None:
                reason = error_text(record.error)
            elif record.state is PluginState.DENIED:
                reason = tr("PluginManager", "Not loaded: the site configuration denies it.")
            elif record.state is PluginState.OTHER_ROLE:
                reason = tr("PluginManager", "Serves other roles.")
            self.table.setItem(row, COL_REASON, QTableWidgetItem(reason))
        self.table.resizeRowsToContents()
        self._filling = False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.table.resizeRowsToContents()  # wrapped reasons need the final column width

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != COL_ON:
            return
        plugin_id = item.data(Qt.ItemDataRole.UserRole)
        self.manager.set_enabled(str(plugin_id), item.checkState() == Qt.CheckState.Checked)
        self.refresh()

    def _record_changed(self, record: PluginRecord) -> None:
        if self._closed:
            return
        self.refresh()
        if record.state is PluginState.FAILED and record.error is not None:
            message = notice_text(record.name, record.error)
            self.show_notice(message)
            self.sig_notice.emit(message)

    def show_notice(self, message: str) -> None:
        existing = self.notice.text()
        lines = [line for line in existing.split("\n") if line] if not self.notice.isHidden() else []
        if message not in lines:
            lines.append(message)
        self.notice.setText("\n".join(lines[-5:]))
        self.notice.show()
        self.dismiss.show()

    def clear_notice(self) -> None:
        self.notice.hide()
        self.dismiss.hide()
        self.notice.setText("")

    def close_model(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.manager.remove_listener(self._record_changed)
