"""The main window, composed per role from dockable panels (see core.config.roles.LAYOUTS)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence, QPaintEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QToolBar, QWidget

from app.context import Workstation
from app.versions import component_versions
from core.client.connection import LinkState, LinkStatus
from core.config.roles import LAYOUTS, Area, PanelId, Role
from core.config.settings import WindowState
from core.i18n import tr
from widgets.about_dialog import QtAboutDialog
from widgets.diagnostics_panel import QtDiagnosticsPanel
from widgets.empty_state import QtEmptyState
from widgets.patient_banner import QtPatientBanner
from widgets.settings_dialog import QtSettingsDialog

log = logging.getLogger(__name__)

_AREAS = {
    Area.LEFT: Qt.DockWidgetArea.LeftDockWidgetArea,
    Area.RIGHT: Qt.DockWidgetArea.RightDockWidgetArea,
    Area.BOTTOM: Qt.DockWidgetArea.BottomDockWidgetArea,
}


def panel_title(panel: PanelId) -> str:
    return {
        PanelId.WORKLIST: tr("MainWindow", "Worklist"),
        PanelId.CONSULTATION: tr("MainWindow", "Consultation video"),
        PanelId.IMAGING: tr("MainWindow", "Imaging"),
        PanelId.VITALS: tr("MainWindow", "Vital signs"),
        PanelId.PLUGINS: tr("MainWindow", "Plugins"),
        PanelId.CHAT: tr("MainWindow", "Chat and notes"),
        PanelId.DIAGNOSTICS: tr("MainWindow", "Diagnostics"),
        PanelId.USERS: tr("MainWindow", "User accounts"),
    }[panel]


def role_title(role: Role) -> str:
    return {
        Role.SPECIALIST: tr("MainWindow", "Specialist"),
        Role.COUNTY_DOCTOR: tr("MainWindow", "County doctor"),
        Role.TRAINEE: tr("MainWindow", "Trainee"),
        Role.IT_ADMIN: tr("MainWindow", "IT administrator"),
    }[role]


def empty_state_texts(panel: PanelId) -> tuple[Callable[[], str], Callable[[], str]]:
    """What each panel says before it has content. Honest: what is missing and how to get it."""
    texts: dict[PanelId, tuple[Callable[[], str], Callable[[], str]]] = {
        PanelId.WORKLIST: (
            lambda: tr("MainWindow", "No consultation requests"),
            lambda: tr(
                "MainWindow", "Requests appear here when the workstation is connected to the backend."
            ),
        ),
        PanelId.CONSULTATION: (
            lambda: tr("MainWindow", "No call in progress"),
            lambda: tr("MainWindow", "Accept a consultation request to start the call."),
        ),
        PanelId.IMAGING: (
            lambda: tr("MainWindow", "No study open"),
            lambda: tr("MainWindow", "A study opens here with the consultation it belongs to."),
        ),
        PanelId.VITALS: (
            lambda: tr("MainWindow", "No vital signs"),
            lambda: tr("MainWindow", "Waveforms and numerics appear when the bedside streams them."),
        ),
        PanelId.PLUGINS: (
            lambda: tr("MainWindow", "No specialty plugins loaded"),
            lambda: tr("MainWindow", "Installed plugins and their tools are listed here."),
        ),
        PanelId.CHAT: (
            lambda: tr("MainWindow", "No consultation open"),
            lambda: tr("MainWindow", "Chat and notes of the open consultation appear here."),
        ),
        PanelId.DIAGNOSTICS: (lambda: "", lambda: ""),
        PanelId.USERS: (
            lambda: tr("MainWindow", "No user accounts"),
            lambda: tr("MainWindow", "Sign in as IT administrator to manage accounts."),
        ),
    }
    return texts[panel]


PanelFactory = Callable[["MainWindow"], QWidget]


class _FirstPaintWatcher(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._window.mark_painted()
        return False


class MainWindow(QMainWindow):
    sig_first_paint = Signal()
    sig_closed = Signal()
    sig_language_requested = Signal(str)

    def __init__(
        self,
        ws: Workstation,
        panel_factories: dict[PanelId, PanelFactory] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("mainWindow")
        self.setDockNestingEnabled(True)
        self._painted = False
        self._closed = False
        self.leave_warning: Callable[[], str | None] | None = None  # set by app.workstation.compose
        self._leave_box: QWidget | None = None
        self._factories = panel_factories or {}
        self.docks: dict[PanelId, QDockWidget] = {}

        # The banner sits in a fixed top bar spanning the whole window: no dock arrangement can
        # hide it, and the user cannot move or close it.
        self.banner = QtPatientBanner(ws.context, ws.pseudonym_salt)
        self.banner_bar = QToolBar(self)
        self.banner_bar.setObjectName("patientBannerBar")
        self.banner_bar.setMovable(False)
        self.banner_bar.setFloatable(False)
        self.banner_bar.toggleViewAction().setVisible(False)
        self.banner_bar.setStyleSheet("QToolBar { border: 0; padding: 0; spacing: 0; }")
        self.banner_bar.addWidget(self.banner)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.banner_bar)
        ws.context.changed.connect(self._patient_changed)
        self._patient_changed(ws.context.patient)

        self._build_docks()
        self._default_state = self.saveState()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self.retranslate()
        self.resize(1600, 1000)
        self._restore_layout()
        watcher = _FirstPaintWatcher(self)
        for widget in (self.menuBar(), *self.docks.values()):
            widget.installEventFilter(watcher)

    # composition -----------------------------------------------------------------------------
    def _panel(self, panel: PanelId) -> QWidget:
        factory = self._factories.get(panel)
        if factory is not None:
            return factory(self)
        if panel is PanelId.DIAGNOSTICS:
            return self._diagnostics_panel()
        title, hint = empty_state_texts(panel)
        return QtEmptyState(title, hint)

    def _diagnostics_panel(self) -> QWidget:
        ws = self.ws
        backend = (
            "embedded (SQLite on loopback)" if ws.site.backend.url == "embedded" else str(ws.site.backend.url)
        )
        facts = [
            ("site_name", ws.site.site_name),
            ("site_file", str(ws.site_file) if ws.site_file else "-"),
            ("backend", backend),
            ("ice", ", ".join(u for s in ws.site.ice_servers for u in s.urls) or "-"),
            ("pacs", ", ".join(f"{p.name} ({p.kind})" for p in ws.site.pacs) or "-"),
            ("data_dir", str(ws.paths.data_dir)),
            ("log_file", str(ws.paths.log_file)),
        ]
        return QtDiagnosticsPanel(facts, component_versions(), ws.connection)

    def _build_docks(self) -> None:
        for place in LAYOUTS[self.ws.role]:
            dock = QDockWidget(self)
            dock.setObjectName(f"dock_{place.panel.value}")
            dock.setWidget(self._panel(place.panel))
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.docks[place.panel] = dock
            if place.area is not None:
                self.addDockWidget(_AREAS[place.area], dock)
            elif place.right_of is not None:
                self.splitDockWidget(self.docks[place.right_of], dock, Qt.Orientation.Horizontal)
            elif place.below is not None:
                self.splitDockWidget(self.docks[place.below], dock, Qt.Orientation.Vertical)
            elif place.tab_with is not None:
                self.tabifyDockWidget(self.docks[place.tab_with], dock)
                self.docks[place.tab_with].raise_()
        widths = [(self.docks[p.panel], p.size) for p in LAYOUTS[self.ws.role] if p.size and p.below is None]
        heights = [(self.docks[p.panel], p.size) for p in LAYOUTS[self.ws.role] if p.size and p.below]
        if widths:
            self.resizeDocks([d for d, _ in widths], [s for _, s in widths], Qt.Orientation.Horizontal)
        if heights:
            self.resizeDocks([d for d, _ in heights], [s for _, s in heights], Qt.Orientation.Vertical)

    def _build_actions(self) -> None:
        self.act_settings = QAction(self, shortcut=QKeySequence("Ctrl+,"))
        self.act_settings.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.act_settings.triggered.connect(self.show_settings)
        self.act_quit = QAction(self, shortcut=QKeySequence("Ctrl+Q"))
        self.act_quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.act_quit.triggered.connect(self.request_quit)
        self.act_reset_layout = QAction(self)
        self.act_reset_layout.triggered.connect(self.reset_layout)
        self.act_fullscreen = QAction(self, shortcut=QKeySequence("F11"), checkable=True)
        self.act_fullscreen.toggled.connect(lambda on: self.showFullScreen() if on else self.showNormal())
        self.act_about = QAction(self)
        self.act_about.triggered.connect(self.show_about)
        self.act_open_log = QAction(self)
        self.act_open_log.triggered.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ws.paths.log_dir)))
        )
        # Panel toggles: Ctrl+1..n in layout order, the same keys for every role's visible panels.
        for index, panel in enumerate(self.docks):
            toggle = self.docks[panel].toggleViewAction()
            toggle.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menu_file = bar.addMenu("")
        self.menu_file.addAction(self.act_settings)
        self.menu_file.addSeparator()
        self.menu_file.addAction(self.act_quit)
        self.menu_view = bar.addMenu("")
        for dock in self.docks.values():
            self.menu_view.addAction(dock.toggleViewAction())
        self.menu_view.addSeparator()
        self.menu_view.addAction(self.act_reset_layout)
        self.menu_view.addAction(self.act_fullscreen)
        self.menu_help = bar.addMenu("")
        self.menu_help.addAction(self.act_open_log)
        self.menu_help.addAction(self.act_about)

    def _build_status_bar(self) -> None:
        self.link_label = QLabel()
        self.link_label.setObjectName("linkStatus")
        self.user_label = QLabel()
        self.user_label.setObjectName("userStatus")
        self.statusBar().addPermanentWidget(self.user_label)
        self.statusBar().addPermanentWidget(self.link_label)
        self.ws.connection.changed.connect(self._show_link)

    # text ------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        site = self.ws.site.site_name
        self.setWindowTitle(
            tr("MainWindow", "Teleconsult Workstation - %1 - %2")
            .replace("%1", role_title(self.ws.role))
            .replace("%2", site)
        )
        for panel, dock in self.docks.items():
            dock.setWindowTitle(panel_title(panel))
        self.menu_file.setTitle(tr("MainWindow", "&File"))
        self.menu_view.setTitle(tr("MainWindow", "&View"))
        self.menu_help.setTitle(tr("MainWindow", "&Help"))
        self.act_settings.setText(tr("MainWindow", "&Settings..."))
        self.act_quit.setText(tr("MainWindow", "&Quit"))
        self.act_reset_layout.setText(tr("MainWindow", "&Reset layout"))
        self.act_fullscreen.setText(tr("MainWindow", "&Full screen"))
        self.act_about.setText(tr("MainWindow", "&About Teleconsult Workstation"))
        self.act_open_log.setText(tr("MainWindow", "Open &log folder"))
        who = self.ws.user_name or tr("MainWindow", "not signed in")
        self.user_label.setText(f"{who} · {role_title(self.ws.role)}")
        self._show_link(self.ws.connection.status)

    def _show_link(self, status: LinkStatus) -> None:
        text = {
            LinkState.OFFLINE: tr("MainWindow", "Backend: offline"),
            LinkState.CONNECTING: tr("MainWindow", "Backend: connecting..."),
            LinkState.CONNECTED: tr("MainWindow", "Backend: connected"),
            LinkState.UNREACHABLE: tr("MainWindow", "Backend: unreachable"),
        }[status.state]
        if status.queued:
            text += " " + tr("MainWindow", "(%1 waiting to send)").replace("%1", str(status.queued))
        colour = {LinkState.CONNECTED: "#2e7d32", LinkState.UNREACHABLE: "#c62828"}.get(
            status.state, "#8a6d00"
        )
        self.link_label.setText(f"<span style='color:{colour}'>●</span> {text}")
        self.link_label.setToolTip(status.url + (f"\n{status.detail}" if status.detail else ""))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _patient_changed(self, _patient: object) -> None:
        self.banner_bar.setVisible(self.ws.context.patient is not None)

    # layout persistence ----------------------------------------------------------------------
    def _state_key(self) -> str:
        return self.ws.role.value

    def _restore_layout(self) -> None:
        saved = self.ws.settings.windows.get(self._state_key())
        if saved is None:
            return
        try:
            if saved.geometry:
                self.restoreGeometry(QByteArray(base64.b64decode(saved.geometry)))
            if saved.state and not self.restoreState(QByteArray(base64.b64decode(saved.state))):
                log.warning("saved window layout for %s did not apply; using the default", self._state_key())
        except ValueError:
            log.warning("saved window layout for %s is damaged; using the default", self._state_key())
        self._patient_changed(None)  # the banner follows the patient, not the saved layout

    def save_layout(self) -> None:
        windows = dict(self.ws.settings.windows)
        windows[self._state_key()] = WindowState(
            geometry=base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii"),
            state=base64.b64encode(bytes(self.saveState().data())).decode("ascii"),
        )
        self.ws.settings.windows = windows
        self.ws.save_settings()

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state)
        self._patient_changed(None)

    # dialogs ---------------------------------------------------------------------------------
    def show_about(self) -> QtAboutDialog:
        dialog = QtAboutDialog(component_versions(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_settings(self) -> QtSettingsDialog:
        dialog = QtSettingsDialog(
            self.ws.settings.language,
            self.ws.site.security.inactivity_lock_minutes,
            str(self.ws.site_file) if self.ws.site_file else None,
            self,
            locked=self.ws.site.locked.names(),
            devices=(self.ws.settings.camera, self.ws.settings.microphone),
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_reset_layout.connect(self.reset_layout)
        dialog.accepted.connect(lambda: self.apply_device_choice(*dialog.devices.chosen()))
        dialog.accepted.connect(lambda: self.apply_language_choice(dialog.chosen_language()))
        dialog.open()
        return dialog

    def apply_device_choice(self, camera: str, microphone: str) -> None:
        """The next call uses these; "" is the synthetic source."""
        if (camera, microphone) != (self.ws.settings.camera, self.ws.settings.microphone):
            self.ws.settings.camera, self.ws.settings.microphone = camera, microphone
            self.ws.save_settings()

    def apply_language_choice(self, language: str) -> None:
        if self.ws.site.locked.language is not None:
            return  # managed by the site
        if language != self.ws.settings.language:
            self.ws.settings.language = language  # type: ignore[assignment]  # validated on assignment
            self.ws.save_settings()
            self.sig_language_requested.emit(language)

    # lifecycle -------------------------------------------------------------------------------
    def mark_painted(self) -> None:
        if not self._painted:
            self._painted = True
            self.sig_first_paint.emit()
            QTimer.singleShot(0, self._build_deferred_panels)

    def _build_deferred_panels(self) -> None:
        if self._closed:
            return
        for dock in self.docks.values():
            build = getattr(dock.widget(), "build", None)
            if callable(build):
                build()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self.mark_painted()

    def request_quit(self) -> None:
        """File > Quit, and the window's close button: during an emergency with an active alarm the
        user confirms first (``leave_warning`` is set by the composition)."""
        warning = self.leave_warning() if self.leave_warning is not None else None
        if warning is None:
            self.close()
            return
        from widgets.confirm import confirm_then

        def quit_now() -> None:
            self.close()

        self._leave_box = confirm_then(self, warning, tr("MainWindow", "Quit anyway?"), quit_now)

    def closeEvent(self, event: QCloseEvent) -> None:
        # The close button (spontaneous) asks as Quit does; a programmatic close() is already decided.
        asks = self.leave_warning is not None and self.leave_warning() is not None
        if not self._closed and event.spontaneous() and asks:
            event.ignore()
            self.request_quit()
            return
        if self._closed:
            super().closeEvent(event)
            return
        self._closed = True
        self.save_layout()
        self.ws.connection.changed.disconnect(self._show_link)
        self.ws.context.changed.disconnect(self._patient_changed)
        self.banner.close_model()
        for dock in self.docks.values():
            closer = getattr(dock.widget(), "close_model", None)
            if callable(closer):
                closer()
        self.sig_closed.emit()
        super().closeEvent(event)
