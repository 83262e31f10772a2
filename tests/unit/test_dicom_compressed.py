"""Compressed transfer syntaxes PACS send, decoded by the parallel loader and compared to the original."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest

from viewers.dicom import synthetic
from viewers.dicom import volume as volume_module
from viewers.dicom.discovery import discover
from viewers.dicom.series import sort_series
from viewers.dicom.volume import LoadCancelled, VolumeLoader, load_volume, shutdown_decoders

LOSSLESS = [
    synthetic.RLE_LOSSLESS,
    synthetic.JPEG_LOSSLESS_SV1,
    synthetic.JPEG_LOSSLESS,
    synthetic.JPEG2000_LOSSLESS,
]


def _load(folder: Path, workers: int = 2) -> tuple[np.ndarray, list[int], VolumeLoader]:
    result = discover(folder)
    assert result.rejected == []
    (series,) = result.all_series()
    loader = VolumeLoader(sort_series(series.instances), max_workers=workers)
    seen = [index for index, _image in loader.slices()]
    return loader.result().volume.array, seen, loader


@pytest.mark.parametrize("syntax", LOSSLESS)
def test_lossless_syntax_decodes_exactly(tmp_path: Path, syntax: str) -> None:
    written = synthetic.write_ct_series(tmp_path, (5, 48, 40))
    synthetic.compress_series(written, syntax)
    # the files really are in that syntax, with encapsulated (not native) pixel data
    ds = pydicom.dcmread(written.paths[0], stop_before_pixels=True)
    assert ds.file_meta.TransferSyntaxUID == syntax
    array, seen, loader = _load(tmp_path)
    assert sorted(seen) == list(range(5))
    assert loader.rejected == []
    assert array.dtype == np.int16
    np.testing.assert_array_equal(array, written.hu)
    # the slice-order marker survived: sorting and decoding agree
    assert [int(v) for v in array[:, 0, 0]] == list(range(5))


def test_jpeg_baseline_8bit_is_close(tmp_path: Path) -> None:
    written = synthetic.write_ct_series(tmp_path, (4, 64, 64), bits=8)
    synthetic.compress_series(written, synthetic.JPEG_BASELINE)
    ds = pydicom.dcmread(written.paths[0], stop_before_pixels=True)
    assert ds.file_meta.TransferSyntaxUID == synthetic.JPEG_BASELINE
    array, _seen, _loader = _load(tmp_path)
    error = np.abs(array.astype(np.float64) - written.hu)
    # lossy: edges ring a little, the bulk is within a few stored steps (slope 8 HU)
    assert np.median(error) <= 8.0
    assert error.mean() < 25.0
    assert not np.array_equal(array, written.hu)  # it really was lossy, not passed through


def test_jpeg2000_lossy_is_close(tmp_path: Path) -> None:
    written = synthetic.write_ct_series(tmp_path, (3, 64, 64))
    synthetic.compress_series(written, synthetic.JPEG2000)
    array, _seen, _loader = _load(tmp_path)
    error = np.abs(array.astype(np.float64) - written.hu)
    assert np.median(error) <= 5.0
    assert error.max() < 100.0  # 1700 HU range: within 6 % anywhere


def test_compressed_files_are_smaller(tmp_path: Path) -> None:
    plain = synthetic.write_ct_series(tmp_path / "plain", (2, 64, 64), shuffle_names=False)
    packed = synthetic.write_ct_series(tmp_path / "rle", (2, 64, 64), shuffle_names=False)
    synthetic.compress_series(packed, synthetic.RLE_LOSSLESS)
    assert packed.paths[0].stat().st_size < plain.paths[0].stat().st_size / 2


def test_one_corrupt_compressed_slice_is_rejected_rest_loads(tmp_path: Path) -> None:
    written = synthetic.write_ct_series(tmp_path, (4, 32, 32), shuffle_names=False)
    synthetic.compress_series(written, synthetic.JPEG_LOSSLESS_SV1)
    bad = written.paths[2]
    data = bytearray(bad.read_bytes())
    # zero the tail of the encapsulated stream (the file keeps its length; the header is intact)
    end = len(data) - 8  # the sequence delimiter item
    data[end - 400 : end] = bytes(400)
    bad.write_bytes(bytes(data))
    result = discover(tmp_path)
    (series,) = result.all_series()
    loader = VolumeLoader(sort_series(series.instances), max_workers=2)
    list(loader.slices())
    loaded = loader.result()
    assert [r.path for r in loaded.rejected] == [bad]
    assert "could not be decoded" in loaded.rejected[0].reason
    assert loaded.missing_slices == [2]
    for k in (0, 1, 3):
        np.testing.assert_array_equal(loaded.volume.array[k], written.hu[k])


def test_compressed_load_can_be_cancelled(tmp_path: Path) -> None:
    written = synthetic.write_ct_series(tmp_path, (6, 32, 32))
    synthetic.compress_series(written, synthetic.RLE_LOSSLESS)
    (series,) = discover(tmp_path).all_series()
    cancel = threading.Event()
    loader = VolumeLoader(sort_series(series.instances), max_workers=1, cancel=cancel)
    stream = loader.slices()
    next(stream)
    cancel.set()
    with pytest.raises(LoadCancelled):
        list(stream)
    assert not loader.done


# --- the opt-in process pool: decoders hold the GIL, so processes write into a shared volume ----------


@pytest.fixture
def decoder_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shared process pool, on any number of cores: the product keeps a single core to threads
    (a pool there only adds the hand-over), but the pool itself must work with one worker too."""
    if (os.cpu_count() or 1) < 2:
        monkeypatch.setattr(volume_module, "_processes_possible", lambda: os.path.isdir("/dev/shm"))
    yield
    shutdown_decoders()


def _shared_fds() -> list[str]:
    fd_dir = Path("/proc/self/fd")
    names = []
    for entry in fd_dir.iterdir():
        try:
            names.append(os.readlink(entry))
        except OSError:
            continue
    return [n for n in names if "teleconsult-volume" in n]


@pytest.mark.skipif(sys.platform != "linux", reason="the shared-memory decoder pool is Linux-only")
def test_process_pool_decodes_into_shared_memory(tmp_path: Path, decoder_processes: None) -> None:
    written = synthetic.write_ct_series(tmp_path, (12, 64, 48))
    synthetic.compress_series(written, synthetic.JPEG_LOSSLESS_SV1)
    (series,) = discover(tmp_path).all_series()
    for _ in range(2):  # the second load reuses the warm pool
        loader = VolumeLoader(sort_series(series.instances), processes=True)
        assert loader.uses_processes
        seen = [index for index, _image in loader.slices()]
        assert sorted(seen) == list(range(12))
        volume = loader.result().volume.array
        np.testing.assert_array_equal(volume, written.hu)
        assert volume.flags.writeable and type(volume) is np.ndarray
        # the file is unlinked at once; the only descriptor left is the one the mapping holds
        assert len(_shared_fds()) == 1
        del loader, volume
        gc.collect()
        assert _shared_fds() == []  # freed with the volume


@pytest.mark.skipif(sys.platform != "linux", reason="the shared-memory decoder pool is Linux-only")
def test_process_pool_rejects_a_bad_slice_and_loads_the_rest(tmp_path: Path, decoder_processes: None) -> None:
    written = synthetic.write_ct_series(tmp_path, (6, 32, 32), shuffle_names=False)
    synthetic.compress_series(written, synthetic.JPEG2000_LOSSLESS)
    bad = written.paths[4]
    data = bytearray(bad.read_bytes())
    end = len(data) - 8
    data[end - 300 : end] = bytes(300)
    bad.write_bytes(bytes(data))
    (series,) = discover(tmp_path).all_series()
    loader = VolumeLoader(sort_series(series.instances), processes=True)
    list(loader.slices())
    loaded = loader.result()
    assert [r.path for r in loaded.rejected] == [bad]
    assert loaded.missing_slices == [4]
    for k in (0, 1, 2, 3, 5):
        np.testing.assert_array_equal(loaded.volume.array[k], written.hu[k])


def test_one_core_decodes_with_threads_even_when_processes_are_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = synthetic.write_ct_series(tmp_path, (6, 32, 32))
    synthetic.compress_series(written, synthetic.JPEG_LOSSLESS_SV1)
    (series,) = discover(tmp_path).all_series()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    loader = VolumeLoader(sort_series(series.instances), processes=True)
    assert not loader.uses_processes
    assert sorted(index for index, _image in loader.slices()) == list(range(6))
    np.testing.assert_array_equal(loader.result().volume.array, written.hu)


def test_threads_are_the_default_for_compressed(tmp_path: Path) -> None:
    written = synthetic.write_ct_series(tmp_path, (5, 16, 16))
    synthetic.compress_series(written, synthetic.RLE_LOSSLESS)
    (series,) = discover(tmp_path).all_series()
    assert not VolumeLoader(sort_series(series.instances)).uses_processes


@pytest.mark.parametrize(("slope", "intercept"), [(1.0, -1024.0), (1.0, 0.0), (0.5, -1024.0), (2.0, -1000.0)])
def test_gdcm_and_pydicom_decoders_agree_for_jpeg_lossless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slope: float, intercept: float
) -> None:
    written = synthetic.write_ct_series(tmp_path, (4, 40, 32), slope=slope, intercept=intercept)
    synthetic.compress_series(written, synthetic.JPEG_LOSSLESS_SV1)
    (series,) = discover(tmp_path).all_series()
    volume_module._start_gdcm_import()
    assert volume_module._GDCM_READY.wait(30)
    assert volume_module._gdcm_applies(series.instances[0])
    array_gdcm = load_volume(sort_series(series.instances)).volume.array
    monkeypatch.setattr(volume_module, "USE_GDCM_FOR_JPEG_LOSSLESS", False)
    array_pydicom = load_volume(sort_series(series.instances)).volume.array
    assert array_gdcm.dtype == array_pydicom.dtype
    np.testing.assert_array_equal(array_gdcm, array_pydicom)
    np.testing.assert_allclose(array_gdcm, written.hu, atol=slope / 2)


@pytest.mark.parametrize(
    ("bits_stored", "signed", "intercept", "high"),
    [
        (12, False, -1024.0, 4095),
        (16, False, -32768.0, 65535),
        (16, True, 0.0, 32767),
        (12, False, 0.0, 4095),
    ],
)
def test_native_read_in_place_matches_pydicom(
    tmp_path: Path, bits_stored: int, signed: bool, intercept: float, high: int
) -> None:
    """The uncompressed fast path reads straight into the volume; it must equal pydicom + rescale,
    including unsigned values above 32767 and garbage above BitsStored."""
    written = synthetic.write_ct_series(tmp_path, (3, 16, 20), intercept=-1024.0, shuffle_names=False)
    rng = np.random.default_rng(7)
    expected = []
    for path in written.paths:
        ds = pydicom.dcmread(path)
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits_stored, bits_stored - 1, int(signed)
        ds.RescaleIntercept = intercept
        low = -32768 if signed else 0
        values = rng.integers(low, high + 1, size=(16, 20))
        raw = values.astype(np.int16 if signed else np.uint16)
        if bits_stored < 16:
            raw = raw | np.uint16(0xF000)  # bits above BitsStored must be ignored
        ds.PixelData = raw.tobytes()
        ds.save_as(path, enforce_file_format=True)
        expected.append(pydicom.dcmread(path).pixel_array.astype(np.int64) + int(intercept))
    (series,) = discover(tmp_path).all_series()
    loader = VolumeLoader(sort_series(series.instances), max_workers=1)
    list(loader.slices())
    array = loader.result().volume.array
    assert array.dtype == np.int16
    np.testing.assert_array_equal(array.astype(np.int64), np.stack(expected))
