"""The mirrored view between two sites: two imaging panels with the same synthetic CT, joined by two
in-process CallSessions (rtc.signalling.memory_pair) over the real ``control`` data channel.

Every view-state field mirrors (slice, window/level, zoom/pan, MPR crosshair, series, 3D camera),
either side takes over, a view of another study is refused, a missing series is reported.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.wiring.viewstate import MirrorLink
from rtc.runtime import AsyncRuntime
from rtc.session import CallSession
from rtc.signalling import memory_pair
from tests.helpers import SMALL_CALL
from viewers.dicom.synthetic import write_ct_series
from viewers.imaging_panel import QtImagingPanel, ViewMode
from viewers.reslice import Plane, WindowLevel
from viewers.view_mirror_qt import QtViewMirror
from viewers.viewstate import Role, ViewMirror
from widgets.qt_async import QtAsyncBridge

pytestmark = pytest.mark.gui

STUDY = "1.2.826.0.1.3680043.8.498.77"
OTHER_STUDY = "1.2.826.0.1.3680043.8.498.78"
WAIT = 20_000


@dataclass
class Site:
    panel: QtImagingPanel
    mirror: ViewMirror
    adapter: QtViewMirror
    link: MirrorLink


@dataclass
class Studies:
    shared: Path  # series 1 (20 slices) and 2 (12 slices): both sites
    only_a: Path  # series 3: only site A has it
    other: Path  # a different patient's study
    series: list[str]


@pytest.fixture
def studies(tmp_path: Path) -> Studies:
    s1 = write_ct_series(tmp_path / "shared" / "s1", (20, 48, 48), spacing=(0.8, 0.8, 2.5), study_uid=STUDY)
    s2 = write_ct_series(tmp_path / "shared" / "s2", (12, 48, 48), spacing=(0.8, 0.8, 4.0), study_uid=STUDY)
    s3 = write_ct_series(tmp_path / "only_a", (10, 40, 40), study_uid=STUDY)
    write_ct_series(tmp_path / "other", (14, 32, 32), study_uid=OTHER_STUDY)
    return Studies(
        tmp_path / "shared", tmp_path / "only_a", tmp_path / "other",
        [s1.series_uid, s2.series_uid, s3.series_uid],
    )


def _load(qtbot: Any, panel: QtImagingPanel, paths: list[Path]) -> None:
    with qtbot.waitSignal(panel.sig_loaded, timeout=30_000):
        panel.load_paths(paths)
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)


@pytest.fixture
def sites(qtbot: Any, studies: Studies) -> Iterator[tuple[Site, Site, QWidget]]:
    window = QWidget()
    qtbot.addWidget(window)
    row = QHBoxLayout(window)
    row.setContentsMargins(0, 0, 0, 0)
    runtime = AsyncRuntime().start()
    bridge = QtAsyncBridge(runtime)
    made: list[Site] = []
    for name, width in (("dr.chen", 1000), ("dr.li", 800)):  # different window sizes on purpose
        panel = QtImagingPanel()
        panel.setMinimumWidth(width)
        row.addWidget(panel)
        mirror = ViewMirror(lambda action, args: None, name=name, expected_study=lambda: STUDY)
        adapter = QtViewMirror(panel, mirror)
        link = MirrorLink(runtime.loop, bridge.post, mirror)
        link.on_connected.append(adapter.set_connected)
        made.append(Site(panel, mirror, adapter, link))
    window.resize(1800, 720)
    window.show()
    a, b = made
    _load(qtbot, a.panel, [studies.shared, studies.only_a])
    site_b_copy = studies.shared.parent / "site_b"  # each site reads its own copy of the study
    shutil.copytree(studies.shared, site_b_copy)
    _load(qtbot, b.panel, [site_b_copy])
    assert a.panel.series is not None and a.panel.series.series_instance_uid == studies.series[0]
    assert b.panel.series is not None and b.panel.series.series_instance_uid == studies.series[0]

    async def start() -> tuple[CallSession, CallSession]:
        sig_a, sig_b = memory_pair()
        call_a, call_b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        a.link.attach(call_a)  # what link.call_session_hooks does, before the session starts
        b.link.attach(call_b)
        await call_a.start()
        await call_b.start()
        return call_a, call_b

    calls = runtime.run(start(), 30)
    try:
        qtbot.waitUntil(lambda: a.adapter.connected and b.adapter.connected, timeout=30_000)
        assert a.adapter.act_follow.isEnabled() and b.adapter.act_follow.isEnabled()
        yield a, b, window
    finally:
        for site in made:
            site.adapter.close()
            site.adapter.close()
        for call in calls:
            runtime.run(call.close(), 15)
        bridge.close()
        runtime.stop()
        for site in made:
            site.panel.close_model()


def _follow(qtbot: Any, leader: Site, follower: Site) -> None:
    leader.adapter.act_follow.trigger()
    qtbot.waitUntil(
        lambda: follower.mirror.role is Role.FOLLOWER and leader.mirror.peer_name == follower.mirror.name,
        timeout=WAIT,
    )
    assert leader.mirror.role is Role.LEADER and leader.adapter.act_follow.isChecked()


def _pan_mm(site: Site) -> tuple[float, float]:
    state = site.adapter.capture()
    assert state is not None
    return state.pan_mm


def test_slice_window_zoom_and_pan_mirror_and_the_banner_names_the_peer(qtbot: Any, sites: Any) -> None:
    a, b, _window = sites
    _follow(qtbot, a, b)
    assert a.adapter.banner.text() == "dr.li follows you" and a.adapter.banner.isVisible()
    assert b.adapter.banner.text() == "Following dr.chen" and b.adapter.banner.isVisible()
    va, vb = a.panel.slice_view, b.panel.slice_view
    va.set_slice(4)
    va.set_window(WindowLevel(-600.0, 1500.0))
    va.set_zoom(2.5)
    va.pan = QPointF(40.0, -25.0)
    qtbot.waitUntil(
        lambda: vb.index == 4 and vb.current_window() == WindowLevel(-600.0, 1500.0) and vb.zoom == 2.5,
        timeout=WAIT,
    )
    # pan is carried in millimetres: the same anatomy at the centre though the windows differ in size
    qtbot.waitUntil(lambda: np.allclose(_pan_mm(a), _pan_mm(b), atol=1e-6), timeout=WAIT)
    assert va.width() != vb.width() and vb.pan != va.pan
    # the slice travels as an LPS point, so the follower lands on the same patient position
    pa, pb = va.image_to_lps(QPointF(24, 24)), vb.image_to_lps(QPointF(24, 24))
    assert np.allclose(pa, pb)
    # while following, nothing flows back
    sent_by_b = b.mirror.sent
    vb.set_slice(10)
    qtbot.wait(200)
    assert b.mirror.sent == sent_by_b and va.index == 4


def test_mpr_crosshair_and_series_mirror_and_either_side_takes_over(
    qtbot: Any, sites: Any, studies: Studies
) -> None:
    a, b, window = sites
    _follow(qtbot, a, b)
    a.panel.set_mode(ViewMode.MPR)
    mpr_a, mpr_b = a.panel.mpr_view, b.panel.mpr_view
    volume = mpr_a.views[Plane.AXIAL].volume
    assert volume is not None
    point = volume.index_to_lps([30.0, 14.0, 6.0])
    mpr_a.set_crosshair(point)
    qtbot.waitUntil(
        lambda: b.panel.stack.currentIndex() == ViewMode.MPR
        and mpr_b.crosshair is not None
        and np.allclose(mpr_b.crosshair, point),
        timeout=WAIT,
    )
    for plane in Plane:
        assert mpr_b.views[plane].index == mpr_a.views[plane].index
    shots = os.environ.get("TELECONSULT_SHOTS")
    if shots:
        qtbot.wait(300)
        Path(shots).mkdir(parents=True, exist_ok=True)
        window.grab().save(str(Path(shots) / "mirror-mpr.png"))

    # the other series of the same study: the follower loads it, then applies the view
    a.panel.set_mode(ViewMode.SLICE)
    with qtbot.waitSignal(a.panel.sig_loaded, timeout=30_000):
        a.panel.load_series(studies.series[1])
    a.panel.slice_view.set_slice(2)
    qtbot.waitUntil(
        lambda: b.panel.series is not None
        and b.panel.series.series_instance_uid == studies.series[1]
        and b.panel.load_result is not None
        and b.panel.slice_view.index == 2
        and b.panel.stack.currentIndex() == ViewMode.SLICE,
        timeout=30_000,
    )

    # dr.li takes over: now dr.chen follows
    b.adapter.act_follow.trigger()
    qtbot.waitUntil(lambda: a.mirror.role is Role.FOLLOWER and b.mirror.role is Role.LEADER, timeout=WAIT)
    assert not a.adapter.act_follow.isChecked() and b.adapter.act_follow.isChecked()
    assert a.adapter.banner.text() == "Following dr.li"
    b.panel.slice_view.set_slice(9)
    qtbot.waitUntil(lambda: a.panel.slice_view.index == 9, timeout=WAIT)
    # and stops: both independent again
    b.adapter.act_follow.trigger()
    qtbot.waitUntil(lambda: a.mirror.role is Role.INDEPENDENT, timeout=WAIT)
    assert not a.adapter.banner.isVisible() and not b.adapter.banner.isVisible()


def test_missing_series_is_reported_and_another_study_is_refused(
    qtbot: Any, sites: Any, studies: Studies
) -> None:
    a, b, _window = sites
    _follow(qtbot, a, b)
    b_series = b.panel.series
    with qtbot.waitSignal(a.panel.sig_loaded, timeout=30_000):
        a.panel.load_series(studies.series[2])  # only dr.chen has it
    qtbot.waitUntil(lambda: a.mirror.notice is not None, timeout=WAIT)
    assert a.adapter.banner.text() == f"The other site does not have this series ({studies.series[2]})."
    assert b.adapter.banner.text().startswith("This site does not have the series")
    assert b.panel.series is b_series  # nothing else shown instead

    # dr.chen opens another patient's study: dr.li refuses it and both say why
    _load(qtbot, a.panel, [studies.other])
    qtbot.waitUntil(lambda: b.mirror.refused > 0 and a.mirror.notice is not None
                    and a.mirror.notice.kind == "peer_refused", timeout=WAIT)
    assert b.adapter.banner.text() == (
        f"Refused the other site's view: study {OTHER_STUDY} is not this consult's study."
    )
    assert a.adapter.banner.text() == "The other site refused this view: it is not the consult's study."
    assert b.panel.series is b_series
    shots = os.environ.get("TELECONSULT_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        _window.grab().save(str(Path(shots) / "mirror-refused.png"))


@pytest.mark.xvfb
def test_3d_camera_mirrors(qtbot: Any, sites: Any) -> None:
    a, b, _window = sites
    _follow(qtbot, a, b)
    a.panel.set_mode(ViewMode.VOLUME)
    qtbot.waitUntil(lambda: b.panel.volume_view is not None, timeout=WAIT)
    camera = a.panel.volume_view.renderer.GetActiveCamera()
    camera.Azimuth(75.0)
    camera.Elevation(-20.0)
    camera.OrthogonalizeViewUp()
    want = np.asarray(camera.GetPosition())

    def mirrored() -> bool:
        cam_b = b.panel.volume_view.renderer.GetActiveCamera()
        return bool(np.allclose(cam_b.GetPosition(), want) and np.allclose(
            cam_b.GetViewUp(), camera.GetViewUp()
        ))

    qtbot.waitUntil(mirrored, timeout=WAIT)
    assert b.panel.stack.currentIndex() == ViewMode.VOLUME



def test_the_app_wiring_attaches_to_calls_and_follows_the_consult_study(
    qtbot: Any, make_workstation: Any, studies: Studies
) -> None:
    """app/wiring/viewstate.py as the app uses it: a call-session hook, the consult's study from the
    worklist, the imaging panel found in the main window when the call connects."""
    from PySide6.QtGui import QAction

    from app.services import BackendLink
    from app.wiring import viewstate as viewstate_wiring
    from viewers.viewstate import ViewState

    window = make_workstation()
    panel = QtImagingPanel(parent=window)
    panel.resize(900, 600)
    _load(qtbot, panel, [studies.shared])
    runtime = AsyncRuntime().start()
    link = BackendLink(window.ws, runtime)
    assert viewstate_wiring.panels(link) == {} and len(link.call_session_hooks) == 1
    consult = {"id": 7, "state": "accepted", "patient": {"patient_id": "P-1", "name": "Wang Min"},
               "study": {"study_instance_uid": STUDY}}
    link.worklist.replace([consult])
    link.conversation.open(7, "Wang Min")
    peer_bridge = QtAsyncBridge(runtime)
    peer = ViewMirror(lambda action, args: None, name="dr.li")
    peer_link = MirrorLink(runtime.loop, peer_bridge.post, peer)

    async def start() -> tuple[CallSession, CallSession]:
        sig_a, sig_b = memory_pair()
        call_a, call_b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        for hook in link.call_session_hooks:
            hook(call_a)
        peer_link.attach(call_b)
        await call_a.start()
        await call_b.start()
        return call_a, call_b

    calls = runtime.run(start(), 30)
    try:
        qtbot.waitUntil(lambda: (act := panel.findChild(QAction, "actFollowMe")) is not None
                        and act.isEnabled(), timeout=30_000)
        adapter = panel.findChild(QtViewMirror)
        assert adapter is not None
        peer.follow_me()
        qtbot.waitUntil(lambda: adapter.mirror.role is Role.FOLLOWER, timeout=WAIT)
        assert adapter.banner.text() == "Following dr.li"
        assert panel.series is not None
        assert panel.slice_view.volume is not None
        target = panel.slice_view.volume.index_to_lps([0.0, 0.0, 15.0])
        point = (float(target[0]), float(target[1]), float(target[2]))
        peer.offer(ViewState(study_uid=STUDY, series_uid=panel.series.series_instance_uid, slice_lps=point))
        qtbot.waitUntil(lambda: panel.slice_view.index == 15, timeout=WAIT)
        qtbot.wait(50)
        peer.offer(ViewState(study_uid=OTHER_STUDY, series_uid=studies.series[0], slice_lps=(0.0, 0.0, 0.0)))
        qtbot.waitUntil(lambda: peer.notice is not None, timeout=WAIT)
        assert adapter.mirror.refused == 1 and panel.slice_view.index == 15
        runtime.run(calls[1].close(), 15)  # the peer hangs up
        qtbot.waitUntil(lambda: not adapter.act_follow.isEnabled(), timeout=WAIT)
        assert adapter.mirror.role is Role.INDEPENDENT and not adapter.banner.isVisible()
    finally:
        for call in calls:
            runtime.run(call.close(), 15)
        peer_bridge.close()
        link.shutdown()
        runtime.stop()
        panel.close_model()
