"""Series load: our loader against SimpleITK's ImageSeriesReader on the same synthetic CT files.

Figures: load_ratio_vs_sitk (our full-volume time / SimpleITK's, <= 1.0 is the target),
first_slice_s (time from the start of loading until the first decoded slice is in hand, headers
already discovered), plus the absolute times. Uncompressed 16-bit CT written by this script.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import median, parse, report
from viewers.dicom.discovery import discover
from viewers.dicom.series import sort_series
from viewers.dicom.synthetic import write_ct_series
from viewers.dicom.volume import VolumeLoader


def load_ours(folder: Path) -> tuple[float, float, float]:
    """(discover + sort seconds, first slice seconds after that, full volume seconds in all)."""
    start = time.perf_counter()
    (series,) = discover(folder).all_series()
    ordered = sort_series(series.instances)
    scanned = time.perf_counter()
    loader = VolumeLoader(ordered)
    first = None
    for _index, _image in loader.slices():
        if first is None:
            first = time.perf_counter() - scanned
    loader.result()
    return scanned - start, first or 0.0, time.perf_counter() - start


def load_sitk(folder: Path) -> float:
    import SimpleITK as sitk  # noqa: N813 - the name its documentation uses

    start = time.perf_counter()
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(str(folder))
    reader.SetFileNames(names)
    image = reader.Execute()
    sitk.GetArrayViewFromImage(image)
    return time.perf_counter() - start


def main() -> None:
    args = parse(__doc__ or "")
    shape = (64, 256, 256) if args.quick else (128, 256, 256)
    repeats = 2 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ct"
        write_ct_series(folder, shape)
        ours, theirs, firsts, scans = [], [], [], []
        for _ in range(repeats):
            scan, first, total = load_ours(folder)
            ours.append(total)
            firsts.append(first)
            scans.append(scan)
            theirs.append(load_sitk(folder))
    ours_s, sitk_s = median(ours), median(theirs)
    print(f"series {shape[2]}x{shape[1]}x{shape[0]} int16, median of {repeats}")
    print(f"ours:      {ours_s:.3f} s (header scan {median(scans):.3f} s)")
    print(f"SimpleITK: {sitk_s:.3f} s")
    report(
        {
            "load_ratio_vs_sitk": ours_s / sitk_s,
            "first_slice_s": median(firsts),
            "ours_s": ours_s,
            "sitk_s": sitk_s,
            "slices": shape[0],
        }
    )


if __name__ == "__main__":
    main()
