"""Site configuration (set by IT, TOML) and per-user settings (JSON), both validated.

A bad site file stops start-up with a message naming the file, the key and what was expected: the
workstation never runs half-configured. A corrupt user settings file is moved aside and defaults are
used, and the user is told so: nothing of the site's policy lives there.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from core.config.paths import default_site_config_file

log = logging.getLogger(__name__)

Language = Literal["system", "en", "zh_CN"]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ConfigError(Exception):
    """A configuration file that cannot be used, with every problem found in it."""

    def __init__(self, path: Path | None, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        where = str(path) if path else "site configuration"
        super().__init__(f"{where}: " + "; ".join(problems))

    def report(self) -> str:
        head = f"The configuration file {self.path} cannot be used:" if self.path else "Bad configuration:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendSettings(_Strict):
    # "embedded" runs the bundled backend on loopback (SQLite); otherwise the https URL of the site's.
    url: Literal["embedded"] | AnyUrl = "embedded"
    verify_tls: bool = True
    ca_file: Path | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _http_only(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "embedded" and not value.startswith(("http://", "https://")):
            raise ValueError("must be 'embedded' or an http(s):// URL")
        return value


class IceServer(_Strict):
    urls: list[NonEmpty] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None

    @field_validator("urls")
    @classmethod
    def _stun_or_turn(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"'{url}' must start with stun:, turn: or turns:")
        return urls


class PacsEndpoint(_Strict):
    name: NonEmpty
    kind: Literal["dicomweb", "dimse"]
    url: AnyUrl | None = None  # DICOMweb root, e.g. http://pacs:8042/dicom-web
    host: str | None = None  # DIMSE
    port: int | None = Field(default=None, ge=1, le=65535)
    called_ae: str | None = Field(default=None, max_length=16)
    calling_ae: str = Field(default="TELECONSULT", max_length=16)

    @field_validator("called_ae", "calling_ae")
    @classmethod
    def _ae_title(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or not value.isascii() or "\\" in value):
            raise ValueError("must be 1-16 ASCII characters without backslash")
        return value

    def model_post_init(self, _context: Any) -> None:
        if self.kind == "dicomweb" and self.url is None:
            raise ValueError("a dicomweb endpoint needs 'url'")
        if self.kind == "dimse" and (self.host is None or self.port is None or self.called_ae is None):
            raise ValueError("a dimse endpoint needs 'host', 'port' and 'called_ae'")


class ReportSettings(_Strict):
    """Where a final consult report goes besides the backend (issue #21): the study's archive gets the
    DICOM SR and KOS (the PACS endpoint the study came from); ``fhir_url`` is the site's FHIR R4 base
    that receives the transaction bundle (none: not sent); ``export_folder`` keeps a copy of the PDF,
    SR, KOS and bundle of every final report (none: not kept)."""

    fhir_url: AnyUrl | None = None
    fhir_token_env: str | None = None  # the environment variable holding the FHIR bearer token, if any
    export_folder: Path | None = None


class UiSettings(_Strict):
    language: Language = "system"


class SecuritySettings(_Strict):
    inactivity_lock_minutes: int = Field(default=10, ge=1, le=240)


class WorklistSettings(_Strict):
    target_wait_minutes: int = Field(default=15, ge=1, le=24 * 60)


class VitalsSettings(_Strict):
    # Where bedside monitors or their gateway send HL7 v2 ORU^R01 over MLLP (2575 is the registered port).
    hl7_bind: str = "127.0.0.1"
    hl7_port: int = Field(default=2575, ge=1, le=65535)
    # No data from the bedside for this long: numerics turn grey with their age and the technical alarm
    # "No data from the bedside" sounds. Above the feed's normal interval (an HL7 gateway's, often 1-5 s).
    stale_after_seconds: float = Field(default=5.0, ge=1.0, le=120.0)
    # The IANA time zone of the monitors' clocks, for HL7 times sent without a zone (e.g.
    # "Asia/Shanghai"); empty: the workstation's own zone.
    monitor_time_zone: str = ""
    # An MLLP connection silent for this long is closed (the sender reconnects when it has data).
    hl7_idle_timeout_seconds: float = Field(default=300.0, ge=5.0, le=86400.0)

    @field_validator("monitor_time_zone", mode="before")
    @classmethod
    def _known_zone(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value:
                from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

                try:
                    ZoneInfo(value)
                except (ZoneInfoNotFoundError, ValueError):
                    raise ValueError(
                        f"unknown time zone {value!r}: an IANA name such as Asia/Shanghai"
                    ) from None
        return value


class TeachingSettings(_Strict):
    # A live class of many trainees goes through the site's Janus (video room) at this HTTP API URL,
    # e.g. "http://sfu.example.org:8088/janus"; empty: trainees connect peer to peer to the instructor.
    janus_url: str = ""

    @field_validator("janus_url", mode="before")
    @classmethod
    def _http_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value and not (value.startswith(("http://", "https://")) and len(value) > len("https://")):
                raise ValueError("must be empty or an http(s):// URL of Janus's HTTP API")
        return value


class PluginPolicy(_Strict):
    allow: list[NonEmpty] | None = None  # None: every installed plugin may load
    deny: list[NonEmpty] = Field(default_factory=list)


class LockedSettings(_Strict):
    """User settings IT fixes for the site: a value set here replaces the user's own, and the
    Settings dialog shows it as managed and does not let it be changed."""

    language: Language | None = None

    def names(self) -> frozenset[str]:
        return frozenset(self.model_dump(exclude_none=True))


class SiteConfig(_Strict):
    site_name: str = "Teleconsult"
    backend: BackendSettings = BackendSettings()
    ice_servers: list[IceServer] = Field(default_factory=list)
    pacs: list[PacsEndpoint] = Field(default_factory=list)
    ui: UiSettings = UiSettings()
    security: SecuritySettings = SecuritySettings()
    worklist: WorklistSettings = WorklistSettings()
    plugins: PluginPolicy = PluginPolicy()
    vitals: VitalsSettings = VitalsSettings()
    teaching: TeachingSettings = TeachingSettings()
    reports: ReportSettings = ReportSettings()
    locked: LockedSettings = LockedSettings()

    def rtc_ice_servers(self) -> list[dict[str, Any]]:
        """The site's STUN/TURN servers in the form rtc's sessions take (RTCIceServer's fields)."""
        return [
            {"urls": list(s.urls), "username": s.username, "credential": s.credential}
            for s in self.ice_servers
        ]


_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "a table",
    "dict_type": "a table",
    "extra_forbidden": "no such key (check the spelling)",
    "literal_error": None,
    "url_parsing": "a URL",
}


def _describe(error: Any) -> str:
    key = ""
    for part in error["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    key = key or "(top level)"
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"key '{key}': unknown key (check the spelling)"
    if kind == "missing":
        return f"key '{key}': required but missing"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return f"key '{key}': expected one of {expected}, got {got!r}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}
        limit = next(iter(ctx.values())) if ctx else "?"
        return f"key '{key}': expected a number {bound[kind]} {limit}, got {got!r}"
    if kind == "value_error":
        reason = str(ctx.get("error", error.get("msg", "")))
        return (
            f"key '{key}': {reason}, got {got!r}"
            if got is not None and not isinstance(got, dict)
            else (f"key '{key}': {reason}")
        )
    expected = _EXPECTED.get(kind) or error.get("msg", "a valid value")
    return f"key '{key}': expected {expected}, got {got!r}"


def parse_site_config(data: dict[str, Any], path: Path | None = None) -> SiteConfig:
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(e) for e in exc.errors()]) from None


def load_site_config(path: Path | None) -> SiteConfig:
    """Load the site file; ``None`` or a missing default file gives the built-in defaults."""
    if path is None:
        return SiteConfig()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"cannot be read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(path, ["not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from None
    return parse_site_config(data, path)


def find_site_config(explicit: Path | None = None) -> Path | None:
    """The site file in force: the command line, then $TELECONSULT_SITE_CONFIG, then the system one."""
    if explicit is not None:
        return explicit
    env = os.environ.get("TELECONSULT_SITE_CONFIG")
    if env:
        return Path(env)
    default = default_site_config_file()
    return default if default.is_file() else None


class WindowState(BaseModel):
    model_config = ConfigDict(extra="ignore")
    geometry: str = ""  # base64 of QMainWindow.saveGeometry()
    state: str = ""  # base64 of QMainWindow.saveState()


class UserSettings(BaseModel):
    """What a user changes for themself. Unknown keys from newer versions are kept out, not fatal."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)
    language: Language = "system"
    last_username: str = ""
    last_dicom_folder: str = ""
    windows: dict[str, WindowState] = Field(default_factory=dict)
    disabled_plugins: list[str] = Field(default_factory=list)  # plugin ids the user switched off
    camera: str = ""  # the device calls send video from; "" is the synthetic source
    microphone: str = ""


def apply_locks(settings: UserSettings, site: SiteConfig) -> UserSettings:
    """The user's settings with the site's locked values in force."""
    locked = site.locked.model_dump(exclude_none=True)
    return settings.model_copy(update=locked) if locked else settings


class UserSettingsStore:
    """Loads and saves :class:`UserSettings` atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recovered_from: Path | None = None  # set when a corrupt file was moved aside

    def load(self) -> UserSettings:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return UserSettings()
        try:
            return UserSettings.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            backup = self.path.with_suffix(".corrupt.json")
            self.path.replace(backup)
            self.recovered_from = backup
            log.warning(
                "user settings %s unreadable (%s); moved to %s, using defaults", self.path, exc, backup
            )
            return UserSettings()

    def save(self, settings: UserSettings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(settings.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(self.path)
