"""The state of every installed plugin and what the user may change about it. Qt-free.

The manager discovers plugins (metadata only), applies the site policy (a denied plugin is never
imported), the role and the user's own enable/disable choices (persisted through ``save_disabled``),
loads the rest and runs their hooks under a guard: whatever a plugin raises disables that plugin with
a :class:`~plugins.registry.PluginError` and the workstation carries on. Listeners hear every change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import EntryPoint
from typing import Any, TypeVar

from plugins import registry
from plugins.api import API_VERSION, AnalyserResult, ConsultInfo, Contributions, Manifest, PluginContext
from plugins.registry import Candidate, ErrorKind, PluginError, PluginLoadError

log = logging.getLogger(__name__)

T = TypeVar("T")


class PluginState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # by the user
    DENIED = "denied"  # by the site configuration: never imported
    FAILED = "failed"  # disabled because of an error
    OTHER_ROLE = "other_role"  # serves other roles than the signed-in one


@dataclass
class PluginRecord:
    candidate: Candidate
    state: PluginState
    manifest: Manifest | None = None
    error: PluginError | None = None
    obj: Any = None
    context: PluginContext | None = None
    contributions: Contributions = field(default_factory=Contributions)

    @property
    def plugin_id(self) -> str:
        return self.candidate.plugin_id

    @property
    def name(self) -> str:
        return self.manifest.name if self.manifest else self.plugin_id

    @property
    def version(self) -> str:
        return self.manifest.version if self.manifest else self.candidate.dist_version

    @property
    def user_may_toggle(self) -> bool:
        return self.state is not PluginState.DENIED


Listener = Callable[[PluginRecord], None]


class PluginManager:
    def __init__(
        self,
        role: str,
        make_context: Callable[[str], PluginContext],
        allow: list[str] | None = None,
        deny: Iterable[str] = (),
        disabled: Iterable[str] = (),
        save_disabled: Callable[[set[str]], None] = lambda _ids: None,
        entry_points: Iterable[EntryPoint] | None = None,
        api_version: str = API_VERSION,
    ) -> None:
        self.role = role
        self._make_context = make_context
        self._allow = allow
        self._deny = list(deny)
        self.disabled: set[str] = set(disabled)
        self._save_disabled = save_disabled
        self._entry_points = entry_points
        self.api_version = api_version
        self.records: dict[str, PluginRecord] = {}
        self._listeners: list[Listener] = []
        self.on_activated: list[Listener] = []  # e.g. the analyser runner registers contributions
        self.on_deactivated: list[Listener] = []
        self._closed = False

    # observation -----------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self, record: PluginRecord) -> None:
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                log.exception("plugin listener failed")

    # loading ---------------------------------------------------------------------------------------
    def load_all(self) -> list[PluginRecord]:
        for candidate in registry.discover(self._entry_points):
            if candidate.plugin_id in self.records:
                first = self.records[candidate.plugin_id].candidate
                log.warning("plugin id %s is declared twice (%s)", candidate.plugin_id, candidate.target)
                dup = PluginRecord(candidate, PluginState.FAILED)
                dup.error = PluginError(
                    candidate.plugin_id,
                    ErrorKind.DUPLICATE,
                    f"'{candidate.target}' uses the same id as '{first.target}'; only the first is loaded",
                )
                self.records[f"{candidate.plugin_id}#{candidate.target}"] = dup
                continue
            if not registry.allowed_by_site(candidate.plugin_id, self._allow, self._deny):
                self.records[candidate.plugin_id] = PluginRecord(candidate, PluginState.DENIED)
                continue
            record = PluginRecord(candidate, PluginState.DISABLED)
            self.records[candidate.plugin_id] = record
            if candidate.plugin_id not in self.disabled:
                self._activate(record)
        return list(self.records.values())

    def _activate(self, record: PluginRecord) -> None:
        record.error = None
        try:
            obj, manifest = registry.load(record.candidate, self.api_version)
        except PluginLoadError as exc:
            self._set_failed(record, exc.error)
            return
        record.obj, record.manifest = obj, manifest
        if self.role not in manifest.roles:
            record.state = PluginState.OTHER_ROLE
            self._changed(record)
            return
        ctx = self._make_context(record.plugin_id)
        record.context = ctx
        activate = getattr(obj, "activate", None)
        if callable(activate) and not self._guard(record, "activate", activate, ctx):
            return
        get = getattr(obj, "contributions", None)
        contributions = Contributions()
        if callable(get):
            got = self.call(record.plugin_id, "contributions", get, ctx)
            if record.state is PluginState.FAILED:
                return
            if not isinstance(got, Contributions):
                self._set_failed(
                    record,
                    PluginError(
                        record.plugin_id,
                        ErrorKind.HOOK,
                        f"contributions() returned {type(got).__name__}, not Contributions",
                    ),
                )
                return
            contributions = got
        record.contributions = contributions
        record.state = PluginState.ACTIVE
        for hook in list(self.on_activated):
            hook(record)
        self._changed(record)

    def _guard(self, record: PluginRecord, what: str, fn: Callable[..., Any], *args: Any) -> bool:
        try:
            fn(*args)
        except Exception as exc:
            self.fail(record.plugin_id, ErrorKind.HOOK, f"{what}() raised {type(exc).__name__}: {exc}")
            return False
        return True

    def call(self, plugin_id: str, what: str, fn: Callable[..., T], *args: Any) -> T | None:
        """Run one of a plugin's hooks or factories; if it raises, the plugin is disabled with the reason."""
        try:
            return fn(*args)
        except Exception as exc:
            log.warning("plugin %s: %s raised", plugin_id, what, exc_info=True)
            self.fail(plugin_id, ErrorKind.HOOK, f"{what} raised {type(exc).__name__}: {exc}")
            return None

    def fail(self, plugin_id: str, kind: ErrorKind, detail: str) -> None:
        record = self.records.get(plugin_id)
        if record is None:
            return
        self._set_failed(record, PluginError(plugin_id, kind, detail))

    def _set_failed(self, record: PluginRecord, error: PluginError) -> None:
        if record.state is PluginState.FAILED:
            return
        was_active = record.state is PluginState.ACTIVE
        record.error = error
        record.state = PluginState.FAILED
        log.warning("%s", error)
        if was_active:
            self._teardown(record)
        self._changed(record)

    def _teardown(self, record: PluginRecord) -> None:
        for hook in list(self.on_deactivated):
            try:
                hook(record)
            except Exception:
                log.exception("deactivation hook failed")
        deactivate = getattr(record.obj, "deactivate", None)
        if callable(deactivate):
            try:
                deactivate()
            except Exception:
                log.warning("plugin %s: deactivate() raised", record.plugin_id, exc_info=True)
        record.contributions = Contributions()

    # user choices ----------------------------------------------------------------------------------
    def set_enabled(self, plugin_id: str, enabled: bool) -> None:
        record = self.records.get(plugin_id)
        if record is None or not record.user_may_toggle:
            return
        if enabled:
            self.disabled.discard(plugin_id)
        else:
            self.disabled.add(plugin_id)
        self._save_disabled(set(self.disabled))
        if enabled and record.state in (PluginState.DISABLED, PluginState.FAILED):
            self._activate(record)  # a failed plugin gets one more try when the user asks for it
        elif not enabled and record.state is not PluginState.DISABLED:
            if record.state is PluginState.ACTIVE:
                self._teardown(record)
            record.state = PluginState.DISABLED
            record.error = None
            self._changed(record)

    # queries ---------------------------------------------------------------------------------------
    def active(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.state is PluginState.ACTIVE]

    def failures(self) -> list[PluginError]:
        return [r.error for r in self.records.values() if r.error is not None]

    def deliver(self, plugin_id: str, analyser_id: str, result: AnalyserResult) -> None:
        """Hand an analyser result to its plugin's subscribers (call on the UI thread)."""
        record = self.records.get(plugin_id)
        if record is None or record.state is not PluginState.ACTIVE or record.context is None:
            return
        what = f"analysis callback for '{analyser_id}'"
        self.call(plugin_id, what, record.context.deliver_analysis, analyser_id, result)

    def deliver_consult(self, info: ConsultInfo | None) -> None:
        """Tell every active plugin the consult changed (``info``) or ended (None); call on the UI thread.

        A plugin whose callback raises is disabled with the reason; the others still hear of it."""
        for record in self.active():
            if record.context is not None and record.state is PluginState.ACTIVE:
                self.call(record.plugin_id, "consult callback", record.context.deliver_consult, info)

    def close(self) -> None:
        """Deactivate every active plugin; calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        for record in self.active():
            self._teardown(record)
            record.state = PluginState.DISABLED
        self._listeners.clear()
