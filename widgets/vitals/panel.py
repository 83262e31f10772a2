"""The monitor-style vitals panel: alarm banner, waveform strips with numerics, 12-lead view, trends.

The panel only reads: a display timer (~60 Hz) pulls new samples from the store's rings, numerics at
4 Hz and the alarm snapshot every frame. Sources and the alarm engine run on their own threads.

Bound to a :class:`~core.vitals.bed.Bed`, it says whose vitals these are and clears everything (buffers,
numerics, alarms, trends, limits) when the bed's patient changes or leaves. Old data never looks live:
a numeric older than the stale limit turns grey with its age, the strips show a gap, and the line above
them says "No data from the bedside for N s" or "Call ended at HH:MM — last values, not live".
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.consult.patient import Patient
from core.i18n import tr
from core.vitals.alarm_sound import AlarmAudio
from core.vitals.bed import Bed, Feed, feed_state
from core.vitals.buffer import VitalsStore
from core.vitals.engine import MonitorEngine
from core.vitals.news2 import Consciousness, Risk
from core.vitals.signals import Numeric, Wave
from core.vitals.simulator import Scenario, SimulatorSource
from core.vitals.sources import SourceError, SourceKind, SourceSwitch
from widgets.vitals.alarm_banner import QtAlarmBanner
from widgets.vitals.context_bar import STALE_GREY, QtVitalsContextBar, age_text
from widgets.vitals.limits_dialog import QtLimitsDialog
from widgets.vitals.strips import COLOURS, NumericStyle, QtWaveformStrips, TraceSpec

FRAME_MS = 16
MONITOR_TRACES = [
    TraceSpec(Wave.ECG, "II", "II"),
    TraceSpec(Wave.ECG, "V5", "V5"),
    TraceSpec(Wave.PLETH, "Pleth", "Pleth"),
    TraceSpec(Wave.ABP, "ABP", "ART"),
    TraceSpec(Wave.RESP, "Resp", "Resp"),
    TraceSpec(Wave.CO2, "CO2", "CO2"),
]
# 12-lead layout as printed: columns I-III, aVR-aVF, V1-V3, V4-V6
TWELVE_LEAD_ORDER = ("I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6")


def scenario_name(s: Scenario) -> str:
    return {
        Scenario.NORMAL: tr("QtVitalsPanel", "Normal sinus rhythm"),
        Scenario.SINUS_TACHYCARDIA: tr("QtVitalsPanel", "Sinus tachycardia"),
        Scenario.ATRIAL_FIBRILLATION: tr("QtVitalsPanel", "Atrial fibrillation"),
        Scenario.ST_ELEVATION: tr("QtVitalsPanel", "ST elevation"),
        Scenario.DESATURATION: tr("QtVitalsPanel", "Desaturation"),
        Scenario.HYPOTENSION: tr("QtVitalsPanel", "Hypotension"),
        Scenario.APNOEA: tr("QtVitalsPanel", "Apnoea"),
        Scenario.ASYSTOLE: tr("QtVitalsPanel", "Asystole"),
        Scenario.LEAD_OFF: tr("QtVitalsPanel", "Lead off"),
    }[s]


def _fmt(value: float | None, digits: int = 0) -> str:
    return "---" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


class QtNumericTile(QFrame):
    """A large numeric with its label and unit, in its signal's colour."""

    def __init__(self, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("numericTile")
        self.title = QLabel()
        self.value = QLabel("---")
        self.detail = QLabel()
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignRight)
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 2, 6, 2)
        col.setSpacing(0)
        col.addWidget(self.title)
        col.addWidget(self.value)
        col.addWidget(self.detail)
        font = self.value.font()
        font.setPixelSize(40)
        font.setBold(True)
        self.value.setFont(font)
        self.colour, self.stale = colour, False
        self._style()

    def set_colour(self, colour: str) -> None:
        self.colour = colour
        self._style()

    def set_stale(self, stale: bool) -> None:
        """Grey when the value is not live (its age is in the detail line)."""
        if stale != self.stale:
            self.stale = stale
            self._style()

    def _style(self) -> None:
        colour = STALE_GREY if self.stale else self.colour
        sheet = (
            f"#numericTile {{ background: #000000; border-bottom: 1px solid #303030; }}"
            f"QLabel {{ color: {colour}; }}"
        )
        if sheet != self.styleSheet():
            self.setStyleSheet(sheet)


class QtVitalsPanel(QWidget):
    def __init__(
        self,
        store: VitalsStore,
        engine: MonitorEngine,
        simulator: SimulatorSource | None = None,
        parent: QWidget | None = None,
        sound: AlarmAudio | None = None,
        sources: SourceSwitch | None = None,
        bed: Bed | None = None,
        pseudonym_salt: bytes | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("vitalsPanel")
        self.store, self.engine = store, engine
        self.bed = bed  # None: a monitor bound to no bed (tests, tools): nothing to say whose it is
        # The bedside picks where samples come from; a panel fed by a call (sources None) has no picker.
        self.sources = sources
        if sources is None and simulator is not None:
            self.sources = SourceSwitch(store)
        if self.sources is not None and simulator is not None:
            self.sources.adopt(simulator)
        # The sound plays on its own thread: a busy UI thread delays the banner, never the audio.
        self.sound = (sound or AlarmAudio()).start()
        self._closed = False
        self._frame = 0
        self.banner = QtAlarmBanner()
        self.banner.sig_acknowledge.connect(self.acknowledge)
        self.banner.sig_pause_audio.connect(self.pause_audio)

        self.scenario = QComboBox()
        self.scenario.setObjectName("scenarioPicker")
        for s in Scenario:
            self.scenario.addItem(scenario_name(s), s.value)
        running = self.simulator
        if running is not None:  # the picker shows the scenario the simulator really runs
            self.scenario.setCurrentIndex(list(Scenario).index(running.scenario))
        self.scenario.currentIndexChanged.connect(self._scenario_changed)
        self.scenario_label = QLabel()
        self.source_label = QLabel()
        self.source = QComboBox()
        self.source.setObjectName("sourcePicker")
        for kind in (SourceKind.NONE, SourceKind.SIMULATOR, SourceKind.REPLAY, SourceKind.HL7):
            self.source.addItem("", kind.value)
        self.source.activated.connect(self._source_chosen)
        self.source_detail = QLabel()
        self.source_detail.setObjectName("sourceDetail")
        self._show_source()
        self.mode = QComboBox()
        self.mode.addItem("", "sweep")
        self.mode.addItem("", "scroll")
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.age = QLabel()
        self.age.setObjectName("sampleAge")
        self.gaps = QLabel()
        self.gaps.setObjectName("gapMarker")
        controls = QHBoxLayout()
        controls.addWidget(self.source_label)
        controls.addWidget(self.source)
        controls.addWidget(self.source_detail)
        controls.addWidget(self.scenario_label)
        controls.addWidget(self.scenario)
        controls.addWidget(self.mode)
        self.limits_button = QPushButton()
        self.limits_button.setObjectName("alarmLimits")
        self.limits_button.clicked.connect(self.edit_limits)
        controls.addWidget(self.limits_button)
        controls.addStretch(1)
        controls.addWidget(self.gaps)
        controls.addWidget(self.age)

        self.context_bar = QtVitalsContextBar(bedside=self.sources is not None, pseudonym_salt=pseudonym_salt)
        self._limits_dialog: QtLimitsDialog | None = None
        self.strips = QtWaveformStrips(store, MONITOR_TRACES)
        self.tiles = self._build_numerics()
        monitor = QWidget()
        row = QHBoxLayout(monitor)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.strips, 1)
        # Scrolls rather than forcing its height on the window: the monitor must fit a laptop screen.
        numerics_scroll = QScrollArea()
        numerics_scroll.setWidget(self.numerics_column)
        numerics_scroll.setWidgetResizable(True)
        numerics_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        numerics_scroll.setFrameShape(QFrame.Shape.NoFrame)
        numerics_scroll.setFixedWidth(self.numerics_column.width() + 12)
        numerics_scroll.setStyleSheet("QScrollArea { background: #000000; }")
        row.addWidget(numerics_scroll)
        self.twelve = QtWaveformStrips(
            store, [TraceSpec(Wave.ECG, lead, lead) for lead in TWELVE_LEAD_ORDER], columns=4
        )
        self.trends = self._build_trends()
        self.tabs = QTabWidget()
        self.tabs.addTab(monitor, "")
        self.tabs.addTab(self.twelve, "")
        self.tabs.addTab(self.trends, "")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.banner)
        layout.addWidget(self.context_bar)
        layout.addLayout(controls)
        layout.addWidget(self.tabs, 1)
        self.setStyleSheet(
            "#vitalsPanel { background: #000000; } "
            "#vitalsPanel > QLabel { color: #d0d0d0; } QLabel#gapMarker { color: #ffd000; }"
        )
        self.retranslate()

        if bed is not None:
            bed.changed.connect(self._patient_changed)
            bed.lock_changed.connect(self._lock_changed)
        self.update_numerics()

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.on_frame)
        self.timer.start(FRAME_MS)

    # building -----------------------------------------------------------------------------------------
    def _build_numerics(self) -> dict[str, QtNumericTile]:
        self.numerics_column = QWidget()
        self.numerics_column.setFixedWidth(190)
        self.numerics_column.setObjectName("numericsColumn")
        self.numerics_column.setStyleSheet("#numericsColumn { background: #000000; }")
        col = QVBoxLayout(self.numerics_column)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        tiles = {
            "hr": QtNumericTile(NumericStyle.HR),
            "spo2": QtNumericTile(NumericStyle.SPO2),
            "abp": QtNumericTile(NumericStyle.ABP),
            "nibp": QtNumericTile(NumericStyle.NIBP),
            "rr": QtNumericTile(NumericStyle.RESP),
            "etco2": QtNumericTile(NumericStyle.CO2),
            "temp": QtNumericTile(NumericStyle.TEMP),
            "news2": QtNumericTile("#f0f0f0"),
        }
        for tile in tiles.values():
            col.addWidget(tile)
        self.consciousness = QComboBox()
        for c in Consciousness:
            self.consciousness.addItem(c.value, c.value)
        self.consciousness.currentIndexChanged.connect(self._news2_inputs_changed)
        self.oxygen = QCheckBox()
        self.oxygen.setStyleSheet("color: #f0f0f0;")
        self.oxygen.toggled.connect(self._news2_inputs_changed)
        self.acvpu_label = QLabel()
        self.acvpu_label.setStyleSheet("color: #f0f0f0;")
        grid = QGridLayout()
        grid.addWidget(self.acvpu_label, 0, 0)
        grid.addWidget(self.consciousness, 0, 1)
        grid.addWidget(self.oxygen, 1, 0, 1, 2)
        col.addLayout(grid)
        col.addStretch(1)
        for key in ("temp", "etco2", "rr", "news2", "nibp", "abp"):
            font = tiles[key].value.font()
            font.setPixelSize(28)
            tiles[key].value.setFont(font)
        return tiles

    def _build_trends(self) -> pg.GraphicsLayoutWidget:
        view = pg.GraphicsLayoutWidget()
        view.setBackground("k")
        self.trend_curves: dict[Numeric, pg.PlotDataItem] = {}
        rows = [
            (Numeric.HR, COLOURS[Wave.ECG], (30, 180)),
            (Numeric.SPO2, COLOURS[Wave.PLETH], (70, 100)),
            (Numeric.RR, COLOURS[Wave.RESP], (0, 40)),
            (Numeric.ABP_SYS, COLOURS[Wave.ABP], (40, 200)),
            (Numeric.NEWS2, "#f0f0f0", (0, 15)),
        ]
        self.trend_plots: list[pg.PlotItem] = []
        first: pg.PlotItem | None = None
        for i, (numeric, colour, yr) in enumerate(rows):
            plot = view.addPlot(row=i, col=0)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.setYRange(*yr, padding=0)
            plot.showGrid(x=True, y=True, alpha=0.2)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            curve = plot.plot(pen=pg.mkPen(colour, width=1), stepMode=None)
            self.trend_curves[numeric] = curve
            self.trend_plots.append(plot)
        self.trend_hours = 4.0
        return view

    def retranslate(self) -> None:
        self.banner.retranslate()
        self.scenario_label.setText(tr("QtVitalsPanel", "Simulator scenario:"))
        for i, s in enumerate(Scenario):
            self.scenario.setItemText(i, scenario_name(s))
        self.mode.setItemText(0, tr("QtVitalsPanel", "Sweep"))
        self.mode.setItemText(1, tr("QtVitalsPanel", "Scroll"))
        self.limits_button.setText(tr("QtVitalsPanel", "Alarm limits…"))
        self.source_label.setText(tr("QtVitalsPanel", "Source:"))
        self.source.setItemText(0, tr("QtVitalsPanel", "No source"))
        self.source.setItemText(1, tr("QtVitalsPanel", "Simulator"))
        self.source.setItemText(2, tr("QtVitalsPanel", "Replay a recording…"))
        self.source.setItemText(3, tr("QtVitalsPanel", "Bedside monitor (HL7)"))
        self.tabs.setTabText(0, tr("QtVitalsPanel", "Monitor"))
        self.tabs.setTabText(1, tr("QtVitalsPanel", "12-lead ECG"))
        self.tabs.setTabText(2, tr("QtVitalsPanel", "Trends"))
        titles = {
            "hr": tr("QtVitalsPanel", "HR /min"),
            "spo2": tr("QtVitalsPanel", "SpO2 %"),
            "abp": tr("QtVitalsPanel", "ART mmHg"),
            "nibp": tr("QtVitalsPanel", "NIBP mmHg"),
            "rr": tr("QtVitalsPanel", "RR /min"),
            "etco2": tr("QtVitalsPanel", "etCO2 mmHg"),
            "temp": tr("QtVitalsPanel", "Temp °C"),
            "news2": tr("QtVitalsPanel", "NEWS2"),
        }
        for key, text in titles.items():
            self.tiles[key].title.setText(text)
        self.acvpu_label.setText(tr("QtVitalsPanel", "ACVPU"))
        self.oxygen.setText(tr("QtVitalsPanel", "On oxygen"))
        for plot, text in zip(
            self.trend_plots,
            [
                tr("QtVitalsPanel", "HR"),
                tr("QtVitalsPanel", "SpO2"),
                tr("QtVitalsPanel", "RR"),
                tr("QtVitalsPanel", "ART sys"),
                tr("QtVitalsPanel", "NEWS2"),
            ],
            strict=True,
        ):
            plot.setLabel("left", text)
        self.trend_plots[-1].setLabel("bottom", tr("QtVitalsPanel", "minutes"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # actions ------------------------------------------------------------------------------------------
    def acknowledge(self) -> None:
        self.engine.alarms.acknowledge(user="workstation")
        self._show_alarms()

    def edit_limits(self) -> QtLimitsDialog:
        dialog = QtLimitsDialog(self.engine, user="workstation", parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self._limits_dialog = dialog
        dialog.finished.connect(self._limits_closed)
        return dialog

    def _limits_closed(self, _result: int) -> None:
        self._limits_dialog = None

    # the bed's patient ------------------------------------------------------------------------------
    def _patient_changed(self, patient: Patient | None) -> None:
        """Another patient, or none: nothing of the previous one stays (data, alarms, trends, limits)."""
        reason = "patient changed" if patient is not None else f"consult ended ({self.bed_reason()})"
        if self._limits_dialog is not None:  # the previous patient's limits are not this one's
            self._limits_dialog.reject()
        self.engine.reset(reason)
        self.strips.blank()
        self.twelve.blank()
        for curve in self.trend_curves.values():
            curve.setData([], [])
        self.consciousness.setCurrentIndex(0)
        self.oxygen.setChecked(False)
        self.update_numerics()
        self._show_alarms()

    def _lock_changed(self, _locked: bool) -> None:
        self.update_numerics()  # the line above the monitor hides (or shows again) whose data it is

    def bed_reason(self) -> str:
        return "" if self.bed is None else self.bed.ended_reason or ""

    def feed(self) -> Feed:
        return feed_state(self.bed, self.store.newest_age(), self.engine.limits.stale_s)

    def pause_audio(self) -> None:
        self.engine.alarms.pause_audio(user="workstation")
        self._show_alarms()

    @property
    def simulator(self) -> SimulatorSource | None:
        return None if self.sources is None else self.sources.active.simulator

    def _source_chosen(self, index: int) -> None:
        kind = SourceKind(self.source.itemData(index))
        if self.sources is None or kind is self.sources.active.kind:
            return
        try:
            if kind is SourceKind.SIMULATOR:
                self.sources.use_simulator(Scenario(self.scenario.currentData()))
            elif kind is SourceKind.NONE:
                self.sources.use_none()
            elif kind is SourceKind.REPLAY:
                path, _ = QFileDialog.getOpenFileName(
                    self,
                    tr("QtVitalsPanel", "Replay a recording"),
                    "",
                    tr("QtVitalsPanel", "Recordings (*.hea *.csv);;All files (*)"),
                )
                if path:
                    self.use_replay(Path(path))
            else:
                self.sources.use_hl7()
        except SourceError as exc:
            self.show_source_problem(str(exc))
            return
        self._show_source()

    def show_source_problem(self, reason: str, initial: bool = False) -> None:
        text = (
            tr("QtVitalsPanel", "No source: %1") if initial else tr("QtVitalsPanel", "Source not changed: %1")
        )
        self.source_detail.setText(text.replace("%1", reason))
        self.source_detail.setStyleSheet("color: #ff6060;")
        self._show_source(keep_detail=True)

    def use_replay(self, path: Path) -> None:
        """Replay a WFDB (.hea) or CSV recording; raises SourceError with the reason when it cannot."""
        assert self.sources is not None
        self.sources.use_replay(path)
        self._show_source()

    def _show_source(self, keep_detail: bool = False) -> None:
        has_picker = self.sources is not None
        for w in (self.source_label, self.source, self.source_detail):
            w.setVisible(has_picker)
        active = self.sources.active if self.sources is not None else None
        is_sim = active is not None and active.kind is SourceKind.SIMULATOR
        self.scenario.setVisible(is_sim)
        self.scenario_label.setVisible(is_sim)
        if active is None:
            return
        i = self.source.findData(active.kind.value)
        if i >= 0:
            self.source.setCurrentIndex(i)
        if keep_detail:
            return
        self.source_detail.setStyleSheet("")
        if active.kind is SourceKind.REPLAY:
            self.source_detail.setText(Path(active.detail).name)
        elif active.kind is SourceKind.HL7:
            self.source_detail.setText(tr("QtVitalsPanel", "listening on %1").replace("%1", active.detail))
        else:
            self.source_detail.setText("")

    def _scenario_changed(self, index: int) -> None:
        if self.simulator is not None and index >= 0:
            self.simulator.set_scenario(Scenario(self.scenario.itemData(index)))

    def _mode_changed(self, index: int) -> None:
        self.strips.set_sweep(self.mode.itemData(index) == "sweep")

    def _news2_inputs_changed(self) -> None:
        self.engine.consciousness = Consciousness(self.consciousness.currentData())
        self.engine.on_oxygen = self.oxygen.isChecked()

    # frames -------------------------------------------------------------------------------------------
    def on_frame(self) -> None:
        if self._closed:
            return
        self._frame += 1
        current = self.tabs.currentIndex()
        if current == 0:
            self.strips.refresh()
        elif current == 1:
            self.twelve.refresh()
        self._show_alarms()
        if self._frame % 15 == 1:
            self.update_numerics()
        if current == 2 and self._frame % 120 == 1:
            self.update_trends()

    def _show_alarms(self) -> None:
        snapshot = self.engine.alarms.snapshot()
        sounding = [a.priority for a in snapshot.alarms if not a.acknowledged]
        self.sound.set_state(max(sounding) if sounding and snapshot.audio_on else None)
        self.banner.sound_unavailable = "" if self.sound.available else self.sound.unavailable_reason
        self.banner.show_snapshot(snapshot, time.monotonic())

    def _age(self, numeric: Numeric) -> float | None:
        return self.store.numeric_age(numeric)

    def _live(self, age: float | None, history: bool) -> bool:
        return not history and age is not None and age < self.engine.limits.stale_s

    def _tile(self, key: str, value: str, detail: str, age: float | None, live: bool) -> None:
        """A tile's value; when not live, greyed with its age instead of its detail."""
        tile = self.tiles[key]
        tile.value.setText(value)
        shown = value.strip("-/ ") != ""
        tile.set_stale(shown and not live)
        tile.detail.setText(age_text(age) if shown and not live and age is not None else detail)

    def update_numerics(self) -> None:
        s = self.store
        n = s.numeric
        feed = self.feed()
        # a call that ended, or a feed gone silent: every value on screen is history
        history = feed in (Feed.ENDED, Feed.STALE)
        hr, pulse = n(Numeric.HR), n(Numeric.PULSE)
        hr_age, pulse_age = self._age(Numeric.HR), self._age(Numeric.PULSE)
        use_pulse = hr is None or (
            pulse is not None and not self._live(hr_age, False) and self._live(pulse_age, False)
        )
        rate, rate_age = (pulse, pulse_age) if use_pulse else (hr, hr_age)
        from_pulse = tr("QtVitalsPanel", "from pulse") if use_pulse and pulse is not None else ""
        self._tile("hr", _fmt(rate), from_pulse, rate_age, self._live(rate_age, history))
        spo2_age = self._age(Numeric.SPO2)
        pulse_text = tr("QtVitalsPanel", "Pulse %1").replace("%1", _fmt(pulse))
        self._tile("spo2", _fmt(n(Numeric.SPO2)), pulse_text, spo2_age, self._live(spo2_age, history))
        abp_age = self._age(Numeric.ABP_SYS)
        abp = f"{_fmt(n(Numeric.ABP_SYS))}/{_fmt(n(Numeric.ABP_DIA))}"
        self._tile("abp", abp, f"({_fmt(n(Numeric.ABP_MEAN))})", abp_age, self._live(abp_age, history))
        # NIBP and temperature are taken now and then: their time is shown, grey only with the feed
        nibp_t = s.numeric_time(Numeric.NIBP_SYS)
        nibp_detail = (
            ""
            if nibp_t is None
            else f"({_fmt(n(Numeric.NIBP_MEAN))}) " + time.strftime("%H:%M", time.localtime(nibp_t))
        )
        nibp = f"{_fmt(n(Numeric.NIBP_SYS))}/{_fmt(n(Numeric.NIBP_DIA))}"
        self._tile("nibp", nibp, nibp_detail, self._age(Numeric.NIBP_SYS), not history)
        for key, numeric in (("rr", Numeric.RR), ("etco2", Numeric.ETCO2)):
            age = self._age(numeric)
            self._tile(key, _fmt(n(numeric)), "", age, self._live(age, history))
        self._tile("temp", _fmt(n(Numeric.TEMP), 1), "", self._age(Numeric.TEMP), not history)
        news_age = self._age(Numeric.NEWS2)
        news_live = self._live(news_age, history)
        news = self.engine.last.news2 if news_live else None
        news_value = n(Numeric.NEWS2)
        t = self.tiles
        self._tile("news2", _fmt(news_value), "", news_age, news_live)
        risk_colours = {
            Risk.LOW: "#f0f0f0",
            Risk.LOW_MEDIUM: "#ffd000",
            Risk.MEDIUM: "#ff9000",
            Risk.HIGH: "#ff3030",
        }
        risk_texts = {
            Risk.LOW: tr("QtVitalsPanel", "low"),
            Risk.LOW_MEDIUM: tr("QtVitalsPanel", "low-medium: urgent ward review"),
            Risk.MEDIUM: tr("QtVitalsPanel", "medium: urgent response"),
            Risk.HIGH: tr("QtVitalsPanel", "high: emergency response"),
        }
        if news is not None:
            t["news2"].set_colour(risk_colours[news.risk])
            t["news2"].detail.setText(risk_texts[news.risk])
        age = s.newest_age()
        self.context_bar.show_state(self.bed, feed, age)
        if age is None:
            self.age.setText(tr("QtVitalsPanel", "No data yet"))
        else:
            self.age.setText(tr("QtVitalsPanel", "Newest sample is %1 s old").replace("%1", f"{age:.1f}"))
        gap = sum(r.gap_samples for r in s.rings.values())
        lost_s = sum(r.gap_samples / r.fs for r in s.rings.values())
        self.gaps.setText(
            ""
            if gap == 0
            else tr("QtVitalsPanel", "Gaps: %1 s of samples lost").replace("%1", f"{lost_s:.1f}")
        )

    def update_trends(self) -> None:
        now = self.store.clock()
        since = now - self.trend_hours * 3600
        for numeric, curve in self.trend_curves.items():
            times, values = self.store.trends[numeric].since(since)
            keep = np.isfinite(values)
            curve.setData((times[keep] - now) / 60.0, values[keep])

    # lifetime -----------------------------------------------------------------------------------------
    def close_model(self) -> None:
        """Stop the display timer, the simulator and the engine. Twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        if self.bed is not None:
            self.bed.changed.disconnect(self._patient_changed)
            self.bed.lock_changed.disconnect(self._lock_changed)
        self.sound.close()
        if self.sources is not None:
            self.sources.close()
        self.engine.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_model()
        super().closeEvent(event)
