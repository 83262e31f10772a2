"""Prefetch: when a specialist accepts or opens a consult with a study, retrieve it in the background.

Qt-free. A small thread pool fills the :class:`core.worklist.study_cache.StudyCache`; each consult's study is
``missing``, ``downloading`` (with a fraction), ``ready`` (with its folder) or ``failed`` (with the
reason). ``changed(consult_id)`` is emitted through ``post`` (the UI wiring passes a function that
runs callbacks on the Qt thread), so observers never see a worker thread.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.observable import Event
from core.worklist.study_cache import StudyCache

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], object]], None]


class StudyState(enum.StrEnum):
    NONE = "none"  # the consult has no study
    MISSING = "missing"  # not here and not being fetched (no PACS configured, or not asked yet)
    DOWNLOADING = "downloading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class StudyStatus:
    state: StudyState
    study_uid: str | None = None
    fraction: float = 0.0
    error: str = ""
    path: Path | None = None


def pick_endpoint(endpoints: Sequence[Any], source: str = "") -> Any | None:
    """The endpoint the study was sent to (by name), else the first DICOMweb one, else the first."""
    for endpoint in endpoints:
        if source and str(endpoint.name) == source:
            return endpoint
    for endpoint in endpoints:
        if str(endpoint.kind) == "dicomweb":
            return endpoint
    return endpoints[0] if endpoints else None


def _direct(fn: Callable[[], object]) -> None:
    fn()


class Prefetcher:
    def __init__(
        self,
        cache: StudyCache,
        endpoints: Sequence[Any],
        *,
        post: Post = _direct,
        max_workers: int = 2,
    ) -> None:
        self.cache = cache
        self.endpoints = list(endpoints)
        self.changed: Event[[int]] = Event()
        self._post = post
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="prefetch")
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._consults: dict[int, str] = {}  # consult id -> Study Instance UID
        self._studies: dict[str, StudyStatus] = {}
        self._futures: dict[str, Future[None]] = {}
        self._done: dict[str, threading.Event] = {}
        self._closed = False

    # queries ---------------------------------------------------------------------------------
    def status(self, consult_id: int) -> StudyStatus:
        with self._lock:
            uid = self._consults.get(consult_id)
            if uid is None:
                return StudyStatus(StudyState.NONE)
            known = self._studies.get(uid)
        if known is not None and known.state is not StudyState.MISSING:
            return known
        path = self.cache.path_for(uid, touch=False)
        if path is not None:
            return StudyStatus(StudyState.READY, uid, 1.0, path=path)
        return known or StudyStatus(StudyState.MISSING, uid)

    def wait(self, consult_id: int, timeout: float | None = None) -> StudyStatus:
        """Block until the consult's study is ready or failed (tests, benchmarks, scripts)."""
        with self._lock:
            uid = self._consults.get(consult_id)
            done = self._done.get(uid) if uid else None
        if done is not None:
            done.wait(timeout)
        return self.status(consult_id)

    # requests --------------------------------------------------------------------------------
    def track(self, consult_id: int, study_uid: str | None) -> None:
        """Remember which study a consult has (the worklist shows it) without fetching it."""
        if not study_uid:
            return
        with self._lock:
            if self._consults.get(consult_id) == study_uid:
                return
            self._consults[consult_id] = study_uid
        self._notify_study(study_uid)

    def request(self, consult_id: int, study_uid: str, source: str = "") -> StudyStatus:
        """Fetch the consult's study in the background unless it is cached or already on its way."""
        self.track(consult_id, study_uid)
        status = self.status(consult_id)
        if status.state in (StudyState.READY, StudyState.DOWNLOADING) or self._closed:
            return status
        endpoint = pick_endpoint(self.endpoints, source)
        if endpoint is None:
            self._set(study_uid, StudyStatus(StudyState.MISSING, study_uid, error="no PACS is configured"))
            return self.status(consult_id)
        with self._lock:
            if study_uid in self._futures and not self._futures[study_uid].done():
                return self._studies[study_uid]
            self._done[study_uid] = threading.Event()
            self._studies[study_uid] = StudyStatus(StudyState.DOWNLOADING, study_uid)
            self._futures[study_uid] = self._pool.submit(self._fetch, study_uid, endpoint)
        self._notify_study(study_uid)
        return self.status(consult_id)

    def on_consult(self, consult: dict[str, Any]) -> StudyStatus | None:
        """A consult as the backend returns it (accept, open): fetch its study if it has one."""
        study = consult.get("study") or {}
        uid = study.get("study_instance_uid")
        if not uid:
            return None
        return self.request(int(consult["id"]), str(uid), str(study.get("source") or ""))

    def _fetch(self, uid: str, endpoint: Any) -> None:
        last = [-1]

        def progress(received: int, expected: int) -> None:
            fraction = received / expected if expected else 0.0
            percent = int(fraction * 100)
            if percent != last[0]:  # one update per percent, not per instance
                last[0] = percent
                self._set(uid, StudyStatus(StudyState.DOWNLOADING, uid, min(fraction, 1.0)))

        try:
            path = self.cache.ensure(uid, endpoint, progress, self._cancel)
        except Exception as exc:  # any failure is shown per consult, never raised into the pool
            log.warning("prefetch of study %s failed: %s", uid, exc)
            self._set(uid, StudyStatus(StudyState.FAILED, uid, error=str(exc) or type(exc).__name__))
        else:
            log.info("prefetched study %s into %s", uid, path)
            self._set(uid, StudyStatus(StudyState.READY, uid, 1.0, path=path))
        finally:
            with self._lock:
                done = self._done.get(uid)
            if done is not None:
                done.set()

    def _set(self, uid: str, status: StudyStatus) -> None:
        with self._lock:
            self._studies[uid] = status
        self._notify_study(uid)

    def _notify_study(self, uid: str) -> None:
        with self._lock:
            consults = [cid for cid, study in self._consults.items() if study == uid]
        for consult_id in consults:
            self._post(self._emitter(consult_id))

    def _emitter(self, consult_id: int) -> Callable[[], None]:
        def emit() -> None:
            self.changed.emit(consult_id)

        return emit

    def close(self) -> None:
        """Cancel retrieves in flight and stop the workers; calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def wire_prefetch(link: Any, window: Any) -> Prefetcher | None:
    """Attach prefetch to a specialist's workstation: on accept or open, fetch the consult's study;
    the worklist shows its state; when the open consult's study is ready, the imaging panel loads it.

    ``link`` is the :class:`app.services.BackendLink`, ``window`` the main window; both are used by
    duck typing so this module stays importable without Qt."""
    ws = window.ws
    if not ws.permissions.accept_consult:
        return None
    from core.config.roles import PanelId

    prefetcher = Prefetcher(StudyCache(ws.paths.cache_dir / "studies"), ws.site.pacs, post=link.bridge.post)
    worklist = link.worklist
    loaded: set[tuple[int, str]] = set()

    def load_into_imaging(consult_id: int) -> None:
        status = prefetcher.status(consult_id)
        if status.state is not StudyState.READY or status.path is None or status.study_uid is None:
            return
        if link.conversation.consult_id != consult_id or (consult_id, status.study_uid) in loaded:
            return
        dock = window.docks.get(PanelId.IMAGING)
        holder = dock.widget() if dock is not None else None
        if holder is None:
            return
        if hasattr(holder, "build"):
            holder.build()  # the deferred imaging panel, built now if the window has not painted yet
        panel = getattr(holder, "content", holder)
        if hasattr(panel, "load_paths"):
            loaded.add((consult_id, status.study_uid))
            panel.load_paths([status.path])

    def on_changed(consult_id: int) -> None:
        status = prefetcher.status(consult_id)
        setter = getattr(worklist, "set_study", None)
        if callable(setter):
            setter(consult_id, status.state.value, status.fraction, status.error)
        load_into_imaging(consult_id)

    def on_opened(consult_id: int) -> None:
        item = worklist.get(consult_id)
        if item is not None and item.study_uid:
            loaded.discard((consult_id, item.study_uid))  # opening it again shows it again
            prefetcher.request(consult_id, item.study_uid, item.study_source)
            load_into_imaging(consult_id)

    def on_worklist() -> None:
        for item in list(worklist.items):
            if item.study_uid:
                prefetcher.track(item.id, item.study_uid)

    prefetcher.changed.connect(on_changed)
    worklist.changed.connect(on_worklist)
    link.sig_consult_opened.connect(on_opened)
    window.sig_closed.connect(prefetcher.close)
    return prefetcher
