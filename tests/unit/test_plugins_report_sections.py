"""Report sections from plugins (plugin API 1.2): the contract, and what each built-in plugin contributes
from the state it holds for the open consult (no Qt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.vitals.signals import ECG_LEADS, Wave
from core.vitals.simulator import Scenario, run_for
from plugins.api import (
    API_VERSION,
    ConsultInfo,
    Contributions,
    PluginContext,
    ReportFigure,
    ReportSection,
    VitalsFrame,
    WaveData,
    resolve_text,
    same_consult,
)
from plugins.cardiology import ANALYSER_ID, CardiologyPlugin, analyse_frame
from plugins.cardiology.logic import EcgMeasurements
from plugins.manager import PluginManager, PluginState
from plugins.oncology import OncologyPlugin
from plugins.oncology.logic import Lesion, Timepoint
from plugins.stroke import StrokePlugin
from plugins.stroke.logic import NIHSS_ITEMS, UNTESTABLE
from plugins.ultrasound import UltrasoundPlugin
from plugins.ultrasound.logic import Finding
from tests.plugin_fixtures.factory import entry_points_in, on_sys_path, plugin_source, write_plugin

OPEN = ConsultInfo(42, "P-42", ("1.2.840.1",))
OTHER = ConsultInfo(43, "P-43")
LOINC = "http://loinc.org"


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Consult:
    """A stand-in for the host: what ``ctx.consult()`` answers, changed by ``to``."""

    def __init__(self, ctx: PluginContext) -> None:
        self.info = ConsultInfo()
        self.ctx = ctx
        ctx.consult = lambda: self.info

    def to(self, info: ConsultInfo | None) -> None:
        self.info = info or ConsultInfo()
        self.ctx.deliver_consult(info)


def bound(plugin: Any) -> tuple[PluginContext, Consult]:
    ctx = PluginContext(plugin_id=plugin.manifest["id"], role="specialist")
    consult = Consult(ctx)
    plugin.activate(ctx)
    return ctx, consult


def section(plugin: Any, ctx: PluginContext, info: ConsultInfo) -> ReportSection | None:
    """What the workstation gets from the plugin's one report-section provider for ``info``."""
    providers = plugin.contributions(ctx).report_sections
    assert len(providers) == 1
    result: ReportSection | None = providers[0](info)
    return result


def figure(s: ReportSection, label: str) -> ReportFigure:
    found = [f for f in s.figures if f.label == label]
    assert len(found) == 1, (label, [f.label for f in s.figures])
    return found[0]


def row(s: ReportSection, first: str) -> tuple[str, ...]:
    found = [r for r in s.rows if r[0] == first]
    assert len(found) == 1, (first, s.rows)
    return found[0]


# the contract ------------------------------------------------------------------------------------------


def test_report_section_and_figure_types() -> None:
    assert API_VERSION == "1.2.0"
    assert Contributions().report_sections == ()
    f = ReportFigure("QRS", 96.0, "ms", "median beat", LOINC, "8633-0", "QRS duration")
    s = ReportSection("x.table", "X", ("a", "b"), (("1", "2"),), (f,), "note")
    assert (s.template_id, s.columns, s.rows, s.figures, s.note) == (
        "x.table",
        ("a", "b"),
        (("1", "2"),),
        (f,),
        "note",
    )
    assert (
        ReportSection("x.lazy", lambda: "Lazy").rows == ()
        and resolve_text(ReportSection("x", lambda: "T").title) == "T"
    )
    with pytest.raises(ValueError, match="2 columns"):
        ReportSection("x.bad", "X", ("a", "b"), (("only one",),))
    with pytest.raises(TypeError, match="text"):
        ReportSection("x.bad", "X", ("a",), ((1,),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="template_id"):
        ReportSection("", "X")
    with pytest.raises(ValueError, match="finite"):
        ReportFigure("HR", float("nan"), "/min")
    with pytest.raises(TypeError, match="number"):
        ReportFigure("HR", "72", "/min")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="code_system"):
        ReportFigure("HR", 72.0, "/min", code="8867-4")
    with pytest.raises(AttributeError):
        f.value = 1.0  # type: ignore[misc]
    assert same_consult(OPEN, ConsultInfo(42, "P-42", ("1.2.840.1", "1.2.840.2")))  # a study attached
    assert not same_consult(OPEN, OTHER) and not same_consult(OPEN, None) and not same_consult(None, None)
    assert not same_consult(ConsultInfo(), ConsultInfo())


def test_a_plugin_written_for_api_1_1_still_loads_and_a_1_2_provider_is_collected(tmp_path: Path) -> None:
    root = tmp_path / "site"
    for pid, api in (("old10", "^1.0"), ("old11", "^1.1"), ("range", ">=1.0, <2")):
        write_plugin(root, pid, plugin_source(pid, api=api, contributions="note_sections=[]"))
    provider = (
        "def table(info):\n"
        "    if not info.is_open:\n"
        "        return None\n"
        "    return ReportSection('fix.table', 'Fixture', ('k', 'v'), (('consult', str(info.consult_id)),),\n"
        "                         (ReportFigure('n', 1.0, '1'),))"
    )
    write_plugin(
        root,
        "new12",
        plugin_source("new12", api="^1.2", prelude=provider, contributions="report_sections=[table]"),
    )
    with on_sys_path(root):
        manager = PluginManager(
            "specialist",
            lambda pid: PluginContext(plugin_id=pid, role="specialist"),
            entry_points=entry_points_in(root),
        )
        manager.load_all()
        for pid in ("old10", "old11", "range"):
            record = manager.records[pid]
            assert record.state is PluginState.ACTIVE, (pid, record.error)
            assert record.contributions.report_sections == ()
        new = manager.records["new12"]
        assert new.state is PluginState.ACTIVE, new.error
        (table,) = new.contributions.report_sections
        got = table(OPEN)
        assert got is not None and got.rows == (("consult", "42"),) and got.figures[0].unit == "1"
        assert table(ConsultInfo()) is None
        manager.close()


def test_built_in_plugins_contribute_one_section_each_and_need_api_1_2() -> None:
    for plugin, template in (
        (CardiologyPlugin(), "cardiology.ecg"),
        (OncologyPlugin(), "oncology.recist"),
        (UltrasoundPlugin(), "ultrasound.fast"),
        (StrokePlugin(), "stroke.nihss"),
    ):
        assert plugin.manifest["api"] == "^1.2"
        ctx, consult = bound(plugin)
        consult.to(OPEN)
        assert section(plugin, ctx, OPEN) is None, template  # nothing known for this consult yet
        assert section(plugin, ctx, ConsultInfo()) is None


# cardiology --------------------------------------------------------------------------------------------


def ecg_result(scenario: Scenario, seed: int = 3) -> tuple[Any, EcgMeasurements]:
    _, store = run_for(12, scenario, seed=seed, t0=1000.0)
    ring = store.rings[Wave.ECG].latest(5000)
    result = analyse_frame(VitalsFrame({"ecg": WaveData(500.0, ECG_LEADS, ring.values, "mV")}, {}, 1012.0))
    assert isinstance(result.detail, EcgMeasurements)
    return result, result.detail


def test_cardiology_section_from_the_latest_analysed_window() -> None:
    plugin = CardiologyPlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    result, m = ecg_result(Scenario.NORMAL)
    assert m.pr_s is not None and m.qrs_s is not None and m.qt_s is not None and m.axis_deg is not None
    ctx.deliver_analysis(ANALYSER_ID, result)
    s = section(plugin, ctx, OPEN)
    assert s is not None
    assert (s.template_id, resolve_text(s.title), s.columns) == (
        "cardiology.ecg",
        "ECG measurements",
        ("Measurement", "Value"),
    )
    assert row(s, "Heart rate") == ("Heart rate", f"{m.hr_bpm:.0f} /min")
    assert row(s, "Rhythm") == ("Rhythm", "No rhythm flags")
    assert row(s, "QRS") == ("QRS", f"{m.qrs_s * 1000:.0f} ms")
    assert row(s, "ST elevation") == ("ST elevation", "none")
    hr = figure(s, "Heart rate")
    assert (hr.value, hr.unit, hr.code_system, hr.code) == (round(m.hr_bpm, 1), "/min", LOINC, "8867-4")
    assert 55 < hr.value < 100
    expected = {
        "PR": (m.pr_s, "8625-6"),
        "QRS": (m.qrs_s, "8633-0"),
        "QT": (m.qt_s, "8634-8"),
        "QTc Bazett": (m.qtc_s["bazett"], "8636-3"),
        "QTc Fridericia": (m.qtc_s["fridericia"], "8636-3"),
        "QTc Framingham": (m.qtc_s["framingham"], "8636-3"),
    }
    for label, (seconds, code) in expected.items():
        f = figure(s, label)
        assert (f.value, f.unit, f.code_system, f.code) == (round(seconds * 1000), "ms", LOINC, code), label
    assert {figure(s, f"QTc {m}").method for m in ("Bazett", "Fridericia", "Framingham")} == {
        "Bazett",
        "Fridericia",
        "Framingham",
    }
    axis = figure(s, "Frontal axis")
    assert (axis.value, axis.unit, axis.code) == (round(m.axis_deg), "deg", "8632-2")
    assert len(s.figures) == 8 and f"median of {m.beats} beats" in s.note
    assert all(len(r) == 2 for r in s.rows)

    # a newer window replaces it: atrial fibrillation, no P wave, so no PR figure
    af_result, af = ecg_result(Scenario.ATRIAL_FIBRILLATION)
    assert af.pr_s is None and "af" in af.flags
    ctx.deliver_analysis(ANALYSER_ID, af_result)
    s = section(plugin, ctx, OPEN)
    assert s is not None
    assert "atrial fibrillation" in row(s, "Rhythm")[1]
    assert row(s, "PR") == ("PR", "not measured")
    assert "PR" not in {f.label for f in s.figures}
    assert figure(s, "Heart rate").value == round(af.hr_bpm, 1)


def test_cardiology_section_is_the_open_consults_only() -> None:
    plugin = CardiologyPlugin()
    ctx, consult = bound(plugin)
    result, _ = ecg_result(Scenario.ST_ELEVATION, seed=2)
    ctx.deliver_analysis(ANALYSER_ID, result)  # no consult open: nobody's ECG
    assert section(plugin, ctx, OPEN) is None
    consult.to(OPEN)
    ctx.deliver_analysis(ANALYSER_ID, result)
    s = section(plugin, ctx, OPEN)
    assert s is not None and row(s, "ST elevation")[1] == "anterior"
    assert section(plugin, ctx, OTHER) is None  # asked for another consult's report
    consult.to(None)  # closed, signed out or locked
    assert plugin.latest is None and section(plugin, ctx, OPEN) is None
    consult.to(OTHER)
    assert section(plugin, ctx, OTHER) is None  # the next patient gets nothing of the last one's


# oncology ----------------------------------------------------------------------------------------------


def test_oncology_recist_table() -> None:
    plugin = OncologyPlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    # what the panel writes back as the specialist fills the table
    plugin.lesions = [
        Lesion("T1", "liver", False, (42.0, 25.0)),
        Lesion("T2", "lung", False, (30.0, 20.0)),
        Lesion("N1", "mediastinum", True, (20.0, 8.0)),
    ]
    plugin.timepoints = [Timepoint("2025-01-10"), Timepoint("2025-04-12")]
    s = section(plugin, ctx, OPEN)
    assert s is not None
    assert (s.template_id, resolve_text(s.title)) == ("oncology.recist", "Tumour response (RECIST 1.1)")
    assert s.columns == ("Lesion", "Organ", "Measured", "2025-01-10 (mm)", "2025-04-12 (mm)")
    assert s.rows[:3] == (
        ("T1", "liver", "longest diameter", "42", "25"),
        ("T2", "lung", "longest diameter", "30", "20"),
        ("N1", "mediastinum", "node, short axis", "20", "8"),
    )
    assert row(s, "Sum of diameters") == ("Sum of diameters", "", "", "92", "53")
    assert row(s, "Change from baseline") == ("Change from baseline", "", "", "-", "-42 %")
    assert row(s, "Response") == ("Response", "", "", "baseline", "PR")
    assert figure(s, "Sum of diameters, 2025-01-10").value == 92.0
    total = figure(s, "Sum of diameters, 2025-04-12")
    assert (total.value, total.unit, total.method) == (53.0, "mm", "RECIST 1.1, sum of diameters")
    change = figure(s, "Change from baseline, 2025-04-12")
    assert (change.value, change.unit) == (-42.4, "%")
    node = figure(s, "N1 (mediastinum), 2025-04-12")
    assert (node.value, node.unit, node.method) == (8.0, "mm", "RECIST 1.1, node short axis")
    assert figure(s, "T1 (liver), 2025-01-10").method == "RECIST 1.1, longest diameter"
    assert s.note.startswith("2025-04-12: Partial response (PR): sum -42 % from baseline")

    # a new lesion at follow-up: progression whatever the sum
    plugin.timepoints = [Timepoint("Baseline"), Timepoint("Follow-up", new_lesions=True)]
    s = section(plugin, ctx, OPEN)
    assert s is not None and row(s, "Response")[-1] == "PD" and "new lesion(s)" in s.note
    assert s.columns[-2:] == ("Baseline (mm)", "Follow-up (mm)")

    # a follow-up diameter missing: the table shows it, no response is made up
    plugin.lesions = [Lesion("T1", "liver", False, (42.0, None))]
    s = section(plugin, ctx, OPEN)
    assert s is not None
    assert s.rows[0] == ("T1", "liver", "longest diameter", "42", "not measured")
    assert row(s, "Response")[-1] == "-" and "not evaluable" in s.note
    assert [f.label for f in s.figures] == ["T1 (liver), Baseline", "Sum of diameters, Baseline"]


def test_oncology_section_is_dropped_with_the_consult() -> None:
    plugin = OncologyPlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    plugin.lesions = [Lesion("T1", "liver", False, (42.0, 25.0))]
    assert section(plugin, ctx, OPEN) is not None
    assert section(plugin, ctx, OTHER) is None
    consult.to(OTHER)  # switched: the next patient's report cannot get the lesions
    assert section(plugin, ctx, OTHER) is None and section(plugin, ctx, OPEN) is None
    plugin.lesions = [Lesion("T1", "lung", False, (30.0, 30.0))]
    consult.to(None)
    assert section(plugin, ctx, OTHER) is None


# ultrasound --------------------------------------------------------------------------------------------


def test_ultrasound_fast_results() -> None:
    plugin = UltrasoundPlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    plugin.exam.clock = Clock()
    plugin.exam.tick("ruq", Finding.POSITIVE, "large stripe")
    plugin.exam.tick("luq", Finding.NEGATIVE)
    plugin.exam.tick("pelvis", Finding.INDETERMINATE)
    s = section(plugin, ctx, OPEN)
    assert s is not None
    assert (s.template_id, resolve_text(s.title)) == ("ultrasound.fast", "FAST exam")
    assert s.columns == ("Window", "Looks for", "Finding", "Time")
    assert [r[:3] for r in s.rows] == [
        ("Right upper quadrant (Morison's pouch)", "free fluid", "Positive"),
        ("Left upper quadrant (splenorenal)", "free fluid", "Negative"),
        ("Pelvis (suprapubic)", "free fluid", "Inadequate view"),
        ("Subxiphoid cardiac", "pericardial effusion", "Not assessed"),
        ("FAST result", "", "Positive"),
    ]
    assert s.rows[0][3] != "" and s.rows[3][3] == ""  # when ticked; nothing for the window not done
    assert s.figures == ()  # FAST is qualitative
    assert s.note == "Right upper quadrant (Morison's pouch): large stripe"

    # eFAST: the lung windows join; all negative and complete
    plugin.exam.extended = True
    for window in ("ruq", "luq", "pelvis", "subxiphoid", "lung_right", "lung_left"):
        plugin.exam.tick(window, Finding.NEGATIVE)
    s = section(plugin, ctx, OPEN)
    assert s is not None and resolve_text(s.title) == "eFAST exam"
    assert row(s, "Right anterior chest (eFAST)")[1:3] == ("absent lung sliding", "Negative")
    assert row(s, "Left anterior chest (eFAST)")[2] == "Negative"
    assert s.rows[-1][0::2] == ("eFAST result", "Negative") and len(s.rows) == 7
    plugin.exam.extended = False  # the lungs drop out of plain FAST
    s = section(plugin, ctx, OPEN)
    assert s is not None and len(s.rows) == 5 and s.rows[-1][2] == "Negative"


def test_ultrasound_section_is_dropped_with_the_consult() -> None:
    plugin = UltrasoundPlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    plugin.exam.tick("ruq", Finding.POSITIVE)
    assert section(plugin, ctx, OPEN) is not None and section(plugin, ctx, OTHER) is None
    consult.to(None)
    assert section(plugin, ctx, OPEN) is None
    consult.to(OPEN)  # the same consult opened again: the exam was reset, nothing to report
    assert section(plugin, ctx, OPEN) is None


# stroke ------------------------------------------------------------------------------------------------


SCORES: dict[str, int | str] = {
    "1a": 1,
    "1b": 1,
    "1c": 0,
    "2": 1,
    "3": 0,
    "4": 2,
    "5a": 3,
    "5b": 0,
    "6a": 2,
    "6b": 0,
    "7": UNTESTABLE,
    "8": 1,
    "9": 1,
    "10": 1,
    "11": 0,
}


def test_stroke_nihss_and_door_to_needle() -> None:
    plugin = StrokePlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    clock = Clock()
    plugin.exam.clock = plugin.timer.clock = clock
    door = clock.t
    plugin.timer.mark_door()
    for code in ("1a", "4", "5a"):
        plugin.exam.set(code, SCORES[code])
    s = section(plugin, ctx, OPEN)
    assert s is not None
    assert (s.template_id, resolve_text(s.title)) == ("stroke.nihss", "Stroke assessment")
    assert s.columns == ("Item", "Score / time", "Finding")
    assert row(s, "1a Level of consciousness") == (
        "1a Level of consciousness",
        "1",
        "Not alert, arousable by minor stimulation",
    )
    assert row(s, "1b LOC questions (month, age)")[1:] == ("-", "not scored")
    assert row(s, "NIHSS total") == ("NIHSS total", "6 so far", "incomplete")
    labels = {f.label for f in s.figures}
    assert "NIHSS total" not in labels  # a partial total is a lower bound, not a score
    assert labels == {"NIHSS 1a Level of consciousness", "NIHSS 4 Facial palsy", "NIHSS 5a Motor arm, left"}
    assert row(s, "CT done")[1:] == ("-", "not marked")
    clock.t = door + 30 * 60
    s = section(plugin, ctx, OPEN)
    assert s is not None and row(s, "Needle (bolus)")[2] == "not given; 30 min since door"
    assert not {"Door to CT", "Door to needle"} & {f.label for f in s.figures}  # the clock still runs

    for code, score in SCORES.items():
        plugin.exam.set(code, score)
    clock.t = door + 22 * 60
    plugin.timer.mark_ct()
    plugin.timer.mark_needle(door + 47.5 * 60)
    s = section(plugin, ctx, OPEN)
    assert s is not None
    assert len([r for r in s.rows if r[0].split(" ", 1)[0] in {i.code for i in NIHSS_ITEMS}]) == 15
    assert row(s, "7 Limb ataxia")[1:] == ("UN", "untestable")
    assert row(s, "5a Motor arm, left")[1:] == ("3", "No effort against gravity")
    assert row(s, "NIHSS total") == ("NIHSS total", "13 / 42", "moderate stroke")
    total = figure(s, "NIHSS total")
    assert (total.value, total.unit, total.code_system, total.code) == (13.0, "{score}", LOINC, "72089-6")
    assert total.code_display == "Total score [NIH stroke scale]"
    item_figures = [f for f in s.figures if f.label.startswith("NIHSS ") and f.label != "NIHSS total"]
    assert len(item_figures) == 14 and sum(f.value for f in item_figures) == 13  # UN scores nothing
    assert {f.unit for f in item_figures} == {"{score}"}
    assert figure(s, "Door to CT").value == 22.0 and figure(s, "Door to CT").unit == "min"
    assert figure(s, "CT to needle").value == 25.5
    dtn = figure(s, "Door to needle")
    assert (dtn.value, dtn.unit) == (47.5, "min")
    assert row(s, "Door (arrival)")[2] == ""
    assert "Door to CT 22 min (target 25 min)" in row(s, "CT done")[2]
    assert row(s, "Needle (bolus)")[2] == "Door to needle 47.5 min (target 60 min); Needle within target."
    assert all(len(r) == 3 for r in s.rows)

    plugin.timer.mark_needle(door + 75 * 60)
    s = section(plugin, ctx, OPEN)
    assert s is not None and row(s, "Needle (bolus)")[2].endswith("Needle after the 60-minute target.")


def test_stroke_times_alone_and_dropped_with_the_consult() -> None:
    plugin = StrokePlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    plugin.timer.mark_door(1000.0)
    s = section(plugin, ctx, OPEN)
    assert s is not None and "NIHSS total" not in {r[0] for r in s.rows}  # no exam yet: no NIHSS rows
    plugin.exam.set("1a", 2)
    assert section(plugin, ctx, OTHER) is None
    consult.to(OTHER)  # switched: scores and clock reset
    assert section(plugin, ctx, OTHER) is None and section(plugin, ctx, OPEN) is None
    plugin.exam.set("1a", 1)
    consult.to(None)  # locked: the door-to-needle times do not survive it
    assert section(plugin, ctx, OTHER) is None and section(plugin, ctx, ConsultInfo()) is None
