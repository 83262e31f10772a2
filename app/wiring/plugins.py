"""Wiring of the plugin manager panel and the plugins' own panels and actions (issue 8) into the main window.

`panels(link)` returns the panel factories this capability contributes; `app.panels` gathers them.
The PLUGINS dock hosts the plugin manager and one tab per plugin panel; plugin actions go into a
Plugins menu; a plugin disabled by an error is announced in the status bar and in the manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from core.config.roles import PanelId
from core.i18n import tr
from plugins.api import ImagingMeasurement, resolve_text

if TYPE_CHECKING:
    from app.main_window import MainWindow, PanelFactory
    from app.plugin_host import PluginHost
    from app.services import BackendLink
    from core.vitals.buffer import VitalsStore

VITALS_LOOKUP_MS = 2000


def find_vitals_store(window: MainWindow) -> VitalsStore | None:
    """The store behind the window's vitals panel, if it has one (looked up on the UI thread)."""
    from core.vitals.buffer import VitalsStore

    dock = window.docks.get(PanelId.VITALS)
    if dock is None:
        return None
    widget = dock.widget()
    widget = getattr(widget, "content", widget)  # a deferred panel holds the real one once built
    store = getattr(widget, "store", None)
    return store if isinstance(store, VitalsStore) else None


def imaging_measurements(window: MainWindow) -> list[ImagingMeasurement]:
    """The imaging panel's lengths as plugins get them: calibrated millimetres only (a pixel count or a
    refused line never leaves the viewer as ``length_mm``), with the study and series measured on."""
    from viewers.imaging_panel import QtImagingPanel

    panel = window.findChild(QtImagingPanel)
    if panel is None or panel.series is None:
        return []
    study_uid, series_uid = panel.study_uid_of_series(), panel.series.series_instance_uid
    return [
        ImagingMeasurement(study_uid, panel.document.reading(m).text, length, series_uid)
        for m, length in panel.document.lengths_mm()
    ]


def build_plugins_panel(window: MainWindow) -> QWidget:
    from app.plugin_host import PluginHost, QtPluginsPanel

    host = PluginHost(window.ws, parent=window)
    host.start()
    panel = QtPluginsPanel(host)
    host.sig_notice.connect(lambda message: window.statusBar().showMessage(message, 20000))
    for message in panel.manager_view.notice.text().split("\n"):
        if message:
            window.statusBar().showMessage(message, 20000)

    # The vitals panel is built after this one (deferred) and may switch sources: follow its store.
    lookup = QTimer(panel)
    lookup.setInterval(VITALS_LOOKUP_MS)

    def attach() -> None:
        store = find_vitals_store(window)
        if store is not None:  # a stale store needs no clearing: its frames stop being fresh
            host.set_vitals_store(store)

    lookup.timeout.connect(attach)
    lookup.start()
    host.measurement_source = lambda: imaging_measurements(window)
    QTimer.singleShot(0, panel, attach)
    # Panels are built before the window's menus exist: add the Plugins menu once they do.
    QTimer.singleShot(0, panel, lambda: _plugins_menu(window, host))
    return panel


def _plugins_menu(window: MainWindow, host: PluginHost) -> QMenu:
    menu = QMenu(tr("Plugins", "&Plugins"), window)
    menu.setObjectName("pluginsMenu")
    help_menu = getattr(window, "menu_help", None)
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu.menuAction(), menu)
    else:
        window.menuBar().addMenu(menu)

    def rebuild(*_args: object) -> None:
        menu.clear()
        dock = window.docks.get(PanelId.PLUGINS)
        if dock is not None:
            show = menu.addAction(tr("Plugins", "Plugin manager"))
            show.triggered.connect(dock.show)
            show.triggered.connect(dock.raise_)
        for record in host.manager.active():
            ctx = record.context
            if ctx is None:
                continue
            for contribution in record.contributions.actions:
                action = QAction(resolve_text(contribution.text), menu)
                if contribution.shortcut:
                    action.setShortcut(QKeySequence(contribution.shortcut))
                action.triggered.connect(
                    lambda _c=False, r=record, a=contribution: host.manager.call(
                        r.plugin_id, f"action '{a.action_id}'", a.callback, r.context
                    )
                )
                menu.addAction(action)

    host.sig_record_changed.connect(rebuild)
    rebuild()
    return menu


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    return {PanelId.PLUGINS: build_plugins_panel}
