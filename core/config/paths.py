"""Where the workstation keeps its per-user files.

Everything lives under the platform's user folders (platformdirs). ``TELECONSULT_HOME`` moves all
of them under one folder: tests and portable installs use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "teleconsult"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

    @property
    def user_settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "teleconsult.log"

    def ensure(self) -> AppPaths:
        for folder in (self.config_dir, self.data_dir, self.log_dir, self.cache_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths() -> AppPaths:
    home = os.environ.get("TELECONSULT_HOME")
    if home:
        root = Path(home)
        return AppPaths(root / "config", root / "data", root / "logs", root / "cache")
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )


def default_site_config_file() -> Path:
    """The site file IT installs: /etc/xdg/teleconsult/site.toml on Linux, ProgramData on Windows."""
    return Path(platformdirs.site_config_dir(APP_NAME, appauthor=False)) / "site.toml"
