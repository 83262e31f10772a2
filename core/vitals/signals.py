"""What the monitor measures: waveform groups and numerics, with sample rates and units."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ECG_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


class Wave(StrEnum):
    """A waveform group: one sample rate, one or more channels written together."""

    ECG = "ecg"
    PLETH = "pleth"
    RESP = "resp"
    ABP = "abp"
    CO2 = "co2"


@dataclass(frozen=True)
class WaveDef:
    wave: Wave
    fs: float
    units: str
    channels: tuple[str, ...]
    # int16 quantum used by the stream protocol: ECG at 1 uV, pressures at 0.01 mmHg.
    quantum: float


WAVES: dict[Wave, WaveDef] = {
    Wave.ECG: WaveDef(Wave.ECG, 500.0, "mV", ECG_LEADS, 0.001),
    Wave.PLETH: WaveDef(Wave.PLETH, 125.0, "a.u.", ("Pleth",), 0.0001),
    Wave.RESP: WaveDef(Wave.RESP, 62.5, "Ohm", ("Resp",), 0.0001),
    Wave.ABP: WaveDef(Wave.ABP, 125.0, "mmHg", ("ABP",), 0.01),
    Wave.CO2: WaveDef(Wave.CO2, 62.5, "mmHg", ("CO2",), 0.01),
}


class Numeric(StrEnum):
    HR = "hr"
    PULSE = "pulse"
    SPO2 = "spo2"
    NIBP_SYS = "nibp_sys"
    NIBP_DIA = "nibp_dia"
    NIBP_MEAN = "nibp_mean"
    ABP_SYS = "abp_sys"
    ABP_DIA = "abp_dia"
    ABP_MEAN = "abp_mean"
    RR = "rr"
    TEMP = "temp"
    ETCO2 = "etco2"
    NEWS2 = "news2"


NUMERIC_UNITS: dict[Numeric, str] = {
    Numeric.HR: "/min",
    Numeric.PULSE: "/min",
    Numeric.SPO2: "%",
    Numeric.NIBP_SYS: "mmHg",
    Numeric.NIBP_DIA: "mmHg",
    Numeric.NIBP_MEAN: "mmHg",
    Numeric.ABP_SYS: "mmHg",
    Numeric.ABP_DIA: "mmHg",
    Numeric.ABP_MEAN: "mmHg",
    Numeric.RR: "/min",
    Numeric.TEMP: "°C",
    Numeric.ETCO2: "mmHg",
    Numeric.NEWS2: "",
}
