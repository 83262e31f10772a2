"""Imaging: series load against SimpleITK's ImageSeriesReader, then view frame rates.

Writes a synthetic 16-bit chest CT (512x512x300; --quick: 512x512x60), uncompressed and a JPEG
lossless (SV1) copy, into a temporary folder. Each load runs in a fresh child process so that peak memory
(VmHWM) of one loader never mixes with another's, and each child reads the same files:
- ours: folder scan (discovery, grouping, geometric sort) + parallel decode into one volume;
  first slice = from the start of the scan until the first decoded slice is in hand.
- SimpleITK: GetGDCMSeriesFileNames (its scan) + ImageSeriesReader.Execute + an array view.
Figures: load_ratio_vs_sitk (ours / SimpleITK for the uncompressed series; the JPEG lossless ratio
is printed beside it), first_slice_s, peak_mem_ratio ((peak RSS - RSS before loading) / volume
bytes; both children import their decoder libraries before that baseline), and, when
benchmarks/_imaging_views.py exists, scroll_fps, mpr_fps and render3d_ms from its
measure_views(volume, quick) run offscreen in another child.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import median, parse, report  # noqa: E402


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    # writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def child_ours(folder: Path, processes: bool = False) -> dict[str, float]:
    from viewers.dicom.discovery import discover
    from viewers.dicom.series import sort_series
    from viewers.dicom.volume import VolumeLoader, shutdown_decoders, warm_up_decoders

    if processes:  # the application starts its decoder pool at start-up, not when a series opens
        warm_up_decoders(wait_s=30)
    # decoder libraries load before the baseline, as SimpleITK's do in its child: peak memory is
    # then what loading this volume costs, not the fixed cost of a library import
    from viewers.dicom import volume as volume_module

    volume_module._start_gdcm_import()
    volume_module._GDCM_READY.wait(30)

    _reset_peak()
    before = _rss_kib("VmRSS")
    start = time.perf_counter()
    (series,) = discover(folder).all_series()
    ordered = sort_series(series.instances)
    scanned = time.perf_counter()
    loader = VolumeLoader(ordered, processes=processes)
    first = None
    for _index, _image in loader.slices():
        if first is None:
            first = time.perf_counter()
    volume = loader.result().volume.array
    end = time.perf_counter()
    shutdown_decoders()
    return {
        "total_s": end - start,
        "scan_s": scanned - start,
        "first_slice_s": (first or end) - start,
        "first_after_scan_s": (first or end) - scanned,
        "peak_extra_bytes": (_rss_kib("VmHWM") - before) * 1024.0,
        "volume_bytes": float(volume.nbytes),
    }


def child_sitk(folder: Path) -> dict[str, float]:
    import SimpleITK as sitk  # noqa: N813 - the name its documentation uses

    _reset_peak()
    before = _rss_kib("VmRSS")
    start = time.perf_counter()
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(str(folder))
    reader.SetFileNames(names)
    image = reader.Execute()
    array = sitk.GetArrayViewFromImage(image)
    end = time.perf_counter()
    return {
        "total_s": end - start,
        "peak_extra_bytes": (_rss_kib("VmHWM") - before) * 1024.0,
        "volume_bytes": float(array.nbytes),
    }


def child_views(folder: Path, quick: bool) -> dict[str, float | None]:
    from benchmarks._imaging_views import measure_views  # type: ignore[import-not-found]
    from viewers.dicom.discovery import discover
    from viewers.dicom.volume import load_volume

    (series,) = discover(folder).all_series()
    volume = load_volume(series.instances).volume
    return dict(measure_views(volume, quick))


def run_child(mode: str, folder: Path, quick: bool = False, timeout: float = 600) -> dict[str, float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--folder", str(folder)]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ)
    if mode == "views":
        env["QT_QPA_PLATFORM"] = "offscreen"  # 2D views offscreen; the 3D part renders through EGL
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def write_data(root: Path, shape: tuple[int, int, int]) -> tuple[Path, Path]:
    from viewers.dicom.synthetic import JPEG_LOSSLESS_SV1, SyntheticSeries, compress_series, write_ct_series

    plain = root / "plain"
    # the demo's chest (noise included, which JPEG lossless compresses less well than flat regions)
    # over 300 mm whatever the slice count
    spacing = (0.7, 0.7, 300.0 / shape[0])
    written = write_ct_series(plain, shape, spacing=spacing, anatomy="chest")
    jpeg = root / "jpeg"
    shutil.copytree(plain, jpeg)
    copies = [jpeg / path.name for path in written.paths]
    compress_series(
        SyntheticSeries(copies, written.positions, written.hu, written.study_uid, written.series_uid),
        JPEG_LOSSLESS_SV1,
        max_workers=os.cpu_count() or 2,
    )
    return plain, jpeg


def main() -> None:
    if "--child" in sys.argv:
        mode = sys.argv[sys.argv.index("--child") + 1]
        folder = Path(sys.argv[sys.argv.index("--folder") + 1])
        if mode in ("ours", "ours-processes"):
            out: dict[str, float | None] = dict(child_ours(folder, processes=mode == "ours-processes"))
        elif mode == "sitk":
            out = dict(child_sitk(folder))
        else:
            out = child_views(folder, "--quick" in sys.argv)
        print(json.dumps(out))
        return
    args = parse(__doc__ or "")
    shape = (60, 512, 512) if args.quick else (300, 512, 512)
    repeats = 2 if args.quick else 3
    figures: dict[str, float | int | str | None] = {}
    with tempfile.TemporaryDirectory(prefix="imaging-bench-") as tmp:
        started = time.perf_counter()
        plain, jpeg = write_data(Path(tmp), shape)
        print(
            f"wrote {shape[0]} slices {shape[2]}x{shape[1]} int16, plain + JPEG lossless, "
            f"in {time.perf_counter() - started:.1f} s"
        )
        results: dict[str, dict[str, list[dict[str, float]]]] = {}
        for name, folder in (("plain", plain), ("jpeg", jpeg)):
            modes = ["ours", "sitk"] + (["ours-processes"] if name == "jpeg" else [])
            runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
            for _ in range(repeats):  # alternate, so drift on a shared machine hits all alike
                for mode in modes:
                    runs[mode].append(run_child(mode, folder))
            results[name] = runs
            ours = median([r["total_s"] for r in runs["ours"]])
            sitk = median([r["total_s"] for r in runs["sitk"]])
            first = median([r["first_slice_s"] for r in runs["ours"]])
            scan = median([r["scan_s"] for r in runs["ours"]])
            mem_ours = max(r["peak_extra_bytes"] / r["volume_bytes"] for r in runs["ours"])
            mem_sitk = max(r["peak_extra_bytes"] / r["volume_bytes"] for r in runs["sitk"])
            print(
                f"{name:5s}: ours {ours:.3f} s (scan {scan:.3f} s, first slice {first:.3f} s), "
                f"SimpleITK {sitk:.3f} s, ratio {ours / sitk:.2f}; "
                f"peak memory / volume: ours {mem_ours:.2f}, SimpleITK {mem_sitk:.2f}"
            )
            figures[f"{name}_ours_s"] = ours
            figures[f"{name}_sitk_s"] = sitk
            figures[f"{name}_ratio"] = ours / sitk
            figures[f"{name}_first_slice_s"] = first
            # what a reader waits after picking the series in the study browser (headers already read)
            figures[f"{name}_first_after_scan_s"] = median([r["first_after_scan_s"] for r in runs["ours"]])
            figures[f"{name}_peak_mem_ratio"] = mem_ours
            figures[f"{name}_sitk_peak_mem_ratio"] = mem_sitk
            if "ours-processes" in runs:
                with_pool = median([r["total_s"] for r in runs["ours-processes"]])
                print(
                    f"{name:5s}: ours with the decoder process pool (started beforehand) {with_pool:.3f} s, "
                    f"ratio {with_pool / sitk:.2f}"
                )
                figures[f"{name}_processes_s"] = with_pool
                figures[f"{name}_processes_ratio"] = with_pool / sitk
        views: dict[str, float | None] = {"scroll_fps": None, "mpr_fps": None, "render3d_ms": None}
        if (ROOT / "benchmarks" / "_imaging_views.py").exists():
            try:
                measured = run_child("views", plain, quick=args.quick, timeout=300)
                views.update({k: (None if v != v else v) for k, v in measured.items()})  # NaN: not measured
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                print(f"view figures not measured: {exc}")
        else:
            print("benchmarks/_imaging_views.py not present: view figures are null")
    final: dict[str, float | int | str | None] = {
        "peer": "SimpleITK ImageSeriesReader on the same files, alternating child processes (load); "
        "the view figures have none",
        "load_ratio_vs_sitk": figures["plain_ratio"],
        "first_slice_s": figures["plain_first_slice_s"],
        "scroll_fps": views.get("scroll_fps"),
        "mpr_fps": views.get("mpr_fps"),
        "render3d_ms": views.get("render3d_ms"),
        "peak_mem_ratio": max(figures["plain_peak_mem_ratio"] or 0.0, figures["jpeg_peak_mem_ratio"] or 0.0),
        "jpeg_lossless_ratio_vs_sitk": figures["jpeg_ratio"],
        "slices": shape[0],
    }
    for key, value in figures.items():
        final.setdefault(key, value)
    report(final)  # type: ignore[arg-type]  # None (view figures absent) prints as null


if __name__ == "__main__":
    main()
