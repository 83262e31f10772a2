"""Which language the UI speaks, and ``tr``, the one translation call every floor uses. Qt-free.

``tr("Context", "text")`` calls are what scripts/translations.py extracts: both arguments must be string
literals. The catalogues are Qt's (.ts/.qm) and the Qt translator is installed by app.gui; the domain
never imports Qt, so ``tr`` reaches ``QCoreApplication.translate`` only when Qt is already loaded in the
process (always, in the workstation). In a Qt-free process (the doctor, a script, a unit test) the text
comes back untranslated, which is English, the source language.
"""

from __future__ import annotations

import locale
import os
import sys
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


def tr(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is None:
        return text.replace("%n", str(n)) if n >= 0 else text
    translated: str = qtcore.QCoreApplication.translate(context, text, disambiguation, n)
    return translated
