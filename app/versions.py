"""Versions of the components, read from package metadata so nothing heavy is imported."""

from __future__ import annotations

import platform
from importlib import metadata

COMPONENTS = (
    ("Teleconsult Workstation", "teleconsult-workstation"),
    ("PySide6", "PySide6-Essentials"),
    ("VTK", "vtk"),
    ("aiortc", "aiortc"),
    ("PyAV", "av"),
    ("pydicom", "pydicom"),
    ("SimpleITK", "SimpleITK"),
    ("pyqtgraph", "pyqtgraph"),
)


def component_versions() -> list[tuple[str, str]]:
    found = [("Python", platform.python_version())]
    for label, dist in COMPONENTS:
        try:
            found.append((label, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            found.append((label, "not installed"))
    return found


def app_version() -> str:
    try:
        return metadata.version("teleconsult-workstation")
    except metadata.PackageNotFoundError:
        return "0+unknown"
