"""Tools > Settings: the user's own choices. Site policy (set by IT) is shown, not edited."""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from core.i18n import tr


class QtSettingsDialog(QDialog):
    sig_reset_layout = Signal()

    def __init__(
        self,
        language: str,
        inactivity_lock_minutes: int,
        site_file: str | None,
        parent: QWidget | None = None,
        locked: Collection[str] = (),
        devices: tuple[str, str] = ("", ""),  # (camera, microphone) for calls; "" = synthetic
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("SettingsDialog", "Settings"))
        self.language = QComboBox()
        # Each language is named in itself, so a user who cannot read the current UI still finds theirs.
        for code, label in (
            ("system", tr("SettingsDialog", "System default")),
            ("en", "English"),
            ("zh_CN", "简体中文"),
        ):
            self.language.addItem(label, code)
        self.language.setCurrentIndex(max(0, self.language.findData(language)))
        managed = tr("SettingsDialog", "Managed by your IT department")
        self.language_managed = QLabel(managed)
        self.language_managed.setObjectName("managedNote")
        self.language_managed.setEnabled(False)
        self.language_managed.setVisible("language" in locked)
        if "language" in locked:  # set in the site file's [locked] table
            self.language.setEnabled(False)
            self.language.setToolTip(managed)
        language_row = QHBoxLayout()
        language_row.addWidget(self.language, 1)
        language_row.addWidget(self.language_managed)
        lock = QLabel(
            tr("SettingsDialog", "%1 minutes (set by your site)").replace("%1", str(inactivity_lock_minutes))
        )
        site = QLabel(site_file or tr("SettingsDialog", "none (built-in defaults)"))
        site.setWordWrap(True)
        reset = QPushButton(tr("SettingsDialog", "Reset window layout"))
        reset.clicked.connect(self.sig_reset_layout.emit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(tr("SettingsDialog", "Language:"), language_row)
        form.addRow(tr("SettingsDialog", "Inactivity lock:"), lock)
        form.addRow(tr("SettingsDialog", "Site configuration:"), site)
        from widgets.device_settings import QtDeviceSettings

        self.devices = QtDeviceSettings(*devices)
        form.addRow(tr("SettingsDialog", "Calls:"), self.devices)
        form.addRow("", reset)
        form.addRow(buttons)

    def chosen_language(self) -> str:
        return str(self.language.currentData())
