"""HL7 v2 ORU^R01 observations and an MLLP listener, as bedside monitors and gateways send them.

MLLP frames a message as <VT> message <FS><CR> (see :mod:`core.vitals.mllp` for resynchronisation after
truncated or oversized frames). Each message and each bad frame gets exactly one answer, and the answer
says what was done with it: AA (stored; or, for OBX that must not be stored, deliberately not stored),
AE (an application error: not stored) or AR (rejected: not HL7, not ORU^R01, a test/debug processing ID,
a broken frame), with an ERR segment saying why. The ACK mirrors the message's version (MSH-12),
processing ID (MSH-11) and control ID (MSA-2 = MSH-10), and swaps sending and receiving application and
facility. Observations are mapped by LOINC or ISO/IEEE 11073 MDC code (what gateways put in OBX-3),
converted to the monitor's units (UCUM), and written into a :class:`VitalsStore` at their observation
time (OBX-14, else OBR-7). A time without a zone is in the site's monitor time zone.

OBX-11 (HL7 table 0085): F and C are stored, P is stored marked preliminary, D deletes the value shown,
W, X and anything else are never stored.

The listener serves one :class:`~core.vitals.bed.Bed`: a message is stored only when its PID is the
bed's patient (PID-3 ID with its PID-3.4 issuer, PID-5 name, PID-7 birth date). A message for another
patient, or while no patient is attached, is answered AE with an ERR saying why, stored nowhere, and
reported to ``on_refused`` (the workstation audits it and, for another patient, raises a technical alarm).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.vitals.bed import Bed, Refusal
from core.vitals.buffer import VitalsStore
from core.vitals.mllp import CR, FS, MAX_FRAME, VT, Deframer, FrameEvent
from core.vitals.signals import Numeric

log = logging.getLogger(__name__)

FUTURE_TOLERANCE_S = 60.0  # a monitor clock this far ahead is flagged (the value is kept at receipt time)
IDLE_TIMEOUT_S = 300.0  # a connection silent this long is closed
STORED_STATUSES = frozenset({"F", "C", "P", ""})  # "" (OBX-11 left empty by some gateways) counts as F

# LOINC and MDC codes for what we show; gateways send either.
CODES: dict[str, Numeric] = {
    "8867-4": Numeric.HR,
    "147842": Numeric.HR,
    "MDC_ECG_HEART_RATE": Numeric.HR,
    "59408-5": Numeric.SPO2,
    "2708-6": Numeric.SPO2,
    "150456": Numeric.SPO2,
    "MDC_PULS_OXIM_SAT_O2": Numeric.SPO2,
    "8889-8": Numeric.PULSE,
    "149530": Numeric.PULSE,
    "MDC_PULS_OXIM_PULS_RATE": Numeric.PULSE,
    "9279-1": Numeric.RR,
    "151562": Numeric.RR,
    "MDC_RESP_RATE": Numeric.RR,
    "8310-5": Numeric.TEMP,
    "150344": Numeric.TEMP,
    "MDC_TEMP": Numeric.TEMP,
    "8480-6": Numeric.NIBP_SYS,
    "150301": Numeric.NIBP_SYS,
    "MDC_PRESS_CUFF_SYS": Numeric.NIBP_SYS,
    "8462-4": Numeric.NIBP_DIA,
    "150302": Numeric.NIBP_DIA,
    "MDC_PRESS_CUFF_DIA": Numeric.NIBP_DIA,
    "8478-0": Numeric.NIBP_MEAN,
    "150303": Numeric.NIBP_MEAN,
    "MDC_PRESS_CUFF_MEAN": Numeric.NIBP_MEAN,
    "76215-3": Numeric.ABP_SYS,
    "150017": Numeric.ABP_SYS,
    "MDC_PRESS_BLD_ART_ABP_SYS": Numeric.ABP_SYS,
    "76213-8": Numeric.ABP_DIA,
    "150018": Numeric.ABP_DIA,
    "MDC_PRESS_BLD_ART_ABP_DIA": Numeric.ABP_DIA,
    "76214-6": Numeric.ABP_MEAN,
    "150019": Numeric.ABP_MEAN,
    "MDC_PRESS_BLD_ART_ABP_MEAN": Numeric.ABP_MEAN,
    "19889-5": Numeric.ETCO2,
    "151708": Numeric.ETCO2,
    "MDC_AWAY_CO2_ET": Numeric.ETCO2,
}


_RATE = {
    "/min",
    "1/min",
    "min-1",
    "{beats}/min",
    "{beat}/min",
    "bpm",
    "{breaths}/min",
    "{breath}/min",
    "{resp}/min",
    "mdc_dim_beat_per_min",
    "mdc_dim_resp_per_min",
    "mdc_dim_per_min",
}
_PRESSURE: dict[str, float] = {
    "mm[hg]": 1.0,
    "mmhg": 1.0,
    "mdc_dim_mmhg": 1.0,
    "kpa": 7.500615758,
    "mdc_dim_kilo_pascal": 7.500615758,
    "pa": 0.007500615758,
    "cm[h2o]": 0.7355591,
    "cmh2o": 0.7355591,
    "mdc_dim_cm_h2o": 0.7355591,
}
_PRESSURES = {
    Numeric.NIBP_SYS,
    Numeric.NIBP_DIA,
    Numeric.NIBP_MEAN,
    Numeric.ABP_SYS,
    Numeric.ABP_DIA,
    Numeric.ABP_MEAN,
    Numeric.ETCO2,
}
_CELSIUS = {"cel", "degc", "°c", "c", "mdc_dim_degc"}
_FAHRENHEIT = {"[degf]", "degf", "°f", "f", "mdc_dim_fahr"}


def to_monitor_units(numeric: Numeric, value: float, units: list[str]) -> float | None:
    """``value`` in ``units`` (OBX-6: UCUM code, text, ...) converted to what the monitor shows (/min, %,
    mm[Hg], Cel); None for a unit we do not know for this numeric. No unit at all: the monitor's own."""
    names = [u.strip().lower() for u in units[:2] if u.strip()]
    if not names:
        return value
    for unit in names:
        if numeric in (Numeric.HR, Numeric.PULSE, Numeric.RR) and unit in _RATE:
            return value
        if numeric is Numeric.SPO2 and unit in ("%", "mdc_dim_percent"):
            return value
        if numeric in _PRESSURES and unit in _PRESSURE:
            return value * _PRESSURE[unit]
        if numeric is Numeric.TEMP and unit in _CELSIUS:
            return value
        if numeric is Numeric.TEMP and unit in _FAHRENHEIT:
            return (value - 32.0) * 5.0 / 9.0
    return None


class Hl7Error(ValueError):
    """A message that cannot be used; ``ack_code`` is AE (application error) or AR (rejected);
    ``err_code`` the HL7 table 0357 code for its ERR segment."""

    def __init__(self, message: str, ack_code: str = "AE", control_id: str = "", err_code: str = "") -> None:
        super().__init__(message)
        self.ack_code = ack_code
        self.control_id = control_id
        self.err_code = err_code or ("207" if ack_code == "AE" else "200")


@dataclass(frozen=True)
class Observation:
    numeric: Numeric | None
    code: str
    value: float
    units: str
    time: float | None
    status: str = "F"  # OBX-11: F final, C corrected, P preliminary
    future: bool = False  # its time was ahead of the workstation's clock; ``time`` is then receipt time

    @property
    def preliminary(self) -> bool:
        return self.status == "P"


@dataclass(frozen=True)
class Header:
    """What an answer needs from MSH, read leniently (also from a message that cannot be parsed)."""

    control_id: str = ""
    sending_app: str = ""
    sending_facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    trigger: str = "R01"
    processing_id: str = "P"
    version: str = "2.5"


@dataclass
class OruMessage:
    control_id: str
    sending_app: str
    patient_id: str  # PID-3.1 (the first identifier)
    issuer: str = ""  # PID-3.4, the assigning authority's namespace ID
    patient_name: str = ""  # PID-5 as sent: Family^Given^Middle
    birth_date: str = ""  # PID-7, YYYYMMDD[...]
    observations: list[Observation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # OBX we do not map, by code
    not_stored: list[str] = field(default_factory=list)  # OBX whose status forbids storing (W, X, ...)
    deleted: list[Numeric] = field(default_factory=list)  # OBX-11 D: the value shown is withdrawn
    warnings: list[str] = field(default_factory=list)  # stored, but the sender should know (W in the ACK)
    header: Header = field(default_factory=Header)


def monitor_zone(name: str) -> tzinfo | None:
    """The IANA zone named in ``[vitals] monitor_time_zone``; None (empty name): the workstation's."""
    if not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def parse_hl7_time(text: str, zone: tzinfo | None = None) -> float | None:
    """HL7 DTM (YYYYMMDDHHMMSS[.S][+/-ZZZZ]) to epoch seconds. A time without a zone is in ``zone``
    (the monitors' time zone); None: the workstation's own zone."""
    text = text.strip()
    if not text:
        return None
    offset_zone = None
    for sign in ("+", "-"):
        if sign in text[8:]:
            i = text.rindex(sign)
            text, offset_zone = text[:i], text[i:]
    main, _, frac = text.partition(".")
    fmt = "%Y%m%d%H%M%S"[: {4: 2, 6: 4, 8: 6, 10: 9, 12: 11, 14: 13}.get(len(main), 0)]
    if not fmt:
        raise Hl7Error(f"bad timestamp {text!r}", err_code="102")
    try:
        naive = datetime.strptime(main, fmt)
    except ValueError as exc:
        raise Hl7Error(f"bad timestamp {text!r}", err_code="102") from exc
    fraction = float("0." + frac) if frac.isdigit() else 0.0
    if offset_zone and len(offset_zone) == 5 and offset_zone[1:].isdigit():
        offset = (int(offset_zone[1:3]) * 60 + int(offset_zone[3:5])) * 60
        utc = naive.replace(tzinfo=ZoneInfo("UTC")).timestamp()
        return utc + fraction - (offset if offset_zone[0] == "+" else -offset)
    local = naive if zone is None else naive.replace(tzinfo=zone)
    return local.timestamp() + fraction


def _segments(text: str) -> list[str]:
    return [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s.strip()]


def parse_header(text: str) -> Header:
    """The MSH fields an answer mirrors; defaults for whatever is missing. Never raises."""
    segments = _segments(text)
    msh = segments[0] if segments else ""
    if not msh.startswith("MSH") or len(msh) < 8:
        return Header()
    fields = msh.split(msh[3])
    comp = fields[1][0] if fields[1] else "^"

    def get(n: int, component: int = 0) -> str:
        parts = fields[n].split(comp) if len(fields) > n else [""]
        return parts[component].strip() if len(parts) > component else ""

    return Header(
        control_id=get(9),
        sending_app=get(2),
        sending_facility=get(3),
        receiving_app=get(4),
        receiving_facility=get(5),
        trigger=get(8, 1) or "R01",
        processing_id=get(10) or "P",
        version=get(11) or "2.5",
    )


def parse_oru(
    text: str,
    zone: tzinfo | None = None,
    now: float | None = None,
    future_tolerance_s: float = FUTURE_TOLERANCE_S,
) -> OruMessage:
    """Parse one ORU^R01 message (segments separated by CR; LF tolerated). Times without a zone are in
    ``zone`` (None: the workstation's); one more than ``future_tolerance_s`` after ``now`` is flagged."""
    segments = _segments(text)
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise Hl7Error("not an HL7 v2 message: it must start with an MSH segment", "AR")
    msh = segments[0]
    sep = msh[3]
    fields = msh.split(sep)
    comp = fields[1][0] if fields[1] else "^"
    control_id = fields[9] if len(fields) > 9 else ""
    if len(fields) < 12:
        raise Hl7Error("MSH has too few fields", "AR", control_id, "101")
    msg_type = fields[8].split(comp)
    if msg_type[:2] != ["ORU", "R01"]:
        raise Hl7Error(f"unsupported message type {fields[8]!r}: only ORU^R01", "AR", control_id, "200")
    out = OruMessage(
        control_id=control_id, sending_app=fields[2].split(comp)[0], patient_id="", header=parse_header(text)
    )
    rep = fields[1][1] if len(fields[1]) > 1 else "~"
    sub = fields[1][3] if len(fields[1]) > 3 else "&"
    now = time.time() if now is None else now
    obr_time: float | None = None
    for n, seg in enumerate(segments[1:], start=2):
        f = seg.split(sep)
        if f[0] == "PID" and len(f) > 3:
            ident = f[3].split(rep)[0].split(comp)
            out.patient_id = ident[0].strip()
            out.issuer = ident[3].split(sub)[0].strip() if len(ident) > 3 else ""
            out.patient_name = f[5].split(rep)[0].strip() if len(f) > 5 else ""
            out.birth_date = f[7].split(comp)[0].strip() if len(f) > 7 else ""
        elif f[0] == "OBR":
            obr_time = parse_hl7_time(f[7].split(comp)[0], zone) if len(f) > 7 and f[7] else None
        elif f[0] == "OBX":
            if len(f) < 6:
                raise Hl7Error(f"segment {n} (OBX) has too few fields", "AE", control_id, "101")
            _obx(out, n, f, comp, zone, now, future_tolerance_s, obr_time)
    if not out.observations and not out.deleted and not out.not_stored:
        raise Hl7Error("ORU^R01 without numeric OBX segments", "AE", control_id, "101")
    return out


def _obx(
    out: OruMessage,
    n: int,
    f: list[str],
    comp: str,
    zone: tzinfo | None,
    now: float,
    tolerance: float,
    obr_time: float | None,
) -> None:
    code = f[3].split(comp)
    key = code[0]
    name = code[1] if len(code) > 1 else ""
    status = f[11].strip().upper() if len(f) > 11 else ""
    numeric = CODES.get(key) or CODES.get(name)
    if f[2] not in ("NM", "SN", "") or numeric is None:
        out.skipped.append(key)
        return
    if status == "D":  # the earlier value was wrong and is withdrawn
        out.deleted.append(numeric)
        return
    if status not in STORED_STATUSES:  # W (wrong), X (cannot be obtained), R, S, I, N, O, U
        out.not_stored.append(f"{key} ({status})")
        return
    try:
        value = float(f[5].split(comp)[-1])
    except ValueError as exc:
        raise Hl7Error(
            f"segment {n} (OBX {key}): value {f[5]!r} is not a number", "AE", out.control_id, "102"
        ) from exc
    units = f[6].split(comp) if len(f) > 6 else []
    converted = to_monitor_units(numeric, value, units)
    if converted is None or not math.isfinite(converted):
        raise Hl7Error(
            f"segment {n} (OBX {key}): unknown unit {f[6]!r} for {numeric.value}", "AE", out.control_id, "103"
        )
    when = parse_hl7_time(f[14].split(comp)[0], zone) if len(f) > 14 and f[14] else obr_time
    future = when is not None and when > now + tolerance
    if future:
        out.warnings.append(f"OBX {key}: observation time {f[14] if len(f) > 14 else ''} is in the future")
        when = now
    out.observations.append(
        Observation(numeric, key, converted, units[0] if units else "", when, status or "F", future)
    )


_ack_ids = itertools.count(1)


def _now_hl7() -> str:
    return datetime.now().astimezone().strftime("%Y%m%d%H%M%S%z")


def escape(text: str) -> str:
    """Text for an HL7 field: delimiters escaped (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\), line breaks as spaces."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    return out.replace("\r", " ").replace("\n", " ")


ERR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "202": "Unsupported processing id",
    "207": "Application internal error",
}


def _version_at_least(version: str, target: tuple[int, ...]) -> bool:
    try:
        return tuple(int(p) for p in version.split(".")) >= target
    except ValueError:
        return True


def make_ack(
    header: Header | str | None = None,
    code: str = "AA",
    error: str = "",
    err_code: str = "",
    severity: str = "",
) -> str:
    """The ACK for a message with ``header`` (or just its control ID): MSA-2 is its MSH-10, MSH-12 and
    MSH-11 mirror it, sending and receiving application/facility are swapped. With ``error`` an ERR
    segment says why (table 0357 ``err_code``; ``severity`` E, or W for a warning in an AA)."""
    h = Header(control_id=header) if isinstance(header, str) else header or Header()
    version = h.version
    cid = escape(h.control_id)
    msg_type = "ACK^" + escape(h.trigger) + ("^ACK" if _version_at_least(version, (2, 3, 1)) else "")
    segs = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                escape(h.receiving_app) or "TELECONSULT",
                escape(h.receiving_facility),
                escape(h.sending_app),
                escape(h.sending_facility),
                _now_hl7(),
                "",
                msg_type,
                f"TC{int(time.time() * 1000)}{next(_ack_ids) % 1000:03d}",
                escape(h.processing_id) or "P",
                escape(version),
            ]
        ),
        # MSA-3 (text) was withdrawn in 2.7: from then on only ERR says why
        f"MSA|{code}|{cid}"
        + (f"|{escape(error[:80])}" if error and not _version_at_least(version, (2, 7)) else ""),
    ]
    if error:
        err_code = err_code or ("207" if code != "AR" else "200")
        what = f"{err_code}^{ERR_TEXT.get(err_code, 'Application error')}^HL70357"
        if _version_at_least(version, (2, 5)):
            segs.append(f"ERR|||{what}|{severity or ('W' if code == 'AA' else 'E')}|||{escape(error)}")
        else:
            segs.append("ERR|^^^" + what.replace("^", "&"))
    return "\r".join(segs) + "\r"


def frame(message: str) -> bytes:
    return VT + message.encode("utf-8") + FS + CR


def apply_to_store(message: OruMessage, store: VitalsStore, now: float | None = None) -> int:
    """Store each numeric's newest observation (by observation time, the later OBX on a tie) and withdraw
    what OBX-11 D deleted. Returns how many values were stored."""
    now = store.clock() if now is None else now
    newest: dict[Numeric, Observation] = {}
    for obs in message.observations:
        if obs.numeric is None:
            continue
        best = newest.get(obs.numeric)
        t, best_t = (now if obs.time is None else obs.time), None
        if best is not None:
            best_t = now if best.time is None else best.time
        if best_t is None or t >= best_t:
            newest[obs.numeric] = obs
    for numeric in message.deleted:
        if numeric not in newest:
            store.set_numeric(numeric, math.nan, now)
    for obs in newest.values():
        assert obs.numeric is not None
        store.set_numeric(obs.numeric, obs.value, obs.time)
    return len(newest)


RefusedCallback = Callable[[OruMessage, Refusal], None]


class MllpListener:
    """An asyncio MLLP server on its own thread. ``port=0`` picks a free port (see :attr:`port`).

    With a ``bed`` it stores only its patient's messages (see the module docstring); without one (tests,
    tools) it stores every message. ``time_zone`` is the monitors' (``[vitals] monitor_time_zone``; None:
    the workstation's); a connection idle for ``idle_timeout_s`` is closed.

    A sender of endless bad frames costs bounded memory and log: :attr:`errors` keeps the newest
    ``KEPT_ERRORS`` reasons (:attr:`error_count` counts them all), and each connection logs its first
    ``LOGGED_ERRORS`` rejections, then one line with how many more there were."""

    KEPT_ERRORS = 1000
    LOGGED_ERRORS = 10

    def __init__(
        self,
        store: VitalsStore,
        host: str = "127.0.0.1",
        port: int = 2575,
        on_message: Callable[[OruMessage], None] | None = None,
        bed: Bed | None = None,
        on_refused: RefusedCallback | None = None,
        time_zone: tzinfo | None = None,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_frame: int = MAX_FRAME,
        future_tolerance_s: float = FUTURE_TOLERANCE_S,
    ) -> None:
        self.store, self.host, self._port = store, host, port
        self.on_message = on_message
        self.bed = bed
        self.on_refused = on_refused
        self.time_zone = time_zone
        self.idle_timeout_s = idle_timeout_s
        self.max_frame = max_frame
        self.future_tolerance_s = future_tolerance_s
        self.received = 0
        self.refused = 0
        self.idle_closed = 0
        self.errors: list[str] = []
        self.error_count = 0
        self.warnings: list[str] = []
        self._connection_errors: dict[object, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="vitals-mllp", daemon=True)
        self._thread.start()
        if not self._ready.wait(5.0):
            raise RuntimeError("MLLP listener did not start")
        if self._server is None:
            raise OSError(f"MLLP listener could not bind {self.host}:{self._port}")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(asyncio.start_server(self._client, self.host, self._port))
            self._port = self._server.sockets[0].getsockname()[1]
            log.info("MLLP listener on %s:%d", self.host, self._port)
        except OSError:
            log.exception("MLLP listener could not bind %s:%d", self.host, self._port)
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            loop.run_until_complete(_cancel_connections())  # open connections end before the loop does
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        deframer = Deframer(self.max_frame)
        self._connection_errors[peer] = 0
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), self.idle_timeout_s)
                except TimeoutError:
                    self.idle_closed += 1
                    log.info("MLLP connection from %s idle for %.0f s: closed", peer, self.idle_timeout_s)
                    break
                if not data:
                    break
                for event in deframer.feed(data):
                    if event.error:
                        self._frame_error(event, writer, peer)
                    else:
                        self._handle(event.payload, writer, peer)
                await writer.drain()
            if deframer.pending:
                log.warning("MLLP connection from %s closed inside a frame: not stored", peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            unlogged = self._connection_errors.pop(peer, 0) - self.LOGGED_ERRORS
            if unlogged > 0:
                log.warning("HL7 from %s: %d more rejected messages not logged", peer, unlogged)

    def _reply(self, writer: asyncio.StreamWriter, ack: str, error: str, peer: object) -> None:
        if error:
            self.error_count += 1
            self.errors.append(error)
            if len(self.errors) > 2 * self.KEPT_ERRORS:  # trimmed in batches: amortised O(1)
                del self.errors[: -self.KEPT_ERRORS]
            logged = self._connection_errors.get(peer, 0) + 1
            self._connection_errors[peer] = logged
            if logged <= self.LOGGED_ERRORS:
                log.warning("HL7 from %s rejected: %s", peer, error)
        writer.write(frame(ack))

    def _frame_error(self, event: FrameEvent, writer: asyncio.StreamWriter, peer: object) -> None:
        header = parse_header(_decode(event.payload))
        self._reply(writer, make_ack(header, "AR", event.error, "207"), event.error, peer)

    def _handle(self, payload: bytes, writer: asyncio.StreamWriter, peer: object) -> None:
        text = _decode(payload)
        header = parse_header(text)
        try:
            message = parse_oru(text, self.time_zone, self.store.clock(), self.future_tolerance_s)
        except Hl7Error as exc:
            self._reply(writer, make_ack(header, exc.ack_code, str(exc), exc.err_code), str(exc), peer)
            return
        except Exception as exc:  # never let one message take the listener down
            log.exception("HL7 parse failure")
            self._reply(writer, make_ack(header, "AE", f"internal error: {exc}"), str(exc), peer)
            return
        if header.processing_id.upper()[:1] != "P":  # training or debugging: never on the live monitor
            text = f"processing ID {header.processing_id!r} (training/debugging): not stored"
            self._reply(writer, make_ack(header, "AR", text, "202"), text, peer)
            return
        try:
            with self.store.writing:  # checked and stored as one: a patient who just left gets nothing
                refusal = self._refusal(message)
                if refusal is None:
                    apply_to_store(message, self.store)
        except Exception as exc:
            log.exception("HL7 store failure")
            self._reply(writer, make_ack(header, "AE", f"internal error: {exc}"), str(exc), peer)
            return
        if refusal is not None:
            self.refused += 1
            if self.on_refused is not None:  # audited and alarmed before the sender hears back
                try:
                    self.on_refused(message, refusal)
                except Exception:  # reporting must never take the listener down
                    log.exception("HL7 refusal callback failed")
            text = f"not stored: {refusal.reason}"
            self._reply(writer, make_ack(header, "AE", text, "207"), text, peer)
            return
        self.received += 1
        if message.warnings:
            self.warnings.extend(message.warnings)
            log.warning("HL7 from %s stored with warnings: %s", peer, "; ".join(message.warnings))
        if self.on_message is not None:
            try:
                self.on_message(message)
            except Exception:
                log.exception("HL7 message callback failed")
        warning = "; ".join(message.warnings)
        self._reply(writer, make_ack(header, "AA", warning, "207" if warning else "", "W"), "", peer)

    def _refusal(self, message: OruMessage) -> Refusal | None:
        if self.bed is None:
            return None
        return self.bed.identity_problem(
            message.patient_id, message.patient_name, message.birth_date, message.issuer
        )

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5.0)

    def close(self) -> None:
        self.stop()


def _decode(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("latin-1")


async def _cancel_connections() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
