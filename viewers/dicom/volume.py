"""Build a numpy volume (z, y, x) with LPS geometry from a sorted series, decoding in a thread pool.

Pixels are decoded by pydicom's pixel handlers (compressed syntaxes need pylibjpeg or python-gdcm),
rescaled with RescaleSlope/Intercept, and written straight into one preallocated array; each slice
is handed out as soon as it is decoded so a view can show it before the rest arrives.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np
import pydicom

from viewers.dicom.discovery import InstanceHeader, ProgressCallback, Rejected
from viewers.dicom.geometry import direction_matrix
from viewers.dicom.series import GeometryWarning, SliceRef, SortedSeries, sort_series

SliceCallback = Callable[[int, np.ndarray], None]


class LoadCancelled(Exception):  # noqa: N818 - the name the spec and callers use
    """Loading stopped because its cancel event was set."""


@dataclass
class Volume:
    """``array`` is (z, y, x) for a volume, (t, y, x) or (t, y, x, 3) for a cine loop."""

    array: np.ndarray
    spacing: tuple[float, float, float]  # x, y, z in mm (z: slice step; 1.0 for cine)
    origin: tuple[float, float, float]  # LPS position of voxel (0, 0, 0), mm
    direction: np.ndarray  # 3x3, columns are the x, y, z axes in LPS
    kind: str = "volume"  # "volume" or "cine"
    frame_time_ms: float | None = None

    def index_to_lps(self, ijk: Sequence[float]) -> np.ndarray:
        """Patient position (mm) of voxel index (i=x, j=y, k=z)."""
        scaled = np.asarray(ijk, dtype=np.float64) * np.asarray(self.spacing)
        return np.asarray(self.origin) + self.direction @ scaled

    def lps_to_index(self, point: Sequence[float]) -> np.ndarray:
        rel = np.asarray(point, dtype=np.float64) - np.asarray(self.origin)
        return (self.direction.T @ rel) / np.asarray(self.spacing)


@dataclass
class LoadResult:
    volume: Volume
    warnings: list[GeometryWarning] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    missing_slices: list[int] = field(default_factory=list)


def _stored_range(ds: pydicom.Dataset) -> tuple[int, int]:
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)) or 16)
    if int(ds.get("PixelRepresentation", 0) or 0):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def choose_dtype(slices: Sequence[SliceRef]) -> np.dtype:
    """int16 when every rescaled value is an integer that fits; float32 otherwise; uint8 for colour."""
    ds = slices[0].instance.dataset
    if int(ds.get("SamplesPerPixel", 1) or 1) > 1:
        return np.dtype(np.uint8)
    lo, hi = _stored_range(ds)
    for ref in slices:
        if ref.slope != 1.0 or not float(ref.intercept).is_integer():
            return np.dtype(np.float32)
        if lo + ref.intercept < -32768 or hi + ref.intercept > 32767:
            return np.dtype(np.float32)
    return np.dtype(np.int16)


_NATIVE_LITTLE_ENDIAN = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


def _read_native(instance: InstanceHeader) -> np.ndarray | None:
    """Uncompressed little-endian grey or interleaved RGB: read the bytes straight from the offset
    found at discovery, skipping a second parse of the header. None when the fast path does not apply."""
    ds = instance.dataset
    if instance.transfer_syntax_uid not in _NATIVE_LITTLE_ENDIAN or instance.pixel_offset is None:
        return None
    bits = int(ds.get("BitsAllocated", 0) or 0)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if bits not in (8, 16) or photometric not in ("MONOCHROME1", "MONOCHROME2", "RGB"):
        return None
    if samples > 1 and int(ds.get("PlanarConfiguration", 0) or 0) != 0:
        return None
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    stored = int(ds.get("BitsStored", bits) or bits)
    if stored != bits and signed:
        return None  # sign extension of packed values: leave it to pydicom
    dtype = np.dtype(("<i" if signed else "<u") + str(bits // 8))
    shape = (instance.number_of_frames, int(ds.Rows), int(ds.Columns)) + ((samples,) if samples > 1 else ())
    count = int(np.prod(shape))
    data = np.fromfile(instance.path, dtype=dtype, count=count, offset=instance.pixel_offset)
    if data.size != count:
        raise ValueError(f"pixel data ends early: {data.size} of {count} values")
    if stored < bits:
        data &= dtype.type((1 << stored) - 1)
    data = data.reshape(shape)
    return data if instance.number_of_frames > 1 else data[0]


def _decode_instance(instance: InstanceHeader) -> np.ndarray:
    fast = _read_native(instance)
    if fast is not None:
        return fast
    ds = pydicom.dcmread(instance.path)
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise ValueError("no pixel data")
    return np.asarray(ds.pixel_array)


class VolumeLoader:
    """Decode a series in a thread pool; iterate :meth:`slices` to receive each slice as it lands."""

    def __init__(
        self,
        series: SortedSeries | Sequence[InstanceHeader],
        *,
        max_workers: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.sorted = series if isinstance(series, SortedSeries) else sort_series(series)
        self.max_workers = max_workers or min(8, os.cpu_count() or 2)
        self.progress = progress
        self.cancel = cancel or threading.Event()
        refs = self.sorted.slices
        ds0 = refs[0].instance.dataset
        self.dtype = choose_dtype(refs)
        samples = int(ds0.get("SamplesPerPixel", 1) or 1)
        shape: tuple[int, ...] = (len(refs), refs[0].rows, refs[0].columns)
        self.array = np.zeros(shape + ((samples,) if samples > 1 else ()), dtype=self.dtype)
        self.rejected: list[Rejected] = []
        self.missing: list[int] = []
        self.done = False
        # one task per file: a multi-frame file is decoded once and split into its frames
        self._tasks: dict[str, tuple[InstanceHeader, list[tuple[int, SliceRef]]]] = {}
        for index, ref in enumerate(refs):
            key = ref.instance.sop_instance_uid
            self._tasks.setdefault(key, (ref.instance, []))[1].append((index, ref))

    def _run_task(self, instance: InstanceHeader, targets: list[tuple[int, SliceRef]]) -> list[int]:
        if self.cancel.is_set():
            return []
        pixels = _decode_instance(instance)
        if targets[0][1].frame is None:
            pixels = pixels[None]
        expected = self.array.shape[1:]
        written = []
        for index, ref in targets:
            frame = pixels[ref.frame or 0]
            if frame.shape != expected:
                raise ValueError(f"decoded image is {frame.shape}, header says {expected}")
            out = self.array[index]
            if ref.slope == 1.0 and ref.intercept == 0.0:
                out[...] = frame
            elif self.dtype == np.int16:
                np.add(frame, np.int32(ref.intercept), out=out, casting="unsafe")
            else:
                np.multiply(frame, np.float32(ref.slope), out=out, casting="unsafe")
                out += np.float32(ref.intercept)
            written.append(index)
        return written

    def slices(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (slice index, slice view) as each decodes; raises :class:`LoadCancelled` on cancel."""
        total = len(self.sorted.slices)
        finished = 0
        pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="dicom-decode")
        futures: dict[Future[list[int]], tuple[InstanceHeader, list[tuple[int, SliceRef]]]] = {}
        try:
            for instance, targets in self._tasks.values():
                futures[pool.submit(self._run_task, instance, targets)] = (instance, targets)
            pending = set(futures)
            while pending:
                if self.cancel.is_set():
                    raise LoadCancelled("loading cancelled")
                done_now, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for fut in done_now:
                    instance, targets = futures[fut]
                    try:
                        indices = fut.result()
                    except Exception as exc:  # one bad payload must not stop the series
                        reason = f"pixel data could not be decoded: {type(exc).__name__}: {exc}"
                        self.rejected.append(Rejected(instance.path, reason))
                        indices = []
                        self.missing.extend(i for i, _ in targets)
                        finished += len(targets)
                    for index in indices:
                        finished += 1
                        yield index, self.array[index]
                    if self.progress is not None:
                        self.progress(finished, total)
            if self.cancel.is_set():
                raise LoadCancelled("loading cancelled")
            self.done = True
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def result(self) -> LoadResult:
        """The finished volume; call after :meth:`slices` is exhausted."""
        if not self.done:
            raise RuntimeError("volume not loaded yet")
        warnings = list(self.sorted.warnings)
        missing = sorted(self.missing)
        if missing:
            loaded = np.ones(len(self.array), dtype=bool)
            loaded[missing] = False
            fill = self.array[loaded].min() if loaded.any() else 0
            self.array[missing] = fill
            warnings.append(
                GeometryWarning(
                    "missing_slice",
                    f"{len(missing)} slice(s) could not be decoded (indices {missing[:10]}); shown as a gap"
                    " filled with the lowest value",
                )
            )
        refs = self.sorted.slices
        ds0 = refs[0].instance.dataset
        row_spacing, col_spacing = refs[0].pixel_spacing
        if self.sorted.has_geometry:
            assert self.sorted.orientation is not None and refs[0].position is not None
            direction = direction_matrix(self.sorted.orientation)
            origin = (float(refs[0].position[0]), float(refs[0].position[1]), float(refs[0].position[2]))
            volume = Volume(
                self.array, (col_spacing, row_spacing, self.sorted.slice_spacing), origin, direction, "volume"
            )
        else:
            frame_time = ds0.get("FrameTime")
            volume = Volume(
                self.array,
                (col_spacing, row_spacing, 1.0),
                (0.0, 0.0, 0.0),
                np.eye(3),
                "cine" if len(refs) > 1 else "volume",
                float(frame_time) if frame_time not in (None, "") else None,
            )
        return LoadResult(volume, warnings, list(self.sorted.excluded) + self.rejected, missing)


def load_volume(
    series: SortedSeries | Sequence[InstanceHeader],
    *,
    max_workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_slice: SliceCallback | None = None,
) -> LoadResult:
    """Load a whole series; ``on_slice(index, slice)`` is called (on the caller's thread) per slice."""
    loader = VolumeLoader(series, max_workers=max_workers, progress=progress, cancel=cancel)
    for index, image in loader.slices():
        if on_slice is not None:
            on_slice(index, image)
    return loader.result()
