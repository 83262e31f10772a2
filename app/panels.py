"""The panels each capability contributes to the main window, gathered in one place.

Each capability owns its own wiring module (``app/wiring/*.py``); this module only merges them, so
the capabilities can grow without touching each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.config.roles import PanelId

if TYPE_CHECKING:
    from app.main_window import PanelFactory
    from app.services import BackendLink


def capability_panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    from app.wiring import accounts, annotations, call, imaging, plugins, viewstate, vitals

    factories: dict[PanelId, PanelFactory] = {}
    for module in (annotations, imaging, call, vitals, plugins, viewstate, accounts):
        factories.update(module.panels(link))
    return factories
