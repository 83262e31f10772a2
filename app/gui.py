"""Qt start-up: the application object, translators, the crash handler, the main window."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QLibraryInfo, QLocale, QObject, Qt, QTranslator, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox

from core.i18n import qm_file
from widgets.crash_dialog import QtCrashDialog

log = logging.getLogger(__name__)


def create_application(argv: list[str]) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)  # VTK and Qt share GL
    app = QApplication(argv)
    app.setApplicationName("Teleconsult Workstation")
    app.setOrganizationName("Teleconsult")
    app.setApplicationDisplayName("Teleconsult Workstation")
    apply_theme(app)
    return app


THEME_DIR = Path(__file__).resolve().parent.parent / "resources" / "themes"


def apply_theme(app: QApplication) -> None:
    """Fusion with a dark palette: the same look on every platform, low glare beside images."""
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1f2328",
        QPalette.ColorRole.WindowText: "#e6e8eb",
        QPalette.ColorRole.Base: "#16191d",
        QPalette.ColorRole.AlternateBase: "#22262c",
        QPalette.ColorRole.Text: "#e6e8eb",
        QPalette.ColorRole.Button: "#2d333b",
        QPalette.ColorRole.ButtonText: "#e6e8eb",
        QPalette.ColorRole.Highlight: "#2f81f7",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2d333b",
        QPalette.ColorRole.ToolTipText: "#e6e8eb",
        QPalette.ColorRole.PlaceholderText: "#8b949e",
        QPalette.ColorRole.Mid: "#8b949e",
        QPalette.ColorRole.Link: "#58a6ff",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6e7681"))
    app.setPalette(palette)
    sheet = THEME_DIR / "dark.qss"
    if sheet.is_file():
        app.setStyleSheet(sheet.read_text(encoding="utf-8"))


class LanguageManager:
    """Installs our catalogue and Qt's own (standard buttons, dialogs) for the chosen language."""

    def __init__(self, app: QApplication) -> None:
        self._app = app
        self._translators: list[QTranslator] = []
        self.language = "en"

    def apply(self, language: str) -> None:
        for translator in self._translators:
            self._app.removeTranslator(translator)
        self._translators.clear()
        self.language = language
        QLocale.setDefault(QLocale(language))
        path = qm_file(language)
        if path is not None:
            ours = QTranslator(self._app)
            if ours.load(str(path)):
                self._translators.append(ours)
            else:
                log.error("translation %s could not be loaded; the UI stays in English", path)
            qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
            qt_own = QTranslator(self._app)
            if qt_own.load(f"qtbase_{language}", qt_dir):
                self._translators.append(qt_own)
        for translator in self._translators:
            self._app.installTranslator(translator)
        _choose_font(self._app, language)


def _choose_font(app: QApplication, language: str) -> None:
    if language.startswith("zh"):
        families = set(QFontDatabase.families())
        for family in (
            "Noto Sans CJK SC",
            "Noto Sans SC",
            "Source Han Sans SC",
            "Microsoft YaHei",
            "PingFang SC",
        ):
            if family in families:
                font = QFont(family)
                font.setPointSizeF(app.font().pointSizeF())
                app.setFont(font)
                return
        log.warning("no Simplified Chinese font found; install fonts-noto-cjk")


class CrashReporter(QObject):
    """Shows every unhandled exception to the user, once at a time, and logs it with its traceback."""

    sig_crash = Signal(str, str)

    def __init__(self, log_file: Path, app: QApplication) -> None:
        super().__init__(app)
        self.log_file = log_file
        self.dialog: QtCrashDialog | None = None
        self.count = 0
        # Queued: exceptions from worker threads reach the dialog on the UI thread.
        self.sig_crash.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._previous_hooks = (sys.excepthook, threading.excepthook)

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous_hooks

    def handle(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        log.critical("unhandled exception\n%s", details)
        self.count += 1
        self.sig_crash.emit(f"{kind.__name__}: {value}", details)

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, summary: str, details: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            # One dialog at a time: later errors are appended, not stacked.
            self.dialog.setDetailedText(self.dialog.detailedText() + "\n\n" + details)
            return
        dialog = QtCrashDialog(summary, details, str(self.log_file), QApplication.activeWindow())
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
        dialog.buttonClicked.connect(self._answered)
        self.dialog = dialog
        dialog.open()

    def _answered(self, button: object) -> None:
        if self.dialog is not None and button is self.dialog.quit_button:
            log.info("user chose to quit after an unexpected error")
            QApplication.exit(1)


def show_config_error(text: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Critical, "Teleconsult Workstation", text)
    box.exec()
