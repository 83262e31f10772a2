"""Multiplanar reformatting: axial, coronal and sagittal views linked by one crosshair.

A click (or drag) in any view puts the crosshair at that patient position; the other two page to
the slices through it. Window/level and measurements are shared by the three views.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from core.i18n import tr
from viewers.dicom.volume import Volume
from viewers.measure import MeasurementDocument
from viewers.reslice import Plane, Preset, WindowLevel
from viewers.slice_view import QtSliceView, Tool


class QtMprView(QWidget):
    def __init__(self, document: MeasurementDocument | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mprView")
        self.document = document if document is not None else MeasurementDocument()
        self.views = {plane: QtSliceView(plane, self.document) for plane in Plane}
        self.info = QLabel()
        self.info.setObjectName("mprInfo")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("QLabel { background: black; color: #e0e0e0; padding: 8px; }")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        grid.addWidget(self.views[Plane.AXIAL], 0, 0)
        grid.addWidget(self.views[Plane.CORONAL], 0, 1)
        grid.addWidget(self.views[Plane.SAGITTAL], 1, 0)
        grid.addWidget(self.info, 1, 1)
        self.crosshair: np.ndarray | None = None
        for view in self.views.values():
            view.show_crosshair = True
            view.sig_crosshair_moved.connect(self.set_crosshair)
            view.sig_window_changed.connect(self._window_changed)
        self._update_info()

    def set_volume(self, volume: Volume | None, window: WindowLevel | None = None) -> None:
        for view in self.views.values():
            view.set_volume(volume, window)
        if volume is not None and volume.kind != "cine":
            shape = volume.array.shape
            centre = volume.index_to_lps([(shape[2] - 1) / 2, (shape[1] - 1) / 2, (shape[0] - 1) / 2])
            self.set_crosshair(centre)
        else:
            self.crosshair = None
        self._update_info()

    def set_crosshair(self, point: np.ndarray) -> None:
        self.crosshair = np.asarray(point, dtype=np.float64)
        for view in self.views.values():
            view.set_crosshair(self.crosshair, move_slice=True)
        self._update_info()

    def _window_changed(self, window: WindowLevel) -> None:
        for view in self.views.values():
            current = view.current_window()
            if current is not None and current != window:
                view.set_window(window)

    def set_window(self, window: WindowLevel) -> None:
        for view in self.views.values():
            view.set_window(window)

    def apply_preset(self, preset: Preset) -> None:
        self.views[Plane.AXIAL].apply_preset(preset)  # the signal carries it to the other two

    def set_tool(self, tool: Tool) -> None:
        for view in self.views.values():
            view.set_tool(tool)

    def attach_annotations(self, context: object) -> None:
        """Show and place the patient-space annotations of ``context`` in all three planes."""
        for view in self.views.values():
            view.attach_annotations(context)

    def set_overlay(self, left: list[str], right: list[str]) -> None:
        self.views[Plane.AXIAL].set_overlay(left, right)

    def set_value_unit(self, unit: str) -> None:
        for view in self.views.values():
            view.value_unit = unit

    def refresh(self) -> None:
        for view in self.views.values():
            view.refresh()

    def retranslate(self) -> None:
        self._update_info()

    def _update_info(self) -> None:
        lines = [tr("QtMprView", "MPR: click or drag in a view to move the crosshair.")]
        if self.crosshair is not None:
            x, y, z = (float(v) for v in self.crosshair)
            lines.append(
                tr("QtMprView", "Crosshair (LPS): %1, %2, %3 mm")
                .replace("%1", f"{x:.1f}")
                .replace("%2", f"{y:.1f}")
                .replace("%3", f"{z:.1f}")
            )
            volume = self.views[Plane.AXIAL].volume
            if volume is not None:
                ijk = np.round(volume.lps_to_index(self.crosshair.tolist())).astype(int)
                shape = volume.array.shape
                if all(0 <= ijk[c] < shape[2 - c] for c in range(3)):
                    value = float(volume.array[ijk[2], ijk[1], ijk[0]])
                    lines.append(tr("QtMprView", "Value: %1").replace("%1", f"{value:.0f}"))
        self.info.setText("\n".join(lines))

    def close_model(self) -> None:
        for view in self.views.values():
            view.close_model()
