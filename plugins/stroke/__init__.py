"""Stroke: the NIHSS form with timestamps, the door-to-needle clock and the CT brain window preset."""

from __future__ import annotations

from typing import Any, ClassVar

from plugins.api import (
    BasePlugin,
    Contributions,
    ImagingTool,
    NoteSection,
    PanelContribution,
    PluginContext,
    translate,
)
from plugins.stroke.logic import DoorToNeedle, NihssExam, report_text

# Brain window: width 80 HU, level 40 HU (grey/white matter contrast, early ischaemia, haemorrhage).
CT_BRAIN_WINDOW = ImagingTool(
    "stroke.ct_brain_window",
    lambda: translate("Stroke", "CT brain (W80 / L40)"),
    "window_preset",
    {"width": 80.0, "level": 40.0},
    modalities=("CT",),
)


class StrokePlugin(BasePlugin):
    manifest: ClassVar[dict[str, Any]] = {
        "id": "stroke",
        "name": "Stroke: NIHSS and door-to-needle",
        "version": "1.0.0",
        "api": "^1.0",
        "specialties": ["neurology", "emergency"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["imaging", "consult"],
        "description": "NIHSS scoring with timestamps, the 60-minute door-to-needle clock, CT brain window.",
    }

    def __init__(self) -> None:
        self.exam = NihssExam()
        self.timer = DoorToNeedle()

    def contributions(self, ctx: PluginContext) -> Contributions:
        return Contributions(
            panels=[PanelContribution("stroke.nihss", lambda: translate("Stroke", "Stroke"), self._panel)],
            imaging_tools=[CT_BRAIN_WINDOW],
            note_sections=[
                NoteSection(
                    "stroke.nihss",
                    lambda: translate("Stroke", "Stroke assessment"),
                    lambda _ctx: report_text(self.exam, self.timer),
                )
            ],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.stroke.widget import QtStrokePanel

        return QtStrokePanel(ctx, self.exam, self.timer)
