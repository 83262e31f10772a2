"""Everything a main window is composed from, gathered once at start-up. Qt-free."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from core.client.connection import ConnectionStatus
from core.config.paths import AppPaths
from core.config.roles import PERMISSIONS, Permissions, Role
from core.config.settings import SiteConfig, UserSettings, UserSettingsStore
from core.consult.context import ConsultContext


@dataclass
class Workstation:
    paths: AppPaths
    site: SiteConfig
    site_file: Path | None
    settings_store: UserSettingsStore
    settings: UserSettings
    role: Role
    language: str
    user_name: str = ""
    demo: bool = False
    context: ConsultContext = field(default_factory=ConsultContext)
    connection: ConnectionStatus = field(default_factory=ConnectionStatus)

    @property
    def permissions(self) -> Permissions:
        return PERMISSIONS[self.role]

    @property
    def pseudonym_salt(self) -> bytes | None:
        """Roles that must not see identities get a site-stable salt for pseudonyms."""
        if self.permissions.see_identity:
            return None
        return hashlib.sha256(f"teleconsult-pseudonym:{self.site.site_name}".encode()).digest()

    def save_settings(self) -> None:
        self.settings_store.save(self.settings)
