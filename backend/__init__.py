"""The thin backend: REST, WebSocket signalling and a hash-chained audit log (FastAPI, SQLAlchemy 2)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("teleconsult-workstation")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
