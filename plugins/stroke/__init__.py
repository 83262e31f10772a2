"""Stroke: the NIHSS form with timestamps, the door-to-needle clock and the CT brain window preset.

The exam and the clock belong to the consult in context: both are reset when it changes or ends (closed,
switched, signed out, screen locked), and the note section is empty without a consult.
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugins.api import (
    BasePlugin,
    ConsultInfo,
    Contributions,
    ImagingTool,
    NoteSection,
    PanelContribution,
    PluginContext,
    ReportSection,
    same_consult,
    translate,
)
from plugins.stroke.logic import DoorToNeedle, NihssExam, report_section, report_text

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
        "version": "1.2.0",
        "api": "^1.2",
        "specialties": ["neurology", "emergency"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["imaging", "consult"],
        "description": "NIHSS scoring with timestamps, the 60-minute door-to-needle clock, CT brain window.",
    }

    def __init__(self) -> None:
        # one exam and one clock, of the consult in context only (the panel shows these same objects)
        self.exam = NihssExam()
        self.timer = DoorToNeedle()
        self.consult: ConsultInfo | None = None  # the consult the exam and the clock belong to

    def activate(self, ctx: PluginContext) -> None:
        info = ctx.consult()
        self.consult = info if info.is_open else None
        ctx.subscribe_consult(self.consult_changed)  # before any panel subscribes: the panel sees it reset

    def consult_changed(self, info: ConsultInfo | None) -> None:
        """Another consult, or none: the previous patient's scores and times go."""
        self.consult = info
        self.exam.reset()
        self.timer.reset()

    def note(self, ctx: PluginContext) -> str | None:
        return report_text(self.exam, self.timer) if ctx.consult().is_open else None

    def report_section(self, info: ConsultInfo) -> ReportSection | None:
        """The NIHSS and door-to-needle part of ``info``'s report, from what was entered for that consult."""
        return report_section(self.exam, self.timer) if same_consult(info, self.consult) else None

    def contributions(self, ctx: PluginContext) -> Contributions:
        return Contributions(
            panels=[PanelContribution("stroke.nihss", lambda: translate("Stroke", "Stroke"), self._panel)],
            imaging_tools=[CT_BRAIN_WINDOW],
            note_sections=[
                NoteSection(
                    "stroke.nihss",
                    lambda: translate("Stroke", "Stroke assessment"),
                    self.note,
                )
            ],
            report_sections=[self.report_section],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.stroke.widget import QtStrokePanel

        return QtStrokePanel(ctx, self.exam, self.timer)
