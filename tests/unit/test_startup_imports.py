"""Start-up stays fast: heavy modules are imported only when their panel first needs them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "vtk",
    "vtkmodules",
    "aiortc",
    "av",
    "SimpleITK",
    "pydicom",
    "pynetdicom",
    "pyqtgraph",
    "fastapi",
    "httpx",
    "wfdb",
)


def test_main_window_imports_nothing_heavy() -> None:
    code = (
        "import sys, app.cli, app.main_window, app.gui, app.workstation;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()}"
