"""The IT administrator's view of this workstation: configuration in force, folders, versions, link."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from core.client.connection import ConnectionStatus, LinkStatus
from core.i18n import tr


class QtDiagnosticsPanel(QWidget):
    def __init__(
        self,
        facts: list[tuple[str, str]],
        versions: list[tuple[str, str]],
        connection: ConnectionStatus,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._connection = connection
        self.config_box = QGroupBox()
        config_form = QFormLayout(self.config_box)
        self._fact_labels: list[tuple[str, QLabel]] = []
        for key, value in facts:
            name = QLabel()
            self._fact_labels.append((key, name))
            shown = QLabel(value)
            shown.setWordWrap(True)
            shown.setObjectName(f"fact_{key}")
            config_form.addRow(name, shown)
        self.link = QLabel()
        self.link.setObjectName("diagLink")
        self.link_name = QLabel()
        config_form.addRow(self.link_name, self.link)
        platform_label = QLabel(QGuiApplication.platformName())
        self.platform_name = QLabel()
        config_form.addRow(self.platform_name, platform_label)
        self.versions_box = QGroupBox()
        versions_form = QFormLayout(self.versions_box)
        for component, version in versions:
            versions_form.addRow(component, QLabel(version))
        layout = QVBoxLayout(self)
        layout.addWidget(self.config_box)
        layout.addWidget(self.versions_box)
        layout.addStretch(1)
        connection.changed.connect(self._show_link)
        self.retranslate()

    def _show_link(self, status: LinkStatus) -> None:
        text = f"{status.state.value} {status.url}".strip()
        if status.queued:
            text += f" ({status.queued})"
        self.link.setText(text)

    def retranslate(self) -> None:
        names = {
            "site_name": tr("Diagnostics", "Site:"),
            "site_file": tr("Diagnostics", "Site configuration file:"),
            "backend": tr("Diagnostics", "Backend:"),
            "ice": tr("Diagnostics", "STUN/TURN servers:"),
            "pacs": tr("Diagnostics", "PACS endpoints:"),
            "data_dir": tr("Diagnostics", "Data folder:"),
            "log_file": tr("Diagnostics", "Log file:"),
        }
        for key, label in self._fact_labels:
            label.setText(names.get(key, key))
        self.config_box.setTitle(tr("Diagnostics", "This workstation"))
        self.versions_box.setTitle(tr("Diagnostics", "Components"))
        self.link_name.setText(tr("Diagnostics", "Backend link:"))
        self.platform_name.setText(tr("Diagnostics", "Display platform:"))
        self._show_link(self._connection.status)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_model(self) -> None:
        self._connection.changed.disconnect(self._show_link)
