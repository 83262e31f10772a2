"""The vitals panel and its parts. ``create_vitals_panel`` builds a running demo monitor."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.vitals.alarms import AuditCallback
from app.vitals.buffer import VitalsStore
from app.vitals.engine import MonitorEngine
from app.vitals.simulator import Scenario, SimulatorSource
from widgets.vitals.panel import QtVitalsPanel


def create_vitals_panel(
    parent: QWidget | None = None,
    scenario: Scenario = Scenario.NORMAL,
    seed: int = 0,
    audit: AuditCallback | None = None,
) -> QtVitalsPanel:
    """A vitals panel fed by the simulator (demo mode), its engine evaluating alarms on its own thread.

    ``close_model()`` (MainWindow calls it on close) stops the timer and both threads.
    """
    store = VitalsStore(seconds=60.0)
    simulator = SimulatorSource(store, scenario, seed=seed)
    engine = MonitorEngine(store, audit=audit)
    simulator.step()
    simulator.start()
    engine.start()
    return QtVitalsPanel(store, engine, simulator, parent)


__all__ = ["QtVitalsPanel", "create_vitals_panel"]
