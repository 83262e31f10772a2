"""Wiring of the consultation (video call) panel (issue 5) into the main window.

`panels(link)` returns the panel factories this capability contributes; `app.panels` gathers them.
A panel that is not built yet is simply absent: the main window shows its empty state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.roles import PanelId

if TYPE_CHECKING:
    from app.main_window import PanelFactory
    from app.services import BackendLink


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    return {}
