"""The vitals streaming protocol: compact, binary, sequence-numbered batches, transport-agnostic.

The bedside side turns new samples into ``bytes`` (:class:`StreamSender`); the specialist side feeds
``bytes`` in (:class:`StreamReceiver`). The WebRTC ``vitals`` data channel carries them (unordered,
unreliable is fine): lost batches become NaN gaps in the rings, late or duplicated ones are dropped,
and the samples keep the sender's timestamps so the display can say how old the newest one is.

Wave batch (little-endian): magic "VS", version, kind=1, wave code, seq u32, first sample index u64,
timestamp of the first sample f64 (epoch s), sample count u16, channel count u8, then int16 samples
(channels x count) in the wave's quantum (1 uV for ECG); -32768 is a lost sample.
Numerics batch: magic, version, kind=2, count u8, seq u32, then (numeric code u8, value f32, time f64).
Technical batch: magic, version, kind=3, flags u8 (bit 0: ECG lead off), seq u32.

Version 2 is version 1 with the consult the samples belong to: a u64 consult id (0: none) right after
``seq``, the rest unchanged. A sender that knows its consult sends version 2; a receiver reads both, and
one bound to a consult (``accept``) drops, counts and logs every batch stamped with another consult. A
version 1 batch (an older peer, a recording made before version 2) is taken as the call's own.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.vitals.buffer import VitalsStore
from core.vitals.signals import WAVES, Numeric, Wave

log = logging.getLogger(__name__)

MAGIC = b"VS"
VERSION = 1  # the layout of the kinds below; version 2 adds the consult id (CONSULT) after seq
VERSION_CONSULT = 2
CONSULT = struct.Struct("<Q")
PREFIX = 9  # magic, version, kind, kind byte, seq: where version 2 puts the consult id
KIND_WAVE, KIND_NUMERICS, KIND_TECHNICAL = 1, 2, 3
WAVE_HEADER = struct.Struct("<2sBBBIQdHB")
NUMERICS_HEADER = struct.Struct("<2sBBBI")
NUMERIC_ITEM = struct.Struct("<Bfd")
TECH = struct.Struct("<2sBBBI")
WAVE_CODES = {w: i for i, w in enumerate(Wave)}
NUMERIC_CODES = {n: i for i, n in enumerate(Numeric)}
LOST = -32768


class ProtocolError(ValueError):
    pass


@dataclass(frozen=True)
class WaveBatch:
    seq: int
    wave: Wave
    first_index: int
    t_first: float
    values: np.ndarray  # (channels, n) float64 with NaN for lost samples


def encode_wave(seq: int, wave: Wave, first_index: int, t_first: float, values: np.ndarray) -> bytes:
    d = WAVES[wave]
    data = np.atleast_2d(values)
    q = np.round(data / d.quantum)
    q = np.where(np.isfinite(q), np.clip(q, -32767, 32767), LOST).astype("<i2")
    header = WAVE_HEADER.pack(
        MAGIC, VERSION, KIND_WAVE, WAVE_CODES[wave], seq, first_index, t_first, data.shape[1], data.shape[0]
    )
    return header + q.tobytes()


Batch = WaveBatch | tuple[int, list[tuple[Numeric, float, float]]] | tuple[int, int]


def stamp(batch: bytes, consult_id: int | None) -> bytes:
    """A version 1 batch as version 2, carrying ``consult_id``; unchanged when there is none."""
    if consult_id is None:
        return batch
    return MAGIC + bytes([VERSION_CONSULT]) + batch[3:PREFIX] + CONSULT.pack(consult_id) + batch[PREFIX:]


def decode_stamped(data: bytes) -> tuple[int | None, Batch]:
    """Decode one batch of either version: (its consult id or None, the batch)."""
    if len(data) >= PREFIX and data[:2] == MAGIC and data[2] == VERSION_CONSULT:
        if len(data) < PREFIX + CONSULT.size:
            raise ProtocolError("truncated consult id")
        (consult_id,) = CONSULT.unpack_from(data, PREFIX)
        plain = MAGIC + bytes([VERSION]) + data[3:PREFIX] + data[PREFIX + CONSULT.size :]
        return (consult_id or None), decode(plain)
    return None, decode(data)


def decode(data: bytes) -> Batch:
    """Decode one batch; raises :class:`ProtocolError` with the reason for anything malformed."""
    if len(data) >= PREFIX and data[:2] == MAGIC and data[2] == VERSION_CONSULT:
        return decode_stamped(data)[1]
    if len(data) < PREFIX or data[:2] != MAGIC:
        raise ProtocolError("not a vitals batch (bad magic or too short)")
    if data[2] != VERSION:
        raise ProtocolError(f"unsupported protocol version {data[2]}")
    kind = data[3]
    if kind == KIND_WAVE:
        if len(data) < WAVE_HEADER.size:
            raise ProtocolError("truncated wave header")
        _, _, _, code, seq, first, t_first, n, ch = WAVE_HEADER.unpack_from(data)
        if code >= len(WAVE_CODES):
            raise ProtocolError(f"unknown wave code {code}")
        wave = list(Wave)[code]
        if ch != len(WAVES[wave].channels):
            raise ProtocolError(f"{wave.value}: {ch} channels, expected {len(WAVES[wave].channels)}")
        body = data[WAVE_HEADER.size :]
        if len(body) != 2 * n * ch:
            raise ProtocolError(f"{wave.value}: {len(body)} data bytes, expected {2 * n * ch}")
        q = np.frombuffer(body, dtype="<i2").reshape(ch, n)
        values = np.where(q == LOST, np.nan, q * WAVES[wave].quantum)
        if not np.isfinite(t_first):
            raise ProtocolError("non-finite timestamp")
        return WaveBatch(seq, wave, first, t_first, values)
    if kind == KIND_NUMERICS:
        _, _, _, count, seq = NUMERICS_HEADER.unpack_from(data)
        if len(data) != NUMERICS_HEADER.size + count * NUMERIC_ITEM.size:
            raise ProtocolError("numerics batch length does not match its count")
        items = []
        for i in range(count):
            code, value, t = NUMERIC_ITEM.unpack_from(data, NUMERICS_HEADER.size + i * NUMERIC_ITEM.size)
            if code >= len(NUMERIC_CODES):
                raise ProtocolError(f"unknown numeric code {code}")
            items.append((list(Numeric)[code], float(value), t))
        return seq, items
    if kind == KIND_TECHNICAL:
        if len(data) != TECH.size:
            raise ProtocolError("technical batch has the wrong length")
        _, _, _, flags, seq = TECH.unpack(data)
        return seq, flags
    raise ProtocolError(f"unknown batch kind {kind}")


class StreamSender:
    """Turns what a store got since the last :meth:`poll` into batches of at most ``max_s`` seconds."""

    def __init__(
        self, store: VitalsStore, max_s: float = 0.1, consult_id: int | Callable[[], int | None] | None = None
    ) -> None:
        self.store = store
        self.max_s = max_s
        # the consult the samples belong to (or a function giving it): batches go out as version 2
        self.consult_id = consult_id
        self.seq = 0
        self._pos = {w: ring.total for w, ring in store.rings.items()}
        self._numeric_t: dict[Numeric, float] = {}

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def poll(self) -> list[bytes]:
        consult = self.consult_id() if callable(self.consult_id) else self.consult_id
        return [stamp(batch, consult) for batch in self._poll()]

    def _poll(self) -> list[bytes]:
        out: list[bytes] = []
        for wave, ring in self.store.rings.items():
            chunk = ring.read(self._pos[wave])
            self._pos[wave] = chunk.stop
            step = max(1, int(self.max_s * ring.fs))
            for i in range(0, chunk.values.shape[1], step):
                part = chunk.values[:, i : i + step]
                out.append(encode_wave(self._next_seq(), wave, chunk.start + i, float(chunk.times[i]), part))
        items = []
        for numeric, trend in self.store.trends.items():
            latest = trend.latest()
            if latest is not None and latest[1] != self._numeric_t.get(numeric):
                self._numeric_t[numeric] = latest[1]
                items.append(NUMERIC_ITEM.pack(NUMERIC_CODES[numeric], latest[0], latest[1]))
        for i in range(0, len(items), 255):
            batch = items[i : i + 255]
            out.append(
                NUMERICS_HEADER.pack(MAGIC, VERSION, KIND_NUMERICS, len(batch), self._next_seq())
                + b"".join(batch)
            )
        flags = int(self.store.technical().get("ecg_lead_off", False))
        out.append(TECH.pack(MAGIC, VERSION, KIND_TECHNICAL, flags, self._next_seq()))
        return out


class StreamReceiver:
    """Writes batches into a store, turning lost samples into NaN gaps. Bad batches are counted, logged
    and skipped; nothing a peer sends can raise out of :meth:`feed`."""

    def __init__(self, store: VitalsStore, accept: Callable[[int | None], bool] | None = None) -> None:
        self.store = store
        # whether a batch stamped with this consult id (None: unstamped) belongs in the store
        self.accept = accept
        self._expected: dict[Wave, int | None] = {w: None for w in store.rings}
        self.received = 0
        self.highest_seq = 0
        self.late_batches = 0
        self.foreign_batches = 0  # for another consult (or while no patient is attached): dropped
        self.errors: list[str] = []

    @property
    def lost_batches(self) -> int:
        return max(0, self.highest_seq - self.received)  # late ones count as received

    def feed(self, data: bytes) -> bool:
        try:
            consult_id, batch = decode_stamped(data)
        except ProtocolError as exc:
            self.errors.append(str(exc))
            log.warning("vitals stream: bad batch dropped: %s", exc)
            return False
        with self.store.writing:  # checked and stored as one (see VitalsStore.writing)
            if self.accept is not None and not self.accept(consult_id):
                self.foreign_batches += 1
                if self.foreign_batches == 1 or self.foreign_batches % 1000 == 0:
                    log.warning(
                        "vitals stream: %d batch(es) for consult %s dropped: not the consult in context",
                        self.foreign_batches,
                        consult_id,
                    )
                return False
            seq = batch.seq if isinstance(batch, WaveBatch) else batch[0]
            self.received += 1
            self.highest_seq = max(self.highest_seq, seq)
            if isinstance(batch, WaveBatch):
                self._wave(batch)
            elif isinstance(batch[1], list):
                for numeric, value, t in batch[1]:
                    self.store.set_numeric(numeric, value, t)
            else:
                self.store.set_technical("ecg_lead_off", bool(batch[1] & 1))
        return True

    def _wave(self, b: WaveBatch) -> None:
        ring = self.store.rings.get(b.wave)
        if ring is None:
            return
        expected = self._expected[b.wave]
        n = b.values.shape[1]
        if expected is not None and b.first_index < expected:
            self.late_batches += 1  # late or duplicate: its place has been marked lost already
            return
        if expected is not None and b.first_index > expected:
            missing = b.first_index - expected
            ring.write_gap(min(missing, ring.capacity), b.t_first - missing / ring.fs)
        ring.write(b.values, b.t_first)
        self._expected[b.wave] = b.first_index + n
