"""Which language the UI speaks. Qt-free: the Qt translator is installed by app.gui."""

from __future__ import annotations

import locale
import os
from pathlib import Path

SUPPORTED_LANGUAGES = ("en", "zh_CN")
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "resources" / "translations"


def system_language() -> str:
    """The UI language the operating system asks for, mapped onto the ones we ship."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"):
        value = os.environ.get(var)
        if value:
            return normalise_language(value.split(":")[0])
    try:
        code = locale.getlocale()[0]
    except ValueError:
        code = None
    return normalise_language(code or "en")


def normalise_language(code: str) -> str:
    code = code.split(".")[0].replace("-", "_")
    if code.lower().startswith("zh"):
        return "zh_CN"
    return "en"


def resolve_language(cli: str | None, user: str, site: str, system: str | None = None) -> str:
    """The command line wins, then the user's own choice, then the site default, then the system."""
    for choice in (cli, user, site):
        if choice and choice != "system":
            if choice not in SUPPORTED_LANGUAGES:
                raise ValueError(
                    f"unsupported language {choice!r}; choose one of {', '.join(SUPPORTED_LANGUAGES)}"
                )
            return choice
    return system or system_language()


def qm_file(language: str) -> Path | None:
    """The compiled catalogue for a language; English is the source language and needs none."""
    if language == "en":
        return None
    return TRANSLATIONS_DIR / f"teleconsult_{language}.qm"
