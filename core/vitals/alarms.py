"""The alarm state machine: IEC 60601-1-8 priorities, acknowledge, a two-minute audio pause, logging.

Conditions come in from :class:`~core.vitals.engine.MonitorEngine` on its own thread; the UI only reads
:meth:`AlarmManager.snapshot` and calls :meth:`acknowledge` / :meth:`pause_audio`. Every onset,
escalation, acknowledgement, pause and clearing is logged and passed to the optional audit callback
(the backend's audit log when connected).

High-priority alarms latch (IEC 60601-1-8, 6.2 and 6.3.2.4): when the condition ends before anyone
acknowledged the alarm, it stays shown and sounding, marked as ended and when (:attr:`Alarm.ended_at`),
until acknowledged; acknowledging an ended alarm clears it, and a condition that returns first makes it
active again. Choices where the standard leaves room: medium and low priority alarms, and high ones
already acknowledged, are non-latching (they clear with their condition); an acknowledged alarm stays
shown, steady instead of flashing, and is re-announced if its priority rises; a new alarm condition (or
an escalation) ends an audio pause, so nothing new is ever silent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum

from core.observable import Event

log = logging.getLogger(__name__)

AUDIO_PAUSE_S = 120.0

AuditCallback = Callable[[str, dict[str, object]], None]


class Priority(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3


class AlarmKind(StrEnum):
    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"


@dataclass(frozen=True)
class AlarmCondition:
    """What the engine found this evaluation. ``alarm_id`` identifies it (and its translated text)."""

    alarm_id: str
    priority: Priority
    kind: AlarmKind
    message: str
    value: float | None = None


@dataclass(frozen=True)
class Alarm:
    alarm_id: str
    priority: Priority
    kind: AlarmKind
    message: str
    value: float | None
    onset: float
    acknowledged: bool = False
    ended_at: float | None = None  # a latched alarm whose condition ended then, not yet acknowledged

    @property
    def latched(self) -> bool:
        """Shown (and sounding) only because it latches: its condition has ended."""
        return self.ended_at is not None


@dataclass(frozen=True)
class AlarmSnapshot:
    alarms: tuple[Alarm, ...]
    audio_paused_s: float  # seconds of audio pause left (0 when not paused)
    now: float

    @property
    def highest(self) -> Priority | None:
        return max((a.priority for a in self.alarms), default=None)

    @property
    def audio_on(self) -> bool:
        """Whether the alarm sound plays: an unacknowledged alarm and no audio pause."""
        return self.audio_paused_s <= 0 and any(not a.acknowledged for a in self.alarms)


class AlarmManager:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        audit: AuditCallback | None = None,
        pause_s: float = AUDIO_PAUSE_S,
    ) -> None:
        self.clock = clock
        self.audit = audit
        self.pause_s = pause_s
        self._alarms: dict[str, Alarm] = {}
        self._paused_until: float | None = None
        self._lock = threading.Lock()
        # emitted on the thread that changed the state (usually the engine's): never touch Qt from it
        self.changed: Event[AlarmSnapshot] = Event()

    def _record(self, events: list[tuple[str, dict[str, object]]], kind: str, **details: object) -> None:
        events.append((kind, details))

    def _flush(self, events: list[tuple[str, dict[str, object]]]) -> None:
        for kind, details in events:
            level = (
                logging.WARNING if kind in ("vitals.alarm.onset", "vitals.alarm.escalated") else logging.INFO
            )
            log.log(level, "%s %s", kind, " ".join(f"{k}={v}" for k, v in details.items()))
            if self.audit is not None:
                try:
                    self.audit(kind, details)
                except Exception:  # the audit trail must never stop alarm handling
                    log.exception("alarm audit callback failed")
        if events:
            self.changed.emit(self.snapshot())

    def update(
        self, conditions: Iterable[AlarmCondition], now: float | None = None, *, latch: bool = True
    ) -> None:
        """Apply one evaluation's conditions: onsets, escalations, de-escalations, clearings, pause expiry.
        ``latch=False`` when nothing is monitored any more (no patient, only history): alarms whose
        condition ended clear at once, latched ones included."""
        now = self.clock() if now is None else now
        events: list[tuple[str, dict[str, object]]] = []
        with self._lock:
            seen: set[str] = set()
            for c in conditions:
                seen.add(c.alarm_id)
                old = self._alarms.get(c.alarm_id)
                common = {
                    "alarm": c.alarm_id,
                    "priority": c.priority.name,
                    "type": c.kind.value,
                    "value": c.value,
                }
                if old is None:
                    self._alarms[c.alarm_id] = Alarm(c.alarm_id, c.priority, c.kind, c.message, c.value, now)
                    self._record(events, "vitals.alarm.onset", **common, message=c.message)
                    self._end_pause(events, now, reason=c.alarm_id)
                elif c.priority > old.priority:
                    self._alarms[c.alarm_id] = replace(
                        old, priority=c.priority, message=c.message, value=c.value, acknowledged=False
                    )
                    self._record(events, "vitals.alarm.escalated", **common, previous=old.priority.name)
                    self._end_pause(events, now, reason=c.alarm_id)
                else:
                    if c.priority < old.priority:
                        self._record(events, "vitals.alarm.deescalated", **common, previous=old.priority.name)
                    if old.ended_at is not None:
                        self._record(events, "vitals.alarm.condition_returned", **common)
                    self._alarms[c.alarm_id] = replace(
                        old, priority=c.priority, message=c.message, value=c.value, ended_at=None
                    )
            for alarm_id in [a for a in self._alarms if a not in seen]:
                alarm = self._alarms[alarm_id]
                if latch and alarm.ended_at is not None:
                    continue  # latched: stays until acknowledged
                if latch and alarm.priority is Priority.HIGH and not alarm.acknowledged:
                    self._alarms[alarm_id] = replace(alarm, ended_at=now)
                    self._record(
                        events,
                        "vitals.alarm.condition_ended",
                        alarm=alarm_id,
                        priority=alarm.priority.name,
                        duration_s=round(now - alarm.onset, 1),
                        latched=True,
                    )
                    continue
                gone = self._alarms.pop(alarm_id)
                self._record(
                    events, "vitals.alarm.cleared", alarm=alarm_id, duration_s=round(now - gone.onset, 1)
                )
            if self._paused_until is not None and now >= self._paused_until:
                self._paused_until = None
                self._record(events, "vitals.alarm.audio_pause_expired")
        self._flush(events)

    def _end_pause(self, events: list[tuple[str, dict[str, object]]], now: float, reason: str) -> None:
        if self._paused_until is not None and now < self._paused_until:
            self._paused_until = None
            self._record(events, "vitals.alarm.audio_pause_ended", reason=reason)

    def acknowledge(self, alarm_id: str | None = None, user: str = "") -> int:
        """Acknowledge one alarm (or all): its sound stops, its display turns steady. Returns how many."""
        events: list[tuple[str, dict[str, object]]] = []
        with self._lock:
            targets = [
                a for a in self._alarms.values() if not a.acknowledged and alarm_id in (None, a.alarm_id)
            ]
            for a in targets:
                self._record(
                    events, "vitals.alarm.acknowledged", alarm=a.alarm_id, priority=a.priority.name, user=user
                )
                if a.ended_at is None:
                    self._alarms[a.alarm_id] = replace(a, acknowledged=True)
                    continue
                del self._alarms[a.alarm_id]  # a latched alarm whose condition has ended: now it clears
                self._record(
                    events,
                    "vitals.alarm.cleared",
                    alarm=a.alarm_id,
                    duration_s=round(a.ended_at - a.onset, 1),
                    reason="acknowledged after its condition ended",
                )
        self._flush(events)
        return len(targets)

    def pause_audio(self, user: str = "", now: float | None = None) -> None:
        """Silence every alarm for two minutes; they stay shown and the sound returns when it expires."""
        now = self.clock() if now is None else now
        events: list[tuple[str, dict[str, object]]] = []
        with self._lock:
            self._paused_until = now + self.pause_s
            self._record(events, "vitals.alarm.audio_paused", seconds=self.pause_s, user=user)
        self._flush(events)

    def reset(self, reason: str, now: float | None = None) -> int:
        """Forget every alarm and any audio pause: the patient they were about left the bed (never
        called on a lock, which silences nothing). Each one is logged and audited as cleared, with the
        reason. Returns how many there were."""
        now = self.clock() if now is None else now
        events: list[tuple[str, dict[str, object]]] = []
        with self._lock:
            for alarm in self._alarms.values():
                self._record(
                    events,
                    "vitals.alarm.cleared",
                    alarm=alarm.alarm_id,
                    duration_s=round(now - alarm.onset, 1),
                    reason=reason,
                )
            count = len(self._alarms)
            self._alarms.clear()
            self._paused_until = None
        self._flush(events)
        if not events:
            self.changed.emit(self.snapshot(now))
        return count

    def summary(self) -> tuple[Priority, int] | None:
        """The highest active priority and how many alarms are active (no message, no identity)."""
        with self._lock:
            if not self._alarms:
                return None
            return max(a.priority for a in self._alarms.values()), len(self._alarms)

    def snapshot(self, now: float | None = None) -> AlarmSnapshot:
        now = self.clock() if now is None else now
        with self._lock:
            alarms = sorted(self._alarms.values(), key=lambda a: (-a.priority, a.onset))
            paused = 0.0 if self._paused_until is None else max(0.0, self._paused_until - now)
        return AlarmSnapshot(tuple(alarms), paused, now)
