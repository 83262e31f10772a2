"""HL7 v2 ORU^R01 observations and an MLLP listener, as bedside monitors and gateways send them.

MLLP frames a message as <VT> message <FS><CR>. Each message gets an ACK (MSA|AA) or, when it cannot
be used, a NAK (MSA|AE, or AR when it is not HL7 at all) with an ERR segment saying why; the listener
logs the error and keeps serving. Observations are mapped by LOINC or ISO/IEEE 11073 MDC code (what
gateways put in OBX-3) and written into a :class:`VitalsStore` with the OBX-14 time when present.

The listener serves one :class:`~core.vitals.bed.Bed`: a message is stored only when its PID is the
bed's patient (PID-3 ID with its PID-3.4 issuer, PID-5 name, PID-7 birth date). A message for another
patient, or while no patient is attached, is answered AE with an ERR saying why, stored nowhere, and
reported to ``on_refused`` (the workstation audits it and, for another patient, raises a technical alarm).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.vitals.bed import Bed, Refusal
from core.vitals.buffer import VitalsStore
from core.vitals.signals import Numeric

log = logging.getLogger(__name__)

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_FRAME = 1 << 20

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


class Hl7Error(ValueError):
    """A message that cannot be used; ``ack_code`` is AE (application error) or AR (rejected)."""

    def __init__(self, message: str, ack_code: str = "AE", control_id: str = "") -> None:
        super().__init__(message)
        self.ack_code = ack_code
        self.control_id = control_id


@dataclass(frozen=True)
class Observation:
    numeric: Numeric | None
    code: str
    value: float
    units: str
    time: float | None


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


def parse_hl7_time(text: str) -> float | None:
    """HL7 DTM (YYYYMMDDHHMMSS[.S][+/-ZZZZ]) to epoch seconds; no zone means UTC."""
    text = text.strip()
    if not text:
        return None
    zone = None
    for sign in ("+", "-"):
        if sign in text[8:]:
            i = text.rindex(sign)
            text, zone = text[:i], text[i:]
    main, _, frac = text.partition(".")
    fmt = "%Y%m%d%H%M%S"[: {4: 2, 6: 4, 8: 6, 10: 9, 12: 11, 14: 13}.get(len(main), 0)]
    if not fmt:
        raise Hl7Error(f"bad timestamp {text!r}")
    try:
        dt = datetime.strptime(main, fmt).replace(tzinfo=UTC)
    except ValueError as exc:
        raise Hl7Error(f"bad timestamp {text!r}") from exc
    seconds = dt.timestamp() + (float("0." + frac) if frac.isdigit() else 0.0)
    if zone and len(zone) == 5 and zone[1:].isdigit():
        offset = (int(zone[1:3]) * 60 + int(zone[3:5])) * 60
        seconds -= offset if zone[0] == "+" else -offset
    return seconds


def parse_oru(text: str) -> OruMessage:
    """Parse one ORU^R01 message (segments separated by CR; LF tolerated)."""
    segments = [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s.strip()]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise Hl7Error("not an HL7 v2 message: it must start with an MSH segment", "AR")
    msh = segments[0]
    sep = msh[3]
    fields = msh.split(sep)
    comp = fields[1][0] if fields[1] else "^"
    control_id = fields[9] if len(fields) > 9 else ""
    if len(fields) < 12:
        raise Hl7Error("MSH has too few fields", "AR", control_id)
    msg_type = fields[8].split(comp)
    if msg_type[:2] != ["ORU", "R01"]:
        raise Hl7Error(f"unsupported message type {fields[8]!r}: only ORU^R01", "AR", control_id)
    out = OruMessage(control_id=control_id, sending_app=fields[2].split(comp)[0], patient_id="")
    rep = fields[1][1] if len(fields[1]) > 1 else "~"
    sub = fields[1][3] if len(fields[1]) > 3 else "&"
    for n, seg in enumerate(segments[1:], start=2):
        f = seg.split(sep)
        if f[0] == "PID" and len(f) > 3:
            ident = f[3].split(rep)[0].split(comp)
            out.patient_id = ident[0].strip()
            out.issuer = ident[3].split(sub)[0].strip() if len(ident) > 3 else ""
            out.patient_name = f[5].split(rep)[0].strip() if len(f) > 5 else ""
            out.birth_date = f[7].split(comp)[0].strip() if len(f) > 7 else ""
        elif f[0] == "OBX":
            if len(f) < 6:
                raise Hl7Error(f"segment {n} (OBX) has too few fields", "AE", control_id)
            code = f[3].split(comp)
            key = code[0]
            name = code[1] if len(code) > 1 else ""
            if f[2] not in ("NM", "SN", ""):
                out.skipped.append(key)
                continue
            try:
                value = float(f[5].split(comp)[-1])
            except ValueError as exc:
                raise Hl7Error(
                    f"segment {n} (OBX {key}): value {f[5]!r} is not a number", "AE", control_id
                ) from exc
            units = f[6].split(comp)[0] if len(f) > 6 else ""
            when = parse_hl7_time(f[14]) if len(f) > 14 and f[14] else None
            numeric = CODES.get(key) or CODES.get(name)
            if numeric is None:
                out.skipped.append(key)
            if numeric is Numeric.TEMP and units.upper() in ("[DEGF]", "DEGF", "F"):
                value = (value - 32.0) * 5.0 / 9.0
            out.observations.append(Observation(numeric, key, value, units, when))
    if not out.observations:
        raise Hl7Error("ORU^R01 without numeric OBX segments", "AE", control_id)
    return out


def _now_hl7() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def escape(text: str) -> str:
    """Text for an HL7 field: delimiters escaped (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\), line breaks as spaces."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    return out.replace("\r", " ").replace("\n", " ")


def make_ack(control_id: str, code: str = "AA", error: str = "") -> str:
    cid = escape(control_id)
    segs = [
        f"MSH|^~\\&|TELECONSULT|WORKSTATION|||{_now_hl7()}||ACK^R01^ACK|ACK{cid or 'NONE'}|P|2.5",
        f"MSA|{code}|{cid}" + (f"|{escape(error[:80])}" if error else ""),
    ]
    if error:
        segs.append(f"ERR|||{'207' if code == 'AE' else '200'}^Application error^HL70357|E|||{escape(error)}")
    return "\r".join(segs) + "\r"


def frame(message: str) -> bytes:
    return VT + message.encode("utf-8") + FS + CR


def apply_to_store(message: OruMessage, store: VitalsStore) -> int:
    n = 0
    for obs in message.observations:
        if obs.numeric is not None:
            store.set_numeric(obs.numeric, obs.value, obs.time)
            n += 1
    return n


RefusedCallback = Callable[[OruMessage, Refusal], None]


class MllpListener:
    """An asyncio MLLP server on its own thread. ``port=0`` picks a free port (see :attr:`port`).

    With a ``bed`` it stores only its patient's messages (see the module docstring); without one (tests,
    tools) it stores every message."""

    def __init__(
        self,
        store: VitalsStore,
        host: str = "127.0.0.1",
        port: int = 2575,
        on_message: Callable[[OruMessage], None] | None = None,
        bed: Bed | None = None,
        on_refused: RefusedCallback | None = None,
    ) -> None:
        self.store, self.host, self._port = store, host, port
        self.on_message = on_message
        self.bed = bed
        self.on_refused = on_refused
        self.received = 0
        self.refused = 0
        self.errors: list[str] = []
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
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        buffer = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                buffer += data
                while True:
                    end = buffer.find(FS + CR)
                    if end < 0:
                        if len(buffer) > MAX_FRAME:
                            self._reply(
                                writer, make_ack("", "AR", "frame too large"), "frame too large", peer
                            )
                            buffer = b""
                        break
                    raw, buffer = buffer[:end], buffer[end + 2 :]
                    start = raw.find(VT)
                    if start < 0:
                        self._reply(
                            writer,
                            make_ack("", "AR", "MLLP frame without start block"),
                            "no start block",
                            peer,
                        )
                        continue
                    self._handle(raw[start + 1 :], writer, peer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _reply(self, writer: asyncio.StreamWriter, ack: str, error: str, peer: object) -> None:
        if error:
            self.errors.append(error)
            log.warning("HL7 from %s rejected: %s", peer, error)
        writer.write(frame(ack))

    def _handle(self, payload: bytes, writer: asyncio.StreamWriter, peer: object) -> None:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = payload.decode("latin-1")
        try:
            message = parse_oru(text)
        except Hl7Error as exc:
            self._reply(writer, make_ack(exc.control_id, exc.ack_code, str(exc)), str(exc), peer)
            return
        except Exception as exc:  # never let one message take the listener down
            log.exception("HL7 parse failure")
            self._reply(writer, make_ack("", "AE", f"internal error: {exc}"), str(exc), peer)
            return
        with self.store.writing:  # checked and stored as one: a patient who just left gets nothing
            refusal = self._refusal(message)
            if refusal is None:
                apply_to_store(message, self.store)
        if refusal is not None:
            self.refused += 1
            if self.on_refused is not None:  # audited and alarmed before the sender hears back
                try:
                    self.on_refused(message, refusal)
                except Exception:  # reporting must never take the listener down
                    log.exception("HL7 refusal callback failed")
            text = f"not stored: {refusal.reason}"
            self._reply(writer, make_ack(message.control_id, "AE", text), text, peer)
            return
        self.received += 1
        if self.on_message is not None:
            self.on_message(message)
        self._reply(writer, make_ack(message.control_id), "", peer)

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
