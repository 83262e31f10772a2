"""Help > About: what this is and the versions support will ask for."""

from __future__ import annotations

from PySide6.QtCore import qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr


class QtAboutDialog(QDialog):
    def __init__(self, versions: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("AboutDialog", "About Teleconsult Workstation"))
        rows = [*versions[:2], ("Qt", qVersion()), *versions[2:]]
        heading = QLabel(
            "<h3>Teleconsult Workstation</h3><p>"
            + tr("AboutDialog", "Remote consultation, imaging, guidance and vital signs.")
            + "</p>"
        )
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels([tr("AboutDialog", "Component"), tr("AboutDialog", "Version")])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (name, version) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(version))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(420, 380)

    def versions(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for row in range(self.table.rowCount()):
            name, version = self.table.item(row, 0), self.table.item(row, 1)
            if name is not None and version is not None:
                found[name.text()] = version.text()
        return found
