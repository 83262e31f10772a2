"""The consult hook of the plugin API (1.1) and the built-in plugins bound to the consult (no Qt)."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from plugins.api import (
    API_VERSION,
    AnalyserResult,
    ConsultInfo,
    Manifest,
    PluginContext,
    consult_label,
    version_in_range,
)
from plugins.cardiology import ANALYSER_ID, CardiologyPlugin
from plugins.cardiology.logic import EcgMeasurements
from plugins.manager import PluginManager, PluginState
from plugins.oncology import OncologyPlugin
from plugins.oncology.logic import Lesion, Timepoint
from plugins.registry import ErrorKind
from plugins.stroke import StrokePlugin
from plugins.ultrasound import UltrasoundPlugin
from plugins.ultrasound.logic import Finding
from tests.plugin_fixtures.factory import entry_points_in, on_sys_path, plugin_source, write_plugin

OPEN = ConsultInfo(42, "P-42", ("1.2.840.1",))
OTHER = ConsultInfo(43, "P-43")


class Consult:
    """A stand-in for the host: what ``ctx.consult()`` answers, changed by ``to``."""

    def __init__(self, ctx: PluginContext) -> None:
        self.info = ConsultInfo()
        self.ctx = ctx
        ctx.consult = lambda: self.info

    def to(self, info: ConsultInfo | None) -> None:
        self.info = info or ConsultInfo()
        self.ctx.deliver_consult(info)


def bound(plugin: Any, role: str = "specialist") -> tuple[PluginContext, Consult]:
    ctx = PluginContext(plugin_id=plugin.manifest["id"], role=role)
    consult = Consult(ctx)
    plugin.activate(ctx)
    return ctx, consult


def note(plugin: Any, ctx: PluginContext) -> str | None:
    sections = plugin.contributions(ctx).note_sections
    assert len(sections) == 1
    result: str | None = sections[0].render(ctx)
    return result


# the contract ------------------------------------------------------------------------------------------


def test_api_1_1_is_additive_and_old_ranges_still_load() -> None:
    assert API_VERSION == "1.2.0"  # 1.2 added report sections; 1.1 ranges still hold
    for spec in ("^1.0", ">=1.0, <2", "^1.1", "^1.2", ">=1"):
        assert version_in_range(API_VERSION, spec), spec
    assert Manifest(id="old", name="Old", version="1.0.0", api="^1.0").supports()
    for pinned in ("~1.0", "~1.1", "==1.0.0"):  # pinned to 1.0.x / 1.1.x: the pin says so
        assert not version_in_range(API_VERSION, pinned)
    builtin = {ep.name: ep.load() for ep in entry_points(group="teleconsult.plugins")}
    for pid in ("cardiology", "oncology", "stroke", "ultrasound"):
        assert builtin[pid].manifest["api"] == "^1.2", pid  # they use subscribe_consult and report_sections


def test_consult_info_and_label() -> None:
    assert not ConsultInfo().is_open
    assert OPEN.is_open and ConsultInfo(None, "ANON-1A2B").is_open and ConsultInfo(5).is_open
    assert consult_label(None) == consult_label(ConsultInfo()) == "No consult open"
    assert consult_label(OPEN) == "Consult 42 · patient P-42"
    assert consult_label(ConsultInfo(None, "ANON-1A2B")) == "Patient ANON-1A2B"
    assert consult_label(ConsultInfo(5)) == "Consult 5"


def test_subscribe_deliver_unsubscribe_in_order() -> None:
    ctx = PluginContext(plugin_id="x", role="specialist")
    heard: list[tuple[str, ConsultInfo | None]] = []

    def first(info: ConsultInfo | None) -> None:
        heard.append(("first", info))

    def second(info: ConsultInfo | None) -> None:
        heard.append(("second", info))

    ctx.subscribe_consult(first)
    ctx.subscribe_consult(second)
    ctx.subscribe_consult(first)  # once is enough
    ctx.deliver_consult(OPEN)
    ctx.deliver_consult(ConsultInfo())  # "nothing open" arrives as None
    assert heard == [("first", OPEN), ("second", OPEN), ("first", None), ("second", None)]
    ctx.unsubscribe_consult(first)
    ctx.unsubscribe_consult(first)  # twice is harmless
    ctx.deliver_consult(OTHER)
    assert heard[-1] == ("second", OTHER) and len(heard) == 5


def test_manager_disables_a_plugin_raising_in_its_consult_callback(tmp_path: Path) -> None:
    root = tmp_path / "site"
    listens = plugin_source("listens", prelude="HEARD = []", activate="ctx.subscribe_consult(HEARD.append)")
    write_plugin(root, "listens", listens)
    boom = "def boom(info):\n    raise RuntimeError('consult boom')"
    faulty = plugin_source("faulty", prelude=boom, activate="ctx.subscribe_consult(boom)")
    write_plugin(root, "faulty", faulty)
    with on_sys_path(root):
        manager = PluginManager(
            "specialist",
            lambda pid: PluginContext(plugin_id=pid, role="specialist"),
            entry_points=entry_points_in(root),
        )
        changes: list[str] = []
        manager.add_listener(lambda record: changes.append(f"{record.plugin_id}:{record.state}"))
        manager.load_all()
        manager.deliver_consult(OPEN)
        faulty_record = manager.records["faulty"]
        assert faulty_record.state is PluginState.FAILED
        assert faulty_record.error is not None and faulty_record.error.kind is ErrorKind.HOOK
        assert "consult callback raised RuntimeError: consult boom" in faulty_record.error.detail
        assert changes[-1] == "faulty:failed"
        assert manager.records["listens"].state is PluginState.ACTIVE
        manager.deliver_consult(None)  # the failed plugin hears nothing more; the others go on
        assert manager.records["listens"].obj.__class__.__module__ == "tcfix_listens"
        assert sys.modules["tcfix_listens"].HEARD == [OPEN, None]
        manager.close()


# the built-in plugins ------------------------------------------------------------------------------------


def test_oncology_drops_lesions_when_the_consult_changes_or_ends() -> None:
    plugin = OncologyPlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    plugin.lesions = [Lesion("T1", "liver", False, (42, 25))]
    plugin.timepoints = [Timepoint("2025-01"), Timepoint("2025-04", new_lesions=True)]
    assert "RECIST 1.1, 1 target lesion(s)" in (note(plugin, ctx) or "")
    consult.to(OTHER)  # switched
    assert plugin.lesions == [] and [t.label for t in plugin.timepoints] == ["Baseline", "Follow-up"]
    assert not plugin.timepoints[1].new_lesions and plugin.consult == OTHER
    plugin.lesions = [Lesion("T1", "lung", False, (30, 30))]
    consult.to(None)  # signed out / locked
    assert plugin.lesions == [] and plugin.consult is None
    plugin.lesions = [Lesion("T1", "lung", False, (30, 30))]  # whatever a panel left: no consult, no note
    assert note(plugin, ctx) is None


def test_stroke_resets_the_exam_and_the_door_to_needle_clock() -> None:
    plugin = StrokePlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    exam, timer = plugin.exam, plugin.timer
    exam.set("1a", 2)
    exam.set("5a", "UN")
    timer.mark_door(1000.0)
    timer.mark_ct(1600.0)
    assert "NIHSS 2" in (note(plugin, ctx) or "")
    consult.to(None)
    assert plugin.exam is exam and plugin.timer is timer  # the panel's objects, emptied in place
    assert exam.scores == {} and exam.scored_at == {} and exam.started_at is None
    assert (timer.door_at, timer.ct_at, timer.needle_at) == (None, None, None) and timer.state == "idle"
    assert note(plugin, ctx) is None
    consult.to(OPEN)
    exam.set("1a", 1)
    consult.to(OTHER)
    assert exam.scores == {}


def test_ultrasound_resets_the_fast_exam() -> None:
    plugin = UltrasoundPlugin()
    ctx, consult = bound(plugin)
    consult.to(OPEN)
    plugin.exam.extended = True
    plugin.exam.tick("ruq", Finding.POSITIVE)
    plugin.exam.set_depth(16.0)
    assert (note(plugin, ctx) or "").startswith("eFAST: positive")
    consult.to(OTHER)
    assert plugin.exam.ticks == {} and plugin.exam.depth_cm is None and not plugin.exam.extended
    assert note(plugin, ctx) is None  # nothing ticked for this consult yet
    plugin.exam.tick("ruq", Finding.NEGATIVE)
    consult.to(None)
    assert plugin.exam.ticks == {} and note(plugin, ctx) is None


def test_cardiology_keeps_measurements_only_for_the_open_consult() -> None:
    plugin = CardiologyPlugin()
    ctx, consult = bound(plugin)
    qtc = {"bazett": 0.417, "fridericia": 0.404, "framingham": 0.406}
    m = EcgMeasurements(72.0, 0.83, 10, 0.02, 0.16, 0.09, 0.38, qtc, 45.0, {"II": 0.0})
    ctx.deliver_analysis(ANALYSER_ID, AnalyserResult(detail=m))
    assert plugin.latest is None  # no consult open: nobody's ECG
    consult.to(OPEN)
    ctx.deliver_analysis(ANALYSER_ID, AnalyserResult(detail=m))
    assert plugin.latest is m and "QTc Bazett" in (note(plugin, ctx) or "")
    consult.to(OTHER)
    assert plugin.latest is None and note(plugin, ctx) is None
    ctx.deliver_analysis(ANALYSER_ID, AnalyserResult(detail=m))
    consult.to(None)
    assert plugin.latest is None
