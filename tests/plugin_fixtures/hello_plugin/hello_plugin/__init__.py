"""The smallest complete Teleconsult plugin: a manifest, a panel, an action and a vitals analyser."""

from __future__ import annotations

from typing import Any, ClassVar

from plugins.api import (
    ActionContribution,
    AnalyserResult,
    BasePlugin,
    Contributions,
    PanelContribution,
    PluginContext,
    VitalsAnalyser,
    VitalsFrame,
    translate,
)


def count_samples(frame: VitalsFrame) -> AnalyserResult:
    ecg = frame.waves.get("ecg")
    seconds = 0.0 if ecg is None else ecg.values.shape[1] / ecg.fs
    return AnalyserResult(numerics={"hello_ecg_seconds": seconds})


class HelloPlugin(BasePlugin):
    manifest: ClassVar[dict[str, Any]] = {
        "id": "hello",
        "name": "Hello (example)",
        "version": "0.3.1",
        "api": ">=1.0, <2",
        "specialties": ["example"],
        "roles": ["specialist", "county_doctor", "it_admin"],
        "needs": ["vitals"],
    }

    def __init__(self) -> None:
        self.greetings = 0
        self.last: AnalyserResult | None = None

    def activate(self, ctx: PluginContext) -> None:
        ctx.subscribe_analysis("seconds", self._keep)

    def _keep(self, result: AnalyserResult) -> None:
        self.last = result

    def greet(self, ctx: PluginContext) -> None:
        self.greetings += 1

    def contributions(self, ctx: PluginContext) -> Contributions:
        return Contributions(
            panels=[PanelContribution("hello.panel", "Hello", self._panel)],
            actions=[ActionContribution("hello.greet", lambda: translate("Hello", "Say hello"), self.greet)],
            analysers=[VitalsAnalyser("seconds", "ECG seconds", count_samples, window_s=2, period_s=0.1)],
        )

    def _panel(self, ctx: PluginContext) -> Any:
        from PySide6.QtWidgets import QLabel

        return QLabel(f"Hello from a third-party plugin ({ctx.role})")
