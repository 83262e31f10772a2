"""A bounded mutational fuzz run: damaged copies of pydicom's test files and of synthetic series go
through discovery and the volume loader in a memory-capped child process with a time limit per file;
none may raise out of our code, hang or exhaust memory. benchmarks/fuzz_dicom.py runs 10,000."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.fuzz_dicom import make_mutants, mutate, run, seed_files

MUTANTS = 600

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")


def test_mutants_are_deterministic() -> None:
    import random

    data = bytes(range(256)) * 8
    assert [mutate(data, random.Random(7)) for _ in range(3)] == [
        mutate(data, random.Random(7)) for _ in range(3)
    ]


@pytest.mark.timeout(110)
def test_no_mutant_raises_hangs_or_exhausts_memory(tmp_path: Path) -> None:
    seeds = seed_files(tmp_path / "seeds")
    assert len(seeds) > 20  # pydicom's shipped files and the synthetic ones
    mutants = make_mutants(seeds, MUTANTS, tmp_path / "mutants", seed=1234)
    report = run(mutants, timeout=10.0)
    assert report.mutants == MUTANTS
    assert report.uncaught == []
    assert report.hangs == []
    assert report.memory_kills == []
    assert report.rejected > MUTANTS // 4  # the mutants did reach the error handling
