"""The alarm banner: IEC 60601-1-8 colours and flashing, acknowledge and audio pause.

High priority: red, flashing at 2 Hz (the standard asks 1.4-2.8 Hz); medium: yellow, flashing at
0.6 Hz (0.4-0.8 Hz); low: cyan, steady. An acknowledged alarm stays shown but steady. A latched
high-priority alarm whose condition has ended keeps flashing, saying that it ended and when, until
acknowledged.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from core.i18n import tr
from core.vitals.alarms import Alarm, AlarmSnapshot, Priority
from core.vitals.engine import OTHER_PATIENT_PREFIX

BANNER_COLOURS: dict[Priority, tuple[str, str]] = {
    Priority.HIGH: ("#e00000", "#ffffff"),
    Priority.MEDIUM: ("#ffd000", "#000000"),
    Priority.LOW: ("#00c8e8", "#000000"),
}
FLASH_HZ: dict[Priority, float] = {Priority.HIGH: 2.0, Priority.MEDIUM: 0.6, Priority.LOW: 0.0}


def alarm_text(alarm: Alarm) -> str:
    """The translated text for an alarm, with its value where it has one."""
    texts = {
        "asystole": tr("QtAlarmBanner", "ASYSTOLE"),
        "hr_high": tr("QtAlarmBanner", "HR high"),
        "hr_low": tr("QtAlarmBanner", "HR low"),
        "irregular": tr("QtAlarmBanner", "Irregular HR"),
        "spo2_low": tr("QtAlarmBanner", "SpO2 low"),
        "sys_low": tr("QtAlarmBanner", "Systolic pressure low"),
        "sys_high": tr("QtAlarmBanner", "Systolic pressure high"),
        "apnoea": tr("QtAlarmBanner", "APNOEA"),
        "rr_high": tr("QtAlarmBanner", "Respiration rate high"),
        "rr_low": tr("QtAlarmBanner", "Respiration rate low"),
        "etco2_low": tr("QtAlarmBanner", "etCO2 low"),
        "etco2_high": tr("QtAlarmBanner", "etCO2 high"),
        "temp_high": tr("QtAlarmBanner", "Temperature high"),
        "news2_high": tr("QtAlarmBanner", "NEWS2: emergency response"),
        "news2_medium": tr("QtAlarmBanner", "NEWS2: urgent response"),
        "ecg_lead_off": tr("QtAlarmBanner", "ECG lead off"),
        "stale": tr("QtAlarmBanner", "No data from the bedside for %1 s"),
        "feed_other_patient": tr("QtAlarmBanner", "Feed for another patient: %1"),
        "ecg_lost": tr("QtAlarmBanner", "ECG signal lost"),
        "pleth_lost": tr("QtAlarmBanner", "SpO2 signal lost"),
        "resp_lost": tr("QtAlarmBanner", "Respiration signal lost"),
        "abp_lost": tr("QtAlarmBanner", "Arterial pressure signal lost"),
        "co2_lost": tr("QtAlarmBanner", "CO2 signal lost"),
    }
    text = texts.get(alarm.alarm_id, alarm.message)
    if alarm.alarm_id == "stale":
        text = text.replace("%1", f"{alarm.value or 0:.0f}")
    elif alarm.alarm_id == "feed_other_patient":
        text = text.replace("%1", alarm.message.removeprefix(OTHER_PATIENT_PREFIX))
    elif alarm.value is not None and alarm.alarm_id != "irregular":
        text = f"{text} {alarm.value:.0f}"
    if alarm.ended_at is not None:  # latched: shown until acknowledged, with when its condition ended
        ended = time.strftime("%H:%M:%S", time.localtime(alarm.ended_at))
        text = (
            tr("QtAlarmBanner", "%1 — ended at %2, acknowledge to clear")
            .replace("%2", ended)
            .replace("%1", text)
        )
    return text


class QtAlarmBanner(QFrame):
    sig_acknowledge = Signal()
    sig_pause_audio = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self.setMinimumHeight(44)
        self.message = QLabel()
        self.message.setObjectName("alarmMessage")
        self.others = QLabel()
        self.others.setObjectName("alarmOthers")
        self.audio = QLabel()
        self.audio.setObjectName("alarmAudio")
        self.ack_button = QPushButton()
        self.ack_button.setObjectName("alarmAcknowledge")
        self.pause_button = QPushButton()
        self.pause_button.setObjectName("alarmPauseAudio")
        # Long alarm texts must never widen the dock (and push the window off a laptop screen): the
        # labels give up width first and the full list stays in the tooltip.
        for label in (self.message, self.others):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(0)
        self.message.setMinimumWidth(180)  # the alarm itself is what must stay readable
        self.ack_button.clicked.connect(self.sig_acknowledge)
        self.pause_button.clicked.connect(self.sig_pause_audio)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 10, 4)
        row.addWidget(self.message, 1)
        row.addWidget(self.others)
        row.addWidget(self.audio)
        row.addWidget(self.ack_button)
        row.addWidget(self.pause_button)
        self.snapshot: AlarmSnapshot | None = None
        self.sound_unavailable = ""  # why the alarm cannot sound here; shown, never hidden
        self.lit = True
        self.retranslate()
        self.show_snapshot(AlarmSnapshot((), 0.0, 0.0), 0.0)

    def retranslate(self) -> None:
        self.ack_button.setText(tr("QtAlarmBanner", "Acknowledge"))
        self.pause_button.setText(tr("QtAlarmBanner", "Audio pause 2 min"))

    def show_snapshot(self, snapshot: AlarmSnapshot, t: float) -> None:
        """Render the alarm state at time ``t`` (seconds, any monotonic base): drives the flashing."""
        self.snapshot = snapshot
        alarms = snapshot.alarms
        self.ack_button.setEnabled(any(not a.acknowledged for a in alarms))
        self.pause_button.setEnabled(bool(alarms))
        if snapshot.audio_paused_s > 0:
            left = int(snapshot.audio_paused_s + 0.999)
            self.audio.setText(
                tr("QtAlarmBanner", "Audio paused %1:%2")
                .replace("%1", str(left // 60))
                .replace("%2", f"{left % 60:02d}")
            )
        elif snapshot.audio_on:
            self.audio.setText(tr("QtAlarmBanner", "Audio on"))
        else:
            self.audio.setText("")
        if self.sound_unavailable:
            warning = tr("QtAlarmBanner", "⚠ No alarm sound")
            self.audio.setText(" · ".join(t for t in (self.audio.text(), warning) if t))
            self.audio.setToolTip(self.sound_unavailable)
        if not alarms:
            self.lit = False
            self.message.setText(tr("QtAlarmBanner", "No active alarms"))
            self.others.setText("")
            self._style("#202020", "#9a9a9a")
            return
        top = alarms[0]
        self.message.setText(("✓ " if top.acknowledged else "") + alarm_text(top))
        rest = [alarm_text(a) for a in alarms[1:]]
        self.others.setText(" · ".join(rest[:3]) + (" …" if len(rest) > 3 else ""))
        self.setToolTip("\n".join(alarm_text(a) for a in alarms))
        hz = 0.0 if top.acknowledged else FLASH_HZ[top.priority]
        self.lit = hz == 0.0 or (t * hz) % 1.0 < 0.5
        bg, fg = BANNER_COLOURS[top.priority]
        self._style(bg if self.lit else "#202020", fg if self.lit else bg)

    def _style(self, bg: str, fg: str) -> None:
        sheet = (
            f"#alarmBanner {{ background: {bg}; border-radius: 3px; }}"
            f"#alarmMessage {{ color: {fg}; font-size: 20px; font-weight: 700; }}"
            f"#alarmOthers, #alarmAudio {{ color: {fg}; font-size: 13px; }}"
        )
        if sheet != self.styleSheet():
            self.setStyleSheet(sheet)
        self.message.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
