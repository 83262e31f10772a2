"""Server settings: one frozen dataclass, filled by the command line, the tests or the desktop demo."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SECRET_ENV = "TELECONSULT_SECRET"
DATABASE_URL_ENV = "TELECONSULT_DATABASE_URL"


def default_database_url() -> str:
    """SQLite file in the per-user data folder (created on demand)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("teleconsult"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'backend.sqlite3'}"


def resolve_database_url(url: str | None) -> str:
    return url or os.environ.get(DATABASE_URL_ENV) or default_database_url()


@dataclass(frozen=True)
class ServerSettings:
    database_url: str
    target_wait_minutes: float = 15.0
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    login_failure_window_seconds: float = 300.0
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    # None: TELECONSULT_SECRET if set, otherwise the secret `init` stored in the database.
    secret: str | None = None
    max_signal_message_bytes: int = 256 * 1024
