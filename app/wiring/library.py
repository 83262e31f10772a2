"""Wiring of the case library (issue 11) into the main window: *Teaching > Case library…*.

The library lives under the user's data folder (``core.teaching.library.default_library_root``); the
dialog decides by the window's role what is listed (trainees: de-identified teaching files only). The
pseudonyms are the site's: the same salt as ``Workstation.pseudonym_salt``, whatever the role, so a
patient has one pseudonym in the list, in teaching files and in the trainee's live view.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMenu

from core.i18n import tr

if TYPE_CHECKING:
    from app.context import Workstation
    from app.main_window import MainWindow
    from widgets.case_library import QtCaseLibrary
    from widgets.replay_tracks import ReplayImagingView

TEACHING_MENU = "teachingMenu"  # object name: other teaching actions join the same menu


def site_salt(ws: Workstation) -> bytes:
    """The site's pseudonym salt (Workstation.pseudonym_salt gives it only to roles without identity)."""
    return ws.pseudonym_salt or hashlib.sha256(f"teleconsult-pseudonym:{ws.site.site_name}".encode()).digest()


def teaching_menu(window: MainWindow) -> QMenu:
    """The window's Teaching menu, made (before Help) on first use."""
    menu = window.menuBar().findChild(QMenu, TEACHING_MENU)
    if menu is not None:
        return menu
    menu = QMenu(tr("CaseLibrary", "&Teaching"), window.menuBar())
    menu.setObjectName(TEACHING_MENU)
    help_menu = getattr(window, "menu_help", None)
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu.menuAction(), menu)
    else:
        window.menuBar().addMenu(menu)
    return menu


def _user_name(window: MainWindow, link: Any) -> str:
    user = getattr(getattr(link, "sign_in_state", None), "user", None)
    return str(getattr(user, "username", "") or window.ws.user_name or window.ws.role.value)


def replay_imaging(folder: Path, *, show_identity: bool) -> ReplayImagingView:
    """The replay player's view of a recording's imaging (its ``imaging_factory``): widgets never import
    viewers, so the composition is here. Imported when first made, so VTK and the DICOM loaders load
    only when a recording played carries imaging."""
    from viewers.replay_imaging import QtReplayImaging

    return QtReplayImaging(folder, show_identity=show_identity)


def wire_case_library(window: MainWindow, link: Any) -> None:
    """Add *Teaching > Case library…*; the dialog it opens is kept as ``window.case_library``."""
    from core.teaching.library import CaseLibrary, default_library_root
    from widgets.case_library import QtCaseLibrary

    action = teaching_menu(window).addAction(tr("CaseLibrary", "Case library…"))
    action.setObjectName("caseLibraryAction")

    def show() -> QtCaseLibrary:
        current: QtCaseLibrary | None = getattr(window, "case_library", None)
        if current is not None and current.isVisible():
            current.raise_()
            current.activateWindow()
            return current
        ws = window.ws
        library = CaseLibrary(default_library_root(ws.paths.data_dir))
        dialog = QtCaseLibrary(
            library,
            role=ws.role,
            user=_user_name(window, link),
            site_salt=site_salt(ws),
            imaging_factory=replay_imaging,
            parent=window,
        )
        window.case_library = dialog  # type: ignore[attr-defined]
        dialog.show()
        return dialog

    action.triggered.connect(show)
    window.sig_closed.connect(lambda *_a: _close(window))


def _close(window: MainWindow) -> None:
    dialog = getattr(window, "case_library", None)
    if dialog is not None:
        dialog.close_library()
