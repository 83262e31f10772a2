"""DICOM fuzzing: mutants of real and synthetic files through discovery and the volume loader.

Seeds: pydicom's own test files (those shipped with the package, through
``pydicom.data.get_testdata_file``; nothing is downloaded) and a synthetic CT series, ultrasound
cine and enhanced CT from viewers/dicom/synthetic.py. Each mutant (byte and bit flips,
truncations, length-field and VR corruptions, non-numeric numbers; deterministic seed) is read
by :func:`viewers.dicom.discovery.discover` and every series found is loaded by
:func:`viewers.dicom.volume.load_volume`, in a child process capped in address space (RLIMIT_AS)
with a time limit per file. Our code must never raise, hang or be killed for memory:
a bad file is a Rejected entry, never an exception.

Figures: mutants, uncaught (exceptions out of discover/load_volume), hangs, memory_kills (child died
or MemoryError escaped), slowest_file_s, rejected (mutants discovery turned away, for context) and,
as the peer, pydicom_raised: how many of the same mutants pydicom's own dcmread (then converting
every element) raises on. 10,000 mutants; --quick: 500. Goal: 0 uncaught, 0 hangs, 0 memory kills.
"""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MEMORY_LIMIT = 2 * 1024**3
FILE_TIMEOUT_S = 10.0
# seeds larger than this are left out: mutating them costs time and finds nothing the small ones miss
MAX_SEED_BYTES = 400_000
_VRS = [
    b"AE",
    b"AS",
    b"AT",
    b"CS",
    b"DA",
    b"DS",
    b"DT",
    b"FD",
    b"FL",
    b"IS",
    b"LO",
    b"LT",
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"PN",
    b"SH",
    b"SL",
    b"SQ",
    b"SS",
    b"ST",
    b"SV",
    b"TM",
    b"UC",
    b"UI",
    b"UL",
    b"UN",
    b"UR",
    b"US",
    b"UT",
    b"UV",
]
_LONG = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


def seed_files(folder: Path) -> list[Path]:
    """The seed corpus: pydicom's shipped test files (no download) and synthetic series in ``folder``."""
    from pydicom.data import get_testdata_file
    from pydicom.data.data_manager import DATA_ROOT

    from viewers.dicom.synthetic import write_ct_series, write_enhanced_ct, write_us_cine

    # the files shipped in pydicom's test_files folder, each found through get_testdata_file (which
    # looks there first); get_testdata_files would also try to download the larger online ones
    local = sorted(p.name for p in (Path(DATA_ROOT) / "test_files").iterdir() if p.is_file())
    found = [get_testdata_file(name) for name in local if not name.endswith(".py")]
    shipped = [Path(p) for p in found if isinstance(p, str)]
    seeds = sorted(p for p in shipped if p.is_file() and 0 < p.stat().st_size <= MAX_SEED_BYTES)
    ct = write_ct_series(folder / "ct", (4, 16, 16))
    seeds.extend(ct.paths)
    seeds.append(write_us_cine(folder / "us", frames=3, rows=12, cols=16))
    seeds.append(write_enhanced_ct(folder / "enh")[0])
    return [p for p in seeds if p.is_file()]


_STARTS: dict[int, list[int]] = {}


def _element_starts(data: bytes) -> list[int]:
    """Offsets that look like explicit VR element headers (a known VR after a 4-byte tag)."""
    key = hash(data)
    if key not in _STARTS:
        vrs = set(_VRS)
        _STARTS[key] = [i for i in range(0, min(len(data), 64_000) - 8) if data[i + 4 : i + 6] in vrs]
    return _STARTS[key]


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutant of ``data`` and the name of what was done to it."""
    buf = bytearray(data)
    kind = rng.choice(["flip", "flip", "bytes", "truncate", "length", "length", "vr", "number"])
    if not buf:
        return "empty", b""
    if kind in ("length", "vr", "number"):
        starts = _element_starts(data)
        if not starts:
            kind = "flip"
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(buf))
            buf[at] ^= 1 << rng.randrange(8)
    elif kind == "bytes":
        for _ in range(rng.randint(1, 16)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == "truncate":
        buf = buf[: rng.randrange(len(buf))]
    elif kind == "length":
        at = rng.choice(starts)
        long = bytes(buf[at + 4 : at + 6]) in _LONG
        size, offset = (4, at + 8) if long else (2, at + 6)
        top = (1 << (8 * size)) - 1
        value = rng.choice([0, 1, 3, top, top - 1, rng.randrange(top), len(buf), 0x7FFFFFFF & top])
        buf[offset : offset + size] = (value & top).to_bytes(size, "little")
    elif kind == "vr":
        at = rng.choice(starts)
        letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        new = rng.choice([bytes([rng.choice(letters), rng.choice(letters)]), rng.choice(_VRS)])
        buf[at + 4 : at + 6] = new
    else:  # number: the value of a DS/IS element made non-numeric
        numeric = [s for s in starts if data[s + 4 : s + 6] in (b"DS", b"IS")] or starts
        at = rng.choice(numeric)
        length = int.from_bytes(buf[at + 6 : at + 8], "little")
        junk = rng.choice([b"abc", b"nan", b"1e999", b"\\\\", b"--", b"1.2.3"])
        value = (junk * (length // len(junk) + 1))[:length]
        buf[at + 8 : at + 8 + length] = value
    return kind, bytes(buf)


def make_mutants(seeds: list[Path], count: int, folder: Path, seed: int = 20261207) -> list[Path]:
    """``count`` mutant files in ``folder``, the same ones for the same ``seed``."""
    rng = random.Random(seed)
    blobs = [p.read_bytes() for p in seeds]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(count):
        index = n % len(blobs)
        kind, data = mutate(blobs[index], rng)
        path = folder / f"m{n:05d}_{kind}_{seeds[index].stem[:24]}.dcm"
        path.write_bytes(data)
        out.append(path)
    return out


# ---- the child: reads paths on stdin, answers one JSON line per path -------------------------------


def _check_one(path: Path, peer: bool) -> dict[str, object]:
    from viewers.dicom.discovery import discover
    from viewers.dicom.volume import load_volume

    answer: dict[str, object] = {"error": None}
    start = time.perf_counter()
    try:
        found = discover(path)
        answer["rejected"] = len(found.rejected)
        for series in found.all_series():
            if series.instances:
                load_volume(series.instances, max_workers=1)
    except MemoryError:
        answer["error"] = "MemoryError"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust decoder's PanicException is no Exception: counted too
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        answer["error"] = f"{type(exc).__name__} at {where}: {str(exc)[:160]}"
    answer["s"] = time.perf_counter() - start
    if peer:
        answer["pydicom_raised"] = _pydicom_raises(path)
    return answer


def _pydicom_raises(path: Path) -> bool:
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        for elem in ds.iterall():
            _ = elem.value
    except Exception:
        return True
    return False


def child_main(peer: bool) -> None:
    import resource
    import warnings

    warnings.simplefilter("ignore")
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    import viewers.dicom.discovery
    import viewers.dicom.volume

    del viewers  # imported before the first timed file

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        answer = _check_one(Path(line.strip()), peer)
        print(json.dumps(answer), flush=True)


# ---- the parent ------------------------------------------------------------------------------------


@dataclass
class FuzzReport:
    mutants: int = 0
    uncaught: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    memory_kills: list[str] = field(default_factory=list)
    rejected: int = 0
    pydicom_raised: int = 0
    slowest_s: float = 0.0
    slowest_file: str = ""


class _Child:
    def __init__(self, peer: bool) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        args = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--peer"] if peer else [])
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        self._line(60.0)

    def _line(self, timeout: float) -> str | None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        return self.proc.stdout.readline()

    def ask(self, path: Path, timeout: float) -> dict[str, object] | str:
        """The child's answer, or "hang" / "died" (the child is then gone)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{path}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return "died"
        line = self._line(timeout)
        if line is None:
            self.close()
            return "hang"
        if not line:
            self.close()
            return "died"
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run(mutants: list[Path], *, peer: bool = False, timeout: float = FILE_TIMEOUT_S) -> FuzzReport:
    report = FuzzReport(mutants=len(mutants))
    child: _Child | None = None
    try:
        for path in mutants:
            if child is None:
                child = _Child(peer)
            answer = child.ask(path, timeout)
            if answer == "hang":
                report.hangs.append(path.name)
                child = None
                continue
            if answer == "died":
                report.memory_kills.append(path.name)
                child = None
                continue
            assert isinstance(answer, dict)
            error = answer.get("error")
            if error == "MemoryError":
                report.memory_kills.append(path.name)
            elif error:
                report.uncaught.append(f"{path.name}: {error}")
            report.rejected += 1 if answer.get("rejected") else 0
            report.pydicom_raised += 1 if answer.get("pydicom_raised") else 0
            seconds = float(answer.get("s", 0.0))  # type: ignore[arg-type]
            if seconds > report.slowest_s:
                report.slowest_s, report.slowest_file = seconds, path.name
    finally:
        if child is not None:
            child.close()
    return report


def main() -> None:
    if "--child" in sys.argv:
        child_main("--peer" in sys.argv)
        return
    from benchmarks._common import parse, report

    args = parse("DICOM fuzzing: mutants through discovery and the volume loader")
    count = 500 if args.quick else 10_000
    work = Path(tempfile.mkdtemp(prefix="fuzz-dicom-"))
    try:
        seeds = seed_files(work / "seeds")
        mutants = make_mutants(seeds, count, work / "mutants")
        start = time.perf_counter()
        result = run(mutants, peer=True)
        elapsed = time.perf_counter() - start
        for line in result.uncaught[:20] + [f"hang: {h}" for h in result.hangs[:10]]:
            print(line)
        for name in result.memory_kills[:10]:
            print(f"memory kill: {name}")
        report(
            {
                "peer": "goal: 0 uncaught, 0 hangs, 0 memory kills; pydicom dcmread on the same mutants "
                "for context",
                "seeds": len(seeds),
                "mutants": result.mutants,
                "uncaught": len(result.uncaught),
                "hangs": len(result.hangs),
                "memory_kills": len(result.memory_kills),
                "slowest_file_s": result.slowest_s,
                "slowest_file": result.slowest_file,
                "rejected_by_discovery": result.rejected,
                "pydicom_raised": result.pydicom_raised,
                # share of the mutants pydicom raises on that discovery turned away cleanly instead
                "rejected_ratio_vs_pydicom_raised": result.rejected / result.pydicom_raised
                if result.pydicom_raised
                else 0.0,
                "elapsed_s": elapsed,
            }
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
