"""Point-of-care ultrasound: the FAST / eFAST protocol as a checklist the specialist ticks, and depth presets.

Guidance tools (probe-position overlays) are not part of this plugin yet; nothing stands in for them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugins.api import BasePlugin, Contributions, NoteSection, PanelContribution, PluginContext, translate
from plugins.ultrasound.logic import FastExam, report_text


class UltrasoundPlugin(BasePlugin):
    manifest: ClassVar[dict[str, Any]] = {
        "id": "ultrasound",
        "name": "Ultrasound: FAST protocol",
        "version": "1.0.0",
        "api": "^1.0",
        "specialties": ["emergency", "ultrasound"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["consult", "network"],
        "description": "FAST and eFAST windows as a timed checklist; depth presets sent to the bedside.",
    }

    def __init__(self) -> None:
        self.exam = FastExam()

    def contributions(self, ctx: PluginContext) -> Contributions:
        return Contributions(
            panels=[
                PanelContribution(
                    "ultrasound.fast", lambda: translate("Ultrasound", "FAST exam"), self._panel
                )
            ],
            note_sections=[
                NoteSection(
                    "ultrasound.fast",
                    lambda: translate("Ultrasound", "Point-of-care ultrasound"),
                    lambda _ctx: report_text(self.exam),
                )
            ],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.ultrasound.widget import QtFastPanel

        return QtFastPanel(ctx, self.exam)
