"""Oncology: RECIST 1.1 target lesions tracked across a baseline and a follow-up CT.

The lesions and time points belong to the consult in context: they are dropped when it changes or ends
(closed, switched, signed out, screen locked), and the note section is empty without a consult.
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
from plugins.oncology.logic import Lesion, Timepoint, default_timepoints, report_section, report_text


class OncologyPlugin(BasePlugin):
    manifest: ClassVar[dict[str, Any]] = {
        "id": "oncology",
        "name": "Oncology: RECIST 1.1",
        "version": "1.2.0",
        "api": "^1.2",
        "specialties": ["oncology", "radiology"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["imaging", "consult"],
        "description": "Target lesions on CT across two studies, sum of diameters and the response category.",
    }

    def __init__(self) -> None:
        # the panel keeps these current, the note section reads them; both are of ``consult`` only
        self.lesions: list[Lesion] = []
        self.timepoints: list[Timepoint] = default_timepoints()
        self.consult: ConsultInfo | None = None

    def activate(self, ctx: PluginContext) -> None:
        info = ctx.consult()
        self.consult = info if info.is_open else None
        ctx.subscribe_consult(self.consult_changed)  # before any panel subscribes: the panel sees it reset

    def consult_changed(self, info: ConsultInfo | None) -> None:
        """Another consult, or none: nothing of the previous patient's lesions stays."""
        self.consult = info
        self.lesions = []
        self.timepoints = default_timepoints()

    def note(self, ctx: PluginContext) -> str | None:
        if not ctx.consult().is_open:
            return None
        return report_text(self.lesions, self.timepoints)

    def report_section(self, info: ConsultInfo) -> ReportSection | None:
        """The RECIST 1.1 table of ``info``'s report, from the lesions entered for that consult."""
        return report_section(self.lesions, self.timepoints) if same_consult(info, self.consult) else None

    def contributions(self, ctx: PluginContext) -> Contributions:
        return Contributions(
            panels=[
                PanelContribution("oncology.recist", lambda: translate("Oncology", "RECIST 1.1"), self._panel)
            ],
            imaging_tools=[
                ImagingTool(
                    "oncology.recist_diameter",
                    lambda: translate("Oncology", "RECIST diameter"),
                    "measurement",
                    {"shape": "line", "unit": "mm"},
                    modalities=("CT", "MR"),
                )
            ],
            note_sections=[
                NoteSection(
                    "oncology.recist",
                    lambda: translate("Oncology", "Tumour response (RECIST 1.1)"),
                    self.note,
                )
            ],
            report_sections=[self.report_section],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.oncology.widget import QtRecistPanel

        return QtRecistPanel(ctx, self)
