"""What one running app shares between requests: database, settings, secret, limiter and rooms."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.config import SECRET_ENV, ServerSettings, resolve_ca_folder
from backend.db import Database
from backend.migrate import PSEUDONYM_SALT_KEY, SECRET_KEY
from backend.models import Setting
from backend.security import FailureLimiter
from backend.signalling import Rooms

if TYPE_CHECKING:
    from backend.pki import SiteCA


@dataclass
class AppState:
    settings: ServerSettings
    db: Database
    limiter: FailureLimiter
    rooms: Rooms = field(default_factory=lambda: Rooms())
    _secret: str | None = None
    _salt: str | None = None
    _ca: SiteCA | None = None
    _ca_lock: threading.Lock = field(default_factory=threading.Lock)

    def site_ca(self) -> SiteCA:
        """The site CA (created on first use, in resolve_ca_folder's folder, key 0600)."""
        with self._ca_lock:
            if self._ca is None:
                from backend.pki import SiteCA

                folder = resolve_ca_folder(
                    self.settings.database_url, self.settings.key_file, self.settings.ca_folder
                )
                self._ca = SiteCA.load_or_create(folder, self.settings.site_name)
            return self._ca

    def secret(self) -> str:
        """The JWT key: settings, then TELECONSULT_SECRET, then the one `init` stored."""
        if self._secret is None:
            value = self.settings.secret or os.environ.get(SECRET_ENV) or self._stored(SECRET_KEY)
            if not value:
                raise RuntimeError("no JWT secret: run `teleconsult-server init` or set TELECONSULT_SECRET")
            self._secret = value
        return self._secret

    def pseudonym_salt(self) -> bytes:
        if self._salt is None:
            self._salt = self._stored(PSEUDONYM_SALT_KEY) or self.secret()
        return self._salt.encode("utf-8")

    def _stored(self, key: str) -> str | None:
        with self.db.transaction(readonly=True) as session:
            row = session.get(Setting, key)
            return row.value if row is not None else None
