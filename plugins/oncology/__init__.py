"""Oncology: RECIST 1.1 target lesions tracked across a baseline and a follow-up CT."""

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
from plugins.oncology.logic import Lesion, Timepoint, report_text


class OncologyPlugin(BasePlugin):
    manifest: ClassVar[dict[str, Any]] = {
        "id": "oncology",
        "name": "Oncology: RECIST 1.1",
        "version": "1.0.0",
        "api": "^1.0",
        "specialties": ["oncology", "radiology"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["imaging", "consult"],
        "description": "Target lesions on CT across two studies, sum of diameters and the response category.",
    }

    def __init__(self) -> None:
        # the panel keeps these current, the note section reads them
        self.lesions: list[Lesion] = []
        self.timepoints: list[Timepoint] = [Timepoint("Baseline"), Timepoint("Follow-up")]

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
                    lambda _ctx: report_text(self.lesions, self.timepoints),
                )
            ],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.oncology.widget import QtRecistPanel

        return QtRecistPanel(ctx, self)
