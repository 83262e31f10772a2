"""The plugin contract, version 1 (1.1: the consult hook; 1.2: report sections). Qt-free: everything a
plugin may rely on.

A plugin is an object (usually a class instance or a module) registered under the entry-point group
``teleconsult.plugins``; the entry point's name is the plugin id. It exposes

* ``manifest``: a mapping (or :class:`Manifest`) validated strictly: id, name, version, the API range
  it supports, specialties, roles and needs;
* ``contributions(ctx) -> Contributions`` (optional): its panels, actions, imaging tools, vitals
  analysers, consult-note sections, settings pages and (1.2) report sections;
* ``activate(ctx)`` / ``deactivate()`` (optional) hooks.

The workstation passes a :class:`PluginContext` in; plugins never import ``app.*``. Panels and settings
pages are factories that build a Qt widget when first shown, so a plugin's Qt code is imported lazily.

Since 1.1 a plugin is bound to the workstation's one consult: ``ctx.subscribe_consult(callback)`` calls
``callback(ConsultInfo)`` when a consult opens and ``callback(None)`` when it ends (closed, switched,
signed out, screen locked), on the UI thread. A plugin that holds patient data drops it there.

Since 1.2 a plugin fills its specialty's part of the consult report: ``Contributions.report_sections``
holds providers ``provider(ConsultInfo) -> ReportSection | None``, called when the specialist opens the
report editor. A :class:`ReportSection` is a template id, a title, a table (``columns``, ``rows`` of
text) and the :class:`ReportFigure` values behind it (UCUM units, codes where they exist), built from
what the plugin already holds for that consult; None when it holds nothing for it. The workstation turns
it into the report's section as it is (``figures`` become its measurements).
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

API_VERSION = "1.2.0"  # 1.1: PluginContext.subscribe_consult, ConsultInfo.is_open, consult_label
# 1.2: Contributions.report_sections (ReportSection, ReportFigure, ReportSectionProvider), same_consult
ENTRY_POINT_GROUP = "teleconsult.plugins"

# version handling ----------------------------------------------------------------------------------

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+][0-9A-Za-z.+-]+)?$")
_PARTIAL = re.compile(r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?$")
_COMPARATOR = re.compile(r"^(>=|<=|==|!=|>|<|\^|~)?\s*(\S+)$")


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.2.3"`` (pre-release/build suffixes ignored for ordering) or a partial ``"1"``/``"1.2"``."""
    text = text.strip()
    full = _SEMVER.match(text)
    if full:
        return int(full[1]), int(full[2]), int(full[3])
    part = _PARTIAL.match(text)
    if part:
        return int(part[1]), int(part[2] or 0), int(part[3] or 0)
    raise ValueError(f"'{text}' is not a semantic version")


def version_in_range(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies ``spec``: comma-separated comparators (``>=1.0, <2``), ``^1.2``
    (same major, at least 1.2) or ``~1.2`` (same major and minor). Raises ValueError on a bad spec."""
    v = parse_version(version)
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ValueError("empty version range")
    for part in parts:
        match = _COMPARATOR.match(part)
        if not match:
            raise ValueError(f"'{part}' is not a version comparator")
        op, bound = match[1] or "==", parse_version(match[2])
        ok = {
            ">=": v >= bound,
            "<=": v <= bound,
            ">": v > bound,
            "<": v < bound,
            "==": v == bound,
            "!=": v != bound,
            "^": v >= bound and v[0] == bound[0],
            "~": v >= bound and v[:2] == bound[:2],
        }[op]
        if not ok:
            return False
    return True


# text ------------------------------------------------------------------------------------------------

Text = str | Callable[[], str]  # a callable is evaluated when shown, so it follows the UI language


def translate(context: str, text: str) -> str:
    """Qt's translation when the workstation (Qt) is running, the English text otherwise.

    Write ``translate("Context", "literal")`` so the catalogue extractor finds the string.
    """
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is None:
        return text
    return str(qtcore.QCoreApplication.translate(context, text))


def resolve_text(value: Text) -> str:
    return value() if callable(value) else value


# the manifest ----------------------------------------------------------------------------------------


class Need(StrEnum):
    """What a plugin uses of the workstation; shown to IT in the plugin manager."""

    IMAGING = "imaging"
    VITALS = "vitals"
    CONSULT = "consult"
    NETWORK = "network"


ROLES = ("specialist", "county_doctor", "trainee", "it_admin")
RoleName = Literal["specialist", "county_doctor", "trainee", "it_admin"]


def _clinical_roles() -> list[RoleName]:
    return ["specialist", "county_doctor"]


class Manifest(BaseModel):
    """A plugin's declaration. Unknown keys are an error: a typo must not silently drop a setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]{1,63}$")
    name: str = Field(min_length=1, max_length=80)
    version: str
    api: str  # the range of API versions supported, e.g. ">=1.0, <2"
    specialties: list[str] = Field(default_factory=list)
    roles: list[RoleName] = Field(default_factory=_clinical_roles)
    needs: list[Need] = Field(default_factory=list)
    description: str = ""

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER.match(value):
            raise ValueError("must be a semantic version such as 1.0.0")
        return value

    @field_validator("api")
    @classmethod
    def _range(cls, value: str) -> str:
        version_in_range(API_VERSION, value)  # raises ValueError on a malformed range
        return value

    def supports(self, api_version: str = API_VERSION) -> bool:
        return version_in_range(api_version, self.api)


# what the workstation hands a plugin ----------------------------------------------------------------


@dataclass(frozen=True)
class WaveData:
    """One waveform group: ``values`` is (channels, n) in ``units``, sampled at ``fs`` Hz; NaN = lost."""

    fs: float
    channels: tuple[str, ...]
    values: np.ndarray
    units: str = ""

    def channel(self, name: str) -> np.ndarray | None:
        return self.values[self.channels.index(name)] if name in self.channels else None


@dataclass(frozen=True)
class VitalsFrame:
    """The newest window of every waveform (keys: ``ecg``, ``pleth``, ``resp``, ``abp``, ``co2``) and the
    latest numerics (``hr``, ``spo2``...). ``t_end`` is the wall-clock time of the newest sample."""

    waves: Mapping[str, WaveData]
    numerics: Mapping[str, float]
    t_end: float


@dataclass(frozen=True)
class ImagingMeasurement:
    """A length measured on an image, in millimetres, with the study it was measured on."""

    study_uid: str
    label: str
    length_mm: float
    series_uid: str = ""


@dataclass(frozen=True)
class ConsultInfo:
    """The consult the workstation is working on; ``ConsultInfo()`` (not :attr:`is_open`) when none is."""

    consult_id: int | None = None
    patient_ref: str = ""  # the patient id; a pseudonym (ANON-...) where the role must not see identities
    study_uids: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        """Whether a consult (or at least a patient) is in context. API 1.1."""
        return self.consult_id is not None or bool(self.patient_ref)


def consult_label(info: ConsultInfo | None) -> str:
    """A short line saying which consult a panel works on, or that none is open (translated). API 1.1."""
    if info is None or not info.is_open:
        return translate("Plugins", "No consult open")
    if info.consult_id is None:
        return translate("Plugins", "Patient %1").replace("%1", info.patient_ref)
    if not info.patient_ref:
        return translate("Plugins", "Consult %1").replace("%1", str(info.consult_id))
    return (
        translate("Plugins", "Consult %1 · patient %2")
        .replace("%1", str(info.consult_id))
        .replace("%2", info.patient_ref)
    )


def same_consult(a: ConsultInfo | None, b: ConsultInfo | None) -> bool:
    """Whether ``a`` and ``b`` are the same open consult (id and patient; the study list may grow while it
    is open). False when either is None or not open. API 1.2."""
    if a is None or b is None or not a.is_open or not b.is_open:
        return False
    return a.consult_id == b.consult_id and a.patient_ref == b.patient_ref


@dataclass(frozen=True)
class PluginAlarm:
    alarm_id: str
    priority: Literal["low", "medium", "high"]
    message: str


@dataclass(frozen=True)
class AnalyserResult:
    numerics: Mapping[str, float] = field(default_factory=dict)
    alarms: Sequence[PluginAlarm] = ()
    detail: Any = None  # the analyser's own structured result, for its plugin's panel


def _none() -> None:
    return None


def _no_measurements() -> list[ImagingMeasurement]:
    return []


def _no_consult() -> ConsultInfo:
    return ConsultInfo()


def _drop(_message: Mapping[str, Any]) -> None:
    return None


@dataclass
class PluginContext:
    """What the workstation gives one plugin. Every callable is safe to call from the UI thread.

    ``vitals(seconds)`` returns the newest ``seconds`` of vitals or None when none stream;
    ``subscribe_analysis(analyser_id, callback)`` delivers an analyser's results on the UI thread;
    ``send_control(message)`` sends a small JSON object to the other site on the call's control channel;
    ``subscribe_consult(callback)`` (API 1.1) calls ``callback(ConsultInfo)`` on the UI thread when a consult
    opens and ``callback(None)`` when it ends (closed, switched, signed out, screen locked): a plugin holding
    patient data drops it there. ``consult()`` always answers the consult in context now.
    """

    plugin_id: str
    role: str
    api_version: str = API_VERSION
    vitals: Callable[[float], VitalsFrame | None] = lambda _seconds: None
    measurements: Callable[[], list[ImagingMeasurement]] = _no_measurements
    consult: Callable[[], ConsultInfo] = _no_consult
    send_control: Callable[[Mapping[str, Any]], None] = _drop
    settings: dict[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("plugins"))
    _subscribers: dict[str, list[Callable[[AnalyserResult], None]]] = field(default_factory=dict)
    _consult_subscribers: list[Callable[[ConsultInfo | None], None]] = field(default_factory=list)

    def subscribe_analysis(self, analyser_id: str, callback: Callable[[AnalyserResult], None]) -> None:
        self._subscribers.setdefault(analyser_id, []).append(callback)

    def unsubscribe_analysis(self, analyser_id: str, callback: Callable[[AnalyserResult], None]) -> None:
        callbacks = self._subscribers.get(analyser_id, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def deliver_analysis(self, analyser_id: str, result: AnalyserResult) -> None:
        """Called by the workstation (on the UI thread) when an analyser of this plugin has a result."""
        for callback in list(self._subscribers.get(analyser_id, [])):
            callback(result)

    def subscribe_consult(self, callback: Callable[[ConsultInfo | None], None]) -> None:
        """``callback(info)`` when a consult opens, ``callback(None)`` when it ends. API 1.1."""
        if callback not in self._consult_subscribers:
            self._consult_subscribers.append(callback)

    def unsubscribe_consult(self, callback: Callable[[ConsultInfo | None], None]) -> None:
        if callback in self._consult_subscribers:
            self._consult_subscribers.remove(callback)

    def deliver_consult(self, info: ConsultInfo | None) -> None:
        """Called by the workstation (on the UI thread) when the consult changed or ended; subscribers run
        in the order they subscribed (a plugin's ``activate`` before its panels)."""
        if info is not None and not info.is_open:
            info = None
        for callback in list(self._consult_subscribers):
            callback(info)


# extension points ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelContribution:
    """A dockable panel; ``factory`` returns a QWidget (import Qt inside it). The widget may define
    ``close_model()``, which the workstation calls when the panel closes."""

    panel_id: str
    title: Text
    factory: Callable[[PluginContext], Any]


@dataclass(frozen=True)
class ActionContribution:
    """A menu entry under the Plugins menu (and the plugin's panel toolbar)."""

    action_id: str
    text: Text
    callback: Callable[[PluginContext], None]
    shortcut: str = ""


@dataclass(frozen=True)
class ImagingTool:
    """An imaging contribution. ``kind`` says what the viewer does with ``params``:

    * ``window_preset``: ``{"width": W, "level": L}`` in HU;
    * ``measurement``: a measurement type the viewer offers (``{"shape": "line" | "ellipse" ...}``);
    * ``overlay`` and ``hanging_protocol``: free-form parameters documented by the plugin.
    """

    tool_id: str
    title: Text
    kind: Literal["window_preset", "measurement", "overlay", "hanging_protocol"]
    params: Mapping[str, float | str] = field(default_factory=dict)
    modalities: tuple[str, ...] = ()


@dataclass(frozen=True)
class VitalsAnalyser:
    """Runs off the UI thread every ``period_s`` on the newest ``window_s`` of vitals; one run may take
    at most ``budget_s`` or the analyser is cut off and disabled."""

    analyser_id: str
    title: Text
    analyse: Callable[[VitalsFrame], AnalyserResult]
    window_s: float = 10.0
    period_s: float = 5.0
    budget_s: float = 2.0


@dataclass(frozen=True)
class NoteSection:
    """A structured section of the consult note; ``render`` returns its plain text (None: nothing yet)."""

    section_id: str
    title: Text
    render: Callable[[PluginContext], str | None]


@dataclass(frozen=True)
class SettingsPage:
    page_id: str
    title: Text
    factory: Callable[[PluginContext], Any]


@dataclass(frozen=True)
class ReportFigure:
    """One figure behind a report section, exported with the report as a measurement. API 1.2.

    ``unit`` is UCUM (``ms``, ``/min``, ``deg``, ``mm``, ``%``, ``min``, ``{score}``); ``method`` says how
    it was obtained (``Bazett``, ``RECIST 1.1``...); ``code_system`` is a FHIR system URI
    (``http://loinc.org``) with ``code`` and ``code_display``, all three empty where no code exists.
    """

    label: str
    value: float
    unit: str
    method: str = ""
    code_system: str = ""
    code: str = ""
    code_display: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise TypeError(f"figure '{self.label}': value must be a number, not {self.value!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"figure '{self.label}': value must be finite, not {self.value!r}")
        if bool(self.code) != bool(self.code_system):
            raise ValueError(f"figure '{self.label}': a code needs its code_system and the other way round")


@dataclass(frozen=True)
class ReportSection:
    """A specialty's part of the consult report, from a plugin's template. API 1.2.

    ``template_id`` names the template (``cardiology.ecg``); ``columns`` are the table's headings and
    every row has one text cell per column (with no columns, rows of any width); ``figures`` are the
    values behind the table; ``note`` is free text under it. Texts are already in the UI language
    (``translate``); ``title`` may be a zero-argument callable like every other title.
    """

    template_id: str
    title: Text
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    figures: tuple[ReportFigure, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        if not self.template_id:
            raise ValueError("a report section needs a template_id")
        for row in self.rows:
            if self.columns and len(row) != len(self.columns):
                cells, columns = len(row), len(self.columns)
                raise ValueError(
                    f"section '{self.template_id}': a row has {cells} cells for {columns} columns"
                )
            if not all(isinstance(cell, str) for cell in row):
                raise TypeError(f"section '{self.template_id}': every cell is text")
        if not all(isinstance(f, ReportFigure) for f in self.figures):
            raise TypeError(f"section '{self.template_id}': figures are ReportFigure")


# ``provider(info)``: the section for the consult ``info`` (the one in context), None when the plugin holds
# nothing for it. Called on the UI thread when the report editor opens. API 1.2.
ReportSectionProvider = Callable[[ConsultInfo], ReportSection | None]


@dataclass(frozen=True)
class Contributions:
    panels: Sequence[PanelContribution] = ()
    actions: Sequence[ActionContribution] = ()
    imaging_tools: Sequence[ImagingTool] = ()
    analysers: Sequence[VitalsAnalyser] = ()
    note_sections: Sequence[NoteSection] = ()
    settings_pages: Sequence[SettingsPage] = ()
    report_sections: Sequence[ReportSectionProvider] = ()  # API 1.2


@runtime_checkable
class Plugin(Protocol):
    """The object an entry point names. Only ``manifest`` is required."""

    manifest: Mapping[str, Any] | Manifest


class BasePlugin:
    """Convenience base class: override what you need."""

    manifest: ClassVar[Mapping[str, Any] | Manifest] = {}

    def activate(self, ctx: PluginContext) -> None:
        return None

    def deactivate(self) -> None:
        return None

    def contributions(self, ctx: PluginContext) -> Contributions:
        return Contributions()


__all__ = [
    "API_VERSION",
    "ENTRY_POINT_GROUP",
    "ROLES",
    "ActionContribution",
    "AnalyserResult",
    "BasePlugin",
    "ConsultInfo",
    "Contributions",
    "ImagingMeasurement",
    "ImagingTool",
    "Manifest",
    "Need",
    "NoteSection",
    "PanelContribution",
    "Plugin",
    "PluginAlarm",
    "PluginContext",
    "ReportFigure",
    "ReportSection",
    "ReportSectionProvider",
    "SettingsPage",
    "Text",
    "VitalsAnalyser",
    "VitalsFrame",
    "WaveData",
    "consult_label",
    "parse_version",
    "resolve_text",
    "same_consult",
    "translate",
    "version_in_range",
]
