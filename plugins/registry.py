"""Discovery and loading of plugins, defensively. Qt-free.

Discovery reads only installed metadata (entry points in the group ``teleconsult.plugins``): nothing is
imported, so the site's allow/deny policy is applied before any plugin code runs. Loading imports the
entry point, validates the manifest strictly and checks the API range; every failure becomes a
:class:`PluginError` that names the plugin and the reason, never an exception out of the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from plugins.api import API_VERSION, ENTRY_POINT_GROUP, Manifest

log = logging.getLogger(__name__)


class ErrorKind(StrEnum):
    IMPORT = "import"
    MANIFEST = "manifest"
    API = "api"
    HOOK = "hook"
    ANALYSER_BUDGET = "analyser_budget"
    ANALYSER_ERROR = "analyser_error"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class PluginError:
    """Why a plugin was disabled: ``kind`` for the UI to phrase it, ``detail`` the specifics (English)."""

    plugin_id: str
    kind: ErrorKind
    detail: str

    def __str__(self) -> str:
        return f"plugin '{self.plugin_id}' disabled ({self.kind.value}): {self.detail}"


class PluginLoadError(Exception):
    def __init__(self, error: PluginError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Candidate:
    """An installed plugin known from metadata only (not imported)."""

    plugin_id: str
    target: str  # "module:attribute"
    distribution: str
    dist_version: str
    entry_point: EntryPoint

    @property
    def builtin(self) -> bool:
        return self.target.startswith("plugins.")


def discover(eps: Iterable[EntryPoint] | None = None) -> list[Candidate]:
    """Every entry point in the plugin group, sorted by id. Imports nothing."""
    found = entry_points(group=ENTRY_POINT_GROUP) if eps is None else eps
    out: list[Candidate] = []
    for ep in found:
        dist = getattr(ep, "dist", None)
        out.append(
            Candidate(
                plugin_id=ep.name,
                target=ep.value,
                distribution=dist.name if dist is not None else "",
                dist_version=dist.version if dist is not None else "",
                entry_point=ep,
            )
        )
    return sorted(out, key=lambda c: (c.plugin_id, c.target))


def allowed_by_site(plugin_id: str, allow: list[str] | None, deny: Iterable[str]) -> bool:
    """Deny wins; with an allow list only the plugins on it may load."""
    if plugin_id in set(deny):
        return False
    return allow is None or plugin_id in allow


def _describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(manifest)"
        if error["type"] == "extra_forbidden":
            parts.append(f"'{key}': unknown key")
        elif error["type"] == "missing":
            parts.append(f"'{key}': required but missing")
        else:
            parts.append(f"'{key}': {error['msg']}")
    return "; ".join(parts)


def validate_manifest(plugin_id: str, raw: Any) -> Manifest:
    if isinstance(raw, Manifest):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        raise PluginLoadError(PluginError(plugin_id, ErrorKind.MANIFEST, "has no manifest mapping"))
    try:
        manifest = Manifest.model_validate(dict(raw))
    except ValidationError as exc:
        raise PluginLoadError(PluginError(plugin_id, ErrorKind.MANIFEST, _describe_validation(exc))) from None
    if manifest.id != plugin_id:
        raise PluginLoadError(
            PluginError(
                plugin_id,
                ErrorKind.MANIFEST,
                f"manifest id '{manifest.id}' differs from the entry point name '{plugin_id}'",
            )
        )
    return manifest


def load(candidate: Candidate, api_version: str = API_VERSION) -> tuple[Any, Manifest]:
    """Import the plugin and validate it. Raises :class:`PluginLoadError` with the reason."""
    pid = candidate.plugin_id
    try:
        obj = candidate.entry_point.load()
    except Exception as exc:  # a broken plugin must never stop the workstation
        log.warning("plugin %s failed to import", pid, exc_info=True)
        raise PluginLoadError(PluginError(pid, ErrorKind.IMPORT, f"{type(exc).__name__}: {exc}")) from None
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:
            raise PluginLoadError(
                PluginError(pid, ErrorKind.IMPORT, f"constructor raised {type(exc).__name__}: {exc}")
            ) from None
    manifest = validate_manifest(pid, getattr(obj, "manifest", None))
    if not manifest.supports(api_version):
        raise PluginLoadError(
            PluginError(
                pid,
                ErrorKind.API,
                f"supports plugin API '{manifest.api}' but this workstation provides {api_version}",
            )
        )
    return obj, manifest
