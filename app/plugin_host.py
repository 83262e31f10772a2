"""The workstation side of the plugin contract: adapts app objects to ``plugins.api`` and hosts plugins.

``PluginHost`` owns the Qt-free :class:`~plugins.manager.PluginManager` and the analyser runner, builds
each plugin's :class:`~plugins.api.PluginContext` (vitals as numpy windows, imaging measurements, the
consult), forwards analyser results and failures from their threads to the UI thread, and persists
the user's enable/disable choices. It binds the plugins to the workstation's one consult context: a
plugin's ``consult()`` answers the consult in context (the patient as a pseudonym where the role must not
see identities), and every change or end of it (closed, switched, signed out, locked) reaches the
plugins' ``subscribe_consult`` callbacks on the UI thread before the context's own call returns.
``QtPluginsPanel`` is the PLUGINS dock: the plugin manager plus one tab per plugin panel, built the first
time it is shown (so a plugin's Qt code loads only when used).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint
from typing import Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.context import Workstation
from core.i18n import tr
from core.vitals.buffer import VitalsStore
from core.vitals.signals import Numeric
from plugins.analysers import AnalyserRunner
from plugins.api import (
    AnalyserResult,
    ConsultInfo,
    ImagingMeasurement,
    ImagingTool,
    PanelContribution,
    PluginContext,
    SettingsPage,
    VitalsFrame,
    WaveData,
    resolve_text,
)
from plugins.manager import PluginManager, PluginRecord, PluginState
from plugins.registry import ErrorKind, PluginError
from widgets.plugin_manager import QtPluginManager, notice_text

log = logging.getLogger(__name__)

MAX_VITALS_AGE_S = 10.0


def vitals_frame(store: VitalsStore, seconds: float) -> VitalsFrame | None:
    """The newest ``seconds`` of every waveform in ``store`` (copies) or None when nothing is fresh."""
    newest = store.newest_time()
    if newest is None or store.clock() - newest > MAX_VITALS_AGE_S:
        return None
    waves: dict[str, WaveData] = {}
    for wave, ring in store.rings.items():
        d = store.defs[wave]
        chunk = ring.latest(round(seconds * d.fs))
        if chunk.values.shape[1]:
            waves[wave.value] = WaveData(d.fs, d.channels, chunk.values, d.units)
    numerics = {
        n.value: value for n in Numeric if (value := store.numeric(n, max_age=MAX_VITALS_AGE_S)) is not None
    }
    return VitalsFrame(waves, numerics, newest)


def _unbind(bindings: Iterable[tuple[Any, Callable[..., object]]]) -> None:
    for event, callback in bindings:
        event.disconnect(callback)


class PluginHost(QObject):
    sig_notice = Signal(str)  # a plugin was disabled because of an error
    sig_record_changed = Signal(object)  # PluginRecord
    _sig_result = Signal(str, str, object)  # from analyser threads to the UI thread
    _sig_failure = Signal(object)
    _sig_consult = Signal(object)  # ConsultInfo | None, to the UI thread (direct when already on it)

    def __init__(
        self,
        ws: Workstation,
        entry_points: Iterable[EntryPoint] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self._store: VitalsStore | None = None
        self.measurement_source: Callable[[], list[ImagingMeasurement]] = list
        self.consult_source: Callable[[], ConsultInfo] = self.consult_info
        self.control_sink: Callable[[Mapping[str, Any]], None] = lambda _m: None
        self.manager = PluginManager(
            role=ws.role.value,
            make_context=self._context,
            allow=ws.site.plugins.allow,
            deny=ws.site.plugins.deny,
            disabled=ws.settings.disabled_plugins,
            save_disabled=self._save_disabled,
            entry_points=entry_points,
        )
        self.runner = AnalyserRunner(self._frame, self._sig_result.emit, self._sig_failure.emit)
        self._sig_result.connect(self._deliver)
        self._sig_failure.connect(self._analyser_failed)
        self.manager.on_activated.append(self._register)
        self.manager.on_deactivated.append(lambda record: self.runner.remove_plugin(record.plugin_id))
        self.manager.add_listener(self._changed)
        self._closed = False
        self._started = False
        opened = self.consult_info()
        self._bound: ConsultInfo | None = opened if opened.is_open else None  # what plugins were told
        self._sig_consult.connect(self._deliver_consult)
        context = ws.context  # outlives this host: let go of it on close, or if Qt deletes the host first
        context.ended.connect(self._context_ended)
        context.changed.connect(self._context_changed)
        context.opened.connect(self._context_changed)
        self._bindings: tuple[tuple[Any, Callable[..., object]], ...] = (
            (context.ended, self._context_ended),
            (context.changed, self._context_changed),
            (context.opened, self._context_changed),
        )
        self.destroyed.connect(lambda *_args, bindings=self._bindings: _unbind(bindings))

    # set-up ----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.manager.load_all()
        self.runner.start()

    def set_vitals_store(self, store: VitalsStore | None) -> None:
        self._store = store

    # the consult context ---------------------------------------------------------------------------
    def consult_info(self) -> ConsultInfo:
        """The consult in context as plugins see it; ``ConsultInfo()`` when none is open."""
        consult = self.ws.context.consult
        if consult is None:
            return ConsultInfo()
        salt = self.ws.pseudonym_salt  # set: this role must not see identities
        patient = consult.patient if salt is None else consult.patient.pseudonymised(salt)
        studies = (consult.study_uid,) if consult.study_uid else ()
        return ConsultInfo(consult.consult_id, patient.patient_id, studies)

    def _context_ended(self, _reason: str) -> None:
        if self._bound is not None:
            self._bound = None
            self._sig_consult.emit(None)

    def _context_changed(self, *_args: object) -> None:
        info = self.consult_info()
        if not info.is_open:
            self._context_ended("closed")
        elif info != self._bound:
            self._bound = info
            self._sig_consult.emit(info)

    def _deliver_consult(self, info: ConsultInfo | None) -> None:
        if not self._closed:
            self.manager.deliver_consult(info)

    def _context(self, plugin_id: str) -> PluginContext:
        return PluginContext(
            plugin_id=plugin_id,
            role=self.ws.role.value,
            vitals=self._frame,
            measurements=lambda: list(self.measurement_source()),
            consult=lambda: self.consult_source(),
            send_control=lambda message: self.control_sink(dict(message, plugin=plugin_id)),
            log=logging.getLogger(f"plugins.{plugin_id}"),
        )

    def _frame(self, seconds: float) -> VitalsFrame | None:
        store = self._store  # read once: may be swapped on the UI thread meanwhile
        if store is None:
            return None
        frame = vitals_frame(store, seconds)
        if frame is not None:
            for wave in frame.waves.values():
                wave.values.setflags(write=False)  # a plugin must not scribble on what others read
        return frame

    def _save_disabled(self, ids: set[str]) -> None:
        self.ws.settings.disabled_plugins = sorted(ids)
        self.ws.save_settings()

    def _register(self, record: PluginRecord) -> None:
        for analyser in record.contributions.analysers:
            self.runner.add(record.plugin_id, analyser)

    # results and failures (UI thread) --------------------------------------------------------------
    def _deliver(self, plugin_id: str, analyser_id: str, result: AnalyserResult) -> None:
        if not self._closed:
            self.manager.deliver(plugin_id, analyser_id, result)

    def _analyser_failed(self, error: PluginError) -> None:
        if not self._closed:
            self.manager.fail(error.plugin_id, error.kind, error.detail)

    def _changed(self, record: PluginRecord) -> None:
        if record.state is PluginState.FAILED and record.error is not None:
            self.sig_notice.emit(notice_text(record.name, record.error))
        self.sig_record_changed.emit(record)

    # what plugins contribute -----------------------------------------------------------------------
    def panels(self) -> list[tuple[PluginRecord, PanelContribution]]:
        return [(r, p) for r in self.manager.active() for p in r.contributions.panels]

    def imaging_tools(self) -> list[tuple[str, ImagingTool]]:
        return [(r.plugin_id, t) for r in self.manager.active() for t in r.contributions.imaging_tools]

    def settings_pages(self) -> list[tuple[PluginRecord, SettingsPage]]:
        return [(r, p) for r in self.manager.active() for p in r.contributions.settings_pages]

    def note_sections(self) -> list[tuple[str, str, str]]:
        """(plugin id, title, text) of every consult-note section that has content now; none without a
        consult open (a note belongs to a consult)."""
        out: list[tuple[str, str, str]] = []
        if not self.consult_source().is_open:
            return out
        for record in self.manager.active():
            if record.context is None:
                continue
            for section in record.contributions.note_sections:
                what = f"note section '{section.section_id}'"
                text = self.manager.call(record.plugin_id, what, section.render, record.context)
                if text:
                    out.append((record.plugin_id, resolve_text(section.title), text))
        return out

    def close(self) -> None:
        """Stop the analysers and deactivate every plugin; calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        _unbind(self._bindings)
        self.runner.close()
        self.manager.close()


class QtPluginsPanel(QWidget):
    """The PLUGINS dock: the manager tab first, then one tab per active plugin panel."""

    def __init__(self, host: PluginHost, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pluginsPanel")
        self.host = host
        self._closed = False
        self.tabs = QTabWidget()
        self.tabs.setObjectName("pluginTabs")
        self.tabs.setDocumentMode(True)
        self.manager_view = QtPluginManager(host.manager)
        self.tabs.addTab(self.manager_view, tr("Plugins", "Installed"))
        self._pages: dict[str, tuple[str, PanelContribution, QWidget]] = {}  # key -> (plugin, panel, page)
        self._built: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(self._ensure_built)
        host.sig_record_changed.connect(self._record_changed)
        self.sync()

    def sync(self) -> None:
        """Tabs follow the active plugins: add new ones, drop those of plugins no longer active."""
        wanted = {f"{r.plugin_id}/{p.panel_id}": (r, p) for r, p in self.host.panels()}
        for key in [k for k in self._pages if k not in wanted]:
            self._drop(key)
        for key, (record, panel) in wanted.items():
            if key in self._pages:
                continue
            page = QWidget()
            page.setObjectName(f"pluginPage_{panel.panel_id}")
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            self._pages[key] = (record.plugin_id, panel, page)
            self.tabs.addTab(page, resolve_text(panel.title))
        self._ensure_built(self.tabs.currentIndex())

    def page_widget(self, panel_id: str) -> QWidget | None:
        """The plugin's own widget for ``panel_id``, building it if needed (None if it failed)."""
        for key, (_pid, panel, _page) in self._pages.items():
            if panel.panel_id == panel_id:
                self._build(key)
                return self._built.get(key) if key in self._pages else None
        return None

    def _ensure_built(self, index: int) -> None:
        page = self.tabs.widget(index)
        for key, (_pid, _panel, p) in list(self._pages.items()):
            if p is page:
                self._build(key)

    def _build(self, key: str) -> None:
        if key in self._built or key not in self._pages:
            return
        plugin_id, panel, page = self._pages[key]
        record = self.host.manager.records.get(plugin_id)
        if record is None or record.context is None:
            return
        widget = self.host.manager.call(plugin_id, f"panel '{panel.panel_id}'", panel.factory, record.context)
        if not isinstance(widget, QWidget):
            if widget is not None:
                self.host.manager.fail(
                    plugin_id, ErrorKind.HOOK, f"panel '{panel.panel_id}' returned {type(widget).__name__}"
                )
            return  # the failure removed the tab through sync()
        self._built[key] = widget
        layout = page.layout()
        if layout is not None:
            layout.addWidget(widget)

    def _drop(self, key: str) -> None:
        _pid, _panel, page = self._pages.pop(key)
        widget = self._built.pop(key, None)
        if widget is not None:
            closer = getattr(widget, "close_model", None)
            if callable(closer):
                closer()
        index = self.tabs.indexOf(page)
        if index >= 0:
            self.tabs.removeTab(index)
        page.deleteLater()

    def _record_changed(self, _record: object) -> None:
        if not self._closed:
            self.sync()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.tabs.setTabText(0, tr("Plugins", "Installed"))
            for _pid, panel, page in self._pages.values():
                self.tabs.setTabText(self.tabs.indexOf(page), resolve_text(panel.title))
        super().changeEvent(event)

    def close_model(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.host.sig_record_changed.disconnect(self._record_changed)
        for key in list(self._pages):
            self._drop(key)
        self.manager_view.close_model()
        self.host.close()
