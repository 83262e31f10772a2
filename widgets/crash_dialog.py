"""What an unhandled exception looks like to the user: a dialog that says where the log is."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from core.i18n import tr


class QtCrashDialog(QMessageBox):
    def __init__(self, summary: str, details: str, log_file: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIcon(QMessageBox.Icon.Critical)
        self.setWindowTitle(tr("CrashDialog", "Unexpected error"))
        self.setText(tr("CrashDialog", "Something went wrong: %1").replace("%1", summary))
        self.setInformativeText(
            tr(
                "CrashDialog",
                "The details were written to the log file:\n%1\n\n"
                "Your work is kept. Continue if the workstation still responds, or quit and start it again.",
            ).replace("%1", log_file)
        )
        self.setDetailedText(details)
        self.continue_button = self.addButton(
            tr("CrashDialog", "Continue"), QMessageBox.ButtonRole.AcceptRole
        )
        self.quit_button = self.addButton(tr("CrashDialog", "Quit"), QMessageBox.ButtonRole.DestructiveRole)
        self.setDefaultButton(self.continue_button)
