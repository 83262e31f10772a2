"""The specialty plugins' computations against known values (no Qt)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.vitals import simulator as sim_module
from core.vitals.replay import load_wfdb
from core.vitals.signals import ECG_LEADS, Wave
from core.vitals.simulator import Scenario, Simulator, leads_from_vcg, run_for
from plugins.api import VitalsFrame, WaveData
from plugins.cardiology import analyse_frame
from plugins.cardiology.logic import (
    EcgMeasurements,
    measure_ecg,
    qtc_bazett,
    qtc_framingham,
    qtc_fridericia,
    report_text,
)
from plugins.oncology.logic import Assessment, Lesion, Response, Timepoint, assess, check_targets
from plugins.oncology.logic import report_text as recist_report
from plugins.stroke import CT_BRAIN_WINDOW
from plugins.stroke.logic import (
    MAX_TOTAL,
    NIHSS_ITEMS,
    UNTESTABLE,
    DoorToNeedle,
    NihssError,
    NihssExam,
    severity,
)
from plugins.ultrasound.logic import FastExam, Finding

RECORD = Path(__file__).parents[1] / "data" / "vitals" / "af_noisy"


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# cardiology ------------------------------------------------------------------------------------------


def test_qtc_formulas_known_values() -> None:
    # QT 400 ms at 80/min (RR 750 ms)
    assert qtc_bazett(0.400, 0.75) * 1000 == pytest.approx(461.9, abs=0.1)
    assert qtc_fridericia(0.400, 0.75) * 1000 == pytest.approx(440.3, abs=0.1)
    assert qtc_framingham(0.400, 0.75) * 1000 == pytest.approx(438.5, abs=0.1)
    # at 60/min every correction is the identity
    for formula in (qtc_bazett, qtc_fridericia, qtc_framingham):
        assert formula(0.42, 1.0) == pytest.approx(0.42)


def measured(
    scenario: Scenario, seconds: float = 12.0, seed: int = 3, **override: float
) -> tuple[Simulator, EcgMeasurements | None]:
    if override:
        sim = Simulator(scenario, seed, t0=0.0)
        sim.set_scenario(scenario, **override)
        ecg = np.hstack([sim.generate_until(t)[Wave.ECG][0] for t in np.arange(0.5, seconds + 0.01, 0.5)])
    else:
        sim, store = run_for(seconds, scenario, seed=seed, t0=1000.0)
        ecg = store.rings[Wave.ECG].latest(10 * 500).values
    return sim, measure_ecg(ecg[:, -5000:], 500.0, ECG_LEADS)


def simulator_truth(rr: float) -> dict[str, float]:
    """Intervals and axis of the simulator's beat model, each wave taken to +-2 sigma of its Gaussian."""
    p_off, p_sigma, _ = sim_module._P
    septal, _main, terminal = sim_module._QRS
    qrs_on = septal[0] - 2 * septal[1]
    qrs_off = terminal[0] + 2 * terminal[1]
    t_end = max(off + 2 * sigma for off, sigma, _ in sim_module._T) * np.sqrt(rr)
    area = sum(np.array(vec) * sigma for _, sigma, vec in sim_module._QRS)
    leads = leads_from_vcg(np.asarray(area)[:, None])[:, 0]
    lead_i, lead_avf = leads[ECG_LEADS.index("I")], leads[ECG_LEADS.index("aVF")]
    qt = t_end - qrs_on
    return {
        "pr": qrs_on - (p_off - 2 * p_sigma),
        "qrs": qrs_off - qrs_on,
        "qt": qt,
        "qtc_bazett": qt / np.sqrt(rr),
        "axis": float(np.degrees(np.arctan2(lead_avf, lead_i))),
    }


def test_12_lead_measurements_match_the_simulator_truth() -> None:
    sim, m = measured(Scenario.NORMAL)
    assert m is not None
    truth_hr = sim.truth_hr(2.0, 12.0)
    assert m.hr_bpm == pytest.approx(truth_hr, abs=1.0)
    truth = simulator_truth(60.0 / truth_hr)
    assert m.pr_s == pytest.approx(truth["pr"], abs=0.020)
    assert m.qrs_s == pytest.approx(truth["qrs"], abs=0.015)
    assert m.qt_s == pytest.approx(truth["qt"], abs=0.020)
    assert m.qtc_s["bazett"] == pytest.approx(truth["qtc_bazett"], abs=0.025)
    assert m.axis_deg == pytest.approx(truth["axis"], abs=8.0)
    assert max(abs(v) for v in m.st_mv.values()) < 0.05
    assert m.flags == ()
    # the simulator stretches QT with sqrt(RR): Bazett's QTc barely moves with rate, QT does
    _, fast = measured(Scenario.SINUS_TACHYCARDIA)
    assert fast is not None and fast.qt_s is not None and m.qt_s is not None
    assert m.qt_s - fast.qt_s > 0.05
    assert fast.qtc_s["bazett"] == pytest.approx(m.qtc_s["bazett"], abs=0.03)


def test_rhythm_and_st_flags() -> None:
    _, tachy = measured(Scenario.SINUS_TACHYCARDIA)
    assert tachy is not None and "tachy" in tachy.flags and "af" not in tachy.flags
    _, af = measured(Scenario.ATRIAL_FIBRILLATION)
    assert af is not None and "af" in af.flags and af.pr_s is None and af.irregularity > 0.2
    _, brady = measured(Scenario.NORMAL, hr=44.0)
    assert brady is not None and "brady" in brady.flags and brady.hr_bpm == pytest.approx(44, abs=2)
    _, stemi = measured(Scenario.ST_ELEVATION)
    assert stemi is not None and "st_elevation" in stemi.flags
    assert stemi.st_mv["V2"] >= 0.2 and stemi.st_mv["V3"] >= 0.2
    text = report_text(stemi)
    assert text is not None and "ST elevation in anterior leads" in text and "QTc Bazett" in text
    _, flat = measured(Scenario.ASYSTOLE)
    assert flat is None


def test_recorded_ecg_beats_rate_and_rhythm_against_its_annotations() -> None:
    # wfdb ships no sample records; this WFDB record (2 leads, 250 Hz, beat annotations) is in the repo
    rec = load_wfdb(RECORD)
    assert rec.annotations_s is not None
    ecg = rec.waves[Wave.ECG]  # resampled to 500 Hz; leads the record lacks are NaN
    m = measure_ecg(ecg, 500.0, ECG_LEADS)
    assert m is not None
    truth = rec.annotations_s
    assert m.beats == pytest.approx(len(truth), abs=1)
    assert m.hr_bpm == pytest.approx(60.0 / float(np.mean(np.diff(truth))), rel=0.03)
    assert "af" in m.flags
    assert m.axis_deg is None and set(m.st_mv) == {"II", "V1"}  # two leads: no frontal axis


def test_cardiology_analyser_through_the_api() -> None:
    _, store = run_for(12, Scenario.ST_ELEVATION, seed=2, t0=1000.0)
    ring = store.rings[Wave.ECG].latest(5000)
    frame = VitalsFrame({"ecg": WaveData(500.0, ECG_LEADS, ring.values, "mV")}, {}, 1012.0)
    result = analyse_frame(frame)
    assert result.numerics["ecg_hr"] == pytest.approx(92, abs=2)
    expected = {"pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "axis_deg"}
    assert expected <= set(result.numerics)
    assert [a.alarm_id for a in result.alarms] == ["cardiology.st_elevation"]
    assert analyse_frame(VitalsFrame({}, {}, 0.0)).detail is None


# oncology -----------------------------------------------------------------------------------------


def two(lesions: list[tuple[str, str, bool, float, float]], **follow: bool) -> Assessment:
    targets = [Lesion(i, organ, node, (a, b)) for i, organ, node, a, b in lesions]
    return assess(targets, [Timepoint("base"), Timepoint("follow", **follow)])[-1]


def test_recist_categories_known_values() -> None:
    # PR: exactly -30 %
    pr = two([("T1", "liver", False, 60, 40), ("T2", "lung", False, 40, 30)])
    assert (pr.sum_mm, pr.response, round(pr.change_from_baseline, 2)) == (70, Response.PR, -0.30)
    # just short of -30 %: SD
    assert two([("T1", "liver", False, 60, 41), ("T2", "lung", False, 40, 30)]).response is Response.SD
    # PD: +20 % and +5 mm over the nadir (here baseline)
    pd = two([("T1", "liver", False, 30, 36)])
    assert pd.response is Response.PD and pd.change_from_nadir == pytest.approx(0.20)
    # +30 % but only 3 mm: the 5 mm absolute rule keeps it SD
    small = two([("T1", "lung", False, 10, 13)])
    assert small.response is Response.SD and "< 5 mm" in small.reasons[0]
    # CR: non-nodal targets gone, node below 10 mm short axis (the sum need not be zero)
    cr = two([("T1", "liver", False, 25, 0), ("N1", "mediastinum", True, 18, 8)])
    assert cr.response is Response.CR and cr.sum_mm == 8
    # a node still 10 mm is not normal: PR, not CR
    assert two([("T1", "liver", False, 25, 0), ("N1", "mediastinum", True, 18, 10)]).response is Response.PR
    # new lesion or unequivocal non-target progression: PD whatever the sum
    assert two([("T1", "liver", False, 50, 20)], new_lesions=True).response is Response.PD
    assert two([("T1", "liver", False, 50, 20)], non_target_progression=True).response is Response.PD


def test_recist_nadir_is_the_smallest_previous_sum() -> None:
    lesions = [Lesion("T1", "liver", False, (50, 30, 36)), Lesion("T2", "lung", False, (20, 10, 10))]
    tps = [Timepoint("base"), Timepoint("fu1"), Timepoint("fu2")]
    base, fu1, fu2 = assess(lesions, tps)
    assert (base.sum_mm, fu1.sum_mm, fu2.sum_mm) == (70, 40, 46)
    assert fu1.response is Response.PR
    # 46 vs nadir 40: +15 %: not PD, and still 34 % below baseline: PR
    assert fu2.nadir_mm == 40 and fu2.response is Response.PR
    lesions[0] = Lesion("T1", "liver", False, (50, 30, 38))
    assert assess(lesions, tps)[-1].response is Response.PD  # 48 vs 40: +20 % and +8 mm
    text = recist_report(lesions, tps)
    assert text is not None and "PD" in text and "nadir 40 mm" in text


def test_recist_target_selection_rules() -> None:
    organs = ["liver", "liver", "lung", "bone", "skin"]
    ok = [Lesion(f"T{i}", organ, False, (12.0,)) for i, organ in enumerate(organs)]
    assert check_targets(ok).ok
    problems = check_targets([*ok, Lesion("T9", "lung", False, (20.0,))]).problems
    assert "6 target lesions; at most 5" in problems
    three_liver = [Lesion(f"L{i}", "Liver", False, (20.0,)) for i in range(3)]
    assert any("at most 2 per organ" in p for p in check_targets(three_liver).problems)
    small = check_targets([Lesion("T1", "lung", False, (9.0,)), Lesion("N1", "neck", True, (14.0,))]).problems
    assert any("T1: longest diameter 9 mm < 10 mm" in p for p in small)
    assert any("N1: node short axis 14 mm < 15 mm" in p for p in small)
    assert check_targets([Lesion("N1", "neck", True, (15.0,))]).ok
    # a target missing at follow-up: not evaluable
    assert len(assess([Lesion("T1", "liver", False, (20.0, None))], [Timepoint("a"), Timepoint("b")])) == 1


# stroke -------------------------------------------------------------------------------------------


def test_nihss_items_scores_and_total() -> None:
    assert [i.code for i in NIHSS_ITEMS] == [
        "1a", "1b", "1c", "2", "3", "4", "5a", "5b", "6a", "6b", "7", "8", "9", "10", "11",
    ]
    assert MAX_TOTAL == 42
    assert {i.code for i in NIHSS_ITEMS if i.untestable_allowed} == {"5a", "5b", "6a", "6b", "7", "10"}
    clock = Clock()
    exam = NihssExam(clock=clock)
    for item in NIHSS_ITEMS:
        clock.t += 10
        exam.set(item.code, item.max_score)
    assert exam.total == 42 and exam.complete and severity(exam.total) == "severe stroke"
    assert exam.started_at == 1_000_010.0 and exam.completed_at == 1_000_150.0
    assert exam.scored_at["11"] - exam.scored_at["1a"] == 140
    # a typical right MCA stroke: 1a=0 ... sums to 11
    typical = NihssExam(clock=clock)
    scores = {"1a": 0, "1b": 0, "1c": 0, "2": 1, "3": 2, "4": 2, "5a": 3, "5b": 0, "6a": 2, "6b": 0,
              "7": 0, "8": 1, "9": 0, "10": UNTESTABLE, "11": 0}
    for code, score in scores.items():
        typical.set(code, score)
    assert typical.total == 11 and severity(11) == "moderate stroke"
    with pytest.raises(NihssError, match="takes 0-3"):
        typical.set("1a", 4)
    with pytest.raises(NihssError, match="cannot be untestable"):
        typical.set("1a", UNTESTABLE)
    with pytest.raises(NihssError, match="takes 0-4"):
        typical.set("5a", True)  # type: ignore[arg-type]
    with pytest.raises(NihssError, match="no NIHSS item"):
        typical.set("12", 0)
    typical.clear("3")
    assert typical.missing == ["3"] and typical.total == 9 and typical.completed_at is None
    assert [severity(s) for s in (0, 1, 4, 5, 15, 16, 20, 21, 42)] == [
        "no stroke symptoms",
        "minor stroke",
        "minor stroke",
        "moderate stroke",
        "moderate stroke",
        "moderate to severe stroke",
        "moderate to severe stroke",
        "severe stroke",
        "severe stroke",
    ]


def test_door_to_needle_clock() -> None:
    clock = Clock()
    timer = DoorToNeedle(clock=clock)
    assert timer.state == "idle" and timer.elapsed_s() is None
    with pytest.raises(ValueError, match="door time first"):
        timer.mark_needle()
    timer.mark_door()
    clock.t += 22 * 60
    timer.mark_ct()
    clock.t += 20 * 60
    assert timer.state == "running" and timer.remaining_s() == 18 * 60 and timer.door_to_ct_s() == 22 * 60
    clock.t += 18 * 60
    assert timer.state == "running"  # exactly 60:00 still meets the target
    clock.t += 1
    assert timer.state == "overdue"
    timer.mark_needle()
    clock.t += 600
    assert timer.state == "missed" and timer.elapsed_s() == 3601
    timer.mark_door(at=clock.t)
    timer.mark_needle(at=clock.t + 45 * 60)
    assert timer.state == "met" and timer.elapsed_s() == 45 * 60


def test_ct_brain_window_preset() -> None:
    assert CT_BRAIN_WINDOW.kind == "window_preset" and CT_BRAIN_WINDOW.modalities == ("CT",)
    assert dict(CT_BRAIN_WINDOW.params) == {"width": 80.0, "level": 40.0}


# ultrasound ---------------------------------------------------------------------------------------


def test_fast_checklist() -> None:
    clock = Clock()
    exam = FastExam(clock=clock)
    assert exam.pending == ["ruq", "luq", "pelvis", "subxiphoid"] and exam.result == "incomplete"
    for window in ("ruq", "luq", "pelvis"):
        clock.t += 30
        exam.tick(window, Finding.NEGATIVE)
    assert exam.result == "incomplete"
    clock.t += 30
    exam.tick("subxiphoid", Finding.INDETERMINATE, "poor window")
    assert exam.complete and exam.result == "indeterminate"
    exam.tick("subxiphoid", Finding.NEGATIVE)
    assert exam.result == "negative" and exam.ticks["ruq"].at == 1_000_030.0
    exam.extended = True
    assert exam.pending == ["lung_right", "lung_left"] and exam.result == "incomplete"
    exam.tick("lung_left", Finding.POSITIVE)
    assert exam.result == "positive"  # positive as soon as one window is
    with pytest.raises(ValueError, match="no exam window"):
        exam.tick("knee", Finding.NEGATIVE)
    with pytest.raises(ValueError, match="1-30 cm"):
        exam.set_depth(40)
    exam.set_depth(16)
    assert exam.depth_cm == 16
