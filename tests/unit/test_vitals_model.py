"""Ring buffers, the store, and the simulator's scenarios against their own truth."""

from __future__ import annotations

import numpy as np
import pytest

from core.vitals.buffer import RingBuffer, VitalsStore
from core.vitals.signals import ECG_LEADS, WAVES, Numeric, Wave
from core.vitals.simulator import Scenario, Simulator, leads_from_vcg, run_for


def test_ring_wraps_around_and_keeps_order_and_timestamps() -> None:
    ring = RingBuffer(fs=10.0, channels=2, capacity=25)
    for k in range(7):  # 70 samples through a 25-sample ring, in uneven chunks
        n = 10
        values = np.vstack([np.arange(k * n, (k + 1) * n), -np.arange(k * n, (k + 1) * n)])
        ring.write(values, t_first=100.0 + k)
    assert ring.total == 70
    chunk = ring.latest(25)
    assert chunk.start == 45
    np.testing.assert_array_equal(chunk.values[0], np.arange(45, 70))
    np.testing.assert_array_equal(chunk.values[1], -np.arange(45, 70))
    np.testing.assert_allclose(chunk.times, 100.0 + np.arange(45, 70) / 10.0)
    # asking for samples the ring no longer holds clamps to what it has
    old = ring.read(0, 50)
    assert old.start == 45
    np.testing.assert_array_equal(old.values[0], np.arange(45, 50))
    assert ring.newest_time() == pytest.approx(106.9)


def test_ring_continues_timestamps_and_marks_gaps_as_nan() -> None:
    ring = RingBuffer(fs=4.0, channels=1, capacity=16)
    ring.write(np.ones(4), t_first=10.0)
    ring.write(np.full(4, 2.0))  # no timestamp: continues at 4 Hz
    ring.write_gap(3)
    ring.write(np.full(2, 3.0))
    chunk = ring.latest(16)
    np.testing.assert_allclose(chunk.times, 10.0 + np.arange(13) / 4.0)
    assert np.isnan(chunk.values[0, 8:11]).all()
    assert ring.gap_samples == 3
    assert chunk.values[0, -1] == 3.0


def test_oversized_write_keeps_the_newest_samples() -> None:
    ring = RingBuffer(fs=1.0, channels=1, capacity=5)
    ring.write(np.arange(12.0), t_first=0.0)
    assert ring.total == 12
    np.testing.assert_array_equal(ring.latest(5).values[0], np.arange(7.0, 12.0))
    np.testing.assert_array_equal(ring.latest(5).times, np.arange(7.0, 12.0))


def test_ring_rejects_wrong_channel_count() -> None:
    ring = RingBuffer(fs=1.0, channels=3, capacity=5)
    with pytest.raises(ValueError, match="3 channels"):
        ring.write(np.zeros((2, 4)))


def test_store_numerics_have_their_own_timestamps_and_age() -> None:
    now = [1000.0]
    store = VitalsStore(seconds=10, clock=lambda: now[0])
    store.set_numeric(Numeric.SPO2, 97, t=995.0)
    assert store.numeric(Numeric.SPO2) == 97
    assert store.numeric_time(Numeric.SPO2) == 995.0
    assert store.numeric(Numeric.SPO2, max_age=2) is None
    # a feed of numerics only (HL7) has an age too; what the analysis derives does not make it younger
    assert store.newest_age() == pytest.approx(5.0)
    store.set_numeric(Numeric.NEWS2, 1, t=1000.0, derived=True)
    assert store.newest_age() == pytest.approx(5.0)
    assert store.numeric_age(Numeric.NEWS2) == 0.0
    store.rings[Wave.PLETH].write(np.zeros(125), t_first=998.0)
    assert store.newest_age() == pytest.approx(1000.0 - (998.0 + 124 / 125))
    # cleared (the patient left): nothing to read back, no age, positions go on
    total = store.rings[Wave.PLETH].total
    store.clear()
    assert store.newest_age() is None and store.numeric(Numeric.SPO2) is None
    assert store.rings[Wave.PLETH].total == total and store.rings[Wave.PLETH].newest_time() is None
    assert np.isnan(store.rings[Wave.PLETH].latest(125).values).all()


def test_leads_obey_einthoven_and_goldberger() -> None:
    rng = np.random.default_rng(1)
    leads = leads_from_vcg(rng.standard_normal((3, 50)))
    i, ii, iii, avr, avl, avf = (leads[ECG_LEADS.index(n)] for n in ("I", "II", "III", "aVR", "aVL", "aVF"))
    np.testing.assert_allclose(iii, ii - i)
    np.testing.assert_allclose(avr + avl + avf, 0, atol=1e-12)
    np.testing.assert_allclose(avf, (ii + iii) / 2)


@pytest.mark.parametrize(
    ("scenario", "hr"),
    [
        (Scenario.NORMAL, 72),
        (Scenario.SINUS_TACHYCARDIA, 128),
        (Scenario.ST_ELEVATION, 92),
        (Scenario.HYPOTENSION, 118),
        (Scenario.ATRIAL_FIBRILLATION, 112),
    ],
)
def test_scenario_heart_rate_truth(scenario: Scenario, hr: float) -> None:
    sim, _store = run_for(60, scenario)
    assert sim.truth_hr(0, 60) == pytest.approx(hr, rel=0.12)
    rr = np.diff(sim.beat_times)
    cv = rr.std() / rr.mean()
    assert (cv > 0.15) if scenario is Scenario.ATRIAL_FIBRILLATION else (cv < 0.05)


def test_waveforms_have_their_rates_and_shapes() -> None:
    _sim, store = run_for(20, Scenario.NORMAL)
    for wave, d in WAVES.items():
        assert store.rings[wave].total == int(20 * d.fs)
    ecg = store.rings[Wave.ECG].latest(5000).values
    lead_ii, v1, v5 = ecg[1], ecg[ECG_LEADS.index("V1")], ecg[ECG_LEADS.index("V5")]
    assert 0.6 < lead_ii.max() < 1.5  # upright R in II, about 1 mV
    assert v1.min() < -0.4 and v1.max() < 0.5  # rS in V1
    assert v5.max() > 0.8  # tall R in V5
    abp = store.rings[Wave.ABP].latest(1250).values[0]
    assert abp.max() == pytest.approx(120, abs=6) and abp.min() == pytest.approx(78, abs=8)
    co2 = store.rings[Wave.CO2].latest(625).values[0]
    assert co2.max() == pytest.approx(38, abs=2) and co2.min() < 1
    # breaths: CO2 crosses half the plateau once up per breath
    ups = np.count_nonzero((co2[1:] > 19) & (co2[:-1] <= 19))
    assert ups == pytest.approx(14 * 10 / 60, abs=1)


def test_pleth_has_a_dicrotic_notch() -> None:
    _sim, store = run_for(10, Scenario.NORMAL)
    pleth = store.rings[Wave.PLETH].latest(1250).values[0]
    smooth = np.convolve(pleth, np.ones(5) / 5, mode="same")
    d = np.diff(smooth)
    maxima = np.count_nonzero((d[:-1] > 0) & (d[1:] <= 0) & (smooth[1:-1] > 0.1))
    # two maxima per beat (systolic peak and diastolic wave) in 10 s at 72/min
    assert maxima >= 2 * 11


def test_st_elevation_is_anterior_with_reciprocal_change() -> None:
    def st_level(scenario: Scenario) -> np.ndarray:
        sim, store = run_for(10, scenario, seed=3)
        ring = store.rings[Wave.ECG]
        chunk = ring.latest(ring.total)
        beat = [b for b in sim.beat_times if 2 < b < 9]
        idx = [int((b + 0.08) * ring.fs) - chunk.start for b in beat]  # J point + 40 ms
        base = [int((b - 0.07) * ring.fs) - chunk.start for b in beat]  # PR segment
        return np.mean(chunk.values[:, idx] - chunk.values[:, base], axis=1)

    delta = st_level(Scenario.ST_ELEVATION) - st_level(Scenario.NORMAL)
    v2, v3, iii = (delta[ECG_LEADS.index(n)] for n in ("V2", "V3", "III"))
    assert v2 > 0.15 and v3 > 0.15
    assert iii < 0


def test_lead_off_and_asystole_and_apnoea_are_flat_where_they_should_be() -> None:
    _sim, store = run_for(10, Scenario.LEAD_OFF)
    assert store.technical()["ecg_lead_off"]
    assert np.ptp(store.rings[Wave.ECG].latest(2000).values) < 0.05
    sim, store = run_for(10, Scenario.ASYSTOLE)
    assert sim.beat_times == []
    assert np.ptp(store.rings[Wave.PLETH].latest(500).values) < 0.05
    _sim, store = run_for(30, Scenario.APNOEA)
    assert store.rings[Wave.CO2].latest(500).values.max() < 2
    assert store.numeric(Numeric.RR) == 0


def test_desaturation_falls_to_its_target() -> None:
    sim = Simulator(Scenario.DESATURATION)
    assert sim.spo2_at(0) == 97
    assert sim.spo2_at(22.5) == pytest.approx(89.5)
    assert sim.spo2_at(100) == 82


def test_simulator_is_deterministic_and_chunking_does_not_matter() -> None:
    a, b = Simulator(Scenario.NORMAL, seed=5), Simulator(Scenario.NORMAL, seed=5)
    whole = a.generate_until(4.0)[Wave.ABP][0]
    parts = np.hstack([b.generate_until(t)[Wave.ABP][0] for t in (0.5, 0.51, 1.7, 4.0)])
    assert whole.shape == parts.shape == (1, 500)
    np.testing.assert_allclose(whole, parts, atol=2.0)  # noise draws differ, the signal does not
