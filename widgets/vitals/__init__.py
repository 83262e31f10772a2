"""The vitals panel and its parts.

``create_vitals_panel`` builds the bedside monitor (a source picker: simulator, replay, HL7 feed);
``create_remote_vitals_panel`` the specialist's view of a patient whose samples arrive over the call.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.vitals.alarms import AuditCallback
from app.vitals.buffer import VitalsStore
from app.vitals.engine import MonitorEngine
from app.vitals.simulator import Scenario
from app.vitals.sources import SourceSwitch
from widgets.vitals.panel import QtVitalsPanel


def create_vitals_panel(
    parent: QWidget | None = None,
    scenario: Scenario = Scenario.NORMAL,
    seed: int = 0,
    audit: AuditCallback | None = None,
    hl7_bind: str = "127.0.0.1",
    hl7_port: int = 2575,
) -> QtVitalsPanel:
    """A bedside monitor starting on the simulator, its engine evaluating alarms on its own thread.

    ``close_model()`` (MainWindow calls it on close) stops the timer, the source and the engine.
    """
    store = VitalsStore(seconds=60.0)
    sources = SourceSwitch(store, hl7_host=hl7_bind, hl7_port=hl7_port)
    sources.use_simulator(scenario, seed=seed)
    engine = MonitorEngine(store, audit=audit)
    engine.start()
    return QtVitalsPanel(store, engine, parent=parent, sources=sources)


def create_remote_vitals_panel(
    parent: QWidget | None = None, audit: AuditCallback | None = None
) -> QtVitalsPanel:
    """The specialist's monitor: an empty store that the call's ``vitals`` channel fills
    (:class:`app.vitals.link.VitalsDownlink`); alarms are evaluated here too, on what arrives."""
    store = VitalsStore(seconds=60.0)
    engine = MonitorEngine(store, audit=audit)
    engine.start()
    return QtVitalsPanel(store, engine, parent=parent)


__all__ = ["QtVitalsPanel", "create_remote_vitals_panel", "create_vitals_panel"]
