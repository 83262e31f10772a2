"""Cardiology: 12-lead ECG measurements and rhythm flags from the vitals stream, and a report section.

The newest measurement belongs to the consult in context: it is dropped when that changes or ends
(closed, switched, signed out, screen locked), and while no consult is open results are not kept (the
analyser runs on, but what it measures is nobody's in the workstation's eyes).
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugins.api import (
    AnalyserResult,
    BasePlugin,
    ConsultInfo,
    Contributions,
    NoteSection,
    PanelContribution,
    PluginAlarm,
    PluginContext,
    ReportSection,
    VitalsAnalyser,
    VitalsFrame,
    same_consult,
    translate,
)
from plugins.cardiology.logic import LEADS_12, EcgMeasurements, measure_ecg, report_section, report_text

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
        "version": "1.2.0",
        "api": "^1.2",
        "specialties": ["cardiology", "emergency"],
        "roles": ["specialist", "county_doctor", "trainee"],
        "needs": ["vitals", "consult"],
        "description": "HR, PR, QRS, QT/QTc, axis and ST per lead from the live ECG; rhythm flags.",
    }

    def __init__(self) -> None:
        self.latest: EcgMeasurements | None = None  # of the consult in context only
        self.consult: ConsultInfo | None = None  # the consult ``latest`` belongs to
        self._ctx: PluginContext | None = None

    def activate(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        info = ctx.consult()
        self.consult = info if info.is_open else None
        ctx.subscribe_analysis(ANALYSER_ID, self._keep)
        ctx.subscribe_consult(self.consult_changed)  # before any panel subscribes: the panel sees it reset

    def consult_changed(self, info: ConsultInfo | None) -> None:
        """Another consult, or none: the previous patient's measurement goes."""
        self.consult = info
        self.latest = None

    def _keep(self, result: AnalyserResult) -> None:
        detail = result.detail if isinstance(result.detail, EcgMeasurements) else None
        self.latest = detail if self._ctx is not None and self._ctx.consult().is_open else None

    def note(self, ctx: PluginContext) -> str | None:
        return report_text(self.latest) if ctx.consult().is_open else None

    def report_section(self, info: ConsultInfo) -> ReportSection | None:
        """The "ECG measurements" section of ``info``'s report: the newest measurement of that consult."""
        return report_section(self.latest) if same_consult(info, self.consult) else None

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
                    self.note,
                )
            ],
            report_sections=[self.report_section],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from plugins.cardiology.widget import QtCardiologyPanel  # Qt only when the panel is shown

        return QtCardiologyPanel(ctx, ANALYSER_ID, initial=self.latest)
