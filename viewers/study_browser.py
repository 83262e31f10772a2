"""The study browser: patients > studies > series with thumbnails and counts; files not loaded, with why."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from core.i18n import tr
from viewers.dicom.discovery import DiscoveryResult, Rejected

THUMB_SIZE = 64
SERIES_UID_ROLE = Qt.ItemDataRole.UserRole + 1  # the series' key (its UID unless another patient shares it)


def thumbnail_image(pixels: np.ndarray) -> QImage:
    """A grey or RGB uint8 array as a QImage (copied, so the array may go)."""
    data = np.ascontiguousarray(pixels, dtype=np.uint8)
    rows, cols = data.shape[:2]
    if data.ndim == 3:
        return QImage(data.data, cols, rows, cols * 3, QImage.Format.Format_RGB888).copy()
    return QImage(data.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()


def _date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


class QtStudyBrowser(QWidget):
    sig_series_activated = Signal(str)  # the series' key (discovery.Series.key)

    def __init__(self, show_identity: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("studyBrowser")
        self.show_identity = show_identity
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("studyTree")
        self.tree.setColumnCount(2)
        self.tree.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.tree.setUniformRowHeights(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemDoubleClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.series_items: dict[str, QTreeWidgetItem] = {}
        self.rejected_item: QTreeWidgetItem | None = None
        self.retranslate()

    def retranslate(self) -> None:
        self.tree.setHeaderLabels([tr("QtStudyBrowser", "Study"), tr("QtStudyBrowser", "Images")])

    def clear(self) -> None:
        self.tree.clear()
        self.series_items.clear()
        self.rejected_item = None

    def set_result(self, result: DiscoveryResult) -> None:
        self.clear()
        for number, patient in enumerate(result.patients, start=1):
            if self.show_identity:
                name = str(patient.patient_name).replace("^", " ").strip()
                name = name or tr("QtStudyBrowser", "(no name)")
                label = f"{name}  [{patient.patient_id}]" if patient.patient_id else name
            else:
                label = tr("QtStudyBrowser", "Patient %1").replace("%1", str(number))
            count = sum(study.instance_count for study in patient.studies)
            p_item = QTreeWidgetItem([label, str(count)])
            self.tree.addTopLevelItem(p_item)
            for study in patient.studies:
                text = " · ".join(
                    part
                    for part in (_date(study.study_date), study.description or tr("QtStudyBrowser", "Study"))
                    if part
                )
                s_item = QTreeWidgetItem([text, str(study.instance_count)])
                s_item.setToolTip(0, study.study_instance_uid)
                p_item.addChild(s_item)
                for series in study.series:
                    title = series.description or tr("QtStudyBrowser", "Series %1").replace(
                        "%1", str(series.series_number if series.series_number is not None else "?")
                    )
                    frames = series.frame_count
                    count_text = str(series.instance_count)
                    if frames != series.instance_count:
                        count_text = tr("QtStudyBrowser", "%1 (%2 frames)").replace(
                            "%1", str(series.instance_count)
                        ).replace("%2", str(frames))
                    item = QTreeWidgetItem([f"{series.modality or '?'} · {title}", count_text])
                    item.setData(0, SERIES_UID_ROLE, series.key)
                    item.setToolTip(0, series.series_instance_uid)
                    item.setSizeHint(0, QSize(THUMB_SIZE, THUMB_SIZE + 4))
                    s_item.addChild(item)
                    self.series_items[series.key] = item
        self.set_rejected(result.rejected)
        self.tree.expandAll()

    def set_rejected(self, rejected: list[Rejected]) -> None:
        if self.rejected_item is not None:
            index = self.tree.indexOfTopLevelItem(self.rejected_item)
            self.tree.takeTopLevelItem(index)
            self.rejected_item = None
        if not rejected:
            return
        title = tr("QtStudyBrowser", "Files not loaded (%1)").replace("%1", str(len(rejected)))
        self.rejected_item = QTreeWidgetItem([title, str(len(rejected))])
        self.rejected_item.setForeground(0, Qt.GlobalColor.darkRed)
        for entry in rejected:
            child = QTreeWidgetItem([f"{entry.path.name}: {entry.reason}", ""])
            child.setToolTip(0, f"{entry.path}\n{entry.reason}")
            self.rejected_item.addChild(child)
        self.tree.addTopLevelItem(self.rejected_item)
        self.rejected_item.setExpanded(True)

    def rejected_texts(self) -> list[str]:
        if self.rejected_item is None:
            return []
        children = (self.rejected_item.child(k) for k in range(self.rejected_item.childCount()))
        return [child.text(0) for child in children if child is not None]

    def set_thumbnail(self, series_key: str, pixels: np.ndarray) -> None:
        item = self.series_items.get(series_key)
        if item is not None:
            pixmap = QPixmap.fromImage(thumbnail_image(pixels)).scaled(
                THUMB_SIZE,
                THUMB_SIZE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            item.setIcon(0, QIcon(pixmap))

    def select_series(self, series_key: str) -> None:
        item = self.series_items.get(series_key)
        if item is not None:
            self.tree.setCurrentItem(item)

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        uid = item.data(0, SERIES_UID_ROLE)
        if uid:
            self.sig_series_activated.emit(str(uid))
