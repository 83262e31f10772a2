"""Point-of-care ultrasound: the FAST / eFAST protocol as a checklist the specialist ticks, and depth presets.

Guidance tools (probe-position overlays) are not part of this plugin yet; nothing stands in for them.
The exam belongs to the consult in context: it is reset when that changes or ends (closed, switched,
signed out, screen locked), and the note section is empty without a consult.
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugins.api import (
    BasePlugin,
    ConsultInfo,
    Contributions,
    NoteSection,
    PanelContribution,
    PluginContext,
    ReportSection,
    same_consult,
    translate,
)
from plugins.ultrasound.logic import FastExam, report_section, report_text


class UltrasoundPlugin(BasePlugin):
    manifest: ClassVar[dict[str, Any]] = {
        "id": "ultrasound",
        "name": "Ultrasound: FAST protocol",
        "version": "1.2.0",
        "api": "^1.2",
        "specialties": ["emergency", "ultrasound"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["consult", "network"],
        "description": "FAST and eFAST windows as a timed checklist; depth presets sent to the bedside.",
    }

    def __init__(self) -> None:
        self.exam = FastExam()  # of the consult in context only (the panel shows this same object)
        self.consult: ConsultInfo | None = None  # the consult the exam belongs to

    def activate(self, ctx: PluginContext) -> None:
        info = ctx.consult()
        self.consult = info if info.is_open else None
        ctx.subscribe_consult(self.consult_changed)  # before any panel subscribes: the panel sees it reset

    def consult_changed(self, info: ConsultInfo | None) -> None:
        """Another consult, or none: the previous patient's windows and depth go."""
        self.consult = info
        self.exam.reset()

    def note(self, ctx: PluginContext) -> str | None:
        return report_text(self.exam) if ctx.consult().is_open else None

    def report_section(self, info: ConsultInfo) -> ReportSection | None:
        """The FAST results of ``info``'s report, from the exam ticked for that consult."""
        return report_section(self.exam) if same_consult(info, self.consult) else None

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
                    self.note,
                )
            ],
            report_sections=[self.report_section],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.ultrasound.widget import QtFastPanel

        return QtFastPanel(ctx, self.exam)
