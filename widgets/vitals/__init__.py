"""The vitals panel and its parts.

``create_vitals_panel`` builds the bedside monitor (a source picker: simulator, replay, HL7 feed);
``create_remote_vitals_panel`` the specialist's view of a patient whose samples arrive over the call.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from core.vitals.alarms import AuditCallback
from core.vitals.buffer import VitalsStore
from core.vitals.engine import MonitorEngine
from core.vitals.simulator import Scenario
from core.vitals.sources import SourceError, SourceKind, SourceSwitch
from widgets.vitals.panel import QtVitalsPanel


def create_vitals_panel(
    parent: QWidget | None = None,
    scenario: Scenario = Scenario.NORMAL,
    seed: int = 0,
    audit: AuditCallback | None = None,
    hl7_bind: str = "127.0.0.1",
    hl7_port: int = 2575,
    store: VitalsStore | None = None,
    start: SourceKind = SourceKind.SIMULATOR,
) -> QtVitalsPanel:
    """A bedside monitor, its engine evaluating alarms on its own thread. It starts on the simulator
    (demo, teaching) or listens for the monitors' HL7 feed; a feed that cannot start leaves no source
    and says why: a real patient's monitor never silently shows simulated data.

    ``close_model()`` (MainWindow calls it on close) stops the timer, the source and the engine.
    """
    store = store or VitalsStore(seconds=60.0)
    sources = SourceSwitch(store, hl7_host=hl7_bind, hl7_port=hl7_port)
    problem = ""
    if start is SourceKind.SIMULATOR:
        sources.use_simulator(scenario, seed=seed)
    elif start is SourceKind.HL7:
        try:
            sources.use_hl7()
        except SourceError as exc:
            problem = str(exc)
    engine = MonitorEngine(store, audit=audit)
    engine.start()
    panel = QtVitalsPanel(store, engine, parent=parent, sources=sources)
    if problem:
        panel.show_source_problem(problem, initial=True)
    return panel


def create_remote_vitals_panel(
    parent: QWidget | None = None, audit: AuditCallback | None = None, store: VitalsStore | None = None
) -> QtVitalsPanel:
    """The specialist's monitor: an empty store that the call's ``vitals`` channel fills
    (:class:`core.vitals.link.VitalsDownlink`); alarms are evaluated here too, on what arrives."""
    store = store or VitalsStore(seconds=60.0)
    engine = MonitorEngine(store, audit=audit)
    engine.start()
    return QtVitalsPanel(store, engine, parent=parent)


__all__ = ["QtVitalsPanel", "create_remote_vitals_panel", "create_vitals_panel"]
