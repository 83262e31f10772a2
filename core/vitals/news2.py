"""NEWS2 (Royal College of Physicians, 2017): the national early warning score and its response level."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum, StrEnum


class Consciousness(StrEnum):
    """ACVPU: alert, or new confusion / responds to voice / to pain / unresponsive."""

    ALERT = "A"
    CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


class Risk(IntEnum):
    """The clinical response the total calls for."""

    LOW = 0  # 0-4: ward-based response
    LOW_MEDIUM = 1  # a single parameter scoring 3: urgent ward-based response
    MEDIUM = 2  # 5-6: key threshold for urgent response
    HIGH = 3  # 7 or more: emergency response


@dataclass(frozen=True)
class News2:
    total: int
    parts: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def risk(self) -> Risk:
        if self.total >= 7:
            return Risk.HIGH
        if self.total >= 5:
            return Risk.MEDIUM
        if any(v == 3 for v in self.parts.values()):
            return Risk.LOW_MEDIUM
        return Risk.LOW

    @property
    def complete(self) -> bool:
        return not self.missing


def half_up(v: float, places: int = 0) -> float:
    """Round as the RCP chart is read: to whole numbers (temperature: tenths), halves up (36.05 is 36.1,
    94.5 is 95), never to the even neighbour as :func:`round` does (which makes 94.5 into 94)."""
    if not math.isfinite(v):
        return v
    return float(Decimal(repr(v)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _rr(v: float) -> int:
    v = half_up(v)
    return 3 if v <= 8 else 1 if v <= 11 else 0 if v <= 20 else 2 if v <= 24 else 3


def _spo2_scale1(v: float) -> int:
    v = half_up(v)
    return 3 if v <= 91 else 2 if v <= 93 else 1 if v <= 95 else 0


def _spo2_scale2(v: float, on_oxygen: bool) -> int:
    v = half_up(v)
    if v <= 83:
        return 3
    if v <= 85:
        return 2
    if v <= 87:
        return 1
    if v <= 92 or not on_oxygen:
        return 0
    return 1 if v <= 94 else 2 if v <= 96 else 3


def _sys(v: float) -> int:
    v = half_up(v)
    return 3 if v <= 90 else 2 if v <= 100 else 1 if v <= 110 else 0 if v <= 219 else 3


def _pulse(v: float) -> int:
    v = half_up(v)
    return 3 if v <= 40 else 1 if v <= 50 else 0 if v <= 90 else 1 if v <= 110 else 2 if v <= 130 else 3


def _temp(v: float) -> int:
    v = half_up(v, 1)
    return 3 if v <= 35.0 else 1 if v <= 36.0 else 0 if v <= 38.0 else 1 if v <= 39.0 else 2


def news2_score(
    *,
    rr: float | None,
    spo2: float | None,
    sys: float | None,
    pulse: float | None,
    temp: float | None,
    consciousness: Consciousness = Consciousness.ALERT,
    on_oxygen: bool = False,
    spo2_scale2: bool = False,
) -> News2:
    """Score what is known; ``missing`` names what was not (the total is then a lower bound)."""
    parts: dict[str, int] = {}
    missing: list[str] = []
    for name, value, fn in (
        ("rr", rr, _rr),
        ("sys", sys, _sys),
        ("pulse", pulse, _pulse),
        ("temp", temp, _temp),
    ):
        if value is None:
            missing.append(name)
        else:
            parts[name] = fn(value)
    if spo2 is None:
        missing.append("spo2")
    else:
        parts["spo2"] = _spo2_scale2(spo2, on_oxygen) if spo2_scale2 else _spo2_scale1(spo2)
    parts["oxygen"] = 2 if on_oxygen else 0
    parts["consciousness"] = 0 if consciousness is Consciousness.ALERT else 3
    return News2(sum(parts.values()), parts, tuple(missing))
