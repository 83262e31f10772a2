"""The consult context: the one consult a main window works on, its patient, its participants and the
signed-in user. Qt-free.

Every clinical panel binds to one :class:`ConsultContext` (the main window holds exactly one, as
``Workstation.context``): it shows whose data it holds and clears itself when ``changed`` says the
patient changed or the context ended. Data that arrives for another consult or another patient is
refused by the panel that receives it, with :meth:`ConsultContext.owns` and :meth:`ConsultContext.is_patient`
as the test. Ending the context (consult closed, another consult opened, sign-out, lock) is one call
(:meth:`end`), and every listener has run by the time it returns: switching consults leaves no panel on
the old patient.

Why one object and not a patient per panel: a wrong-patient error is a panel that kept its own idea of
who the patient is. Here there is one idea, and the reason it ended is given to every listener
(``"closed"``, ``"switched"``, ``"signed_out"``, ``"locked"``), so a panel can say why it went blank.
On ``"locked"`` a panel clears what it shows and holds, but what runs on (a monitor's alarm engine)
keeps running: a lock never silences an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.consult.identity import same_patient
from core.consult.patient import Patient
from core.observable import Event

CLOSED = "closed"
SWITCHED = "switched"
SIGNED_OUT = "signed_out"
LOCKED = "locked"  # the screen locked: panels let go of identity; the consult reopens on unlock


@dataclass(frozen=True)
class OpenConsult:
    """What the workstation knows of the open consult: enough to bind data to it and nothing more."""

    consult_id: int | None
    patient: Patient
    participants: frozenset[str] = field(default_factory=frozenset)  # usernames
    study_uid: str | None = None


class ConsultContext:
    """The one consult (and patient) the workstation is acting on, or none.

    ``changed`` fires with the new patient (or None) whenever the patient in context changes;
    ``opened`` with the consult when one opens; ``ended`` with the reason when one ends. Listeners run
    on the thread that calls :meth:`open` / :meth:`end` (the UI thread in the app).
    """

    def __init__(self) -> None:
        self.changed: Event[[Patient | None]] = Event()
        self.opened: Event[[OpenConsult]] = Event()
        self.ended: Event[[str]] = Event()
        self._consult: OpenConsult | None = None
        self.user: str | None = None  # the signed-in username, or None

    # what is in context ------------------------------------------------------------------------
    @property
    def consult(self) -> OpenConsult | None:
        return self._consult

    @property
    def patient(self) -> Patient | None:
        return self._consult.patient if self._consult is not None else None

    @property
    def consult_id(self) -> int | None:
        return self._consult.consult_id if self._consult is not None else None

    def owns(self, consult_id: int | None) -> bool:
        """Whether data stamped with ``consult_id`` belongs here (an open consult with that id)."""
        return consult_id is not None and self._consult is not None and self._consult.consult_id == consult_id

    def is_patient(self, patient_id: str, name: str = "", birth_date: str = "", issuer: str = "") -> bool:
        """Whether an outside identity (DICOM, HL7) is the patient in context; False with none open."""
        patient = self.patient
        return patient is not None and same_patient(patient, patient_id, name, birth_date, issuer).same

    # changing it -------------------------------------------------------------------------------
    def open(
        self,
        patient: Patient,
        consult_id: int | None = None,
        participants: frozenset[str] | set[str] | tuple[str, ...] = (),
        study_uid: str | None = None,
    ) -> None:
        """Put a consult in context; another one open before ends first (reason ``switched``)."""
        consult = OpenConsult(consult_id, patient, frozenset(participants), study_uid)
        if consult == self._consult:
            return
        previous = self._consult
        if previous is not None and (previous.consult_id != consult_id or previous.patient != patient):
            self._end(SWITCHED, emit_changed=False)
        self._consult = consult
        if previous is None or previous.patient != patient:
            self.changed.emit(patient)
        if previous is None or previous.consult_id != consult_id:
            self.opened.emit(consult)

    def end(self, reason: str = CLOSED) -> None:
        """End the consult in context; twice is harmless."""
        self._end(reason, emit_changed=True)

    def close(self) -> None:
        self.end(CLOSED)

    def sign_out(self) -> None:
        """No patient data without a signed-in user: the context ends and forgets the user."""
        self.user = None
        self.end(SIGNED_OUT)

    def lock(self) -> OpenConsult | None:
        """The screen locks: the consult leaves the context (reason ``locked``) and is returned, so the
        workstation can reopen it, fetched afresh, once the user unlocks."""
        consult = self._consult
        self.end(LOCKED)
        return consult

    def _end(self, reason: str, emit_changed: bool) -> None:
        if self._consult is None:
            return
        self._consult = None
        self.ended.emit(reason)
        if emit_changed:
            self.changed.emit(None)
