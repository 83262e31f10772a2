"""Where a monitor's samples come from, and switching between them. Qt-free.

The bedside workstation feeds its store from one source at a time: the physiological simulator
(demo and teaching), a recording replayed in real time (WFDB or CSV), or the HL7 v2 ORU^R01
observations a bedside monitor or gateway sends over MLLP. Switching closes the old source first; a
source that cannot start (a bad file, a port in use) raises :class:`SourceError` with a reason a
clinician or IT can act on, and the previous one is not left half-closed.

Every source is bound to the switch's :class:`~core.vitals.bed.Bed`: the simulator and a replay write
nothing while no patient is attached, and the HL7 listener stores only the bed's patient's messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from core.vitals.bed import Bed
from core.vitals.buffer import VitalsStore
from core.vitals.hl7 import IDLE_TIMEOUT_S, MllpListener, RefusedCallback
from core.vitals.replay import ReplayError, ReplaySource, load_recording
from core.vitals.simulator import Scenario, SimulatorSource

log = logging.getLogger(__name__)


class SourceKind(StrEnum):
    NONE = "none"  # the specialist's side: samples arrive over the call
    SIMULATOR = "simulator"
    REPLAY = "replay"
    HL7 = "hl7"


class SourceError(Exception):
    pass


class Closeable(Protocol):
    def close(self) -> None: ...


@dataclass
class ActiveSource:
    kind: SourceKind
    handle: Closeable | None
    detail: str  # the file, or host:port, for the display and the log

    @property
    def simulator(self) -> SimulatorSource | None:
        return self.handle if isinstance(self.handle, SimulatorSource) else None


class SourceSwitch:
    """Owns the store's current source. ``close()`` twice is harmless."""

    def __init__(
        self,
        store: VitalsStore,
        hl7_host: str = "127.0.0.1",
        hl7_port: int = 2575,
        bed: Bed | None = None,
        on_refused: RefusedCallback | None = None,
        hl7_time_zone: tzinfo | None = None,
        hl7_idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.store = store
        # the site's [vitals] monitor_time_zone (None: the workstation's) and idle limit for HL7 peers
        self.hl7_time_zone, self.hl7_idle_timeout_s = hl7_time_zone, hl7_idle_timeout_s
        self.hl7_host, self.hl7_port = hl7_host, hl7_port
        self.bed = bed  # None: bound to no bed (tests, tools): every source writes
        self.on_refused = on_refused
        self.active = ActiveSource(SourceKind.NONE, None, "")

    def _gate(self) -> bool:
        return self.bed is None or self.bed.patient is not None

    def use_simulator(self, scenario: Scenario = Scenario.NORMAL, seed: int = 0) -> ActiveSource:
        self._stop()
        source = SimulatorSource(self.store, scenario, seed=seed, gate=self._gate)
        source.step()
        source.start()
        return self._set(ActiveSource(SourceKind.SIMULATOR, source, scenario.value))

    def adopt(self, source: SimulatorSource) -> ActiveSource:
        """Take over a simulator that is already running (the demo builds one before the panel)."""
        self._stop()
        source.gate = self._gate
        return self._set(ActiveSource(SourceKind.SIMULATOR, source, source.scenario.value))

    def use_replay(self, path: Path) -> ActiveSource:
        try:
            recording = load_recording(path)
        except ReplayError as exc:
            raise SourceError(f"{path.name}: {exc}") from None
        except OSError as exc:
            raise SourceError(f"{path.name}: {exc.strerror or exc}") from None
        self._stop()
        source = ReplaySource(self.store, recording, gate=self._gate)
        source.step()
        source.start()
        return self._set(ActiveSource(SourceKind.REPLAY, source, str(path)))

    def use_hl7(self) -> ActiveSource:
        listener = MllpListener(
            self.store, host=self.hl7_host, port=self.hl7_port, bed=self.bed, on_refused=self.on_refused,
            time_zone=self.hl7_time_zone, idle_timeout_s=self.hl7_idle_timeout_s,
        )  # fmt: skip
        try:
            listener.start()
        except (OSError, RuntimeError) as exc:
            listener.close()
            raise SourceError(
                f"cannot listen for HL7 on {self.hl7_host}:{self.hl7_port}: {exc}. "
                "Is another program using the port? IT sets it in the site file ([vitals] hl7_port)."
            ) from None
        self._stop()
        return self._set(ActiveSource(SourceKind.HL7, listener, f"{self.hl7_host}:{listener.port}"))

    def use_none(self) -> ActiveSource:
        self._stop()
        return self._set(ActiveSource(SourceKind.NONE, None, ""))

    def _set(self, active: ActiveSource) -> ActiveSource:
        self.active = active
        log.info("vitals source: %s %s", active.kind.value, active.detail)
        return active

    def _stop(self) -> None:
        handle = self.active.handle
        self.active = ActiveSource(SourceKind.NONE, None, "")
        if handle is not None:
            try:
                handle.close()
            except Exception:
                log.exception("closing the vitals source failed")

    def close(self) -> None:
        self._stop()
