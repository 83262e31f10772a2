"""A size-bounded local cache of retrieved studies, least recently used evicted first. Qt-free.

Each study lives in ``<root>/<Study Instance UID>/``; it is retrieved into ``<uid>.partial/`` and
renamed only once complete, so a folder under its UID is always a whole study. The index (size,
instance count, last use) is JSON, written atomically, and rebuilt from the folders when it is
missing or unreadable. Thread-safe: the prefetcher's workers and the UI may call it at once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.config.paths import app_paths

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024**3
INDEX_NAME = "index.json"
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")

StudyProgress = Callable[[int, int], None]  # (instances received, instances expected or 0)


def check_uid(uid: str) -> str:
    """A Study Instance UID is digits and dots, at most 64 characters: it names a folder safely."""
    if not (0 < len(uid) <= 64 and _UID.match(uid)):
        raise ValueError(f"not a DICOM UID: {uid!r}")
    return uid


@dataclass
class CacheEntry:
    study_instance_uid: str
    size: int
    instances: int
    last_used: float  # wall-clock seconds; survives restarts
    source: str = ""


def _folder_size(folder: Path) -> tuple[int, int]:
    size = count = 0
    for path in folder.rglob("*"):
        if path.is_file():
            size += path.stat().st_size
            count += 1
    return size, count


class StudyCache:
    def __init__(
        self,
        root: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root if root is not None else app_paths().cache_dir / "studies"
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.RLock()
        self._study_locks: dict[str, threading.Lock] = {}
        self._entries: dict[str, CacheEntry] = {}
        self._load()

    # index -----------------------------------------------------------------------------------
    @property
    def index_file(self) -> Path:
        return self.root / INDEX_NAME

    def _load(self) -> None:
        for partial in self.root.glob("*.partial"):  # an interrupted retrieve from a previous run
            shutil.rmtree(partial, ignore_errors=True)
        entries: dict[str, CacheEntry] = {}
        try:
            raw = json.loads(self.index_file.read_text(encoding="utf-8"))
            for item in raw.get("studies", []):
                entry = CacheEntry(**item)
                entries[check_uid(entry.study_instance_uid)] = entry
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("study cache index %s unreadable (%s); rebuilding it", self.index_file, exc)
        # the folders are the truth: drop entries without one, adopt folders without an entry
        entries = {uid: e for uid, e in entries.items() if (self.root / uid).is_dir()}
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.name not in entries and _UID.match(folder.name):
                size, count = _folder_size(folder)
                entries[folder.name] = CacheEntry(folder.name, size, count, folder.stat().st_mtime)
        self._entries = entries
        self._save()

    def _save(self) -> None:
        data = {"version": 1, "studies": [asdict(e) for e in self._entries.values()]}
        tmp = self.index_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.index_file)

    # queries ---------------------------------------------------------------------------------
    def entries(self) -> list[CacheEntry]:
        """Most recently used first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.last_used, reverse=True)

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(e.size for e in self._entries.values())

    def contains(self, uid: str) -> bool:
        with self._lock:
            return uid in self._entries

    def path_for(self, uid: str, *, touch: bool = True) -> Path | None:
        """The folder of a complete cached study (marking it used), or None."""
        with self._lock:
            entry = self._entries.get(uid)
            if entry is None:
                return None
            if touch:
                entry.last_used = self._clock()
                self._save()
            return self.root / uid

    # changes ---------------------------------------------------------------------------------
    def add_folder(self, uid: str, source_folder: Path, *, source: str = "", move: bool = False) -> Path:
        """Put an already-complete study folder in the cache (e.g. one the user just uploaded)."""
        check_uid(uid)
        partial = self.root / f"{uid}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        if move:
            shutil.move(str(source_folder), partial)
        else:
            shutil.copytree(source_folder, partial)
        return self._commit(uid, partial, source)

    def _commit(self, uid: str, partial: Path, source: str) -> Path:
        size, count = _folder_size(partial)
        final = self.root / uid
        with self._lock:
            shutil.rmtree(final, ignore_errors=True)
            partial.rename(final)
            self._entries[uid] = CacheEntry(uid, size, count, self._clock(), source)
            self._evict(keep=uid)
            self._save()
        return final

    def remove(self, uid: str) -> None:
        with self._lock:
            if self._entries.pop(uid, None) is not None:
                shutil.rmtree(self.root / uid, ignore_errors=True)
                self._save()

    def _evict(self, keep: str | None = None) -> list[str]:
        evicted = []
        by_age = sorted(self._entries.values(), key=lambda e: e.last_used)
        total = sum(e.size for e in by_age)
        for entry in by_age:
            if total <= self.max_bytes:
                break
            if entry.study_instance_uid == keep:
                continue  # the study just asked for stays, even when it alone exceeds the bound
            del self._entries[entry.study_instance_uid]
            shutil.rmtree(self.root / entry.study_instance_uid, ignore_errors=True)
            total -= entry.size
            evicted.append(entry.study_instance_uid)
            log.info("study cache: evicted %s (%d bytes)", entry.study_instance_uid, entry.size)
        return evicted

    def evict(self) -> list[str]:
        """Evict least recently used studies until the cache fits ``max_bytes``; their UIDs."""
        with self._lock:
            evicted = self._evict()
            self._save()
            return evicted

    def ensure(
        self,
        uid: str,
        endpoint: Any,
        progress: StudyProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """The cached study's folder, retrieving it first when absent (WADO-RS or C-GET/C-MOVE,
        whichever the endpoint speaks, through :class:`viewers.dicom.pacs.PacsClient`). Blocking.

        ``endpoint`` is a :class:`viewers.dicom.pacs.PacsSettings`, anything shaped like
        ``core.config.settings.PacsEndpoint``, or an open ``PacsClient``."""
        check_uid(uid)
        with self._lock:
            study_lock = self._study_locks.setdefault(uid, threading.Lock())
        with study_lock:  # two callers for one study: the second waits and finds it cached
            cached = self.path_for(uid)
            if cached is not None:
                if progress is not None:
                    entry = self._entries.get(uid)
                    count = entry.instances if entry else 0
                    progress(count, count)
                return cached
            return self._retrieve(uid, endpoint, progress, cancel)

    def _retrieve(
        self, uid: str, endpoint: Any, progress: StudyProgress | None, cancel: threading.Event | None
    ) -> Path:
        from viewers.dicom.pacs import PacsClient, PacsError, SearchQuery

        client = endpoint if isinstance(endpoint, PacsClient) else PacsClient(endpoint)
        partial = self.root / f"{uid}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            found = client.search_studies(SearchQuery(study_instance_uid=uid))
            matches = [m for m in found if m.study_instance_uid == uid]
            if not matches:
                raise PacsError(f"{client.name}: the archive has no study {uid}")
            expected = matches[0].instance_count or 0
            result = client.retrieve(partial, uid, expected=expected, progress=progress, cancel=cancel)
            if result.count == 0:
                raise PacsError(f"{client.name}: study {uid} came back empty")
            if expected and result.count < expected:
                raise PacsError(f"{client.name}: received {result.count} of {expected} instance(s) of {uid}")
            return self._commit(uid, partial, client.name)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            if client is not endpoint:
                client.close()
