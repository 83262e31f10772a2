"""Server settings: one frozen dataclass, filled by the command line, the tests or the desktop demo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SECRET_ENV = "TELECONSULT_SECRET"
DATABASE_URL_ENV = "TELECONSULT_DATABASE_URL"
KEY_FILE_ENV = "TELECONSULT_KEY_FILE"


def default_database_url() -> str:
    """SQLite file in the per-user data folder (created on demand)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("teleconsult"))
    private_folder(folder)
    return f"sqlite:///{folder / 'backend.sqlite3'}"


def private_folder(folder: Path) -> Path:
    """Create `folder` (0700) if missing; one that exists keeps its mode (it may be /tmp's child)."""
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)
    return folder


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, None for another database or an in-memory one."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def resolve_key_file(database_url: str, key_file: str | None = None) -> Path:
    """Where the JWT secret lives: the setting, TELECONSULT_KEY_FILE, beside a SQLite file, or the
    per-user data folder (the installer's service sets /var/lib/teleconsult-server/jwt.key)."""
    if key_file:
        return Path(key_file)
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    db_file = sqlite_path(database_url)
    if db_file is not None:
        return db_file.with_name(db_file.name + ".key")
    import hashlib

    from platformdirs import user_data_dir
    from sqlalchemy.engine import make_url

    # One key per database: servers of one database share it, two databases never do.
    digest = hashlib.sha256(make_url(database_url).render_as_string(hide_password=True).encode()).hexdigest()
    return Path(user_data_dir("teleconsult")) / f"jwt-{digest[:16]}.key"


def resolve_ca_folder(database_url: str, key_file: str | None = None, ca_folder: str | None = None) -> Path:
    """Where the site CA's key and certificate live (backend/pki.py): the setting, else a folder beside
    the JWT key file (``<key file>.ca``), outside the database like the JWT and audit keys."""
    if ca_folder:
        return Path(ca_folder)
    jwt_key = resolve_key_file(database_url, key_file)
    return jwt_key.with_name(jwt_key.name + ".ca")


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
    # An account is locked for everyone only when its failures come from this many distinct addresses.
    login_lock_min_addresses: int = 3
    # Peers (IP or CIDR) whose X-Forwarded-For is believed; from anyone else the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    # The audit chain's key and signed checkpoints, outside the database (None: beside an SQLite file,
    # else in the user data folder; see backend.audit). A checkpoint every this many records.
    audit_key_file: str | None = None
    audit_checkpoint_file: str | None = None
    audit_checkpoint_every: int = 100
    # None: TELECONSULT_SECRET if set, otherwise the key file (backend.server.resolve_secret).
    secret: str | None = field(default=None, repr=False)
    # The JWT key file (0600); None: resolve_key_file's default.
    key_file: str | None = None
    max_signal_message_bytes: int = 256 * 1024
    # The site CA that issues the clinicians' signing certificates (backend/pki.py): its folder (None:
    # resolve_ca_folder's default, beside the JWT key file) and the name in its certificates.
    ca_folder: str | None = None
    site_name: str = "Teleconsult site"
