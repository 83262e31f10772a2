"""Build a numpy volume (z, y, x) with LPS geometry from a sorted series, decoding in parallel.

Pixels are decoded by pydicom's pixel handlers (compressed syntaxes through the pylibjpeg plugins),
rescaled with RescaleSlope/Intercept, and written straight into one preallocated array; each slice
is handed out as soon as it is decoded so a view can show it before the rest arrives.

Uncompressed files are read with one ``np.fromfile`` at the pixel offset discovery found, in
threads (the read releases the GIL). JPEG lossless goes through GDCM, which releases the GIL
too, so it also decodes in threads. The pylibjpeg decoders hold the GIL; a pool of processes (off
by default, see PROCESS_DECODING_DEFAULT) can decode into the same array, which then lives in
shared memory (an unlinked file in /dev/shm, reached by the workers through /proc/PID/fd); a
thread in this process decodes from the front of the series meanwhile, so the first slices never
wait for the pool to start.
"""

from __future__ import annotations

import atexit
import mmap
import os
import queue
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydicom

from viewers.dicom.cine import frame_time_ms
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


def is_colour(ds: pydicom.Dataset) -> bool:
    return int(ds.get("SamplesPerPixel", 1) or 1) > 1


def choose_dtype(slices: Sequence[SliceRef]) -> np.dtype:
    """int16 when every rescaled value is an integer that fits; float32 otherwise. Colour keeps its
    stored width (uint8, uint16 or uint32, as pydicom decodes it) and is never rescaled: the Modality
    LUT applies to greyscale only, and a colour image with a Rescale Intercept is shown as stored."""
    ds = slices[0].instance.dataset
    if is_colour(ds):
        bits = int(ds.get("BitsAllocated", 8) or 8)
        width = 1 if bits <= 8 else 2 if bits <= 16 else 4
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
        return np.dtype(("i" if signed else "u") + str(width))
    lo, hi = _stored_range(ds)
    for ref in slices:
        if ref.slope != 1.0 or not float(ref.intercept).is_integer():
            return np.dtype(np.float32)
        if lo + ref.intercept < -32768 or hi + ref.intercept > 32767:
            return np.dtype(np.float32)
    return np.dtype(np.int16)


_NATIVE_LITTLE_ENDIAN = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}

# JPEG lossless (process 14, and its SV1 form): GDCM's decoder (shipped inside SimpleITK) is about
# four times faster than pylibjpeg-libjpeg's here, so single-frame greyscale slices in these syntaxes
# go through it once SimpleITK has been imported in the background; anything it cannot read falls
# back to pydicom's handlers, which also give the reason when a file is bad. GDCM releases the GIL
# while it reads: 300 slices of 512x512 took 0.95 s in two threads against 1.6-2.0 s in one.
_GDCM_SYNTAXES = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}
USE_GDCM_FOR_JPEG_LOSSLESS = True
_GDCM_READY = threading.Event()
_GDCM_LOCK = threading.Lock()
_GDCM_STARTED = False


def _start_gdcm_import() -> None:
    """Import SimpleITK on a daemon thread (about 0.2 s) so the first slices never wait for it."""
    global _GDCM_STARTED
    with _GDCM_LOCK:
        if _GDCM_STARTED:
            return
        _GDCM_STARTED = True

    def load() -> None:
        try:
            import SimpleITK  # noqa: F401
        except ImportError:
            return
        _GDCM_READY.set()

    threading.Thread(target=load, name="gdcm-import", daemon=True).start()


def _gdcm_applies(instance: InstanceHeader) -> bool:
    if not USE_GDCM_FOR_JPEG_LOSSLESS or instance.transfer_syntax_uid not in _GDCM_SYNTAXES:
        return False
    ds = instance.dataset
    return (
        instance.number_of_frames == 1
        and int(ds.get("SamplesPerPixel", 1) or 1) == 1
        and "SharedFunctionalGroupsSequence" not in ds  # enhanced: rescale lives in the groups
        and "PerFrameFunctionalGroupsSequence" not in ds
        and _GDCM_READY.is_set()
    )


def _read_with_gdcm(instance: InstanceHeader, shape: tuple[int, ...]) -> np.ndarray | None:
    """The slice with its rescale applied (GDCM applies the file's slope and intercept), or None."""
    import SimpleITK as sitk  # noqa: N813 - the name its documentation uses

    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(instance.path))
    try:
        values = sitk.GetArrayFromImage(reader.Execute())
    except RuntimeError:
        return None
    return values if values.shape == (1, *shape) else None


def _read_native_into(instance: InstanceHeader, out: np.ndarray, slope: float, intercept: float) -> bool:
    """The common CT case, with no intermediate array: 16-bit little-endian greyscale, one frame,
    an int16 volume and slope 1. The stored bytes land in ``out`` itself, then the mask and the
    intercept are applied in place (int16 arithmetic wraps, and the rescaled value is known to fit,
    so the result is exact even for unsigned values above 32767). False when it does not apply."""
    ds = instance.dataset
    if (
        out.dtype != np.int16
        or slope != 1.0
        or instance.number_of_frames != 1
        or instance.transfer_syntax_uid not in _NATIVE_LITTLE_ENDIAN
        or instance.pixel_offset is None
        or sys.byteorder != "little"
        or not out.flags.c_contiguous
        or int(ds.get("BitsAllocated", 0) or 0) != 16
        or int(ds.get("SamplesPerPixel", 1) or 1) != 1
        or str(ds.get("PhotometricInterpretation", "")) not in ("MONOCHROME1", "MONOCHROME2")
    ):
        return False
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    stored = int(ds.get("BitsStored", 16) or 16)
    if signed and stored != 16:
        return False
    with open(instance.path, "rb") as fp:
        fp.seek(instance.pixel_offset)
        got = fp.readinto(out.data.cast("B"))
    if got != out.nbytes:
        raise ValueError(f"pixel data ends early: {got} of {out.nbytes} bytes")
    if stored < 16:
        out.view(np.uint16)[...] &= np.uint16((1 << stored) - 1)
    if intercept:
        out += np.int16(int(intercept))
    return True


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


def _decode_path(path: str | os.PathLike[str]) -> np.ndarray:
    ds = pydicom.dcmread(path)
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise ValueError("no pixel data")
    return np.asarray(ds.pixel_array)


def _decode_instance(instance: InstanceHeader) -> np.ndarray:
    fast = _read_native(instance)
    if fast is not None:
        return fast
    return _decode_path(instance.path)


# (slice index in the volume, frame in the file or None for a single-frame file, slope, intercept)
Target = tuple[int, int | None, float, float]


def _write_targets(array: np.ndarray, pixels: np.ndarray, targets: Sequence[Target]) -> list[int]:
    """Rescale each target frame of ``pixels`` into its slice of ``array`` (colour: copied as is).

    A single-frame file decodes to one image even where its slices are numbered by frame (a
    single-frame enhanced object), so the frame axis is added from the shapes, not the numbering."""
    if pixels.ndim == array.ndim - 1:
        pixels = pixels[None]
    expected = array.shape[1:]
    written = []
    for index, frame_number, slope, intercept in targets:
        frame = pixels[frame_number or 0]
        if frame.shape != expected:
            raise ValueError(f"decoded image is {frame.shape}, header says {expected}")
        out = array[index]
        if (slope == 1.0 and intercept == 0.0) or frame.ndim == 3:
            out[...] = frame
        elif array.dtype == np.int16:
            np.add(frame, np.int32(intercept), out=out, casting="unsafe")
        else:
            np.multiply(frame, np.float32(slope), out=out, casting="unsafe")
            out += np.float32(intercept)
        written.append(index)
    return written


def _decode_into_shared(
    path: str, shared: str, dtype: str, shape: tuple[int, ...], targets: list[Target]
) -> list[int]:
    """Runs in a decoder process: decode one file and write its frames into the shared volume."""
    pixels = _decode_path(path)
    with open(shared, "r+b") as fp:
        mapping = mmap.mmap(fp.fileno(), 0)
    try:
        array = np.frombuffer(mapping, dtype=np.dtype(dtype)).reshape(shape)
        written = _write_targets(array, pixels, targets)
        del array  # the mapping cannot close while a view of it exists
    finally:
        mapping.close()
    return written


# Off by default: on the 2-core reference machine the pool did not beat threads (see
# benchmarks/imaging.py, which measures both), and worker processes need the application's entry
# point guarded (and multiprocessing.freeze_support() in a frozen bundle).
PROCESS_DECODING_DEFAULT = False

_POOL_LOCK = threading.Lock()
_POOL: ProcessPoolExecutor | None = None


def _pool_size() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def decoder_pool() -> ProcessPoolExecutor:
    """The shared process pool for compressed pixel data, started on first use (or by a warm-up)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            import multiprocessing

            context = multiprocessing.get_context("forkserver")
            # workers fork from a server that already imported the decoders: starting one is cheap
            multiprocessing.set_forkserver_preload(
                ["viewers.dicom.volume", "pydicom.pixels", "libjpeg", "openjpeg", "rle"]
            )
            _POOL = ProcessPoolExecutor(max_workers=_pool_size(), mp_context=context)
        return _POOL


def _forget_pool() -> None:
    """Drop a broken pool without waiting on it; the next compressed load starts a fresh one."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def warm_up_decoders(*, wait_s: float | None = None) -> None:
    """Start the decoder processes ahead of the first compressed series; returns at once unless
    ``wait_s`` asks to wait (that long at most) until every worker has answered."""
    if not _processes_possible():
        return
    pool = decoder_pool()
    futures = [pool.submit(_warm_worker, 0.05) for _ in range(_pool_size())]
    if wait_s is not None:
        wait(futures, timeout=wait_s)


def _warm_worker(hold_s: float) -> int:
    import time

    time.sleep(hold_s)  # keep this worker busy so the next warm-up call reaches another one
    return os.getpid()


def shutdown_decoders() -> None:
    """Stop the decoder processes; harmless twice. A later compressed load starts them again."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_decoders)


def _processes_possible() -> bool:
    return sys.platform == "linux" and os.path.isdir("/dev/shm") and (os.cpu_count() or 1) > 1


class _SharedBuffer:
    """An unlinked /dev/shm file mapped here; other processes open it through /proc/PID/fd/FD."""

    def __init__(self, nbytes: int) -> None:
        fd, name = tempfile.mkstemp(prefix="teleconsult-volume-", dir="/dev/shm")
        os.unlink(name)  # nothing to clean up even if this process dies
        try:
            os.ftruncate(fd, nbytes)
            self.mapping = mmap.mmap(fd, nbytes)
        except OSError:
            os.close(fd)
            raise
        self.path = f"/proc/{os.getpid()}/fd/{fd}"
        self._finalizer = weakref.finalize(self, os.close, fd)

    def release_fd(self) -> None:
        """Close the descriptor once no worker needs it; the mapping (the volume) stays."""
        self._finalizer()


class VolumeLoader:
    """Decode a series in a thread pool; iterate :meth:`slices` to receive each slice as it lands."""

    def __init__(
        self,
        series: SortedSeries | Sequence[InstanceHeader],
        *,
        max_workers: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        processes: bool | None = None,
    ) -> None:
        """``processes``: decode in the shared process pool; None: for a compressed series when
        :data:`PROCESS_DECODING_DEFAULT` says so."""
        self.sorted = series if isinstance(series, SortedSeries) else sort_series(series)
        self.max_workers = max_workers or min(8, os.cpu_count() or 2)
        self.progress = progress
        self.cancel = cancel or threading.Event()
        refs = self.sorted.slices
        ds0 = refs[0].instance.dataset
        self.dtype = choose_dtype(refs)
        samples = int(ds0.get("SamplesPerPixel", 1) or 1)
        shape: tuple[int, ...] = (len(refs), refs[0].rows, refs[0].columns)
        shape += (samples,) if samples > 1 else ()
        self.rejected: list[Rejected] = []
        self.missing: list[int] = []
        self.done = False
        # one task per file: a multi-frame file is decoded once and split into its frames
        self._tasks: dict[str, tuple[InstanceHeader, list[tuple[int, SliceRef]]]] = {}
        for index, ref in enumerate(refs):
            key = ref.instance.sop_instance_uid
            self._tasks.setdefault(key, (ref.instance, []))[1].append((index, ref))
        compressed = all(
            inst.transfer_syntax_uid not in _NATIVE_LITTLE_ENDIAN for inst, _ in self._tasks.values()
        )
        if processes is None:
            processes = compressed and len(self._tasks) >= 4 and PROCESS_DECODING_DEFAULT
        if USE_GDCM_FOR_JPEG_LOSSLESS and any(
            inst.transfer_syntax_uid in _GDCM_SYNTAXES for inst, _ in self._tasks.values()
        ):
            _start_gdcm_import()
        self._shared: _SharedBuffer | None = None
        if processes and _processes_possible():
            nbytes = int(np.prod(shape)) * self.dtype.itemsize
            try:
                self._shared = _SharedBuffer(nbytes)
            except OSError:  # no room in /dev/shm: threads and private memory instead
                self._shared = None
        if self._shared is not None:
            self.array = np.frombuffer(self._shared.mapping, dtype=self.dtype).reshape(shape)
        else:
            self.array = np.zeros(shape, dtype=self.dtype)

    @property
    def uses_processes(self) -> bool:
        return self._shared is not None

    @staticmethod
    def _targets(targets: list[tuple[int, SliceRef]]) -> list[Target]:
        return [(index, ref.frame, ref.slope, ref.intercept) for index, ref in targets]

    def _run_task(self, instance: InstanceHeader, targets: list[tuple[int, SliceRef]]) -> list[int]:
        if self.cancel.is_set():
            return []
        if _gdcm_applies(instance):
            rescaled = _read_with_gdcm(instance, self.array.shape[1:])
            if rescaled is not None:
                return _write_targets(
                    self.array, rescaled[0], [(index, None, 1.0, 0.0) for index, _ in targets]
                )
        if len(targets) == 1 and targets[0][1].frame is None:
            index, ref = targets[0]
            if _read_native_into(instance, self.array[index], ref.slope, ref.intercept):
                return [index]
        return _write_targets(self.array, _decode_instance(instance), self._targets(targets))

    def _steal(
        self, remote: list[Future[list[int]] | None], start: int
    ) -> tuple[int, list[int] | None, Exception | None] | None:
        """Decode here the first task from ``start`` that no process has begun; None when none is left.

        Processes take the series from the back, this thread from the front, so the first slices
        arrive while the pool is still starting and no task is decoded twice."""
        tasks = list(self._tasks.values())
        for index in range(start, len(tasks)):
            future = remote[index]
            if self.cancel.is_set() or future is None or not future.cancel():
                return None
            try:
                return index, self._run_task(*tasks[index]), None
            except Exception as exc:
                return index, None, exc
        return None

    def _submit_remote(
        self, tasks: list[tuple[InstanceHeader, list[tuple[int, SliceRef]]]]
    ) -> list[Future[list[int]] | None]:
        assert self._shared is not None
        remote: list[Future[list[int]] | None] = [None] * len(tasks)
        try:
            pool = decoder_pool()
            for index in reversed(range(len(tasks))):
                instance, targets = tasks[index]
                remote[index] = pool.submit(
                    _decode_into_shared,
                    str(instance.path),
                    self._shared.path,
                    self.dtype.str,
                    tuple(self.array.shape),
                    self._targets(targets),
                )
        except (BrokenProcessPool, RuntimeError, OSError):  # no processes here: all in threads
            _forget_pool()
            for future in remote:
                if future is not None:
                    future.cancel()
            return [None] * len(tasks)
        return remote

    def slices(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (slice index, slice view) as each decodes; raises :class:`LoadCancelled` on cancel."""
        total = len(self.sorted.slices)
        finished = 0
        tasks = list(self._tasks.values())
        workers = 1 if self._shared is not None else self.max_workers
        local = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dicom-decode")
        futures: dict[Future[Any], int] = {}  # -> task index; -1: a steal attempt
        remote: list[Future[list[int]] | None] = [None] * len(tasks)
        try:
            if self._shared is not None:
                remote = self._submit_remote(tasks)
            if any(future is not None for future in remote):
                futures = {future: index for index, future in enumerate(remote) if future is not None}
                futures[local.submit(self._steal, remote, 0)] = -1
            else:
                for index, (instance, targets) in enumerate(tasks):
                    futures[local.submit(self._run_task, instance, targets)] = index
            # Completed futures arrive through a queue: concurrent.futures.wait() over the pending set
            # costs O(pending) per call, 90 000 lock operations for 300 slices on this (GIL-holding)
            # thread while the decoders, which release the GIL, keep needing it back.
            finished_queue: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
            pending: set[Future[Any]] = set()

            def track(future: Future[Any]) -> None:
                pending.add(future)
                future.add_done_callback(finished_queue.put)

            for submitted in futures:
                track(submitted)
            while pending:
                if self.cancel.is_set():
                    raise LoadCancelled("loading cancelled")
                try:
                    done_now = [finished_queue.get(timeout=0.1)]
                except queue.Empty:
                    continue
                while True:
                    try:
                        done_now.append(finished_queue.get_nowait())
                    except queue.Empty:
                        break
                pending.difference_update(done_now)
                for fut in done_now:
                    index = futures[fut]
                    if fut.cancelled():
                        continue  # stolen by this process's thread: its outcome comes from there
                    indices: list[int] | None = None
                    error: BaseException | None = None
                    if index < 0:
                        stolen = fut.result()
                        if stolen is None:
                            continue
                        index, indices, error = stolen
                        again = local.submit(self._steal, remote, index + 1)
                        futures[again] = -1
                        track(again)
                    else:
                        error = fut.exception()
                        if isinstance(error, BrokenProcessPool):  # a decoder died: redo it here
                            _forget_pool()
                            redo = local.submit(self._run_task, *tasks[index])
                            futures[redo] = index
                            track(redo)
                            continue
                        if error is None:
                            indices = fut.result()
                    instance, targets = tasks[index]
                    if error is not None or indices is None:
                        # one bad payload must not stop the series
                        reason = f"pixel data could not be decoded: {type(error).__name__}: {error}"
                        self.rejected.append(Rejected(instance.path, reason))
                        self.missing.extend(i for i, _ in targets)
                        finished += len(targets)
                        indices = []
                    for slice_index in indices:
                        if self.cancel.is_set():  # decoded in a burst: still stop at once
                            raise LoadCancelled("loading cancelled")
                        finished += 1
                        yield slice_index, self.array[slice_index]
                    if self.progress is not None:
                        self.progress(finished, total)
            if self.cancel.is_set():
                raise LoadCancelled("loading cancelled")
            self.done = True
        finally:
            for future in remote:
                if future is not None:
                    future.cancel()
            local.shutdown(wait=True, cancel_futures=True)
            if self._shared is not None:
                self._shared.release_fd()

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
            volume = Volume(
                self.array,
                (col_spacing, row_spacing, 1.0),
                (0.0, 0.0, 0.0),
                np.eye(3),
                "cine" if len(refs) > 1 else "volume",
                frame_time_ms(ds0),
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
