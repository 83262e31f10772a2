"""Walks what a workstation shows and holds, and finds patient identifiers in it.

The walk reads every widget under the given top-level widgets (and every other top-level widget the
application has): texts, placeholders, tooltips, window titles, the cells of item views and the
entries of list and combo boxes, plus what a widget says it paints or holds, through an optional
``identity_strings()`` method (the imaging panel's corner text and the DICOM headers it holds). The
needles are the identifiers a patient can be recognised by: name (as written, and in DICOM's
``Family^Given`` form), patient ID and birth date.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from core.consult.patient import Patient


@dataclass(frozen=True)
class Found:
    needle: str
    where: str
    text: str


def needles(patient: Patient) -> list[str]:
    """What identifies ``patient`` in text: the name in both orders and DICOM form, the ID, the birth date."""
    out = [patient.name, patient.patient_id]
    parts = patient.name.split()
    if len(parts) == 2:
        out += [f"{parts[0]}^{parts[1]}", f"{parts[1]} {parts[0]}", f"{parts[0].upper()}^{parts[1].upper()}"]
    if patient.birth_date is not None:
        out += [patient.birth_date.isoformat(), patient.birth_date.strftime("%Y%m%d")]
    return [n for n in out if n]


def _model_texts(view: QAbstractItemView) -> Iterator[str]:
    model = view.model()
    if model is None:
        return

    def count(method: str, parent: QModelIndex) -> int:
        try:
            return int(getattr(model, method)(parent))
        except TypeError:  # list models keep the counts for a parent private: one column, no children
            return 1 if method == "columnCount" else (0 if parent.isValid() else model.rowCount())

    def walk(parent: QModelIndex) -> Iterator[str]:
        for row in range(count("rowCount", parent)):
            for column in range(max(1, count("columnCount", parent))):
                index = model.index(row, column, parent)
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    value = model.data(index, role)
                    if value:
                        yield str(value)
                if column == 0 and count("rowCount", index) > 0:
                    yield from walk(index)

    yield from walk(QModelIndex())


def widget_texts(widget: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) of everything ``widget`` shows or says it holds."""
    name = f"{type(widget).__name__}#{widget.objectName()}"
    texts: list[str] = [widget.toolTip(), widget.windowTitle(), widget.statusTip(), widget.accessibleName()]
    if isinstance(widget, QLabel | QAbstractButton):
        texts.append(widget.text())
    if isinstance(widget, QLineEdit):
        texts += [widget.text(), widget.placeholderText()]
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        texts.append(widget.toPlainText())
    if isinstance(widget, QComboBox):
        texts += [widget.itemText(i) for i in range(widget.count())]
    if isinstance(widget, QAbstractItemView):
        texts += list(_model_texts(widget))
    held = getattr(widget, "identity_strings", None)
    if callable(held):
        texts += [str(t) for t in held()]
    for text in texts:
        if text:
            yield name, text


def find_identifiers(
    patients: Iterable[Patient], roots: Iterable[QWidget] = (), exclude: Iterable[QWidget] = ()
) -> list[Found]:
    """Every occurrence of any identifier of ``patients`` in the roots and in every top-level widget,
    but for the widgets in ``exclude`` and their children."""
    skipped = list(exclude)
    app = QApplication.instance()
    tops: list[QWidget] = list(roots)
    if isinstance(app, QApplication):
        tops += [w for w in app.topLevelWidgets() if w not in tops]
    seen: set[int] = set()
    wanted = [(n, n.casefold()) for p in patients for n in needles(p)]
    found: list[Found] = []
    for top in tops:
        for widget in [top, *top.findChildren(QWidget)]:
            if id(widget) in seen or any(w is widget or w.isAncestorOf(widget) for w in skipped):
                continue
            seen.add(id(widget))
            for where, text in widget_texts(widget):
                folded = text.casefold()
                found += [Found(needle, where, text[:200]) for needle, low in wanted if low in folded]
    return found
