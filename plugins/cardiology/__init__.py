"""Cardiology: 12-lead ECG measurements and rhythm flags from the vitals stream, and a report section."""

from __future__ import annotations

from typing import Any, ClassVar

from plugins.api import (
    AnalyserResult,
    BasePlugin,
    Contributions,
    NoteSection,
    PanelContribution,
    PluginAlarm,
    PluginContext,
    VitalsAnalyser,
    VitalsFrame,
    translate,
)
from plugins.cardiology.logic import LEADS_12, EcgMeasurements, measure_ecg, report_text

ANALYSER_ID = "ecg12"


def analyse_frame(frame: VitalsFrame) -> AnalyserResult:
    """Measure the newest 12-lead window; runs on an analyser thread."""
    ecg = frame.waves.get("ecg")
    if ecg is None:
        return AnalyserResult()
    m = measure_ecg(ecg.values, ecg.fs, ecg.channels or LEADS_12)
    if m is None:
        return AnalyserResult(detail=None)
    alarms = []
    if "af" in m.flags:
        alarms.append(
            PluginAlarm("cardiology.af", "medium", "Irregular rhythm without P waves: atrial fibrillation?")
        )
    if "st_elevation" in m.flags:
        alarms.append(PluginAlarm("cardiology.st_elevation", "high", "ST elevation in two contiguous leads"))
    if "long_qtc" in m.flags:
        alarms.append(PluginAlarm("cardiology.long_qtc", "medium", "Long QTc"))
    return AnalyserResult(numerics=m.numerics(), alarms=tuple(alarms), detail=m)


class CardiologyPlugin(BasePlugin):
    manifest: ClassVar[dict[str, Any]] = {
        "id": "cardiology",
        "name": "Cardiology: 12-lead ECG",
        "version": "1.0.0",
        "api": "^1.0",
        "specialties": ["cardiology", "emergency"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["vitals"],
        "description": "HR, PR, QRS, QT/QTc, axis and ST per lead from the live ECG; rhythm flags.",
    }

    def __init__(self) -> None:
        self.latest: EcgMeasurements | None = None

    def activate(self, ctx: PluginContext) -> None:
        ctx.subscribe_analysis(ANALYSER_ID, self._keep)

    def _keep(self, result: AnalyserResult) -> None:
        self.latest = result.detail if isinstance(result.detail, EcgMeasurements) else None

    def contributions(self, ctx: PluginContext) -> Contributions:
        return Contributions(
            panels=[
                PanelContribution(
                    "cardiology.ecg12", lambda: translate("Cardiology", "12-lead ECG"), self._panel
                )
            ],
            analysers=[
                VitalsAnalyser(
                    ANALYSER_ID,
                    lambda: translate("Cardiology", "12-lead measurements"),
                    analyse_frame,
                    window_s=10.0,
                    period_s=5.0,
                    budget_s=2.0,
                )
            ],
            note_sections=[
                NoteSection(
                    "cardiology.ecg12",
                    lambda: translate("Cardiology", "12-lead ECG"),
                    lambda _ctx: report_text(self.latest),
                )
            ],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.cardiology.widget import QtCardiologyPanel  # Qt only when the panel is shown

        return QtCardiologyPanel(ctx, ANALYSER_ID, initial=self.latest)
