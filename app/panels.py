"""The panels each capability contributes to the main window, gathered in one place.

Each capability owns its own wiring module (``app/*_wiring.py``); this module only merges them, so
the capabilities can grow without touching each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.roles import PanelId

if TYPE_CHECKING:
    from app.main_window import PanelFactory
    from app.services import BackendLink


def capability_panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    from app import (
        annotations_wiring,
        call_wiring,
        imaging_wiring,
        plugin_wiring,
        viewstate_wiring,
        vitals_wiring,
    )

    factories: dict[PanelId, PanelFactory] = {}
    for module in (
        annotations_wiring, imaging_wiring, call_wiring, vitals_wiring, plugin_wiring, viewstate_wiring
    ):
        factories.update(module.panels(link))
    return factories
