"""Runs plugins' vitals analysers off the UI thread, each with a time budget. Qt-free.

One scheduler thread decides what is due; each analyser runs on its own worker thread, so a slow one
delays nobody else. Python cannot kill a thread: an analyser that overruns its budget is cut off
instead: its result is discarded whenever it comes, it is never run again, and the failure is reported.
The caller's callbacks run on the scheduler or worker threads; the workstation forwards them to the UI
thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from plugins.api import AnalyserResult, VitalsAnalyser, VitalsFrame
from plugins.registry import ErrorKind, PluginError

log = logging.getLogger(__name__)

ResultCallback = Callable[[str, str, AnalyserResult], None]
FailureCallback = Callable[[PluginError], None]
FrameSource = Callable[[float], VitalsFrame | None]


@dataclass
class _Slot:
    plugin_id: str
    analyser: VitalsAnalyser
    jobs: queue.SimpleQueue[VitalsFrame | None] = field(default_factory=queue.SimpleQueue)
    thread: threading.Thread | None = None
    busy_since: float | None = None
    next_due: float = 0.0
    dead: bool = False
    runs: int = 0
    last_duration: float = 0.0


class AnalyserRunner:
    def __init__(
        self,
        frame_source: FrameSource,
        on_result: ResultCallback,
        on_failure: FailureCallback,
        tick_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._frame_source = frame_source
        self._on_result = on_result
        self._on_failure = on_failure
        self._tick_s = tick_s
        self._clock = clock
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None

    # registration ----------------------------------------------------------------------------------
    def add(self, plugin_id: str, analyser: VitalsAnalyser) -> None:
        slot = _Slot(plugin_id, analyser)
        slot.thread = threading.Thread(
            target=self._work, args=(slot,), name=f"analyser-{plugin_id}-{analyser.analyser_id}", daemon=True
        )
        with self._lock:
            old = self._slots.pop((plugin_id, analyser.analyser_id), None)
            self._slots[(plugin_id, analyser.analyser_id)] = slot
        if old is not None:
            self._retire(old)
        slot.thread.start()

    def remove_plugin(self, plugin_id: str) -> None:
        with self._lock:
            gone = [k for k in self._slots if k[0] == plugin_id]
            slots = [self._slots.pop(k) for k in gone]
        for slot in slots:
            self._retire(slot)

    def analysers(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._slots)

    def stats(self, plugin_id: str, analyser_id: str) -> tuple[int, float] | None:
        """(runs completed, last run's duration in s) of an active analyser."""
        with self._lock:
            slot = self._slots.get((plugin_id, analyser_id))
        return None if slot is None else (slot.runs, slot.last_duration)

    @staticmethod
    def _retire(slot: _Slot) -> None:
        slot.dead = True
        slot.jobs.put(None)  # the worker exits after its current job, if any

    # scheduling ------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Decide what is due now: cut off overrunning analysers, hand fresh frames to idle ones."""
        now = self._clock()
        with self._lock:
            slots = list(self._slots.values())
        for slot in slots:
            a = slot.analyser
            if slot.busy_since is not None:
                if now - slot.busy_since > a.budget_s:
                    self._fail(
                        slot,
                        ErrorKind.ANALYSER_BUDGET,
                        f"analyser '{a.analyser_id}' ran longer than its {a.budget_s:g} s time budget",
                    )
                continue
            if now < slot.next_due:
                continue
            slot.next_due = now + a.period_s
            try:
                frame = self._frame_source(a.window_s)
            except Exception:
                log.exception("reading vitals for analyser %s failed", a.analyser_id)
                continue
            if frame is None:
                continue
            slot.busy_since = now
            slot.jobs.put(frame)

    def _fail(self, slot: _Slot, kind: ErrorKind, detail: str) -> None:
        with self._lock:
            if self._slots.get((slot.plugin_id, slot.analyser.analyser_id)) is slot:
                del self._slots[(slot.plugin_id, slot.analyser.analyser_id)]
        if slot.dead:
            return
        self._retire(slot)
        log.warning("plugin %s: %s", slot.plugin_id, detail)
        self._on_failure(PluginError(slot.plugin_id, kind, detail))

    def _work(self, slot: _Slot) -> None:
        while True:
            frame = slot.jobs.get()
            if frame is None or slot.dead:
                return
            started = self._clock()
            try:
                result = slot.analyser.analyse(frame)
            except Exception as exc:
                self._fail(
                    slot,
                    ErrorKind.ANALYSER_ERROR,
                    f"analyser '{slot.analyser.analyser_id}' raised {type(exc).__name__}: {exc}",
                )
                return
            if slot.dead:  # cut off while it ran: the result is stale and the analyser is gone
                return
            slot.last_duration = self._clock() - started
            slot.runs += 1
            slot.busy_since = None
            if not isinstance(result, AnalyserResult):
                self._fail(
                    slot,
                    ErrorKind.ANALYSER_ERROR,
                    f"analyser '{slot.analyser.analyser_id}' returned {type(result).__name__}, "
                    "not AnalyserResult",
                )
                return
            try:
                self._on_result(slot.plugin_id, slot.analyser.analyser_id, result)
            except Exception:
                log.exception("delivering the result of analyser %s failed", slot.analyser.analyser_id)

    # lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._scheduler is not None:
            return
        self._stop.clear()
        self._scheduler = threading.Thread(target=self._run, name="plugin-analysers", daemon=True)
        self._scheduler.start()

    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            try:
                self.tick()
            except Exception:
                log.exception("analyser scheduling failed")

    def close(self) -> None:
        """Stop scheduling and release every worker; calling it twice is harmless."""
        self._stop.set()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.join(timeout=2.0)
        with self._lock:
            slots = list(self._slots.values())
            self._slots.clear()
        for slot in slots:
            self._retire(slot)
