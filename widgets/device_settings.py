"""Camera and microphone choice for calls (Settings). Lists what the machine has; says so when nothing.

The choice is a location string: a V4L2 device path, an ALSA device (``hw:1,0``), or "" for the
synthetic test pattern / tone that every machine has. ``sources()`` turns it back into MediaSources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from core.i18n import tr

if TYPE_CHECKING:
    from rtc.media import MediaSource


class QtDeviceSettings(QWidget):
    def __init__(self, camera: str = "", microphone: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = QComboBox()
        self.camera.setObjectName("cameraChoice")
        self.microphone = QComboBox()
        self.microphone.setObjectName("microphoneChoice")
        self.camera_note = QLabel()
        self.microphone_note = QLabel()
        for note in (self.camera_note, self.microphone_note):
            note.setEnabled(False)  # rendered in the muted palette colour
        self.refresh_button = QPushButton(tr("DeviceSettings", "Look again"))
        self.refresh_button.setToolTip(tr("DeviceSettings", "List the cameras and microphones again"))
        self.refresh_button.clicked.connect(self.refresh)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for label, combo, note in (
            (tr("DeviceSettings", "Camera:"), self.camera, self.camera_note),
            (tr("DeviceSettings", "Microphone:"), self.microphone, self.microphone_note),
        ):
            row = QHBoxLayout()
            row.addWidget(combo, 1)
            row.addWidget(note)
            form.addRow(label, row)
        form.addRow("", self.refresh_button)
        self._wanted = (camera, microphone)
        self.cameras: list[MediaSource] = []
        self.microphones: list[MediaSource] = []
        self.refresh()

    def refresh(self) -> None:
        from rtc.media import list_cameras, list_microphones

        camera, microphone = self.chosen() if self.camera.count() else self._wanted
        self.cameras, self.microphones = list_cameras(), list_microphones()
        pattern, tone = (
            tr("DeviceSettings", "Test pattern (no camera)"),
            tr("DeviceSettings", "Test tone (no microphone)"),
        )
        self._fill(self.camera, self.cameras, pattern, camera)
        self._fill(self.microphone, self.microphones, tone, microphone)
        self.camera_note.setText(tr("DeviceSettings", "No camera found"))
        self.microphone_note.setText(tr("DeviceSettings", "No microphone found"))
        self.camera_note.setVisible(not self.cameras)
        self.microphone_note.setVisible(not self.microphones)

    @staticmethod
    def _fill(combo: QComboBox, found: list[MediaSource], fallback: str, wanted: str) -> None:
        combo.clear()
        for source in found:
            combo.addItem(source.label, source.location)
        combo.addItem(fallback, "")
        if wanted and combo.findData(wanted) < 0:  # chosen before, unplugged now: keep it visible
            combo.insertItem(0, tr("DeviceSettings", "%1 (not connected)").replace("%1", wanted), wanted)
        combo.setCurrentIndex(max(0, combo.findData(wanted)))

    def chosen(self) -> tuple[str, str]:
        """(camera location, microphone location); "" means the synthetic source."""
        return str(self.camera.currentData() or ""), str(self.microphone.currentData() or "")


def chosen_sources(camera: str, microphone: str) -> tuple[MediaSource, MediaSource]:
    """The MediaSources a call starts with for the stored choice ("" = synthetic)."""
    from rtc.media import SYNTHETIC_AUDIO, SYNTHETIC_VIDEO, MediaSource, SourceKind

    video = SYNTHETIC_VIDEO
    audio = SYNTHETIC_AUDIO
    if camera:
        video = MediaSource(SourceKind.CAMERA, camera, camera, "v4l2")
    if microphone:
        audio = MediaSource(SourceKind.MICROPHONE, microphone, microphone, "alsa")
    return video, audio
