"""The bed a vitals feed is bound to, and the patient the bed is bound to. Qt-free.

A monitor's data is only ever some patient's: every source (the simulator, a recording, the HL7 feed,
the call's ``vitals`` channel) writes into a store that belongs to one :class:`Bed`, and the bed holds
the patient of the consult in context at that workstation (``Bed.follow(context)``). So:

- with **no patient attached** nothing is stored and nothing alarms: an HL7 message is answered AE, the
  simulator and a replay hold their samples back, a streamed batch is dropped;
- an HL7 message whose PID names **another patient** is refused (:meth:`Bed.identity_problem`, with
  :func:`core.consult.identity.same_patient` as the test);
- a batch streamed for **another consult** is dropped (:meth:`Bed.accepts_consult`);
- when the patient changes or the context ends the panel clears everything of the previous patient
  (``changed`` fires, with the reason in :attr:`Bed.ended_reason`).

A **lock** is not an end: the bed keeps its patient, so the monitor keeps monitoring and its alarms keep
sounding behind the lock screen; the panel only hides whose data it is until the user is back (the
consult reopened on unlock is the same patient, so nothing is cleared). Sign-out does end it.

The bed is changed on the UI thread and read from the sources' threads; what they read is one immutable
tuple, swapped whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from core.consult.context import ConsultContext
from core.consult.identity import same_patient
from core.consult.patient import Patient
from core.observable import Event

log = logging.getLogger(__name__)

LOCKED = "locked"  # ConsultContext's reason when the screen locks: the bed keeps its patient
SIGNED_OUT = "signed_out"


@dataclass(frozen=True)
class Refusal:
    """Why data identified by an outside identity is not this bed's patient's."""

    reason: str  # for the sender (an HL7 ACK): names nothing of the bed's patient
    detail: str  # for the audit trail and the screen: which part differs, with both values
    other_patient: bool  # True: another patient's data; False: no patient is attached


# what differs, by the start of core.consult.identity's reason, as the sender may be told it
_PUBLIC = (
    ("no patient ID", "PID-3 carries no patient ID"),
    ("patient ID", "PID-3 is another patient's ID"),
    ("the name", "PID-5 (name) is not the name of the patient at this bed"),
    ("born", "PID-7 (birth date) is not that of the patient at this bed"),
)


@dataclass(frozen=True)
class Binding:
    patient: Patient | None
    consult_id: int | None
    locked: bool = False  # the screen is locked: keep monitoring, show no identity


class Bed:
    """One bed: which patient (and consult) its vitals belong to, and the state of the call feeding it.

    ``changed`` fires (on the thread that changed it, the UI thread in the app) with the new patient, or
    None when the patient left; a listener clears what it holds of the previous one.
    """

    def __init__(self, name: str = "bedside", clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.clock = clock
        self._binding = Binding(None, None)
        self.ended_reason: str | None = None  # why the last patient left (a context end reason)
        self._call_ended_at: float | None = None
        self._ending: str | None = None  # the reason of a context end whose ``changed`` is to come
        self.changed: Event[[Patient | None]] = Event()
        self.lock_changed: Event[[bool]] = Event()

    # who -----------------------------------------------------------------------------------------
    @property
    def binding(self) -> Binding:
        return self._binding

    @property
    def patient(self) -> Patient | None:
        return self._binding.patient

    @property
    def consult_id(self) -> int | None:
        return self._binding.consult_id

    @property
    def locked(self) -> bool:
        return self._binding.locked

    def attach(self, patient: Patient, consult_id: int | None = None) -> None:
        """Bind the bed to ``patient`` (of consult ``consult_id``). The same patient and consult again
        (the consult reopened after a lock) keeps everything; another one starts afresh."""
        old = self._binding
        if old.patient == patient and old.consult_id == consult_id:
            if old.locked:
                self._binding = Binding(patient, consult_id)
                self.lock_changed.emit(False)
            return
        if old.patient == patient and old.consult_id is None and consult_id is not None:
            self._binding = Binding(patient, consult_id)  # the consult's id came after the patient
            if old.locked:
                self.lock_changed.emit(False)
            return
        self._binding = Binding(patient, consult_id)
        self.ended_reason = None
        self._call_ended_at = None
        log.info("vitals bed %s: patient attached (consult %s)", self.name, consult_id)
        self.changed.emit(patient)

    def detach(self, reason: str = "closed") -> None:
        """The patient leaves the bed (consult closed or switched, signed out); twice is harmless."""
        if self._binding.patient is None and self.ended_reason is not None:
            return
        had = self._binding.patient is not None
        self._binding = Binding(None, None)
        self.ended_reason = reason
        self._call_ended_at = None
        if had:
            log.info("vitals bed %s: patient detached (%s)", self.name, reason)
        self.changed.emit(None)

    def lock(self) -> None:
        """The screen locked: identity hidden, monitoring goes on (a lock never silences an alarm)."""
        b = self._binding
        if b.patient is not None and not b.locked:
            self._binding = Binding(b.patient, b.consult_id, locked=True)
            self.lock_changed.emit(True)

    # checks, from any thread ----------------------------------------------------------------------
    def identity_problem(
        self, patient_id: str, name: str = "", birth_date: str = "", issuer: str = ""
    ) -> Refusal | None:
        """Why data identified this way must not be stored here, or None when it is this bed's patient."""
        patient = self._binding.patient
        if patient is None:
            why = f"no patient is attached to bed {self.name}"
            return Refusal(why, why, other_patient=False)
        match = same_patient(patient, patient_id, name, birth_date, issuer)
        if match.same:
            return None
        public = "the PID is not the patient at this bed"
        if " is issued by " in match.reason:
            public = "PID-3.4 (issuer) is not that of the patient at this bed"
        else:
            public = next((text for start, text in _PUBLIC if match.reason.startswith(start)), public)
        return Refusal(f"{public} (bed {self.name})", match.reason, other_patient=True)

    def accepts_consult(self, consult_id: int | None) -> bool:
        """Whether a batch stamped with ``consult_id`` belongs here: a patient is attached and the ids
        agree (an unstamped batch, from a peer older than stream version 2, is taken as the call's)."""
        b = self._binding
        if b.patient is None:
            return False
        return consult_id is None or b.consult_id is None or consult_id == b.consult_id

    @property
    def monitoring(self) -> bool:
        """Whether what arrives is live data of an attached patient (alarms are evaluated on it)."""
        return self._binding.patient is not None and self._call_ended_at is None

    # the call feeding it (the remote side) ---------------------------------------------------------
    @property
    def call_ended_at(self) -> float | None:
        return self._call_ended_at

    def call_started(self) -> None:
        self._call_ended_at = None

    def call_ended(self, at: float | None = None) -> None:
        """The call that fed this bed's store ended: what it holds is history from now on."""
        if self._binding.patient is not None and self._call_ended_at is None:
            self._call_ended_at = self.clock() if at is None else at
            log.info("vitals bed %s: call ended; last values kept as history", self.name)

    # following the consult context -----------------------------------------------------------------
    def follow(
        self, context: ConsultContext, consult_id: Callable[[], int | None] | None = None
    ) -> Callable[[], None]:
        """Keep the bed on the context's patient; returns the function that stops following.

        ``consult_id`` gives the consult's id where the context was opened without one."""

        def current_id() -> int | None:
            cid = context.consult_id
            return consult_id() if cid is None and consult_id is not None else cid

        def on_changed(patient: Patient | None) -> None:
            reason, self._ending = self._ending, None
            if patient is not None:
                self.attach(patient, current_id())
            elif reason == LOCKED:
                self.lock()
            else:
                self.detach(reason or "closed")

        def on_ended(reason: str) -> None:
            self._ending = reason
            if reason == LOCKED:
                self.lock()

        def on_opened(_consult: object) -> None:
            self._ending = None
            patient = context.patient
            if patient is not None:
                self.attach(patient, current_id())

        context.changed.connect(on_changed)
        context.ended.connect(on_ended)
        context.opened.connect(on_opened)
        if context.patient is not None:
            self.attach(context.patient, current_id())

        def stop() -> None:
            context.changed.disconnect(on_changed)
            context.ended.disconnect(on_ended)
            context.opened.disconnect(on_opened)

        return stop


class Feed(StrEnum):
    """What the data a panel shows is, for the label above it."""

    NO_PATIENT = "no_patient"  # nothing is shown: no patient at the bed
    WAITING = "waiting"  # a patient, no data yet
    LIVE = "live"
    STALE = "stale"  # nothing for stale_s: the values shown are old
    ENDED = "ended"  # the call that fed it ended: history, not live


def feed_state(bed: Bed | None, age: float | None, stale_s: float) -> Feed:
    """The state of a feed whose newest data is ``age`` seconds old (None: none yet)."""
    if bed is not None:
        if bed.patient is None:
            return Feed.NO_PATIENT
        if bed.call_ended_at is not None:
            return Feed.ENDED
    if age is None:
        return Feed.WAITING
    return Feed.STALE if age >= stale_s else Feed.LIVE
