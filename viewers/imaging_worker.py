"""The imaging panel's loading thread: discover what was opened, then load the chosen series.

A request is one of two kinds. *Discover* (``paths``): prepare the files (a trainee's de-identified
copy), read their headers and hand the :class:`DiscoveryResult` to the panel, which decides what may be
opened (the consult's patient: viewers/study_identity.py) before anything is decoded. *Load*
(``series``): decode one series slice by slice into a preallocated array the views already show, then
make thumbnails of the ``others``. The worker keeps nothing between requests: what it read belongs to
the panel, which can drop it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from viewers.dicom.discovery import DiscoveryResult, Series, discover
from viewers.dicom.loaders import examine
from viewers.dicom.volume import LoadCancelled, VolumeLoader
from viewers.reslice import auto_window, provisional_volume
from viewers.study_browser import THUMB_SIZE

log = logging.getLogger(__name__)

# Turns the paths to open into the paths to load (a trainee's de-identified copy;
# core/teaching/trainee_imaging.py), on the loading thread: (paths, progress, cancel) -> paths.
Prepare = Callable[[list[Path], Callable[[int, int], None], threading.Event], list[Path]]


@dataclass(eq=False)
class LoadRequest:
    paths: list[Path] | None  # discover these
    series: Series | None  # or load this series
    cancel: threading.Event
    others: list[Series] = field(default_factory=list)  # thumbnails to make after the series loads
    stale: bool = False  # superseded (another request, or the panel cleared): its results are dropped


def make_thumbnail(series: Series) -> np.ndarray | None:
    """A small grey picture of a series' middle image (decoded here; call it off the UI thread)."""
    import pydicom

    if not series.instances:
        return None
    instance = series.instances[len(series.instances) // 2]
    try:
        ds = pydicom.dcmread(instance.path)
        pixels = np.asarray(ds.pixel_array)
    except Exception:
        return None
    if pixels.ndim == 4 or (pixels.ndim == 3 and instance.number_of_frames > 1):
        pixels = pixels[len(pixels) // 2]
    return thumbnail_pixels(pixels)


def thumbnail_pixels(pixels: np.ndarray) -> np.ndarray:
    step = max(1, max(pixels.shape[:2]) // THUMB_SIZE)
    small = np.ascontiguousarray(pixels[::step, ::step])
    if small.ndim == 3:
        return small.astype(np.uint8)
    window = auto_window(small.astype(np.float32))
    scaled = (small.astype(np.float32) - window.low) * (255.0 / window.width)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def choose_series(result: DiscoveryResult) -> Series | None:
    """The series to show first: a volume before a loop before a picture, then the most images."""
    best: tuple[tuple[int, float, int], Series] | None = None
    rank = {"volume": 2, "cine": 1, "secondary_capture": 0}
    for series in result.all_series():
        offers = examine(series)
        if not offers:
            continue
        key = (rank.get(offers[0].kind, 0), offers[0].confidence, series.frame_count)
        if best is None or key > best[0]:
            best = (key, series)
    return best[1] if best else None


class LoadWorker(QObject):
    """Lives on the loading thread; each request runs to its end, or until its cancel event is set.

    Every request ends with ``sig_idle``, and requests run in the order they were sent: the panel
    matches each signal to the oldest request it has not seen end."""

    sig_stage = Signal(str)  # "deidentifying", "discovering" or "loading"
    sig_discovered = Signal(object)  # DiscoveryResult
    sig_started = Signal(object, object)  # provisional Volume, Series
    sig_slice = Signal(int)
    sig_progress = Signal(int, int)
    sig_loaded = Signal(object, object)  # LoadResult, Series
    sig_cancelled = Signal()
    sig_failed = Signal(str)
    sig_thumbnail = Signal(str, object)  # series key, pixels
    sig_idle = Signal()

    def __init__(self, prepare: Prepare | None = None) -> None:
        super().__init__()
        self.prepare = prepare

    @Slot(object)
    def run(self, request: LoadRequest) -> None:
        try:
            if request.paths is not None:
                self._discover(request, request.paths)
            elif request.series is not None:
                self._load(request, request.series)
        except LoadCancelled:
            self.sig_cancelled.emit()
        except Exception as exc:  # nothing a file does may take the app down
            log.exception("loading failed")
            self.sig_failed.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.sig_idle.emit()

    def _discover(self, request: LoadRequest, paths: list[Path]) -> None:
        cancel = request.cancel
        if self.prepare is not None:  # nothing but the prepared copy is ever read
            self.sig_stage.emit("deidentifying")
            paths = self.prepare(list(paths), self.sig_progress.emit, cancel)
            if cancel.is_set():
                raise LoadCancelled("cancelled")
        self.sig_stage.emit("discovering")
        result = discover(paths, progress=self.sig_progress.emit, cancel=cancel)
        if cancel.is_set():
            raise LoadCancelled("cancelled")
        self.sig_discovered.emit(result)

    def _load(self, request: LoadRequest, series: Series) -> None:
        cancel = request.cancel
        self.sig_stage.emit("loading")
        loader = VolumeLoader(series.instances, progress=self.sig_progress.emit, cancel=cancel)
        self.sig_started.emit(provisional_volume(loader), series)
        for index, _image in loader.slices():
            self.sig_slice.emit(index)
        load = loader.result()
        self.sig_loaded.emit(load, series)
        volume = load.volume
        middle = volume.array[len(volume.array) // 2]
        self.sig_thumbnail.emit(series.key, thumbnail_pixels(middle))
        for other in request.others:
            if cancel.is_set():
                return
            thumb = make_thumbnail(other)
            if thumb is not None:
                self.sig_thumbnail.emit(other.key, thumb)
