"""Ultrasound guidance mode (issue 7): depth calibration and the planned needle path on the video.

Both live in the shared annotation document, so both sites see them and compute the same numbers:
- the calibration is a ``ruler`` whose two points lie on the scanner's on-screen depth ruler and whose
  text is ``"calibration:<mm>"`` (the distance between them); the newest one counts;
- the needle path is a ``needle`` ``[entry, target]``, or ``[entry, target, tip]`` once the tip is
  marked; the overlay writes its angle, length, depth and the remaining distance beside it.
Millimetres come from ``core.annotations.guidance`` with each site's own frame size: the points are
normalised, so a site that receives the video scaled down still gets the same millimetres.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.i18n import tr
from widgets.annotation_overlay import QtAnnotationOverlay, VideoPoint

if TYPE_CHECKING:
    from core.annotations.guidance import NeedlePath
    from core.annotations.model import Annotation, AnnotationDocument

CALIBRATION_PREFIX = "calibration:"


def calibration_text(distance_mm: float) -> str:
    return f"{CALIBRATION_PREFIX}{distance_mm:g}"


def calibration_mm(annotation: Annotation) -> float | None:
    """The distance a calibration ruler stands for, or None when it is not one (or says nonsense)."""
    if annotation.kind != "ruler" or not annotation.text.startswith(CALIBRATION_PREFIX):
        return None
    try:
        value = float(annotation.text[len(CALIBRATION_PREFIX) :])
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def current_calibration(doc: AnnotationDocument) -> Annotation | None:
    """The newest calibration ruler on the video (by Lamport stamp), if any."""
    found = [a for a in doc.in_space("video") if calibration_mm(a) is not None]
    return max(found, key=lambda a: (a.lamport, a.id)) if found else None


def mm_per_px(doc: AnnotationDocument, frame_size: tuple[int, int] | None) -> float | None:
    from core.annotations.guidance import calibrate_depth

    ruler = current_calibration(doc)
    if ruler is None or frame_size is None:
        return None
    distance = calibration_mm(ruler)
    assert distance is not None
    try:
        return calibrate_depth(ruler.points[0], ruler.points[1], distance, frame_size)
    except ValueError:
        return None


def needle_readout(
    needle: Annotation, scale: float | None, frame_size: tuple[int, int] | None
) -> NeedlePath | None:
    from core.annotations.guidance import needle_path

    if needle.kind != "needle" or scale is None or frame_size is None or len(needle.points) < 2:
        return None
    tip = needle.points[2] if len(needle.points) > 2 else None
    return needle_path(needle.points[0], needle.points[1], scale, frame_size, tip=tip)


def current_needle(doc: AnnotationDocument) -> Annotation | None:
    found = [a for a in doc.in_space("video") if a.kind == "needle"]
    return max(found, key=lambda a: (a.lamport, a.id)) if found else None


def readout_lines(path: NeedlePath | None) -> list[str]:
    if path is None:
        return [tr("UsGuidance", "Calibrate the depth to see millimetres")]
    lines = [
        tr("UsGuidance", "Angle %1°").replace("%1", f"{path.angle_deg:.0f}"),
        tr("UsGuidance", "Path %1 mm").replace("%1", f"{path.length_mm:.1f}"),
        tr("UsGuidance", "Depth %1 mm").replace("%1", f"{path.depth_mm:.1f}"),
    ]
    if path.remaining_mm is not None:
        lines.append(tr("UsGuidance", "To target %1 mm").replace("%1", f"{path.remaining_mm:.1f}"))
    return lines


def install_labels(overlay: QtAnnotationOverlay) -> None:
    """Write millimetres beside rulers and needles on ``overlay`` (both sites do this)."""
    doc = overlay.document

    def label(annotation: Annotation) -> list[str]:
        size = overlay.picture_size()
        if annotation.kind == "needle":
            return readout_lines(needle_readout(annotation, mm_per_px(doc, size), size))
        distance = calibration_mm(annotation)
        if distance is not None:
            return [tr("UsGuidance", "%1 mm (depth calibration)").replace("%1", f"{distance:g}")]
        scale = mm_per_px(doc, size)
        if annotation.kind == "ruler" and scale is not None and size is not None:
            from core.annotations.guidance import pixel_distance

            mm = pixel_distance(annotation.points[0], annotation.points[1], size) * scale
            return [tr("UsGuidance", "%1 mm").replace("%1", f"{mm:.1f}")]
        return []

    overlay.labeller = label
    overlay.label_key = lambda: (current_calibration(doc), overlay.picture_size())


class QtUltrasoundGuidance(QWidget):
    """The guidance controls beside the video: calibrate, plan the path, mark the tip; live readout."""

    def __init__(self, overlay: QtAnnotationOverlay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay = overlay
        self.document = overlay.document
        self._picks: list[VideoPoint] = []
        self._mode = ""  # "", "calibrate", "needle", "tip"
        self.calibrate_button = QPushButton()
        self.calibrate_button.clicked.connect(lambda: self._arm("calibrate"))
        self.distance = QDoubleSpinBox()
        self.distance.setRange(1.0, 300.0)
        self.distance.setDecimals(1)
        self.distance.setValue(50.0)
        self.distance.setSuffix(" mm")
        self.apply_button = QPushButton()
        self.apply_button.clicked.connect(self.apply_calibration)
        self.needle_button = QPushButton()
        self.needle_button.clicked.connect(lambda: self._arm("needle"))
        self.tip_button = QPushButton()
        self.tip_button.clicked.connect(lambda: self._arm("tip"))
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #d39a00;")
        self.scale_label = QLabel()
        self.angle_label = QLabel()
        self.length_label = QLabel()
        self.depth_label = QLabel()
        self.remaining_label = QLabel()
        self.remaining_label.setStyleSheet("font-weight: 600; font-size: 14pt;")
        self.form = QFormLayout()
        self._form_labels = [QLabel() for _ in range(5)]
        for name, value in zip(
            self._form_labels,
            (self.scale_label, self.angle_label, self.length_label, self.depth_label, self.remaining_label),
            strict=True,
        ):
            self.form.addRow(name, value)
        calibrate_row = QHBoxLayout()
        calibrate_row.addWidget(self.calibrate_button)
        calibrate_row.addWidget(self.distance)
        calibrate_row.addWidget(self.apply_button)
        path_row = QHBoxLayout()
        path_row.addWidget(self.needle_button)
        path_row.addWidget(self.tip_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(calibrate_row)
        layout.addLayout(path_row)
        layout.addWidget(self.hint)
        layout.addLayout(self.form)
        layout.addStretch(1)
        self.document.changed.connect(self._render)
        self._closed = False
        self.retranslate()

    # calibration and planning ----------------------------------------------------------------------
    def _arm(self, mode: str) -> None:
        self._mode, self._picks = mode, []
        self.overlay.pick_point(self._picked)
        self._render()

    def _disarm(self) -> None:
        self._mode = ""
        self.overlay.pick_point(None)

    def _picked(self, point: VideoPoint) -> None:
        self._picks.append(point)
        if self._mode == "calibrate" and len(self._picks) == 2:
            self.overlay.pick_point(None)  # two marks taken: now the distance
            self.distance.setFocus()
            self.distance.selectAll()
        elif self._mode == "needle" and len(self._picks) == 2:
            self.plan(self._picks[0], self._picks[1])
            self._disarm()
        elif self._mode == "tip":
            self.mark_tip(point)
            self._disarm()
        self._render()

    def calibrate(self, a: VideoPoint, b: VideoPoint, distance_mm: float) -> None:
        """Two points on the depth ruler ``distance_mm`` apart: the scale for every millimetre shown."""
        self.document.add("ruler", "video", [list(a), list(b)], text=calibration_text(distance_mm),
                          colour="#ffffff", width=1.5)

    def apply_calibration(self) -> None:
        if self._mode == "calibrate" and len(self._picks) == 2:
            self.calibrate(self._picks[0], self._picks[1], self.distance.value())
            self._disarm()
            self._render()

    def plan(self, entry: VideoPoint, target: VideoPoint) -> None:
        self.document.add("needle", "video", [list(entry), list(target)], colour="#7cff4f", width=2.5)

    def mark_tip(self, tip: VideoPoint) -> None:
        needle = current_needle(self.document)
        if needle is None or needle.author != self.document.author:
            return
        self.document.update(needle.id, points=[list(needle.points[0]), list(needle.points[1]), list(tip)])

    def readout(self) -> NeedlePath | None:
        needle = current_needle(self.document)
        size = self.overlay.picture_size()
        if needle is None:
            return None
        return needle_readout(needle, mm_per_px(self.document, size), size)

    # rendering -------------------------------------------------------------------------------------
    def _render(self) -> None:
        hints = {
            "calibrate": [
                tr("UsGuidance", "Click two marks on the depth ruler"),
                tr("UsGuidance", "Click the second mark on the depth ruler"),
                tr("UsGuidance", "Type the distance between the marks, then Apply"),
            ],
            "needle": [
                tr("UsGuidance", "Click the entry point"),
                tr("UsGuidance", "Click the target"),
            ],
            "tip": [tr("UsGuidance", "Click the needle tip")],
        }.get(self._mode)
        self.hint.setText(hints[min(len(self._picks), len(hints) - 1)] if hints else "")
        self.hint.setVisible(bool(hints))
        self.apply_button.setEnabled(self._mode == "calibrate" and len(self._picks) == 2)
        needle = current_needle(self.document)
        self.tip_button.setEnabled(needle is not None and needle.author == self.document.author)
        size = self.overlay.picture_size()
        scale = mm_per_px(self.document, size)
        self.scale_label.setText(
            tr("UsGuidance", "%1 mm per pixel").replace("%1", f"{scale:.3f}")
            if scale is not None
            else tr("UsGuidance", "not calibrated")
        )
        path = self.readout()
        dash = "-"
        self.angle_label.setText(f"{path.angle_deg:.0f}°" if path else dash)
        self.length_label.setText(f"{path.length_mm:.1f} mm" if path else dash)
        self.depth_label.setText(f"{path.depth_mm:.1f} mm" if path else dash)
        remaining = path.remaining_mm if path else None
        self.remaining_label.setText(f"{remaining:.1f} mm" if remaining is not None else dash)

    def retranslate(self) -> None:
        self.calibrate_button.setText(tr("UsGuidance", "Calibrate depth"))
        self.calibrate_button.setToolTip(
            tr("UsGuidance", "Click two marks on the scanner's depth ruler and type their distance")
        )
        self.apply_button.setText(tr("UsGuidance", "Apply"))
        self.needle_button.setText(tr("UsGuidance", "Plan needle path"))
        self.needle_button.setToolTip(tr("UsGuidance", "Click the entry point, then the target"))
        self.tip_button.setText(tr("UsGuidance", "Mark needle tip"))
        self.tip_button.setToolTip(tr("UsGuidance", "Click where the needle tip is now"))
        names = (
            tr("UsGuidance", "Scale"),
            tr("UsGuidance", "Angle to skin"),
            tr("UsGuidance", "Path length"),
            tr("UsGuidance", "Target depth"),
            tr("UsGuidance", "Remaining to target"),
        )
        for label, text in zip(self._form_labels, names, strict=True):
            label.setText(text)
        self._render()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def close_guidance(self) -> None:
        """Stop observing the document. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.overlay.pick_point(None)
        self.document.changed.disconnect(self._render)

    def sizeHint(self) -> QSize:
        return QSize(280, 240)
