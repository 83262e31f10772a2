"""A question before an action that must not happen by a slip (leaving an emergency, say)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from core.i18n import tr


def confirm_then(parent: QWidget, warning: str, question: str, go: Callable[[], None]) -> QMessageBox:
    """Ask, window-modal and without a nested event loop, and call ``go`` only on an explicit Yes
    (No is the default button: Enter does not leave)."""
    box = QMessageBox(QMessageBox.Icon.Warning, tr("Leaving", "Leave the emergency?"), warning, parent=parent)
    box.setObjectName("leaveConfirm")
    box.setInformativeText(question)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    yes = box.button(QMessageBox.StandardButton.Yes)
    box.finished.connect(lambda _result: go() if box.clickedButton() is yes else None)
    box.open()
    return box
