"""Beat detection: Pan-Tompkins QRS detection on the ECG and upstroke detection on the pleth (numpy only).

Pan & Tompkins (1985): band-pass 5-15 Hz, derivative, squaring, 150 ms moving-window integration, then
adaptive signal/noise thresholds with a 200 ms refractory period, T-wave discrimination and searchback
for missed beats. The filters here are windowed-sinc FIRs so any sample rate works.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=16)
def bandpass_taps(fs: float, low: float = 5.0, high: float = 15.0) -> np.ndarray:
    n = int(0.25 * fs) | 1
    m = np.arange(n) - (n - 1) / 2
    h = 2 * high / fs * np.sinc(2 * high / fs * m) - 2 * low / fs * np.sinc(2 * low / fs * m)
    taps: np.ndarray = h * np.hamming(n)
    return taps


def _local_maxima(x: np.ndarray, min_distance: int) -> np.ndarray:
    """Indices of local maxima, keeping the largest when two are closer than ``min_distance``."""
    if x.size < 3:
        return np.empty(0, dtype=int)
    cand = np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1
    if cand.size == 0:
        return cand
    order = cand[np.argsort(x[cand])[::-1]]
    taken = np.zeros(x.size, dtype=bool)
    keep: list[int] = []
    for i in order:
        lo, hi = max(0, i - min_distance), min(x.size, i + min_distance + 1)
        if not taken[lo:hi].any():
            keep.append(int(i))
            taken[i] = True
    return np.sort(np.array(keep, dtype=int))


def detect_qrs(ecg: np.ndarray, fs: float, min_mv: float = 0.08) -> np.ndarray:
    """Sample indices of the R waves (the QRS's largest deflection) in one ECG lead.

    Deflections under ``min_mv`` after band-pass filtering are noise, not beats: without that floor the
    adaptive thresholds would learn the noise of a flat line (asystole) and call it a rhythm.
    """
    x = np.nan_to_num(np.asarray(ecg, dtype=np.float64) - np.nanmedian(ecg)) if np.size(ecg) else np.zeros(0)
    if x.size < int(fs):
        return np.empty(0, dtype=int)
    band = np.convolve(x, bandpass_taps(fs), mode="same")
    slope = np.gradient(band) * fs
    energy = slope * slope
    width = max(1, int(0.15 * fs))
    mwi = np.convolve(energy, np.ones(width) / width, mode="same")
    peaks = _local_maxima(mwi, int(0.2 * fs))
    if peaks.size == 0:
        return peaks
    learn = mwi[: int(2 * fs)]
    spki = 0.25 * float(learn.max())
    npki = 0.5 * float(learn.mean())
    threshold = npki + 0.25 * (spki - npki)
    if spki <= 1e-12:
        return np.empty(0, dtype=int)
    qrs: list[int] = []
    noise: list[int] = []
    rr: list[int] = []
    refractory, t_window = int(0.2 * fs), int(0.36 * fs)
    max_slope: dict[int, float] = {}

    def slope_at(i: int) -> float:
        if i not in max_slope:
            lo, hi = max(0, i - width), min(slope.size, i + 1)
            max_slope[i] = float(np.abs(slope[lo:hi]).max()) if hi > lo else 0.0
        return max_slope[i]

    for p in peaks:
        value = float(mwi[p])
        if qrs and p - qrs[-1] < refractory:
            continue
        is_qrs = value > threshold
        if is_qrs and qrs and p - qrs[-1] < t_window and slope_at(p) < 0.5 * slope_at(qrs[-1]):
            is_qrs = False  # a T wave: half the slope of the QRS before it
        if is_qrs:
            if qrs:
                rr.append(p - qrs[-1])
            qrs.append(int(p))
            spki = 0.125 * value + 0.875 * spki
        else:
            noise.append(int(p))
            npki = 0.125 * value + 0.875 * npki
        threshold = npki + 0.25 * (spki - npki)
        # searchback: no beat for 166 % of the mean RR, take the best peak above half the threshold
        if len(rr) >= 2 and qrs:
            mean_rr = float(np.mean(rr[-8:]))
            if p - qrs[-1] > 1.66 * mean_rr:
                between = [n for n in noise if qrs[-1] + refractory < n < p and mwi[n] > threshold / 2]
                if between:
                    best = max(between, key=lambda n: mwi[n])
                    rr.append(best - qrs[-1])
                    qrs.append(best)
                    qrs.sort()
                    spki = 0.25 * float(mwi[best]) + 0.75 * spki
    # the MWI peak sits in the QRS; the R wave is the largest band-passed deflection near it
    half = int(0.08 * fs)
    refined = []
    for p in qrs:
        lo, hi = max(0, p - half), min(x.size, p + half)
        r = lo + int(np.argmax(np.abs(band[lo:hi])))
        if abs(band[r]) >= min_mv:
            refined.append(r)
    return np.unique(np.array(refined, dtype=int))


def detect_pulses(pleth: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of each pulse's steepest upstroke (ignores the dicrotic wave's gentler slope)."""
    x = np.nan_to_num(np.asarray(pleth, dtype=np.float64))
    if x.size < int(fs):
        return np.empty(0, dtype=int)
    width = max(1, int(0.04 * fs))
    smooth = np.convolve(x, np.ones(width) / width, mode="same")
    slope = np.gradient(smooth) * fs
    peaks = _local_maxima(slope, int(0.25 * fs))
    if peaks.size == 0:
        return peaks
    top = float(np.percentile(slope[peaks], 90))
    if top <= 1e-6 or (np.percentile(x, 95) - np.percentile(x, 5)) < 0.05:
        return np.empty(0, dtype=int)  # no pulsatile signal
    return peaks[slope[peaks] > 0.45 * top]


def rate_from_beats(beats: np.ndarray, fs: float, last: int = 8) -> float | None:
    """Beats per minute from the mean of the last ``last`` beat-to-beat intervals."""
    if beats.size < 2:
        return None
    intervals = np.diff(beats[-(last + 1) :]) / fs
    return float(60.0 / intervals.mean())


def irregularity(beats: np.ndarray, fs: float) -> float:
    """Coefficient of variation of successive RR differences (about 0.02 in sinus rhythm, over 0.1 in AF)."""
    if beats.size < 6:
        return 0.0
    rr = np.diff(beats) / fs
    return float(np.mean(np.abs(np.diff(rr))) / rr.mean())
