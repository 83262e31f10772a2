"""The vitals panel and its parts.

``create_vitals_panel`` builds the bedside monitor (a source picker: simulator, replay, HL7 feed);
``create_remote_vitals_panel`` the specialist's view of a patient whose samples arrive over the call.
"""

from __future__ import annotations

from datetime import tzinfo

from PySide6.QtWidgets import QWidget

from core.vitals.alarms import AuditCallback
from core.vitals.bed import Bed, Refusal
from core.vitals.buffer import VitalsStore
from core.vitals.engine import MonitorEngine
from core.vitals.hl7 import OruMessage
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
    bed: Bed | None = None,
    stale_s: float | None = None,
    hl7_time_zone: tzinfo | None = None,
    hl7_idle_timeout_s: float | None = None,
) -> QtVitalsPanel:
    """A bedside monitor, its engine evaluating alarms on its own thread. It starts on the simulator
    (demo, teaching) or listens for the monitors' HL7 feed; a feed that cannot start leaves no source
    and says why: a real patient's monitor never silently shows simulated data.

    Bound to ``bed`` (the workstation always binds one), every source writes only while a patient is
    attached, the HL7 feed only that patient's messages; a message for another patient is audited and
    raises a technical alarm. ``stale_s``: the site's ``[vitals] stale_after_seconds``.

    ``close_model()`` (MainWindow calls it on close) stops the timer, the source and the engine.
    """
    store = store or VitalsStore(seconds=60.0)
    engine = MonitorEngine(store, audit=audit, bed=bed, stale_s=stale_s)

    def refused(message: OruMessage, refusal: Refusal) -> None:  # on the listener's thread
        details: dict[str, object] = {
            "patient_id": message.patient_id,
            "issuer": message.issuer,
            "control_id": message.control_id,
            "sending_app": message.sending_app,
        }
        engine.refused("hl7", refusal, details)

    sources = SourceSwitch(
        store, hl7_host=hl7_bind, hl7_port=hl7_port, bed=bed, on_refused=refused, hl7_time_zone=hl7_time_zone,
        **({"hl7_idle_timeout_s": hl7_idle_timeout_s} if hl7_idle_timeout_s is not None else {}),
    )  # fmt: skip
    problem = ""
    if start is SourceKind.SIMULATOR:
        sources.use_simulator(scenario, seed=seed)
    elif start is SourceKind.HL7:
        try:
            sources.use_hl7()
        except SourceError as exc:
            problem = str(exc)
    engine.start()
    panel = QtVitalsPanel(store, engine, parent=parent, sources=sources, bed=bed)
    if problem:
        panel.show_source_problem(problem, initial=True)
    return panel


def create_remote_vitals_panel(
    parent: QWidget | None = None,
    audit: AuditCallback | None = None,
    store: VitalsStore | None = None,
    bed: Bed | None = None,
    stale_s: float | None = None,
    pseudonym_salt: bytes | None = None,
) -> QtVitalsPanel:
    """The specialist's monitor: an empty store that the call's ``vitals`` channel fills
    (:class:`core.vitals.link.VitalsDownlink`); alarms are evaluated here too, on what arrives, while it
    is live (``bed``: the consult in context; when its call ends, what is left is shown as history)."""
    store = store or VitalsStore(seconds=60.0)
    engine = MonitorEngine(store, audit=audit, bed=bed, stale_s=stale_s)
    engine.start()
    return QtVitalsPanel(store, engine, parent=parent, bed=bed, pseudonym_salt=pseudonym_salt)


__all__ = ["QtVitalsPanel", "create_remote_vitals_panel", "create_vitals_panel"]
