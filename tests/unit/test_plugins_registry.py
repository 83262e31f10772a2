"""The plugin contract, discovery, site policy, isolation and the analyser runner (no Qt)."""

from __future__ import annotations

import sys
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from core.config.settings import UserSettings, UserSettingsStore
from plugins.analysers import AnalyserRunner
from plugins.api import (
    API_VERSION,
    AnalyserResult,
    Manifest,
    PluginContext,
    VitalsAnalyser,
    VitalsFrame,
    WaveData,
    version_in_range,
)
from plugins.manager import PluginManager, PluginState
from plugins.registry import ErrorKind, PluginLoadError, discover, validate_manifest
from tests.plugin_fixtures.factory import (
    entry_points_in,
    install_hello,
    on_sys_path,
    plugin_source,
    write_plugin,
)

BUILT_IN = {"cardiology", "oncology", "stroke", "ultrasound"}


def make_manager(role: str = "specialist", **kwargs: object) -> PluginManager:
    return PluginManager(role, lambda pid: PluginContext(plugin_id=pid, role=role), **kwargs)  # type: ignore[arg-type]


def frame(seconds: float = 2.0) -> VitalsFrame:
    n = int(seconds * 500)
    return VitalsFrame({"ecg": WaveData(500.0, ("II",), np.zeros((1, n)), "mV")}, {"hr": 70.0}, 0.0)


# contract ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("1.0.0", ">=1.0, <2", True),
        ("2.0.0", ">=1.0, <2", False),
        ("1.4.2", "^1.2", True),
        ("2.0.0", "^1.2", False),
        ("1.1.9", "~1.1", True),
        ("1.2.0", "~1.1", False),
        ("1.0.0", "==1", True),
        ("1.0.0", "!=1.0.0", False),
    ],
)
def test_api_ranges(version: str, spec: str, ok: bool) -> None:
    assert version_in_range(version, spec) is ok


def test_manifest_is_strict_and_names_the_problem() -> None:
    good = {"id": "x-ray", "name": "X", "version": "1.2.3", "api": "^1.0", "needs": ["imaging"]}
    assert validate_manifest("x-ray", good).needs[0].value == "imaging"
    with pytest.raises(PluginLoadError) as bad:
        validate_manifest("x-ray", {**good, "colour": "red", "version": "one"})
    assert bad.value.error.kind is ErrorKind.MANIFEST
    assert "'colour': unknown key" in bad.value.error.detail and "'version'" in bad.value.error.detail
    with pytest.raises(PluginLoadError, match="differs from the entry point name"):
        validate_manifest("other", good)
    with pytest.raises(ValueError, match=r"not a version comparator|not a semantic version"):
        Manifest(id="abc", name="A", version="1.0.0", api=">=banana")


# discovery -----------------------------------------------------------------------------------------


def test_builtin_plugins_are_discovered_from_entry_points_and_activate() -> None:
    found = {c.plugin_id: c for c in discover()}
    assert set(found) >= BUILT_IN
    assert all(found[p].builtin and found[p].distribution == "teleconsult-workstation" for p in BUILT_IN)
    builtin = [ep for ep in entry_points(group="teleconsult.plugins") if ep.name in BUILT_IN]
    manager = make_manager(entry_points=builtin)
    manager.load_all()
    assert {r.plugin_id for r in manager.active()} == BUILT_IN
    cardiology = manager.records["cardiology"]
    assert cardiology.manifest is not None and cardiology.manifest.supports(API_VERSION)
    assert [a.analyser_id for a in cardiology.contributions.analysers] == ["ecg12"]
    stroke_tools = manager.records["stroke"].contributions.imaging_tools
    assert [(t.kind, dict(t.params)) for t in stroke_tools] == [
        ("window_preset", {"width": 80.0, "level": 40.0})
    ]
    manager.close()
    manager.close()  # twice is harmless
    # IT administrators do not run the clinical plugins: listed, not activated
    it = make_manager("it_admin", entry_points=entry_points(group="teleconsult.plugins"))
    it.load_all()
    assert all(it.records[p].state is PluginState.OTHER_ROLE for p in BUILT_IN)


def test_third_party_plugin_installed_by_pip_is_discovered(tmp_path: Path) -> None:
    target = tmp_path / "site"
    how = install_hello(target)
    assert (target / "hello_plugin" / "__init__.py").is_file(), how
    with on_sys_path(target):
        candidates = {c.plugin_id: c for c in discover()}  # the real, default discovery
        hello = candidates["hello"]
        assert not hello.builtin
        assert (hello.distribution, hello.dist_version) == ("teleconsult-hello-plugin", "0.3.1")
        assert set(candidates) >= BUILT_IN
        manager = make_manager()
        manager.load_all()
        record = manager.records["hello"]
        assert record.state is PluginState.ACTIVE, record.error
        assert record.version == "0.3.1"
        assert [p.panel_id for p in record.contributions.panels] == ["hello.panel"]
        action = record.contributions.actions[0]
        assert record.context is not None
        action.callback(record.context)
        assert record.obj.greetings == 1
        manager.close()
    assert "hello_plugin" not in sys.modules


# isolation -----------------------------------------------------------------------------------------


def test_each_failure_disables_only_that_plugin_with_its_reason(tmp_path: Path) -> None:
    root = tmp_path / "site"
    write_plugin(root, "good", plugin_source("good"))
    write_plugin(root, "broken", plugin_source("broken", prelude="import not_a_module_anywhere_42"))
    write_plugin(root, "future", plugin_source("future", api=">=2.0, <3"))
    write_plugin(root, "raises", plugin_source("raises", activate="raise RuntimeError('boom in activate')"))
    write_plugin(root, "typo", plugin_source("typo", extra_manifest=', "colour": "red"'))
    write_plugin(root, "badparts", plugin_source("badparts", contributions="panels=[1/0]"))
    with on_sys_path(root):
        manager = make_manager(entry_points=entry_points_in(root))
        manager.load_all()
        states = {pid: r.state for pid, r in manager.records.items()}
        assert states == {
            "good": PluginState.ACTIVE,
            "broken": PluginState.FAILED,
            "future": PluginState.FAILED,
            "raises": PluginState.FAILED,
            "typo": PluginState.FAILED,
            "badparts": PluginState.FAILED,
        }
        errors = {e.plugin_id: e for e in manager.failures()}
        assert errors["broken"].kind is ErrorKind.IMPORT
        assert "not_a_module_anywhere_42" in errors["broken"].detail
        assert errors["future"].kind is ErrorKind.API and ">=2.0, <3" in errors["future"].detail
        assert errors["raises"].kind is ErrorKind.HOOK
        assert "activate() raised RuntimeError: boom in activate" in errors["raises"].detail
        assert errors["typo"].kind is ErrorKind.MANIFEST and "'colour'" in errors["typo"].detail
        assert "ZeroDivisionError" in errors["badparts"].detail
        assert "plugin 'raises' disabled" in str(errors["raises"])
        # a hook raising later (e.g. a panel factory) disables the plugin, the caller gets None
        assert manager.call("good", "panel 'x'", lambda: 1 / 0) is None
        assert manager.records["good"].state is PluginState.FAILED
        assert "panel 'x' raised ZeroDivisionError" in manager.records["good"].error.detail  # type: ignore[union-attr]
        manager.close()


def test_denied_plugin_is_never_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "imported.txt"
    monkeypatch.setenv("TC_PLUGIN_MARKER", str(marker))
    root = tmp_path / "site"
    side_effect = "open(os.environ['TC_PLUGIN_MARKER'], 'a').write('imported\\n')"
    module = write_plugin(root, "noisy", plugin_source("noisy", prelude=side_effect))
    write_plugin(root, "quiet", plugin_source("quiet"))
    with on_sys_path(root):
        denied = make_manager(deny=["noisy"], entry_points=entry_points_in(root))
        denied.load_all()
        assert denied.records["noisy"].state is PluginState.DENIED
        assert denied.records["quiet"].state is PluginState.ACTIVE
        assert not marker.exists() and module not in sys.modules
        denied.set_enabled("noisy", True)  # the user cannot override the site
        assert not marker.exists() and denied.records["noisy"].state is PluginState.DENIED
        allow_list = make_manager(allow=["quiet"], entry_points=entry_points_in(root))
        allow_list.load_all()
        assert allow_list.records["noisy"].state is PluginState.DENIED and not marker.exists()
        # control: the same plugin, allowed, is imported and its side effect happens
        allowed = make_manager(entry_points=entry_points_in(root))
        allowed.load_all()
        assert allowed.records["noisy"].state is PluginState.ACTIVE
        assert marker.read_text() == "imported\n"


def test_user_disable_is_persisted_and_a_disabled_plugin_is_not_imported(tmp_path: Path) -> None:
    marker = tmp_path / "imported.txt"
    root = tmp_path / "site"
    side_effect = f"open({str(marker)!r}, 'a').write('x')"
    write_plugin(root, "noisy", plugin_source("noisy", prelude=side_effect))
    store = UserSettingsStore(tmp_path / "settings.json")
    settings = UserSettings()

    def save(ids: set[str]) -> None:
        settings.disabled_plugins = sorted(ids)
        store.save(settings)

    with on_sys_path(root):
        first = make_manager(entry_points=entry_points_in(root), save_disabled=save)
        first.load_all()
        assert first.records["noisy"].state is PluginState.ACTIVE
        first.set_enabled("noisy", False)
        assert first.records["noisy"].state is PluginState.DISABLED
        assert store.load().disabled_plugins == ["noisy"]
        first.close()
        for name in [n for n in sys.modules if n.startswith("tcfix_")]:
            del sys.modules[name]
        marker.unlink()
        second = make_manager(entry_points=entry_points_in(root), disabled=store.load().disabled_plugins)
        second.load_all()
        assert second.records["noisy"].state is PluginState.DISABLED and not marker.exists()
        second.set_enabled("noisy", True)
        assert second.records["noisy"].state is PluginState.ACTIVE and marker.exists()


# analysers -----------------------------------------------------------------------------------------


def test_slow_analyser_is_cut_off_without_stalling_the_caller_or_the_others() -> None:
    release = threading.Event()
    results: list[tuple[str, str, AnalyserResult]] = []
    failures = []

    def slow(_frame: VitalsFrame) -> AnalyserResult:
        release.wait(30)  # far past its budget
        return AnalyserResult(numerics={"late": 1.0})

    def fast(f: VitalsFrame) -> AnalyserResult:
        return AnalyserResult(numerics={"n": float(f.waves["ecg"].values.shape[1])})

    runner = AnalyserRunner(lambda s: frame(s), lambda *r: results.append(r), failures.append, tick_s=0.02)
    runner.add("sloth", VitalsAnalyser("slow", "Slow", slow, window_s=1.0, period_s=0.05, budget_s=0.3))
    runner.add("hare", VitalsAnalyser("fast", "Fast", fast, window_s=2.0, period_s=0.05, budget_s=1.0))
    runner.tick()  # both get a frame; tick returns although "slow" is still busy: nothing waits on it
    assert not release.is_set()
    runner.start()
    deadline = time.monotonic() + 10
    while not failures and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(f.plugin_id, f.kind) for f in failures] == [("sloth", ErrorKind.ANALYSER_BUDGET)]
    assert "0.3 s time budget" in failures[0].detail
    assert ("sloth", "slow") not in runner.analysers()
    count = len(results)
    deadline = time.monotonic() + 10
    while len(results) < count + 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(results) >= count + 3  # the other analyser kept running
    assert all(r[:2] == ("hare", "fast") and r[2].numerics["n"] == 1000.0 for r in results)
    [sloth] = [t for t in threading.enumerate() if t.name == "analyser-sloth-slow"]
    release.set()  # the cut-off analyser finishes late: its result is dropped
    sloth.join(10)  # its worker has returned: anything it would deliver is delivered by now
    assert not sloth.is_alive()
    assert all(r[0] == "hare" for r in results)
    runner.close()
    runner.close()


def test_raising_analyser_is_reported_and_removed() -> None:
    failures = []

    def bad(_f: VitalsFrame) -> AnalyserResult:
        raise ValueError("cannot read this ECG")

    runner = AnalyserRunner(lambda s: frame(s), lambda *r: None, failures.append, tick_s=0.02)
    runner.add("oops", VitalsAnalyser("bad", "Bad", bad, period_s=0.05))
    runner.start()
    deadline = time.monotonic() + 10
    while not failures and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.close()
    assert failures[0].kind is ErrorKind.ANALYSER_ERROR
    assert "raised ValueError: cannot read this ECG" in failures[0].detail
    assert runner.analysers() == []


def test_no_vitals_means_no_runs() -> None:
    calls = []
    runner = AnalyserRunner(lambda s: None, lambda *r: calls.append(r), lambda e: calls.append(e))
    runner.add("p", VitalsAnalyser("a", "A", lambda f: AnalyserResult(), period_s=0.0))
    for _ in range(5):
        runner.tick()
    runner.close()
    assert calls == []


def test_raising_analysis_callback_disables_its_plugin(tmp_path: Path) -> None:
    root = tmp_path / "site"
    write_plugin(
        root,
        "picky",
        plugin_source(
            "picky",
            prelude="def bad(result):\n    raise KeyError('hr')",
            activate="ctx.subscribe_analysis('a', bad)",
            contributions="analysers=[VitalsAnalyser('a', 'A', lambda f: AnalyserResult())]",
        ),
    )
    with on_sys_path(root):
        manager = make_manager(entry_points=entry_points_in(root))
        deactivated: list[str] = []
        manager.on_deactivated.append(lambda r: deactivated.append(r.plugin_id))
        manager.load_all()
        manager.deliver("picky", "a", AnalyserResult())
        record = manager.records["picky"]
        assert record.state is PluginState.FAILED and deactivated == ["picky"]
        assert record.error is not None and "analysis callback for 'a' raised KeyError" in record.error.detail
        assert record.contributions.analysers == ()  # torn down: nothing left to schedule
        manager.deliver("picky", "a", AnalyserResult())  # a late result for a failed plugin is ignored
