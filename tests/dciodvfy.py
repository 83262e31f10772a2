"""Run dicom3tools' dciodvfy (the DICOM IOD validator) on a file: its Error lines, warnings allowed.

dciodvfy is a test dependency (scripts/system-deps.sh installs the Debian package dicom3tools); when it
is missing the calling test fails with the reason rather than being skipped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines of dciodvfy's report on ``path`` that start with "Error"."""
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.fail(
            "dciodvfy is not installed: install the Debian package dicom3tools "
            "(scripts/system-deps.sh, or apt-get install dicom3tools)",
            pytrace=False,
        )
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    lines = (done.stdout + "\n" + done.stderr).splitlines()
    return [line.strip() for line in lines if line.lstrip().startswith("Error")]
