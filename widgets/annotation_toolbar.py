"""QtAnnotationToolbar: the drawing tools for a QtAnnotationOverlay: tool buttons, colour, undo and redo,
clear and freeze-frame. It only sets the overlay's tool and colour and calls the document; it draws
nothing itself."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QMenu, QToolButton, QWidget

from core.i18n import tr
from widgets.annotation_overlay import QtAnnotationOverlay, Tool


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class QtAnnotationToolbar(QWidget):
    def __init__(self, overlay: QtAnnotationOverlay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay = overlay
        self.document = overlay.document
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.tool_buttons: dict[Tool, QToolButton] = {}
        for tool in (Tool.NONE, Tool.POINTER, Tool.ARROW, Tool.ELLIPSE, Tool.STROKE, Tool.POLYLINE,
                     Tool.MARKER, Tool.TEXT, Tool.RULER):
            button = QToolButton()
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.clicked.connect(lambda _checked=False, t=tool: self.select(t))
            self.group.addButton(button)
            self.tool_buttons[tool] = button
            layout.addWidget(button)
        self.tool_buttons[overlay.tool].setChecked(True)
        layout.addSpacing(6)
        self.colour_button = QToolButton()
        self.colour_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.colour_menu = QMenu(self.colour_button)
        self.colour_menu.aboutToShow.connect(self._fill_colours)
        self.colour_button.setMenu(self.colour_menu)
        layout.addWidget(self.colour_button)
        self.anchor_button = QToolButton()
        self.anchor_button.setCheckable(True)
        self.anchor_button.toggled.connect(self._anchor_toggled)
        layout.addWidget(self.anchor_button)
        self.undo_button = QToolButton()
        self.undo_button.clicked.connect(self.document.undo)
        self.redo_button = QToolButton()
        self.redo_button.clicked.connect(self.document.redo)
        self.clear_button = QToolButton()
        self.clear_button.clicked.connect(lambda: self.document.clear("video"))
        self.freeze_button = QToolButton()
        self.freeze_button.setCheckable(True)
        self.freeze_button.setObjectName("annotationFreeze")
        self.freeze_button.clicked.connect(overlay.request_freeze)
        for button in (self.undo_button, self.redo_button, self.clear_button, self.freeze_button):
            layout.addWidget(button)
        layout.addStretch(1)
        self.document.changed.connect(self._changed)
        overlay.sig_frozen.connect(self._on_frozen)
        self._closed = False
        self.retranslate()

    def _changed(self) -> None:
        # The document emits ``changed`` before it records the undo step: look once it has.
        QTimer.singleShot(0, self, self._render)

    def select(self, tool: Tool) -> None:
        self.overlay.set_tool(tool)
        self.tool_buttons[tool].setChecked(True)

    def _fill_colours(self) -> None:
        from core.annotations.model import AUTHOR_COLOURS

        self.colour_menu.clear()
        mine = self.colour_menu.addAction(tr("Annotations", "My colour"))
        mine.triggered.connect(lambda: self.set_colour(None))
        for colour in AUTHOR_COLOURS:
            action = self.colour_menu.addAction(_swatch(colour), colour)
            action.triggered.connect(lambda _checked=False, c=colour: self.set_colour(c))

    def _anchor_toggled(self, anchored: bool) -> None:
        self.overlay.anchored = anchored

    def set_colour(self, colour: str | None) -> None:
        self.overlay.colour = colour
        self._render()

    def _on_frozen(self, frame_id: object) -> None:
        self.freeze_button.setChecked(frame_id is not None)
        self._render()

    def _render(self) -> None:
        from core.annotations.model import colour_for

        self.undo_button.setEnabled(self.document.can_undo)
        self.redo_button.setEnabled(self.document.can_redo)
        self.clear_button.setEnabled(bool(self.document.in_space("video")))
        self.colour_button.setIcon(_swatch(self.overlay.colour or colour_for(self.document.author)))
        frozen = self.overlay.frozen_frame is not None
        self.freeze_button.setText(tr("Annotations", "Release") if frozen else tr("Annotations", "Freeze"))

    def retranslate(self) -> None:
        names = {
            Tool.NONE: (tr("Annotations", "View"), tr("Annotations", "No drawing tool")),
            Tool.POINTER: (tr("Annotations", "Point"), tr("Annotations", "Point at something briefly")),
            Tool.ARROW: (tr("Annotations", "Arrow"), tr("Annotations", "Drag from tail to head")),
            Tool.ELLIPSE: (tr("Annotations", "Circle"), tr("Annotations", "Drag a circle or ellipse")),
            Tool.STROKE: (tr("Annotations", "Pen"), tr("Annotations", "Draw freehand (pen pressure)")),
            Tool.POLYLINE: (
                tr("Annotations", "Path"),
                tr("Annotations", "Click points; double-click or Enter ends the path"),
            ),
            Tool.MARKER: (tr("Annotations", "Marker"), tr("Annotations", "Mark a point")),
            Tool.TEXT: (tr("Annotations", "Text"), tr("Annotations", "Click, type a label, Enter")),
            Tool.RULER: (tr("Annotations", "Ruler"), tr("Annotations", "Measure a distance")),
        }
        for tool, (text, tip) in names.items():
            self.tool_buttons[tool].setText(text)
            self.tool_buttons[tool].setToolTip(tip)
        self.colour_button.setText(tr("Annotations", "Colour"))
        self.colour_button.setToolTip(tr("Annotations", "Colour of new shapes"))
        self.anchor_button.setText(tr("Annotations", "Anchor"))
        self.anchor_button.setToolTip(
            tr("Annotations", "New shapes follow the tissue when the camera or probe moves")
        )
        self.undo_button.setText(tr("Annotations", "Undo"))
        self.undo_button.setToolTip(tr("Annotations", "Undo my last change"))
        self.redo_button.setText(tr("Annotations", "Redo"))
        self.clear_button.setText(tr("Annotations", "Clear"))
        self.clear_button.setToolTip(tr("Annotations", "Remove every annotation on the video (undoable)"))
        self.freeze_button.setToolTip(
            tr("Annotations", "Freeze the picture at both sites to annotate it; release to go live")
        )
        self._render()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_toolbar(self) -> None:
        """Stop observing the document. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.document.changed.disconnect(self._changed)

    def sizeHint(self) -> QSize:
        return QSize(640, 30)
