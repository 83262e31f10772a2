"""12-lead ECG measurements from waveform arrays (numpy only, no Qt).

Pipeline: zero-phase band-pass (0.5-40 Hz) per lead; R peaks from the summed squared slope of all leads;
a median beat per lead aligned on the R peaks; fiducial points on the median beats from the spatial
amplitude (root sum of squares over leads, relative to the flattest point of the PR segment): a wave
starts or ends where that amplitude falls to a fixed fraction of the wave's own peak (13.5 %, the
+-2 sigma point of a Gaussian wave, 5 % for the QRS), the J point where the spatial slope settles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from plugins.api import ReportFigure, ReportSection, translate

LEADS_12: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
CONTIGUOUS = {
    "inferior": ("II", "III", "aVF"),
    "lateral": ("I", "aVL", "V5", "V6"),
    "anterior": ("V1", "V2", "V3", "V4"),
}
BRADY_BPM = 60.0
TACHY_BPM = 100.0
AF_IRREGULARITY = 0.10  # RMSSD / mean RR
QTC_LONG_S = 0.47
MIN_QRS_MV = 0.15
MIN_P_MV = 0.08


def qtc_bazett(qt_s: float, rr_s: float) -> float:
    return qt_s / np.sqrt(rr_s)


def qtc_fridericia(qt_s: float, rr_s: float) -> float:
    return qt_s / np.cbrt(rr_s)


def qtc_framingham(qt_s: float, rr_s: float) -> float:
    return qt_s + 0.154 * (1.0 - rr_s)


@dataclass(frozen=True)
class EcgMeasurements:
    hr_bpm: float
    rr_s: float
    beats: int
    irregularity: float  # RMSSD / mean RR
    pr_s: float | None  # None: no P wave found (e.g. atrial fibrillation)
    qrs_s: float | None
    qt_s: float | None
    qtc_s: Mapping[str, float] = field(default_factory=dict)  # bazett, fridericia, framingham
    axis_deg: float | None = None
    st_mv: Mapping[str, float] = field(default_factory=dict)  # per lead, at J + 60 ms
    flags: tuple[str, ...] = ()  # af, brady, tachy, st_elevation, long_qtc

    def numerics(self) -> dict[str, float]:
        out = {"ecg_hr": round(self.hr_bpm, 1)}
        for key, value in (("pr_ms", self.pr_s), ("qrs_ms", self.qrs_s), ("qt_ms", self.qt_s)):
            if value is not None:
                out[key] = round(value * 1000)
        for name, value in self.qtc_s.items():
            out[f"qtc_{name}_ms"] = round(value * 1000)
        if self.axis_deg is not None:
            out["axis_deg"] = round(self.axis_deg)
        return out


def _filter(x: np.ndarray, fs: float, low: float, high: float) -> np.ndarray:
    """Zero-phase FFT band-pass with cosine edges (1 Hz wide at the low end) over the last axis."""
    n = x.shape[-1]
    f = np.fft.rfftfreq(n, 1.0 / fs)
    gain = np.ones_like(f)
    if low > 0:
        edge = np.clip((f - (low - 0.25)) / 0.5, 0.0, 1.0)
        gain *= 0.5 - 0.5 * np.cos(np.pi * edge)
    if high > 0:
        width = max(2.0, 0.1 * high)
        edge = np.clip((high + width / 2 - f) / width, 0.0, 1.0)
        gain *= 0.5 - 0.5 * np.cos(np.pi * edge)
    padded = np.concatenate([x[..., ::-1], x, x[..., ::-1]], axis=-1)  # reflect: no wrap-around steps
    fp = np.fft.rfftfreq(padded.shape[-1], 1.0 / fs)
    gp = np.interp(fp, f, gain)
    out: np.ndarray = np.fft.irfft(np.fft.rfft(padded, axis=-1) * gp, n=padded.shape[-1], axis=-1)
    return out[..., n : 2 * n]


def _fill_gaps(x: np.ndarray) -> np.ndarray | None:
    """NaN runs filled linearly per channel; None when more than a fifth is missing."""
    bad = ~np.isfinite(x)
    if bad.mean() > 0.2:
        return None
    out = x.copy()
    idx = np.arange(x.shape[-1])
    for row, mask in zip(out, bad, strict=True):
        if mask.any():
            row[mask] = np.interp(idx[mask], idx[~mask], row[~mask])
    return out


def detect_r_peaks(leads: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of R peaks in (channels, n) ECG (already band-limited or raw)."""
    x = _filter(leads, fs, 5.0, 25.0)
    energy = (np.diff(x, axis=-1, prepend=x[..., :1]) ** 2).sum(axis=0)
    win = max(1, int(0.08 * fs))
    energy = np.convolve(energy, np.ones(win) / win, mode="same")
    threshold = 0.25 * np.percentile(energy, 99.0)
    refractory = int(0.25 * fs)
    mid = energy[1:-1]
    cand = np.flatnonzero((mid > energy[:-2]) & (mid >= energy[2:]) & (mid > threshold)) + 1
    order = cand[np.argsort(energy[cand])[::-1]]
    taken: list[int] = []
    for i in order:
        if all(abs(int(i) - t) > refractory for t in taken):
            taken.append(int(i))
    peaks = np.sort(np.array(taken, dtype=int))
    # refine onto the largest spatial deflection within +-50 ms
    hp = _filter(leads, fs, 0.5, 40.0)
    magnitude = np.sqrt((hp**2).sum(axis=0))
    half = int(0.05 * fs)
    refined = [
        lo + int(np.argmax(magnitude[lo : min(len(magnitude), p + half + 1)]))
        for p in peaks
        if (lo := max(0, p - half)) < len(magnitude)
    ]
    # asystole, lead-off and flat lines: noise peaks are not beats
    beats = [i for i in refined if magnitude[i] >= MIN_QRS_MV]
    return np.unique(np.array(beats, dtype=int))


def _walk(values: np.ndarray, start: int, step: int, below: float, hold: int, stop: int) -> int:
    """First index from ``start`` (moving by ``step``) where ``values`` stays below ``below`` for ``hold``."""
    i = start
    run = 0
    while (step < 0 and i > stop) or (step > 0 and i < stop):
        run = run + 1 if values[i] < below else 0
        if run >= hold:
            return i - step * (hold - 1)
        i += step
    return stop


def _walk_to(values: np.ndarray, start: int, step: int, below: float, hold: int, stop: int) -> int:
    """Like :func:`_walk`, but also stops in a valley (where the values start rising again)."""
    i = start
    while (step < 0 and i + step > stop) or (step > 0 and i + step < stop):
        if values[i] < below or (values[i + step] > values[i] + 1e-9 and values[i] < 0.5 * values[start]):
            return i
        i += step
    return stop


def measure_ecg(leads: np.ndarray, fs: float, names: Sequence[str] = LEADS_12) -> EcgMeasurements | None:
    """Measure (channels, n) ECG in mV sampled at ``fs``. None when there is too little to measure."""
    names = list(names)
    present = [i for i in range(leads.shape[0]) if np.isfinite(leads[i]).mean() > 0.8]
    if not present or leads.shape[1] < 4 * fs:
        return None
    filled = _fill_gaps(leads[present])
    if filled is None:
        return None
    names = [names[i] for i in present]
    x = _filter(filled, fs, 0.5, 40.0)
    peaks = detect_r_peaks(filled, fs)
    if peaks.size < 3:
        return None
    rr = np.diff(peaks) / fs
    mean_rr = float(np.mean(rr))
    hr = 60.0 / mean_rr
    irregularity = float(np.sqrt(np.mean(np.diff(rr) ** 2)) / mean_rr) if rr.size >= 2 else 0.0

    med_rr = float(np.median(rr))
    pre = int(min(0.30, 0.55 * med_rr) * fs)
    post = int(min(0.60, med_rr - 0.04) * fs)
    keep = [p for p in peaks if p - pre >= 0 and p + post < x.shape[1]]
    if len(keep) < 2:
        return None
    beats = np.stack([x[:, p - pre : p + post] for p in keep])
    median = np.median(beats, axis=0)  # (leads, samples)
    r0 = pre
    ms = fs / 1000.0

    slope = np.sqrt((np.gradient(median, axis=1) ** 2).sum(axis=0)) * fs  # mV/s
    smooth = np.convolve(slope, np.ones(max(1, int(10 * ms))) / max(1, int(10 * ms)), mode="same")
    lo, hi = max(0, r0 - int(120 * ms)), max(1, r0 - int(30 * ms))
    flat = lo + int(np.argmin(smooth[lo:hi]))
    half = max(1, int(5 * ms))
    base = median[:, max(0, flat - half) : flat + half + 1].mean(axis=1, keepdims=True)
    amp = np.sqrt(((median - base) ** 2).sum(axis=0))

    w = int(60 * ms)
    qrs_peak = r0 - w + int(np.argmax(amp[r0 - w : r0 + w]))
    a_qrs = float(amp[qrs_peak])
    hold = max(1, int(8 * ms))
    onset = _walk(amp, qrs_peak, -1, 0.05 * a_qrs, hold, 0)
    steep = r0 + int(np.argmax(slope[r0 : r0 + w]))
    offset_amp = _walk(amp, qrs_peak, 1, 0.05 * a_qrs, hold, amp.size - 1)
    offset_slope = _walk(smooth, steep, 1, 0.06 * float(slope.max()), hold, amp.size - 1)
    offset = min(offset_amp, offset_slope)
    qrs_s = (offset - onset) / fs

    pr_s: float | None = None
    p_lo, p_hi = max(0, onset - int(300 * ms)), onset - int(40 * ms)
    if p_hi - p_lo > int(40 * ms):
        seg = amp[p_lo:p_hi]
        local = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])) + 1
        if local.size:
            p_peak = p_lo + int(local[np.argmax(seg[local])])
            a_p = float(amp[p_peak])
            valley = float(amp[p_lo : p_peak + 1].min())
            # a P wave: a clear, separate hump, not fibrillatory residue or the previous T wave's tail,
            # and the same in every beat (in AF the median of smeared T waves can look like one)
            w_p = slice(max(0, p_peak - int(20 * ms)), p_peak + int(20 * ms))
            spread = float(np.sqrt(((beats[:, :, w_p] - median[np.newaxis, :, w_p]) ** 2).sum(axis=1)).mean())
            if a_p >= max(MIN_P_MV, 0.06 * a_qrs) and valley < 0.5 * a_p and spread < 0.5 * a_p:
                p_onset = _walk_to(amp, p_peak, -1, 0.135 * a_p, hold, p_lo)
                pr_s = (onset - p_onset) / fs

    qt_s: float | None = None
    t_lo = offset + int(60 * ms)
    if t_lo < amp.size - int(20 * ms):
        t_peak = t_lo + int(np.argmax(amp[t_lo:]))
        a_t = float(amp[t_peak])
        t_end = _walk(amp, t_peak, 1, 0.135 * a_t, hold, amp.size - 1)
        if t_end < amp.size - 1:
            qt_s = (t_end - onset) / fs

    j60 = min(offset + int(60 * ms), amp.size - 1)
    st = {n: float(median[i, j60] - base[i, 0]) for i, n in enumerate(names)}

    def net_area(lead: str) -> float | None:
        if lead not in names:
            return None
        i = names.index(lead)
        return float((median[i, onset : offset + 1] - base[i, 0]).sum() / fs)

    lead_i, lead_avf, lead_ii = net_area("I"), net_area("aVF"), net_area("II")
    if lead_avf is None and lead_i is not None and lead_ii is not None:
        lead_avf = lead_ii - lead_i / 2
    axis = None
    if lead_i is not None and lead_avf is not None:
        axis = float(np.degrees(np.arctan2(lead_avf, lead_i)))

    qtc = (
        {
            "bazett": qtc_bazett(qt_s, med_rr),
            "fridericia": qtc_fridericia(qt_s, med_rr),
            "framingham": qtc_framingham(qt_s, med_rr),
        }
        if qt_s is not None
        else {}
    )
    flags: list[str] = []
    if irregularity > AF_IRREGULARITY and pr_s is None and peaks.size >= 6:
        flags.append("af")
    if hr < BRADY_BPM:
        flags.append("brady")
    if hr > TACHY_BPM:
        flags.append("tachy")
    if st_elevation(st):
        flags.append("st_elevation")
    if qtc and qtc["bazett"] > QTC_LONG_S and "af" not in flags:  # QTc is unreliable in AF
        flags.append("long_qtc")
    return EcgMeasurements(
        hr_bpm=hr,
        rr_s=med_rr,
        beats=int(peaks.size),
        irregularity=irregularity,
        pr_s=pr_s,
        qrs_s=qrs_s,
        qt_s=qt_s,
        qtc_s=qtc,
        axis_deg=axis,
        st_mv=st,
        flags=tuple(flags),
    )


def st_elevation(st: Mapping[str, float]) -> list[str]:
    """Territories with ST elevation in two contiguous leads (>= 0.1 mV; >= 0.2 mV in V2-V3)."""
    found = []
    for territory, group in CONTIGUOUS.items():
        high = [lead for lead in group if st.get(lead, 0.0) >= (0.2 if lead in ("V2", "V3") else 0.1)]
        if len(high) >= 2:
            found.append(territory)
    return found


def report_text(m: EcgMeasurements | None) -> str | None:
    """The consult-note section (English, clinical shorthand; the note is the record)."""
    if m is None:
        return None

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1000:.0f} ms"

    lines = [
        f"Rate {m.hr_bpm:.0f}/min ({m.beats} beats), RR {m.rr_s * 1000:.0f} ms",
        f"PR {ms(m.pr_s)}, QRS {ms(m.qrs_s)}, QT {ms(m.qt_s)}",
    ]
    if m.qtc_s:
        lines.append(
            "QTc Bazett {} / Fridericia {} / Framingham {}".format(
                ms(m.qtc_s["bazett"]), ms(m.qtc_s["fridericia"]), ms(m.qtc_s["framingham"])
            )
        )
    if m.axis_deg is not None:
        lines.append(f"Frontal QRS axis {m.axis_deg:+.0f} deg")
    st = ", ".join(f"{lead} {v:+.2f}" for lead, v in m.st_mv.items())
    lines.append(f"ST at J+60 ms (mV): {st}")
    names = {
        "af": "irregularly irregular rhythm without P waves: atrial fibrillation?",
        "brady": "bradycardia",
        "tachy": "tachycardia",
        "st_elevation": "ST elevation in " + ", ".join(st_elevation(m.st_mv)) + " leads",
        "long_qtc": "long QTc",
    }
    lines.append("Flags: " + ("; ".join(names[f] for f in m.flags) if m.flags else "none"))
    return "\n".join(lines)


LOINC = "http://loinc.org"
TEMPLATE_ID = "cardiology.ecg"


def rhythm_text(m: EcgMeasurements) -> str:
    """The rhythm as the analyser flags it (translated); it names no rhythm it does not flag."""
    names = {
        "af": translate("Cardiology", "Irregular rhythm without P waves: atrial fibrillation?"),
        "brady": translate("Cardiology", "Bradycardia"),
        "tachy": translate("Cardiology", "Tachycardia"),
    }
    flagged = [names[f] for f in m.flags if f in names]
    return "; ".join(flagged) if flagged else translate("Cardiology", "No rhythm flags")


def report_section(m: EcgMeasurements | None) -> ReportSection | None:
    """The report's "ECG measurements" section from the newest measurement (translated); None without one.

    Rows: rate, rhythm, PR, QRS, QT, the three QTc, the frontal axis and ST elevation; figures: every value
    the analyser measured (intervals in ms, rate in /min, axis in deg), with its LOINC code.
    """
    if m is None:
        return None
    not_measured = translate("Cardiology", "not measured")
    median = translate("Cardiology", "12-lead median beat")

    def ms(v: float | None) -> str:
        return not_measured if v is None else f"{v * 1000:.0f} ms"

    rows: list[tuple[str, str]] = []
    figures: list[ReportFigure] = []

    def interval(label: str, value: float | None, code: str, display: str, method: str) -> None:
        rows.append((label, ms(value)))
        if value is not None:
            figures.append(ReportFigure(label, round(value * 1000), "ms", method, LOINC, code, display))

    hr = translate("Cardiology", "Heart rate")
    rows.append((hr, f"{m.hr_bpm:.0f} /min"))
    figures.append(ReportFigure(hr, round(m.hr_bpm, 1), "/min", median, LOINC, "8867-4", "Heart rate"))
    rows.append((translate("Cardiology", "Rhythm"), rhythm_text(m)))
    interval(translate("Cardiology", "PR"), m.pr_s, "8625-6", "P-R Interval", median)
    interval(translate("Cardiology", "QRS"), m.qrs_s, "8633-0", "QRS duration", median)
    interval(translate("Cardiology", "QT"), m.qt_s, "8634-8", "Q-T interval", median)
    qtc = "Q-T interval corrected"
    interval(translate("Cardiology", "QTc Bazett"), m.qtc_s.get("bazett"), "8636-3", qtc, "Bazett")
    interval(
        translate("Cardiology", "QTc Fridericia"), m.qtc_s.get("fridericia"), "8636-3", qtc, "Fridericia"
    )
    interval(
        translate("Cardiology", "QTc Framingham"), m.qtc_s.get("framingham"), "8636-3", qtc, "Framingham"
    )
    axis = translate("Cardiology", "Frontal axis")
    if m.axis_deg is None:
        rows.append((axis, not_measured))
    else:
        rows.append((axis, f"{m.axis_deg:+.0f}°"))
        figures.append(ReportFigure(axis, round(m.axis_deg), "deg", median, LOINC, "8632-2", "QRS axis"))
    territories = {
        "inferior": translate("Cardiology", "inferior"),
        "lateral": translate("Cardiology", "lateral"),
        "anterior": translate("Cardiology", "anterior"),
    }
    elevated = [territories.get(t, t) for t in st_elevation(m.st_mv)]
    rows.append(
        (
            translate("Cardiology", "ST elevation"),
            ", ".join(elevated) if elevated else translate("Cardiology", "none"),
        )
    )
    note = translate("Cardiology", "Measured on the median of %1 beats; ST at J+60 ms.").replace(
        "%1", str(m.beats)
    )
    return ReportSection(
        TEMPLATE_ID,
        translate("Cardiology", "ECG measurements"),
        (translate("Cardiology", "Measurement"), translate("Cardiology", "Value")),
        tuple(rows),
        tuple(figures),
        note,
    )
